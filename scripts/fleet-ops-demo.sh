#!/usr/bin/env bash
# The fleet-operations scenario (docs/fleet-scenario.md, part 2), run by `make demo` after
# the devices scenario: four emulated MCUs (two Cortex-M4, two Cortex-M7 in QEMU) sensing on
# their own behind one gateway agent that also runs models itself (gw2-host), a local
# Mosquitto broker and `tinymlaas control` checking drift every few seconds. v2 goes to 25 %
# of the group, then to all of it; a v3 squeezed too hard (90 % of its channels pruned)
# disagrees with v2 in its shadow stage and is halted and rolled back on its own; a board
# whose camera starts seeing inverted images drifts, the control plane raises the alert and
# captures its samples into a new dataset version, a retrain pipeline makes v4 from it, and
# the lineage runs from v4 back to the board's samples.
#
# Usage: fleet-ops-demo.sh BUILD OUT WORKSPACE V1_MODEL V2_MODEL V2_FLOAT DATASET
set -euo pipefail
BUILD="$1"; OUT="$2"; WS="$3"; V1="$4"; V2="$5"; V2_FLOAT="$6"; DATA="$7"
TML="$BUILD/tinymlaas"
F="$OUT/fleet-ops"
rm -rf "$F"
mkdir -p "$F"
NAME="${DATA%@*}"  # the dataset's name (DATA is NAME@VERSION)

DEMO_NAME="fleet-ops demo"
source "$(dirname "$0")/demo-lib.sh"
# On failure: the message, the file waited on, the control plane's and the agent's logs.
fail() {
  echo "$DEMO_NAME: $1"
  for l in ${2:-} "$F"/control.log "$F"/agent.log; do [ -f "$l" ] && { echo "--- $l"; tail -20 "$l"; }; done
  exit 1
}
# wait_rollout ID STATUS SECONDS: until the rollout's status is STATUS (the running control
# plane carries it out), or fail.
wait_rollout() {
  local deadline=$(($(date +%s) + $3)) now
  for (( ; ; )); do
    # (status exits 3 once a rollout is halted or rolled back: that is an answer here)
    now=$({ "$TML" rollout status "$1" --json --workspace "$WS" || true; } |
      python3 -c 'import json, sys; print(json.load(sys.stdin)["status"])')
    [ "$now" = "$2" ] && return 0
    [ "$(date +%s)" -lt "$deadline" ] || fail "rollout $1 is $now after $3 s, not $2"
    sleep 0.5
  done
}

step "A local broker (anonymous, loopback only: the devices scenario showed users and ACLs)"
PORT=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
printf 'listener %s 127.0.0.1\nallow_anonymous true\npersistence false\nset_tcp_nodelay true\nlog_dest stderr\n' "$PORT" > "$F/mosquitto.conf"
mosquitto -c "$F/mosquitto.conf" 2> "$F/mosquitto.log" &
pids+=($!)
wait_for "$F/mosquitto.log" "running" 20
B=(--broker "127.0.0.1:$PORT")

# 40 test images, the same 40 rollout 1 evaluates as its reference: every device cycles
# through them (about three a second), so a device judged on 40 or more answers shows the
# reference's histograms, and a drift is a change in what the camera sees.
step "The boards' camera: 40 test images as the int8 models take them, over and over"
"$TML" data sensor "$DATA@test" --model "$V1" --samples 40 -o "$F/sensor.bin" --workspace "$WS"
# The same images inverted (a lens cover gone, a new background): each int8 byte q of an
# input quantized with zero point -128 and scale 1/255 becomes -1 - q, the image 1 - x.
python3 - "$F/sensor.bin" "$F/inverted.bin" << 'PY'
import sys
data = open(sys.argv[1], "rb").read()
open(sys.argv[2], "wb").write(bytes(b ^ 0xFF for b in data))
PY

