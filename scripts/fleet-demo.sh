#!/usr/bin/env bash
# The fleet scenario (docs/fleet-scenario.md), run by `make demo` after the lifecycle
# pipeline: three emulated boards (two Cortex-M4, one Cortex-M7 in QEMU), one gateway
# agent that also runs models itself (gw1-host), a local Mosquitto broker with a user and ACL per agent and device. Register and
# list; deploy the pipeline's int8 model as v1 and run it bit-exact with the host; v2 over
# the air; a tampered, a wrongly signed, an older and a too-large package refused while
# the old model keeps running; a power cut mid-transfer and the transfer resuming; the
# lineage from each device's active model back to its dataset.
#
# Usage: fleet-demo.sh BUILD OUT WORKSPACE V1_MODEL V2_MODEL DATASET (int8 models of the
# workspace, and the dataset version they were trained on)
set -euo pipefail
BUILD="$1"; OUT="$2"; WS="$3"; V1="$4"; V2="$5"; DATA="$6"
TML="$BUILD/tinymlaas"
F="$OUT/fleet"
rm -rf "$F"
mkdir -p "$F"

DEMO_NAME="fleet demo"
source "$(dirname "$0")/demo-lib.sh"
# expect RC COMMAND...: runs it, fails the demo unless it exits with RC.
expect() {
  local want="$1" rc=0
  shift
  "$@" || rc=$?
  if [ "$rc" -ne "$want" ]; then
    echo "fleet demo: '$*' exited $rc, expected $want"
    exit 1
  fi
}

step "Keys: the workspace's signing key (built into the device images) and a stranger's"
[ -f "$WS/keys/signing.key" ] || "$TML" keys create --workspace "$WS"
"$TML" keys create --dir "$F/other-keys" > /dev/null

step "Broker identities: one user per agent and device, ACLs confining each to its topics"
"$TML" broker auth --dir "$F/broker" --agent gw1 --device m4-1 --device m7-1 --device m4-small \
  --device gw1-host \
  | tee "$F/broker-auth.txt"
PORT=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
{
  echo "listener $PORT 127.0.0.1"
  echo "persistence false"
  echo "log_dest stderr"
  sed -n '/^allow_anonymous/,$p' "$F/broker-auth.txt"
} > "$F/broker/mosquitto.conf"
mosquitto -c "$F/broker/mosquitto.conf" 2> "$F/broker/mosquitto.log" &
pids+=($!)
wait_for "$F/broker/mosquitto.log" "running" 20
B=(--broker "127.0.0.1:$PORT" --credentials "$F/broker/credentials")

step "Three emulated boards: m4-1 and m7-1, and m4-small with a 4 KB arena"
declare -A EMU  # device id -> its emulator's pid
emulate() {  # emulate ID TARGET [options]: starts the board, sets ADDR
  local id="$1" target="$2"
  shift 2
  "$TML" emulate --id "$id" --target "$target" --dir "$F/devices" --workspace "$WS" "$@" \
    > "$F/devices-$id.log" 2>&1 &
  EMU[$id]=$!
  pids+=($!)
  wait_for "$F/devices-$id.log" " on unix:" 300
  ADDR=$(sed -n 's/.* on \(unix:[^;]*\);.*/\1/p' "$F/devices-$id.log")
  grep " on unix:" "$F/devices-$id.log"
}
emulate m4-1 cortex-m4
A_M4="$ADDR"
emulate m7-1 cortex-m7
A_M7="$ADDR"
emulate m4-small cortex-m4 --arena 4096
A_SMALL="$ADDR"

step "The gateway agent gw1 bridges the three boards, and runs models itself as gw1-host"
"$TML" agent --id gw1 --device "$A_M4" --device "$A_M7" --device "$A_SMALL" --host-device gw1-host \
  --host-dir "$F/gw1-host" --key "$WS/keys/signing.pub" \
  --broker "127.0.0.1:$PORT" --credentials "$F/broker/credentials" > "$F/agent.log" 2>&1 &
AGENT=$!
pids+=($AGENT)
wait_for "$F/agent.log" "agent gw1 on" 60
cat "$F/agent.log"

step "Register and list: capabilities from each board's HELLO"
"$TML" devices list --sync --workspace "$WS" "${B[@]}" | tee "$F/devices.txt"
"$TML" devices show m7-1 --workspace "$WS" > "$F/show-m7-1-before.txt"
head -3 "$F/show-m7-1-before.txt"
for d in m4-1 m7-1 m4-small gw1-host; do "$TML" devices group "$d" lab --workspace "$WS" > /dev/null; done

# A real sample: the first test image of the dataset (an ankle boot), as the int8 model
# takes it (the same encoding an emulated sensor replays).
"$TML" data sensor "$DATA@test" --model "$V1" --samples 1 -o "$F/sample.bin" --workspace "$WS"
# infer_check DEVICE MODEL: one inference on the device, compared with the host's output.
infer_check() {
  "$TML" infer "$2" --input "$F/sample.bin" --output "$F/host.bin" > /dev/null
  "$TML" devices infer "$1" --input "$F/sample.bin" "${B[@]}" --json > "$F/infer.json"
  python3 - "$1" "$F/infer.json" "$F/host.bin" << 'PY'
import json, sys
r = json.load(open(sys.argv[2]))
host = open(sys.argv[3], "rb").read().hex()
same = "bit-exact with the host" if r["output"] == host else "DIFFERS from the host"
print(f"  {sys.argv[1]}: model v{r['model_version']}, class {r['class']} "
      f"(confidence {r['confidence']:.2f}), {r['ticks']} ticks, {same}")
sys.exit(0 if r["output"] == host else 1)
PY
}

