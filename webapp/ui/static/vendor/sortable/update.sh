#!/usr/bin/env sh
# Re-fetch SortableJS (drag-and-drop ordering of a meeting's agenda) from the npm registry at the
# version pinned here, as its built file. Committed so that setting up Sagsgang needs no Node.js;
# only this script needs npm. To upgrade: change the version, run this script, run
# tests/e2e/test_browser_agenda.py (it drags with a real mouse), commit.
set -eu

SORTABLEJS_VERSION=1.15.7

here=$(cd "$(dirname "$0")" && pwd)
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

cd "$work"
npm pack --silent "sortablejs@$SORTABLEJS_VERSION" >/dev/null
mkdir sortablejs
tar -xzf "sortablejs-$SORTABLEJS_VERSION.tgz" -C sortablejs

rm -f "$here/Sortable.min.js" "$here/LICENSE"
cp sortablejs/package/Sortable.min.js sortablejs/package/LICENSE "$here/"

echo "sortablejs $SORTABLEJS_VERSION" > "$here/VERSIONS"
echo "vendored: sortablejs $SORTABLEJS_VERSION"