declare -A EMU  # device id -> its emulator's pid
emulate() {  # emulate ID TARGET SENSOR: starts the board, sets ADDR
  "$TML" emulate --id "$1" --target "$2" --dir "$F/devices" --sensor "$3" --workspace "$WS" \
    > "$F/devices-$1.log" 2>&1 &
  EMU[$1]=$!
  pids+=($!)
  wait_for "$F/devices-$1.log" " on unix:" 300
  ADDR=$(sed -n 's/.* on \(unix:[^;]*\);.*/\1/p' "$F/devices-$1.log")
}
step "Four boards (m4-a, m4-b: Cortex-M4; m7-a, m7-b: Cortex-M7) and the gateway gw2"
ADDRS=()
for d in m4-a:cortex-m4 m4-b:cortex-m4 m7-a:cortex-m7 m7-b:cortex-m7; do
  emulate "${d%%:*}" "${d##*:}" "$F/sensor.bin"
  ADDRS+=(--device "$ADDR")
done
"$TML" agent --id gw2 "${ADDRS[@]}" --host-device gw2-host --host-dir "$F/gw2-host" \
  --key "$WS/keys/signing.pub" --sense-every 400 "${B[@]}" > "$F/agent.log" 2>&1 &
pids+=($!)
wait_for "$F/agent.log" "agent gw2 on" 60
"$TML" devices list --sync --workspace "$WS" "${B[@]}" | grep -E "^(id|m4-|m7-|gw2)" | tee "$F/devices.txt"
# The group: the four boards (the gateway's own device runs no sensor, so it would never
# show the live telemetry a rollout's health is judged on).
for d in m4-a m4-b m7-a m7-b; do "$TML" devices group "$d" shop --workspace "$WS" > /dev/null; done

step "v1 on the group; the control plane starts (telemetry, rollouts, drift every 5 s)"
"$TML" deploy "$V1" --group shop --version 1 --workspace "$WS" "${B[@]}" > "$F/deploy-v1.txt"
echo "  devices on v1: $(grep -o ": active" "$F/deploy-v1.txt" | wc -l)"
"$TML" control --tick-ms 500 --drift-every 5s --drift-window 2m --min-inferences 40 \
  --capture-into "$NAME" --label-by-model --workspace "$WS" "${B[@]}" > "$F/control.log" 2>&1 &
pids+=($!)
wait_for "$F/control.log" "control plane: broker" 30

step "Rollout 1: v2 to 25 % of the group, then to all of it, judged on live telemetry"
R2=$("$TML" rollout create "$V2" --group shop --stages 25,100 --version 2 \
  --reference "$DATA@test" --reference-samples 40 --halt-on min-inferences=3 --workspace "$WS" "${B[@]}" --json |
  python3 -c 'import json, sys; print(json.load(sys.stdin)["id"])')
wait_rollout "$R2" done 600
"$TML" rollout status "$R2" --workspace "$WS" | tee "$F/rollout-v2.txt"
grep "stage .* passed" "$F/control.log" | head -2

# (fine-tuned with next to no learning rate: it would win back most of its accuracy, and
# agree with v2 often enough to make the halt a matter of luck on a few shadow samples)
step "v3: v2 squeezed too hard (90 % of the channels of each layer pruned, not recovered), int8"
"$TML" prune "$V2_FLOAT" --spec examples/models/tiny_cnn.yaml --data "$DATA" --ratio 0.9 \
  --epochs 1 --lr 0.000001 -o "$F/v3-float.onnx" --workspace "$WS" | tail -3
"$TML" quantize "$F/v3-float.onnx" --calibration "$DATA@train" -o "$F/v3.onnx" --workspace "$WS" | tail -1
step "Rollout 2: v3 with a shadow stage; it disagrees with v2 and is halted and rolled back"
R3=$("$TML" rollout create "$F/v3.onnx" --group shop --canary m4-a --stages 100 --version 3 \
  --shadow --halt-on disagreement=10,shadow-samples=8 --rollback-on-halt \
  --workspace "$WS" "${B[@]}" --json | python3 -c 'import json, sys; print(json.load(sys.stdin)["id"])')
