# Helpers the demo scenarios share (sourced, after DEMO_NAME is set): step headings, the
# background processes stopped on exit, and waits with deadlines that fail the demo.
#   DEMO_NAME="fleet demo"; source scripts/demo-lib.sh
#   pids+=($!); wait_for "$F/agent.log" "agent gw1 on" 60

step() { printf '\n==> %s\n' "$*"; }
pids=()  # background processes: stopped when the script ends, however it ends
cleanup() {
  for p in "${pids[@]}"; do kill "$p" 2> /dev/null || true; done
  wait 2> /dev/null || true
}
trap cleanup EXIT
# fail MESSAGE [FILE]: the message (and the file's last lines), then exit 1; a script may
# redefine it to show more.
fail() {
  echo "$DEMO_NAME: $1"
  if [ -n "${2:-}" ] && [ -f "$2" ]; then tail -40 "$2"; fi
  exit 1
}
# wait_for FILE PATTERN SECONDS: until the pattern shows in the file, or fail.
wait_for() {
  local deadline=$(($(date +%s) + $3))
  until grep -q -- "$2" "$1" 2> /dev/null; do
    [ "$(date +%s)" -lt "$deadline" ] || fail "no '$2' in $1 within $3 s" "$1"
    sleep 0.2
  done
}
