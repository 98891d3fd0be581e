#!/usr/bin/env sh
# Re-fetch the vendored Swagger UI (the API's interactive page, /api/docs) from the npm registry at
# the version pinned here. Committed, like webapp/ui/static/vendor/, so the page needs no CDN and
# no Node.js at run time. To upgrade: change the version, run this script, test, commit.
set -eu

SWAGGER_UI_VERSION=5.35.0

here=$(cd "$(dirname "$0")" && pwd)
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

cd "$work"
npm pack --silent "swagger-ui-dist@$SWAGGER_UI_VERSION" >/dev/null
tar -xzf "swagger-ui-dist-$SWAGGER_UI_VERSION.tgz"
rm -rf "$here/swagger-ui"
mkdir -p "$here/swagger-ui"
cp package/swagger-ui-bundle.js package/swagger-ui.css package/LICENSE "$here/swagger-ui/"
echo "swagger-ui-dist $SWAGGER_UI_VERSION" > "$here/VERSIONS"
