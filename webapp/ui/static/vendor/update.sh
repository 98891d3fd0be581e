#!/usr/bin/env sh
# Re-fetch the vendored front-end libraries from the npm registry at the versions pinned here.
# They are committed (see README.md, "Choices worth explaining") so that setting up Sagsgang stays
# two commands with no Node.js. To upgrade: change a version, run this script, test, commit.
set -eu

HTMX_VERSION=2.0.11
BPMN_JS_VERSION=18.31.1

here=$(cd "$(dirname "$0")" && pwd)
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

cd "$work"
npm pack --silent "htmx.org@$HTMX_VERSION" "bpmn-js@$BPMN_JS_VERSION" >/dev/null
mkdir htmx bpmn-js
tar -xzf "htmx.org-$HTMX_VERSION.tgz" -C htmx
tar -xzf "bpmn-js-$BPMN_JS_VERSION.tgz" -C bpmn-js

rm -rf "$here/htmx" "$here/bpmn-js"
mkdir -p "$here/htmx" "$here/bpmn-js"
cp htmx/package/dist/htmx.min.js htmx/package/LICENSE "$here/htmx/"
cp bpmn-js/package/dist/bpmn-navigated-viewer.production.min.js \
   bpmn-js/package/dist/assets/diagram-js.css bpmn-js/package/dist/assets/bpmn-js.css \
   bpmn-js/package/LICENSE "$here/bpmn-js/"

cat > "$here/VERSIONS" <<VERSIONS
htmx.org $HTMX_VERSION
bpmn-js $BPMN_JS_VERSION (navigated viewer)
VERSIONS
echo "vendored: htmx.org $HTMX_VERSION, bpmn-js $BPMN_JS_VERSION"
