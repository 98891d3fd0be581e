#!/usr/bin/env sh
# Re-fetch the case-type modeler's front-end libraries (bpmn-js Modeler, dmn-js Modeler) from the
# npm registry at the versions pinned here, as their built files. They are committed so that
# setting up Sagsgang stays two commands with no Node.js; only this script needs npm.
# To upgrade: change a version, run this script, run the browser tests, commit.
set -eu

BPMN_JS_VERSION=18.31.1
DMN_JS_VERSION=17.10.2

here=$(cd "$(dirname "$0")" && pwd)
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

cd "$work"
npm pack --silent "bpmn-js@$BPMN_JS_VERSION" "dmn-js@$DMN_JS_VERSION" >/dev/null
mkdir bpmn-js dmn-js
tar -xzf "bpmn-js-$BPMN_JS_VERSION.tgz" -C bpmn-js
tar -xzf "dmn-js-$DMN_JS_VERSION.tgz" -C dmn-js

rm -rf "$here/bpmn-js" "$here/dmn-js"
mkdir -p "$here/bpmn-js/bpmn-font/css" "$here/bpmn-js/bpmn-font/font" \
         "$here/dmn-js/dmn-font/css" "$here/dmn-js/dmn-font/font"
b=bpmn-js/package/dist
cp "$b/bpmn-modeler.production.min.js" "$b/assets/diagram-js.css" "$b/assets/bpmn-js.css" \
   bpmn-js/package/LICENSE "$here/bpmn-js/"
# the font as files, not the embedded data: URLs (the Content-Security-Policy allows fonts from 'self' only)
cp "$b/assets/bpmn-font/css/bpmn.css" "$here/bpmn-js/bpmn-font/css/"
cp "$b/assets/bpmn-font/font/bpmn.woff2" "$b/assets/bpmn-font/font/bpmn.woff" "$here/bpmn-js/bpmn-font/font/"
d=dmn-js/package/dist
cp "$d/dmn-modeler.production.min.js" "$d/assets/dmn-js-shared.css" "$d/assets/dmn-js-drd.css" \
   "$d/assets/dmn-js-decision-table.css" "$d/assets/dmn-js-decision-table-controls.css" \
   "$d/assets/dmn-js-literal-expression.css" dmn-js/package/LICENSE "$here/dmn-js/"
cp "$d/assets/dmn-font/css/dmn.css" "$here/dmn-js/dmn-font/css/"
cp "$d/assets/dmn-font/font/dmn.woff2" "$d/assets/dmn-font/font/dmn.woff" "$here/dmn-js/dmn-font/font/"

cat > "$here/VERSIONS" <<VERSIONS
bpmn-js $BPMN_JS_VERSION (modeler)
dmn-js $DMN_JS_VERSION (modeler)
VERSIONS
echo "vendored: bpmn-js $BPMN_JS_VERSION, dmn-js $DMN_JS_VERSION"
