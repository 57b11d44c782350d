#!/bin/sh
# The build step for the verifier page (clients/web/CMakeLists.txt): installs the pinned npm
# packages from package-lock.json when node_modules is missing or older than the lock (npm ci:
# the only network access, and only then), then bundles offline (build.mjs).
#   build.sh OUT_DIR STAMP
# When node or the registry is unavailable it says so, leaves OUT_DIR/verify.html absent
# (the browser tests then skip, saying why) and still succeeds: the C build never depends on
# npm.
set -u
here=$(cd "$(dirname "$0")" && pwd)
out=$1
stamp=$2
mkdir -p "$out"
rm -f "$out/UNAVAILABLE"
unavailable() {
    echo "web: $1: the verifier page is not built" >&2
    echo "$1" > "$out/UNAVAILABLE"
    rm -f "$out/verify.html" "$out/verify.js"
    touch "$stamp"
    exit 0
}
command -v node >/dev/null 2>&1 || unavailable "node is not installed"
command -v npm >/dev/null 2>&1 || unavailable "npm is not installed"
marker="$here/node_modules/.package-lock.json"
if [ ! -f "$marker" ] || [ "$here/package-lock.json" -nt "$marker" ]; then
    (cd "$here" && npm ci --no-audit --no-fund --loglevel=error >&2) ||
        unavailable "npm ci failed (no registry?)"
fi
node "$here/build.mjs" "$out" || exit 1
touch "$stamp"