step "Deploy the pipeline's int8 model as v1 to group lab (the host refuses m4-small: arena)"
expect 3 "$TML" deploy "$V1" --group lab --version 1 --workspace "$WS" "${B[@]}" | tee "$F/deploy-v1.txt"
step "Inferences on the devices, each compared with the host (three confirm v1)"
for i in 1 2 3; do infer_check m4-1 "$V1"; infer_check m7-1 "$V1"; infer_check gw1-host "$V1"; done

step "v2 over the air (examples/fashion-mnist-v2.yaml: percentile calibration), no reflashing"
"$TML" deploy "$V2" --device m4-1 --device m7-1 --workspace "$WS" "${B[@]}" | tee "$F/deploy-v2.txt"
for i in 1 2 3; do infer_check m4-1 "$V2"; done

step "Refused: a tampered package (the device's digest check); v2 keeps running"
pkg=$(ls -t "$WS"/packages/*.tmlp | head -1)
cp "$pkg" "$F/tampered.tmlp"
size=$(stat -c %s "$F/tampered.tmlp")
printf '\x5a' | dd of="$F/tampered.tmlp" bs=1 seek=$((size / 2)) conv=notrunc status=none
expect 3 "$TML" deploy "$F/tampered.tmlp" --device m4-1 --skip-host-checks --workspace "$WS" "${B[@]}"
infer_check m4-1 "$V2"
step "Refused: v3 signed with a key the device does not trust (signature)"
expect 3 "$TML" deploy "$V2" --device m4-1 --version 3 --key "$F/other-keys/signing.key" \
  --skip-host-checks --workspace "$WS" "${B[@]}"
infer_check m4-1 "$V2"
step "Refused: an older version, v1 (downgrade): by the host, and sent anyway by the device"
expect 3 "$TML" deploy "$V1" --device m4-1 --version 1 --workspace "$WS" "${B[@]}"
expect 3 "$TML" deploy "$V1" --device m4-1 --version 1 --skip-host-checks --workspace "$WS" "${B[@]}"
infer_check m4-1 "$V2"
step "Refused: a model needing more arena than m4-small has, sent anyway (the device's check)"
expect 3 "$TML" deploy "$V1" --device m4-small --version 1 --skip-host-checks --workspace "$WS" "${B[@]}"

# Flash operation 120 after boot falls past some of the transfer's checkpoints.
step "A power cut on m7-1 in the middle of the v3 transfer, then the transfer resumes"
kill "${EMU[m7-1]}"
wait "${EMU[m7-1]}" || true
emulate m7-1 cortex-m7 --cut-at "${CUT_AT:-120}"
expect 3 "$TML" deploy "$V2" --device m7-1 --version 3 --workspace "$WS" "${B[@]}" | tee "$F/deploy-cut.txt"
wait_for "$F/devices-m7-1.log" "power cut" 60
tail -1 "$F/devices-m7-1.log"
emulate m7-1 cortex-m7
"$TML" deploy "$V2" --device m7-1 --version 3 --workspace "$WS" "${B[@]}" > "$F/deploy-resume.txt" 2>&1
tr '\r' '\n' < "$F/deploy-resume.txt" | grep -E "resuming|active on"
grep -q "resuming a cut transfer" "$F/deploy-resume.txt" || { echo "fleet demo: no resume"; exit 1; }
infer_check m7-1 "$V2"

step "Lineage: each device's active model back to its dataset"
for d in m4-1 m7-1; do
  "$TML" devices show "$d" --sync --workspace "$WS" "${B[@]}" > "$F/show-$d.txt"
  sed -n '/^lineage/,$p' "$F/show-$d.txt"
done

step "The agent dies without a goodbye: the broker's will marks its devices offline"
kill -KILL "$AGENT"
deadline=$(($(date +%s) + 30))
until "$TML" devices list --sync --workspace "$WS" "${B[@]}" > "$F/devices-after.txt" &&
  ! grep -q " online " "$F/devices-after.txt"; do
  [ "$(date +%s)" -lt "$deadline" ] || { echo "fleet demo: devices still online"; exit 1; }
  sleep 0.2
done
cat "$F/devices-after.txt"

cat << TXT

Fleet scenario finished (docs/fleet-scenario.md). Look at:
  $F/devices.txt         the registry after the boards registered (capabilities, models)
  $F/deploy-*.txt        each deployment: per device active or refused, with the reason
  $F/show-m4-1.txt       a device: capabilities, slots, deployments, lineage to the dataset
  $F/agent.log, $F/devices-*.log, $F/broker/   the agent, the boards and the broker
TXT
