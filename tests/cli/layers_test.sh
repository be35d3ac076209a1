#!/usr/bin/env bash
# The folder layering check (scripts/check_layers.py): the real tree passes with the
# build's layers.txt; a tree with an include the wrong way, a folder without a library and
# a cycle in the declared layers each fail, naming the file and line or the cycle.
# Usage: layers_test.sh LAYERS_TXT SRC_DIR
set -u
LAYERS="$1"; SRC="$2"
CHECK="$(dirname "$0")/../../scripts/check_layers.py"
WORK=$(mktemp -d); trap 'rm -rf "$WORK"' EXIT
pass=0; fail=0
check() {
  local name="$1"; shift
  if "$@"; then pass=$((pass + 1)); echo "ok   $name"; else fail=$((fail + 1)); echo "FAIL $name"; fi
}
python3 "$CHECK" "$LAYERS" "$SRC" 2> "$WORK/err.txt"
check "the source tree follows its layering" test $? -eq 0
mkdir -p "$WORK/src/low" "$WORK/src/high" "$WORK/src/stray"
printf 'low: \nhigh: low\n' > "$WORK/layers.txt"
printf '#include "low/a.h"\n' > "$WORK/src/high/b.cc"
printf '#include <vector>\n\n#include "high/b.h"\n' > "$WORK/src/low/a.cc"
python3 "$CHECK" "$WORK/layers.txt" "$WORK/src" 2> "$WORK/err.txt"; rc=$?
check "a wrong-way include fails" test "$rc" -eq 1
check "it names the file and line" grep -q "src/low/a.cc:3: includes high/" "$WORK/err.txt"
check "a folder without a library fails" grep -q "src/stray/: no library" "$WORK/err.txt"
check "the right-way include is not reported" test "$(grep -c "high/b.cc" "$WORK/err.txt")" -eq 0
printf 'low: high\nhigh: low\nstray: \n' > "$WORK/layers.txt"
python3 "$CHECK" "$WORK/layers.txt" "$WORK/src" 2> "$WORK/err.txt"; rc=$?
check "a cycle in the declared layers fails" grep -q "a cycle through" "$WORK/err.txt"
echo "layers: $pass passed, $fail failed"
[ "$fail" -eq 0 ]
