#!/usr/bin/env bash
# T6 at scale: the kill -9 durability test with 200 SIGKILLs during 10 000 evidence submissions
# (4 clients retrying until acknowledged), then: every acknowledged id present exactly once and
# learner states equal to a from-scratch recomputation. CI runs the 20-kill version in
# `make test` (tests/integration/test_durability.py); this is the long one, run by hand:
#
#   tests/durability-long.sh [BUILD_DIR]        (default: build; build it first with `make`)
#
# MASTERY_KILLS and MASTERY_ITEMS may be set to other values. Takes several minutes.
set -eu
here=$(cd "$(dirname "$0")" && pwd)
build=$(cd "${1:-$here/../build}" && pwd)
[ -x "$build/bin/masteryd" ] || { echo "durability-long: no $build/bin/masteryd (run make)" >&2; exit 2; }
export MASTERY_BIN=$build/bin
export MASTERY_PYGEN=$build/gen/python
export MASTERY_SRC=$here/..
export MASTERY_KILLS=${MASTERY_KILLS:-200}
export MASTERY_ITEMS=${MASTERY_ITEMS:-10000}
cd "$here/integration"
echo "durability: $MASTERY_KILLS kills during $MASTERY_ITEMS submissions"
exec /usr/bin/python3 -m pytest -q -s -p no:cacheprovider test_durability.py