wait_rollout "$R3" rolled_back 300
"$TML" rollout status "$R3" --workspace "$WS" | tee "$F/rollout-v3.txt" || true
"$TML" devices list --sync --workspace "$WS" "${B[@]}" | grep -E "^(m4-a|m4-b|m7-a|m7-b|gw2-host) " > "$F/devices-after-v3.txt"
if grep -qE " v3 \(" "$F/devices-after-v3.txt"; then fail "a device runs v3"; fi
echo "  no device runs v3"

step "m4-b's camera now sees inverted images: the control plane's drift check alerts and captures"
# (the alerts from here on: the workspace may hold earlier runs')
alerts_before=$("$TML" alerts --json --count 1 --workspace "$WS" |
  python3 -c 'import json, sys; a = json.load(sys.stdin); print(a[0]["id"] if a else 0)')
kill "${EMU[m4-b]}"
wait "${EMU[m4-b]}" 2> /dev/null || true
emulate m4-b cortex-m4 "$F/inverted.bin"
wait_for "$F/control.log" "drift: device:m4-b" 300
wait_for "$F/control.log" "drift: captured" 300
grep "drift: " "$F/control.log" | tee "$F/drift.txt"
"$TML" alerts --json --workspace "$WS" | python3 -c '
import json, sys
for a in json.load(sys.stdin):
    if a["id"] > int(sys.argv[1]): print("#{} {} {}".format(a["id"], a["kind"], a["message"]))' \
  "$alerts_before" | tee "$F/alerts.txt"
if grep -qE "device:(m4-a|m7-a|m7-b)" "$F/alerts.txt"; then fail "a board that sees what it always saw drifts"; fi
CAPTURED=$(sed -n 's/.*drift: captured .* into dataset:\([^ ]*\).*/\1/p' "$F/control.log" | tail -1)
[ -n "$CAPTURED" ] || fail "no captured dataset version in control.log"

step "Retrain on $CAPTURED (the captured samples, labeled by the model): v4"
"$TML" run examples/fashion-mnist-retrain.yaml --workspace "$WS" --no-report | tee "$F/pipeline-v4.txt" | tail -3
V4=$(sed -n 's/^  int8.model = //p' "$F/pipeline-v4.txt")
step "Lineage: v4 <- training run <- $CAPTURED <- m4-b's samples and the model that labeled them"
"$TML" lineage "$V4" --workspace "$WS" | tee "$F/lineage-v4.txt"
grep -q "device:m4-b" "$F/lineage-v4.txt" || fail "v4's lineage does not reach device:m4-b"

step "v1 split over the fleet path (docs/split.md): m4-a runs 6 layers, gw2-host 1, this process the last"
"$TML" split "$V1" --chain examples/chains/mcu-gateway-cloud.yaml --run-on m4-a,gw2-host,- \
  --layers 6,1,1 --samples 5 --workspace "$WS" "${B[@]}" | tee "$F/split-run.txt"
grep -q "^bit-exact" "$F/split-run.txt" || fail "the split run is not bit-exact with the whole model"

cat << TXT

Fleet-operations scenario finished (docs/fleet-scenario.md). Look at:
  $F/rollout-v2.txt      v2: a quarter of the group, then all of it, each device healthy
  $F/rollout-v3.txt      v3: halted in its shadow stage (disagreement with v2), rolled back
  $F/drift.txt, $F/alerts.txt   m4-b's drift, the alert, the capture into $CAPTURED
  $F/lineage-v4.txt      v4's lineage back to m4-b's samples
  $F/split-run.txt       v1 cut in three and run board -> gateway -> this process, bit-exact
  $F/control.log, $F/agent.log, $F/devices-*.log   the control plane, the gateway, the boards
The fleet pages on this workspace: $TML serve --workspace $WS --no-auth, then
  http://127.0.0.1:8080/#/fleet, #/rollouts, #/drift
TXT
