#!/usr/bin/env bash
# End-to-end tests of the tinymlaas command line. Usage: cli_test.sh TINYMLAAS MAKE_FIXTURES SHARED_DIR
# Prints "N passed, M failed" and exits non-zero on any failure.
set -u
TML="$1"; FIXTURES="$2"; SHARED="$3"
WORK=$(mktemp -d)
trap 'rm -rf "$WORK"' EXIT
"$FIXTURES" "$WORK" || { echo "cannot write fixtures"; exit 1; }
pass=0; fail=0
check() {  # check NAME CONDITION-COMMAND...
  local name="$1"; shift
  if "$@"; then pass=$((pass + 1)); echo "ok   $name"; else fail=$((fail + 1)); echo "FAIL $name"; fi
}

compiles_for_m4() {  # compiles_for_m4 DIR: every .c file in DIR, warnings as errors
  local c
  for c in "$1"/*.c; do
    arm-none-eabi-gcc -std=c99 -mcpu=cortex-m4 -mthumb -mfloat-abi=hard -mfpu=fpv4-sp-d16 -O2 -Wall \
      -Werror -c "$c" -o "$c.o" || return 1
  done
}

# --help explains every subcommand.
"$TML" --help > "$WORK/help.txt" 2>&1
check "help lists subcommands" grep -q "verify" "$WORK/help.txt"
check "help lists compile" grep -q "compile" "$WORK/help.txt"

# Unsupported operators: one message naming all of them, non-zero exit.
for f in unsupported.tflite unsupported.onnx; do
  "$TML" inspect "$WORK/$f" > "$WORK/out.txt" 2> "$WORK/err.txt"; rc=$?
  check "$f exits non-zero" test "$rc" -ne 0
  check "$f names LSTM once with both users" test "$(grep -c 'LSTM' "$WORK/err.txt")" -eq 1
  check "$f lists 3 op types" grep -q "3 unsupported operator types" "$WORK/err.txt"
  check "$f message is a single error" test "$(grep -c '^error:' "$WORK/err.txt")" -eq 1
done

# Malformed input: clear error, no crash.
head -c 100 /dev/urandom > "$WORK/junk.tflite"
"$TML" inspect "$WORK/junk.tflite" 2> "$WORK/err.txt"; rc=$?
check "junk model exits 1" test "$rc" -eq 1
check "junk model error names the file" grep -q "junk.tflite" "$WORK/err.txt"

# Zoo -> export -> compile -> verify -> profile on a generated model.
"$TML" zoo ds_cnn_kws -o "$WORK/kws.onnx" > /dev/null
check "zoo writes ONNX" test -s "$WORK/kws.onnx"
"$TML" compile "$WORK/kws.onnx" --target host -o "$WORK/kws_c" --name kws > "$WORK/out.txt" 2>&1
check "compile writes header" test -f "$WORK/kws_c/kws.h"
check "compile writes kernels" test -f "$WORK/kws_c/kernels/conv.c"
check "compile builds host binary" test -x "$WORK/kws_c/model_host"
"$TML" verify "$WORK/kws.onnx" --inputs 20 > "$WORK/out.txt"; rc=$?
check "verify prints bit-exact" grep -q "^bit-exact" "$WORK/out.txt"
check "verify exits 0" test "$rc" -eq 0
"$TML" verify "$WORK/kws.onnx" --inputs 5 --json > "$WORK/v.json"
check "verify --json has bit_exact true" grep -q '"bit_exact": true' "$WORK/v.json"
"$TML" profile "$WORK/kws.onnx" --json > "$WORK/p.json"
for key in macs weight_bytes arena_bytes arena_lower_bound_bytes layers; do
  check "profile --json has $key" grep -q "\"$key\"" "$WORK/p.json"
done
check "profile counts 2.66 M MACs" grep -q '"macs": 2656768' "$WORK/p.json"
"$TML" profile "$WORK/kws.onnx" > "$WORK/p.txt"
check "profile text shows totals" grep -q "total MACs" "$WORK/p.txt"

# infer: .npy in, .npy out; raw in, raw out.
"$TML" export "$WORK/tiny_fc.tflite" -o "$WORK/tiny_fc.onnx" > /dev/null
check "export int8 model" test -s "$WORK/tiny_fc.onnx"
head -c 10 /dev/urandom > "$WORK/in.bin"
"$TML" infer "$WORK/tiny_fc.tflite" --input "$WORK/in.bin" --output "$WORK/out.bin" > /dev/null
check "infer writes 6 raw output bytes" test "$(stat -c %s "$WORK/out.bin")" -eq 6
"$TML" infer "$WORK/tiny_fc.onnx" --input "$WORK/in.bin" --output "$WORK/out2.bin" > /dev/null
check "exported QDQ model computes the same bytes" cmp -s "$WORK/out.bin" "$WORK/out2.bin"
"$TML" infer "$WORK/tiny_fc.tflite" --input "$WORK/in.bin" --output "$WORK/out.npy" > /dev/null
check "infer writes .npy" test "$(head -c 6 "$WORK/out.npy" | tail -c 5)" = "NUMPY"
head -c 7 /dev/urandom > "$WORK/short.bin"
"$TML" infer "$WORK/tiny_fc.tflite" --input "$WORK/short.bin" --output "$WORK/x.bin" 2> "$WORK/err.txt"; rc=$?
check "infer rejects a partial sample" test "$rc" -ne 0

# On-device profile in QEMU: deterministic, with the device keys.
"$TML" profile "$WORK/kws.onnx" --target cortex-m4 --json > "$WORK/m4a.json"
"$TML" profile "$WORK/kws.onnx" --target cortex-m4 --json > "$WORK/m4b.json"
for key in instructions flash_bytes ram_bytes macs layers fits; do
  check "profile --target --json has $key" grep -q "\"$key\"" "$WORK/m4a.json"
done
check "per-layer instructions present" test "$(grep -c '"instructions"' "$WORK/m4a.json")" -ge 14
check "two profile runs print identical counts" cmp -s "$WORK/m4a.json" "$WORK/m4b.json"
"$TML" profile "$WORK/kws.onnx" --target cortex-m4 > "$WORK/m4.txt"
check "profile text gives a fit verdict" grep -q "fits" "$WORK/m4.txt"
check "profile text estimates latency" grep -q "estimated latency" "$WORK/m4.txt"
"$TML" verify "$WORK/kws.onnx" --target cortex-m4 --inputs 5 > "$WORK/out.txt"
check "verify on cortex-m4 prints bit-exact" grep -q "^bit-exact" "$WORK/out.txt"
"$TML" verify "$WORK/kws.onnx" --target rp2040 2> "$WORK/err.txt"; rc=$?
check "verify on a non-emulated board explains" grep -q "cannot be emulated" "$WORK/err.txt"
"$TML" compile "$WORK/kws.onnx" --target cortex-m4 -o "$WORK/kws_m4" > /dev/null
check "compile for cortex-m4 writes an ELF" test -s "$WORK/kws_m4/firmware.elf"

# Dataset store: Fashion-MNIST's test set (Debian's dataset-fashion-mnist) into a fresh workspace.
FM=/usr/share/datasets/fashion-mnist
WS="$WORK/ws"
"$TML" data list --workspace "$WS" > "$WORK/out.txt"
check "empty workspace lists no datasets" grep -q "no datasets" "$WORK/out.txt"
"$TML" data import fm --workspace "$WS" --idx "$FM/t10k-images-idx3-ubyte.gz" \
  "$FM/t10k-labels-idx1-ubyte.gz" --split test > "$WORK/out.txt" 2> "$WORK/err.txt"
check "data import reports 10000 samples" grep -q "fm@1: 10000 samples added" "$WORK/out.txt"
check "data import shows progress" grep -q "storing 10000 samples" "$WORK/err.txt"
TINYMLAAS_HOME="$WS" "$TML" data stats fm --json > "$WORK/stats.json"
check "TINYMLAAS_HOME selects the workspace" grep -q '"members": 10000' "$WORK/stats.json"
check "stats count the test split" grep -q '"test": 10000' "$WORK/stats.json"
check "stats give the shape" grep -q '28,28,1' "$WORK/stats.json"
"$TML" data split fm --workspace "$WS" --train 0.7 --val 0.2 --test 0.1 > "$WORK/out.txt"
check "split makes version 2 with 7000 train" grep -q "fm@2: 7000 train, 2000 val, 1000 test" "$WORK/out.txt"
"$TML" data stats fm@1 --workspace "$WS" > "$WORK/out.txt"
check "version 1 is unchanged" grep -q "0 train, 0 val, 10000 test" "$WORK/out.txt"
"$TML" data import fm --workspace "$WS" --idx "$FM/t10k-images-idx3-ubyte.gz" \
  "$FM/t10k-labels-idx1-ubyte.gz" 2> "$WORK/err.txt"; rc=$?
check "re-import of the same samples is refused" test "$rc" -eq 1
check "refusal says why" grep -q "already in it" "$WORK/err.txt"
head -c 5000 "$FM/t10k-images-idx3-ubyte.gz" > "$WORK/cut.gz"
"$TML" data import bad --workspace "$WS" --idx "$WORK/cut.gz" "$FM/t10k-labels-idx1-ubyte.gz" \
  2> "$WORK/err.txt"; rc=$?
check "truncated IDX exits 1" test "$rc" -eq 1
check "truncated IDX error names the file" grep -q "cut.gz" "$WORK/err.txt"
"$TML" data import bad --workspace "$WS" --idx "$FM/t10k-images-idx3-ubyte.gz" \
  "$FM/train-labels-idx1-ubyte.gz" 2> "$WORK/err.txt"; rc=$?
check "image/label count mismatch is an error" grep -q "10000 images but" "$WORK/err.txt"
"$TML" data import bad --workspace "$WS" 2> "$WORK/err.txt"; rc=$?
check "import without a source says what to give" grep -q "exactly one source" "$WORK/err.txt"
"$TML" data import bad --workspace "$WS" --folder "$WORK/nowhere" 2> "$WORK/err.txt"; rc=$?
check "missing image folder is named" grep -q "nowhere: not a directory" "$WORK/err.txt"
"$TML" data show bad --workspace "$WS" 2> "$WORK/err.txt"; rc=$?
check "failed imports leave no dataset version" grep -q "no dataset 'bad'" "$WORK/err.txt"
"$TML" data stats fm@9 --workspace "$WS" 2> "$WORK/err.txt"; rc=$?
check "unknown version names the latest" grep -q "latest is 2" "$WORK/err.txt"

# Train -> quantize -> evaluate on that workspace (fm@2: 7000 train, 2000 val, 1000 test).
SPEC="$(dirname "$0")/../../examples/models/tiny_cnn.yaml"
"$TML" train --model "$SPEC" --data fm@2 --workspace "$WS" --epochs 1 --max-steps 40 --threads 2 \
  -o "$WORK/fm.onnx" > "$WORK/out.txt" 2> "$WORK/err.txt"; rc=$?
check "train exits 0" test "$rc" -eq 0
check "train writes ONNX" test -s "$WORK/fm.onnx"
check "train reports the run and val accuracy" grep -q "^run 1: .*val acc" "$WORK/out.txt"
check "train shows progress with loss" grep -q "loss" "$WORK/err.txt"
"$TML" runs list --workspace "$WS" > "$WORK/runs.txt"
check "runs list shows the training run" grep -q "^   1  train    done" "$WORK/runs.txt"
"$TML" runs show 1 --workspace "$WS" --json > "$WORK/run.json"
check "runs show has per-epoch metrics" grep -q '"train_loss"' "$WORK/run.json"
check "the run record links the model" test "$(grep -c '"output": "[0-9a-f]\{64\}"' "$WORK/run.json")" -eq 1
"$TML" runs show 99 --workspace "$WS" 2> "$WORK/err.txt"; rc=$?
check "an unknown run is an error" grep -q "no run 99" "$WORK/err.txt"
"$TML" quantize "$WORK/fm.onnx" --calibration fm@2 --samples 50 --eval fm@2@test --workspace "$WS" \
  -o "$WORK/fm_int8.onnx" > "$WORK/q.txt" 2> "$WORK/err.txt"; rc=$?
check "quantize exits 0" test "$rc" -eq 0
check "quantize prints per-layer SQNR" grep -q "SQNR dB" "$WORK/q.txt"
check "quantize compares float and int8 accuracy" grep -q "float .* int8 .* points" "$WORK/q.txt"
"$TML" evaluate "$WORK/fm_int8.onnx" --data fm@2 --workspace "$WS" --json > "$WORK/e.json"
check "evaluate --json gives accuracy" grep -q '"accuracy"' "$WORK/e.json"
check "evaluate uses the test split by default" grep -q '"samples": 1000' "$WORK/e.json"
"$TML" evaluate "$WORK/fm_int8.onnx" --data fm@2 --workspace "$WS" --target cortex-m4 --samples 100 \
  --json > "$WORK/dev.json" 2> "$WORK/err.txt"; rc=$?
check "on-device evaluation exits 0" test "$rc" -eq 0
check "on-device accuracy equals the host int8 accuracy" grep -q '"equal_to_host": true' "$WORK/dev.json"
check "on-device evaluation ran 100 samples" grep -q '"samples": 100' "$WORK/dev.json"
"$TML" data sensor fm@2@test --model "$WORK/fm_int8.onnx" --samples 5 -o "$WORK/fm.sensor" --workspace "$WS" > "$WORK/out.txt"
check "data sensor writes 5 int8 samples of 784 bytes for an emulated sensor" test "$(stat -c %s "$WORK/fm.sensor")" -eq 3920
"$TML" data sensor fm@2@test --model "$WORK/kws.onnx" -o "$WORK/bad.sensor" --workspace "$WS" 2> "$WORK/err.txt"; rc=$?
check "data sensor refuses samples that do not fit the model's input" test "$rc" -eq 1 -a -n "$(grep 'do not fit the model' "$WORK/err.txt")"
"$TML" verify "$WORK/fm_int8.onnx" --target cortex-m4 --inputs 3 > "$WORK/out.txt"
check "the trained int8 model is bit-exact on cortex-m4" grep -q "^bit-exact" "$WORK/out.txt"
"$TML" prune "$WORK/fm.onnx" --spec "$SPEC" --data fm@2 --workspace "$WS" --ratio 0.5 --epochs 1 \
  --threads 2 -o "$WORK/fm_pruned.onnx" > "$WORK/p.txt" 2> "$WORK/err.txt"; rc=$?
check "prune exits 0" test "$rc" -eq 0
check "prune reports fewer MACs" grep -q "^MACs .* (-" "$WORK/p.txt"
check "prune reports fewer weights" grep -q "^weights .* (-" "$WORK/p.txt"
check "prune writes the pruned spec" grep -q "filters: 6" "$WORK/fm_pruned.yaml"
"$TML" prune "$WORK/fm.onnx" --spec "$SPEC" --data fm@2 --workspace "$WS" --ratio 0.25 --epochs 1 \
  --threads 2 -o "$WORK/fm_p25.onnx" --json > "$WORK/p.json" 2> /dev/null
check "prune --json has the figures before and after" python3 -c '
import json, os, sys
j = json.load(open(sys.argv[1]))
assert j["macs_after"] < j["macs_before"] and j["weights_after"] < j["weights_before"], j
assert 0 <= j["accuracy_after"] <= 1 and len(j["epochs"]) == 1 and j["changes"], j
assert os.path.exists(j["output"]) and os.path.exists(j["output_spec"]), j' "$WORK/p.json"
"$TML" profile "$WORK/fm_pruned.onnx" --json > "$WORK/pp.json"
"$TML" profile "$WORK/fm.onnx" --json > "$WORK/p0.json"
check "the compiler's profile of the pruned model has fewer MACs" test \
  "$(grep '"macs"' "$WORK/pp.json" | tail -1 | tr -dc 0-9)" -lt "$(grep '"macs"' "$WORK/p0.json" | tail -1 | tr -dc 0-9)"
printf 'name: bad\ninput: [28, 28, 1]\nclasses: 10\nlayers:\n  - conv2d: {filters: 4}\n  - dense: {units: 10}\n' \
  > "$WORK/bad.yaml"
"$TML" train --model "$WORK/bad.yaml" --data fm --workspace "$WS" -o "$WORK/x.onnx" 2> "$WORK/err.txt"; rc=$?
check "bad spec exits 1" test "$rc" -eq 1
check "bad spec error names file and line" grep -q "bad.yaml:6: dense" "$WORK/err.txt"

# Pipeline runner with its step cache: everything runs, then nothing, then only what a
# changed quantization setting reaches.
DATA_STEP="  - name: data
    component: dataset
    with:
      dataset: fm-pipe
      idx: [$FM/t10k-images-idx3-ubyte.gz, $FM/t10k-labels-idx1-ubyte.gz]"
cat > "$WORK/pipe.yaml" <<YAML
name: small
steps:
$DATA_STEP
  - name: float
    component: train
    with: {spec: $SPEC, data: "\${data.dataset}", epochs: 1, max_steps: 20}
  - name: int8
    component: quantize
    with: {model: "\${float.model}", calibration: "\${data.dataset}", samples: 50}
  - name: acc
    component: evaluate
    with: {model: "\${int8.model}", data: "\${data.dataset}@test"}
  - name: small
    component: prune
    with: {model: "\${float.model}", spec: $SPEC, data: "\${data.dataset}", ratio: 0.5, epochs: 1}
YAML
"$TML" run "$WORK/pipe.yaml" --workspace "$WORK/pws" > "$WORK/r1.txt" 2> "$WORK/err.txt"; rc=$?
check "pipeline runs" test "$rc" -eq 0
check "first run runs every step" grep -q "5 steps, 5 ran, 0 cached" "$WORK/r1.txt"
check "the pruned model comes with its spec" test -s "$(sed -n 's/^  small.spec = //p' "$WORK/r1.txt")"
"$TML" run "$WORK/pipe.yaml" --workspace "$WORK/pws" > "$WORK/r2.txt" 2> "$WORK/err.txt"
check "unchanged pipeline: every step cached" grep -q "5 steps, 0 ran, 5 cached" "$WORK/r2.txt"
check "cached outputs are the same" cmp -s <(grep "= " "$WORK/r1.txt") <(grep "= " "$WORK/r2.txt")
sed -i 's/samples: 50/samples: 60/' "$WORK/pipe.yaml"
"$TML" run "$WORK/pipe.yaml" --workspace "$WORK/pws" > "$WORK/r3.txt" 2> "$WORK/err.txt"
check "changed quantization re-runs quantize and what follows" grep -q "5 steps, 2 ran, 3 cached" "$WORK/r3.txt"
check "training stayed cached" grep -q "float (train): cached" "$WORK/err.txt"
check "an unchanged re-run says every step was cached" grep -q "every step was cached" "$WORK/r2.txt"
report=$(sed -n 's/^report: //p' "$WORK/r3.txt")
check "the run writes an HTML report" test -s "$report"
for section in training evaluation quantization lineage; do
  check "the report has its $section section" grep -q "<h2 id=$section>" "$report"
done
check "the report is self-contained (no scripts, no links out)" test "$(grep -c '<script\|src="http\|href="http' "$report")" -eq 0
# Lineage: dataset version -> training run -> float model -> int8 model -> evaluation.
int8=$(sed -n 's/^  int8.model = //p' "$WORK/r3.txt")
"$TML" lineage "$int8" --workspace "$WORK/pws" > "$WORK/lin.txt" 2> "$WORK/err.txt"; rc=$?
check "lineage of a model file exits 0" test "$rc" -eq 0
check "lineage runs from the dataset through training to the model and its evaluation" grep -Eq \
  'dataset:fm-pipe@1 -> run:[0-9]+ -> model:[0-9a-f]{32} -> \[model:[0-9a-f]{32}\] -> eval:' "$WORK/lin.txt"
check "lineage names the spec file the run read" grep -q "model spec\|$(basename "$SPEC")" "$WORK/lin.txt"
"$TML" lineage "$(sed -n 's/^  float.run = //p' "$WORK/r3.txt" | sed 's/^/run:/')" --json \
  --workspace "$WORK/pws" > "$WORK/lin.json"
check "lineage --json of the training run lists both models made from it" \
  test "$(grep -c '"kind": "int8 model"\|"kind": "pruned model"\|"kind": "float model"' "$WORK/lin.json")" -ge 4
# A model named by its path, in a step of its own (as the dashboard's jobs do), links to
# the model artifact it is, not to an anonymous file: its lineage goes on.
cat > "$WORK/alone.yaml" <<YAML
name: alone
steps:
  - name: again
    component: evaluate
    with: {model: $int8, data: fm-pipe@test, samples: 100}
YAML
"$TML" run "$WORK/alone.yaml" --workspace "$WORK/pws" > /dev/null 2> "$WORK/err.txt"
"$TML" lineage "$int8" --json --workspace "$WORK/pws" > "$WORK/lin2.json"
check "a step naming a model by path is recorded as made from that model" \
  test "$(grep -c '"kind": "evaluation"' "$WORK/lin2.json")" -ge 2
# Fine-tuning in a pipeline: init starts from the float model, freeze keeps its first
# layers; each changes the trained model (same seed and steps otherwise).
float_model=$(sed -n 's/^  float.model = //p' "$WORK/r3.txt")
cat > "$WORK/tune.yaml" <<YAML
name: tune
steps:
  - name: fresh
    component: train
    with: {spec: $SPEC, data: fm-pipe@1, epochs: 1, max_steps: 5, seed: 7}
  - name: init
    component: train
    with: {spec: $SPEC, data: fm-pipe@1, epochs: 1, max_steps: 5, seed: 7, init: $float_model}
  - name: frozen
    component: train
    with: {spec: $SPEC, data: fm-pipe@1, epochs: 1, max_steps: 5, seed: 7, init: $float_model, freeze: 2}
YAML
"$TML" run "$WORK/tune.yaml" --workspace "$WORK/pws" > "$WORK/tune.txt" 2> "$WORK/err.txt"; rc=$?
check "a fine-tuning pipeline runs" test "$rc" -eq 0
fresh=$(sed -n 's/^  fresh.model = //p' "$WORK/tune.txt")
init=$(sed -n 's/^  init.model = //p' "$WORK/tune.txt")
frozen=$(sed -n 's/^  frozen.model = //p' "$WORK/tune.txt")
check "init in a train step changes the model" test -n "$init" -a "$fresh" != "$init"
check "freeze in a train step changes the model" test -n "$frozen" -a "$init" != "$frozen"
check "the train step reports what init copied and froze" grep -q "freezing the first 2 layers" "$WORK/err.txt"
"$TML" runs show "$(sed -n 's/^  frozen.run = //p' "$WORK/tune.txt")" --json --workspace "$WORK/pws" > "$WORK/frozen.json"
check "the run record keeps init and freeze" grep -q '"freeze": 2' "$WORK/frozen.json"
"$TML" lineage nosuchthing --workspace "$WORK/pws" 2> "$WORK/err.txt"; rc=$?
check "lineage of an unknown id is an error" test "$rc" -eq 1
check "lineage names what it could not find" grep -q "no artifact 'nosuchthing'" "$WORK/err.txt"
# Experiment tracking: the three pipeline runs side by side.
"$TML" runs list --kind pipeline --workspace "$WORK/pws" > "$WORK/rl.txt"
check "runs list shows the pipeline runs" test "$(grep -c ' pipeline ' "$WORK/rl.txt")" -ge 3
first=$(sed -n 's/^small (run \([0-9]*\)).*/\1/p' "$WORK/r1.txt")
third=$(sed -n 's/^small (run \([0-9]*\)).*/\1/p' "$WORK/r3.txt")
"$TML" runs compare "$first" "$third" --workspace "$WORK/pws" > "$WORK/cmp.txt" 2> "$WORK/err.txt"; rc=$?
check "runs compare exits 0" test "$rc" -eq 0
check "runs compare marks the metric that differs" grep -q '^\* metrics.cached' "$WORK/cmp.txt"
check "runs compare leaves out equal fields by default" test "$(grep -c 'config.name' "$WORK/cmp.txt")" -eq 0
"$TML" runs compare "$first" --workspace "$WORK/pws" 2> "$WORK/err.txt"; rc=$?
check "runs compare needs two runs" test "$rc" -ne 0
sed -i 's/samples: 60/samples: many/' "$WORK/pipe.yaml"
"$TML" run "$WORK/pipe.yaml" --workspace "$WORK/pws" 2> "$WORK/err.txt"; rc=$?
check "a wrong type stops the pipeline before it runs, naming the line" grep -q "pipe.yaml:13: 'samples' must be an integer" "$WORK/err.txt"

# A sweep: 2 models x 2 squeeze configs on cortex-m4, each measured on the board.
printf 'name: mlp\ninput: [28, 28, 1]\nclasses: 10\nlayers:\n  - flatten: {}\n  - dense: {units: 32, activation: relu}\n  - dense: {units: 10}\n' > "$WORK/mlp.yaml"
cat > "$WORK/sweep.yaml" <<YAML
name: sweep
steps:
$DATA_STEP
sweep:
  data: "\${data.dataset}"
  models: [$SPEC, $WORK/mlp.yaml]
  train: {epochs: 1, max_steps: 20}
  squeeze:
    - {name: int8}
    - {name: p50, prune: 0.5, prune_epochs: 1}
  targets: [cortex-m4]
  samples: 50
YAML
"$TML" run "$WORK/sweep.yaml" --workspace "$WORK/pws" > "$WORK/s1.txt" 2> "$WORK/err.txt"; rc=$?
check "the sweep runs" test "$rc" -eq 0
check "the sweep prints one row per model x squeeze config" test "$(grep -c ' cortex-m4 ' "$WORK/s1.txt")" -eq 4
check "the sweep names the best model that fits" grep -q "^best that fits cortex-m4: " "$WORK/s1.txt"
dev=$(sed -n 's|^  mlp/int8/cortex-m4/device.accuracy = ||p' "$WORK/s1.txt")
host=$(sed -n 's|^  mlp/int8/cortex-m4/device.host_accuracy = ||p' "$WORK/s1.txt")
check "on-board accuracy is printed beside the host int8 accuracy, equal" test -n "$dev" -a "$dev" = "$host"
check "the sweep shares steps with the earlier pipeline (the dataset is cached)" grep -q "data (dataset): cached" "$WORK/err.txt"
"$TML" run "$WORK/sweep.yaml" --workspace "$WORK/pws" --json > "$WORK/s2.json" 2> "$WORK/err.txt"
check "every sweep step is cached the second time" test "$(grep -c '"cached": false' "$WORK/s2.json")" -eq 0
check "on-board accuracy equals host int8 accuracy in every sweep row" python3 -c '
import json, sys
rows = json.load(open(sys.argv[1]))["sweep"]
assert len(rows) == 4 and all(r["device_accuracy"] == r["int8_accuracy"] for r in rows), rows
assert sum(r["pareto"] for r in rows) >= 1 and all(r["instructions"] > 0 for r in rows)' "$WORK/s2.json"
check "the sweep report has the Pareto plot" grep -q "sweep: accuracy vs instructions vs RAM" "$(sed -n 's/^report: //p' "$WORK/s1.txt")"

# Keys and model packages.
"$TML" keys create --dir "$WORK/keys" > "$WORK/keys.txt"
check "keys create writes the key pair and the device header" test -s "$WORK/keys/signing.key" -a -s "$WORK/keys/signing.pub" -a -s "$WORK/keys/signing_key.h"
check "the private key is its owner's only" test "$(stat -c %a "$WORK/keys/signing.key")" = 600
set +e; "$TML" keys create --dir "$WORK/keys" 2> "$WORK/err.txt"; rc=$?; set -e
check "keys create refuses to replace a key" test "$rc" -eq 1 -a -n "$(grep 'exists already' "$WORK/err.txt")"
"$TML" package "$WORK/kws.onnx" -o "$WORK/kws.tmlp" --target cortex-m4 --key "$WORK/keys/signing.key" --version 2 > "$WORK/pk.txt" 2> "$WORK/err.txt"
check "package writes a signed package that fits cortex-m4" grep -q "fits a cortex-m4 device image" "$WORK/pk.txt"
"$TML" package --check "$WORK/kws.tmlp" --key "$WORK/keys/signing.pub" --json > "$WORK/pk.json"
check "package --check verifies the signature" python3 -c '
import json, sys
j = json.load(open(sys.argv[1]))
assert j["signed"] and j["model_version"] == 2 and j["inputs"][0]["shape"] == [1, 49, 10, 1], j' "$WORK/pk.json"
cp "$WORK/kws.tmlp" "$WORK/bad.tmlp"
printf 'x' | dd of="$WORK/bad.tmlp" bs=1 seek=700 conv=notrunc 2> /dev/null
set +e; "$TML" package --check "$WORK/bad.tmlp" 2> "$WORK/err.txt"; rc=$?; set -e
check "package --check refuses a damaged package, naming the check" test "$rc" -eq 1 -a -n "$(grep 'digest' "$WORK/err.txt")"
"$TML" zoo mobilenet_v1_025_vww --int8 -o "$WORK/vww.onnx" > /dev/null
set +e; "$TML" package "$WORK/vww.onnx" -o "$WORK/vww.tmlp" --target cortex-m3 2> "$WORK/err.txt"; rc=$?; set -e
check "package refuses a model that does not fit, with the reason" test "$rc" -eq 1 -a -n "$(grep 'arena: the model needs 55296 bytes' "$WORK/err.txt")"

# Exports for real boards: an Arduino library and a CMake project, both compiled here.
"$TML" export "$WORK/kws.onnx" --format arduino --name kws -o "$WORK/kws_arduino.zip" > /dev/null
python3 -m zipfile -e "$WORK/kws_arduino.zip" "$WORK/arduino"
check "the Arduino library has library.properties naming it" grep -q "^name=TinyMLaaS_kws$" "$WORK/arduino/TinyMLaaS_kws/library.properties"
check "the Arduino library has an example sketch" test -s "$WORK/arduino/TinyMLaaS_kws/examples/RunTinyMLaaS_kws/RunTinyMLaaS_kws.ino"
check "the Arduino library's sources compile with arm-none-eabi-gcc" compiles_for_m4 "$WORK/arduino/TinyMLaaS_kws/src"
"$TML" export "$WORK/kws.onnx" --format cmake --target cortex-m7 --name kws -o "$WORK/kws_cmake" > /dev/null
cmake -S "$WORK/kws_cmake" -B "$WORK/kws_cmake/build" -DCMAKE_TOOLCHAIN_FILE="$WORK/kws_cmake/cmake/arm-none-eabi.cmake" > /dev/null
cmake --build "$WORK/kws_cmake/build" > /dev/null
check "the CMake project builds a Cortex-M7 library" sh -c "arm-none-eabi-objdump -d '$WORK/kws_cmake/build/libkws.a' | grep -q kws_invoke"
set +e; PATH=/usr/bin:/bin "$TML" flash "$WORK/kws_cmake/build/libkws.a" 2> "$WORK/err.txt"; rc=$?; set -e
if [ -z "$(PATH=/usr/bin:/bin command -v bossac openocd picotool)" ]; then
  check "flash names the tools to install when none is there" test "$rc" -eq 1 -a -n "$(grep 'bossa-cli' "$WORK/err.txt")"
fi

# The device registry and deploy without a broker: clear errors, the service-unavailable
# exit code (69) when the broker cannot be reached (the device tests cover a real one).
FWS="$WORK/fleet-ws"
"$TML" devices list --workspace "$FWS" > "$WORK/out.txt"
check "an empty registry says how devices appear" grep -q "no devices (devices appear when an agent" "$WORK/out.txt"
set +e; "$TML" devices sync --workspace "$FWS" --broker 127.0.0.1:1 2> "$WORK/err.txt"; rc=$?; set -e
check "devices sync without a broker exits 69 naming it" test "$rc" -eq 69 -a -n "$(grep 'MQTT broker 127.0.0.1:1' "$WORK/err.txt")"
set +e; "$TML" devices sync --workspace "$FWS" --broker 127.0.0.1:http 2> "$WORK/err.txt"; rc=$?; set -e
check "a bad broker address is named" test "$rc" -eq 1 -a -n "$(grep "broker '127.0.0.1:http'" "$WORK/err.txt")"
set +e; "$TML" devices group ghost lab --workspace "$FWS" 2> "$WORK/err.txt"; rc=$?; set -e
check "grouping an unknown device is refused" test "$rc" -eq 1 -a -n "$(grep "no device 'ghost'" "$WORK/err.txt")"
set +e; "$TML" devices show ghost --workspace "$FWS" 2> "$WORK/err.txt"; rc=$?; set -e
check "showing an unknown device is refused" test "$rc" -eq 1 -a -n "$(grep "no device 'ghost'" "$WORK/err.txt")"
set +e; "$TML" deploy "$WORK/kws.onnx" --workspace "$FWS" 2> "$WORK/err.txt"; rc=$?; set -e
check "deploy asks for devices or a group before connecting" test "$rc" -eq 1 -a -n "$(grep 'name devices (--device ID) or a group' "$WORK/err.txt")"
set +e; "$TML" deploy "$WORK/kws.onnx" --group lab --workspace "$FWS" --broker 127.0.0.1:1 2> "$WORK/err.txt"; rc=$?; set -e
check "deploy without a broker exits 69" test "$rc" -eq 69

# Fleet operations without devices: clear errors (the device tests run real rollouts).
"$TML" rollout list --workspace "$FWS" > "$WORK/out.txt"
check "no rollouts yet says how to make one" grep -q "no rollouts (tinymlaas rollout create" "$WORK/out.txt"
set +e; "$TML" rollout status 7 --workspace "$FWS" 2> "$WORK/err.txt"; rc=$?; set -e
check "an unknown rollout is named" test "$rc" -eq 1 -a -n "$(grep "no rollout 7" "$WORK/err.txt")"
set +e; "$TML" rollout pause 7 --workspace "$FWS" 2> "$WORK/err.txt"; rc=$?; set -e
check "pausing an unknown rollout is refused" test "$rc" -eq 1 -a -n "$(grep "no rollout 7" "$WORK/err.txt")"
set +e; "$TML" rollout create "$WORK/kws.onnx" --group lab --workspace "$FWS" --halt-on fail=3 --broker 127.0.0.1:1 2> "$WORK/err.txt"; rc=$?; set -e
check "a bad --halt-on key is named with the valid ones" test "$rc" -eq 1 -a -n "$(grep "unknown key 'fail' (failed, success" "$WORK/err.txt")"
set +e; "$TML" rollout create "$WORK/kws.onnx" --group lab --workspace "$FWS" --broker 127.0.0.1:1 2> "$WORK/err.txt"; rc=$?; set -e
check "rollout create without a broker exits 69" test "$rc" -eq 69
set +e; "$TML" telemetry --workspace "$FWS" 2> "$WORK/err.txt"; rc=$?; set -e
check "telemetry asks for a device or a group" test "$rc" -eq 1 -a -n "$(grep "name a DEVICE or a --group" "$WORK/err.txt")"
set +e; "$TML" telemetry m4-1 --since 5x --workspace "$FWS" 2> "$WORK/err.txt"; rc=$?; set -e
check "a bad --since is named" test "$rc" -eq 1 -a -n "$(grep "since '5x'" "$WORK/err.txt")"
"$TML" telemetry m4-1 --since 10m --workspace "$FWS" > "$WORK/out.txt"
check "no telemetry says what stores it" grep -q "a running .tinymlaas control. stores" "$WORK/out.txt"
"$TML" alerts --workspace "$FWS" > "$WORK/out.txt"
check "no alerts yet" grep -q "^no alerts" "$WORK/out.txt"
set +e; "$TML" capture --dataset seen --workspace "$FWS" 2> "$WORK/err.txt"; rc=$?; set -e
check "capture asks for devices or a group" test "$rc" -eq 1 -a -n "$(grep "capture: name devices" "$WORK/err.txt")"
set +e; "$TML" drift "$WORK/kws.onnx" --reference nope@1 --group lab --workspace "$FWS" 2> "$WORK/err.txt"; rc=$?; set -e
check "drift names a missing reference set" test "$rc" -eq 1 -a -n "$(grep "nope" "$WORK/err.txt")"
set +e; "$TML" control --workspace "$FWS" --broker 127.0.0.1:1 2> "$WORK/err.txt"; rc=$?; set -e
check "control without a broker exits 69" test "$rc" -eq 69

"$TML" broker auth --dir "$WORK/broker" --agent gw1 --device m4-1 --device m7-1 > "$WORK/out.txt"
check "broker auth writes the ACL, hashed passwords and owner-only credentials" test -s "$WORK/broker/acl" -a "$(stat -c %a "$WORK/broker/credentials")" = 600 -a -n "$(grep -c '^m4-1:\$7\$' "$WORK/broker/passwd")"
check "broker auth prints the mosquitto.conf lines" grep -q "^acl_file $WORK/broker/acl" "$WORK/out.txt"
check "the ACL gives devices their own topics" grep -q "pattern read tinymlaas/devices/%u/cmd/#" "$WORK/broker/acl"
check "the ACL lets devices publish their detections" grep -q "pattern write tinymlaas/devices/%u/detection" "$WORK/broker/acl"
set +e; "$TML" agent --device unix:/nonexistent --sense-every 100 --listen hop=4 2> "$WORK/err.txt"; rc=$?; set -e
check "agent --listen without keyword classes is refused" test "$rc" -eq 1 -a -n "$(grep "keyword classes (keywords=0-9)" "$WORK/err.txt")"
set +e; "$TML" agent --device unix:/nonexistent --listen keywords=0-9 2> "$WORK/err.txt"; rc=$?; set -e
check "agent --listen needs --sense-every" test "$rc" -eq 1 -a -n "$(grep "give --sense-every" "$WORK/err.txt")"
set +e; "$TML" telemetry --detections --workspace "$FWS" 2> "$WORK/err.txt"; rc=$?; set -e
check "telemetry --detections needs a device" test "$rc" -eq 1 -a -n "$(grep "name a DEVICE" "$WORK/err.txt")"
"$TML" telemetry m4-1 --detections --workspace "$FWS" > "$WORK/out.txt"
check "telemetry --detections says where detections come from" grep -q "no detections from m4-1" "$WORK/out.txt"
set +e; "$TML" broker auth --dir "$WORK/broker" --agent m4-1 2> "$WORK/err.txt"; rc=$?; set -e
check "one name for two identities is refused" test "$rc" -eq 1 -a -n "$(grep "'m4-1' is already a user as device" "$WORK/err.txt")"

# split: a host-only chain (the MCU chain is in tml_mcu_tests), JSON and bad chains.
"$TML" zoo fc_autoencoder --int8 -o "$WORK/ae8.onnx" > /dev/null
printf 'nodes:\n  - {name: edge, host: {time_scale: 8, power_w: 2}}\n  - {name: cloud, host: {time_scale: 0.5}}\nlinks:\n  - {profile: wifi}\n' > "$WORK/chain.yaml"
set +e; "$TML" split "$WORK/ae8.onnx" --chain "$WORK/chain.yaml" --out "$WORK/split" --json > "$WORK/split.json" 2> "$WORK/err.txt"; rc=$?; set -e
check "split exits 0" test "$rc" -eq 0
check "split --json has cuts and best" python3 -c "import json,sys; j=json.load(open(sys.argv[1])); assert len(j['cuts']) > 2 and j['best'] == j['cuts'][0] and j['host_bit_exact']" "$WORK/split.json"
check "split writes partition.json" test -s "$WORK/split/partition.json"
check "split logs the cut count" grep -q "cut(s) costed" "$WORK/err.txt"
"$TML" split "$WORK/ae8.onnx" --chain "$WORK/chain.yaml" --top 3 --out "$WORK/split" > "$WORK/split.txt" 2>&1
check "split --top prints 3 rows and the rest counted" grep -q "more cut(s) (--json lists all)" "$WORK/split.txt"
printf 'nodes:\n  - {name: edge, host: {}}\n  - {name: cloud, host: {}}\nlinks:\n  - {profile: smoke-signals}\n' > "$WORK/bad_chain.yaml"
set +e; "$TML" split "$WORK/ae8.onnx" --chain "$WORK/bad_chain.yaml" > /dev/null 2> "$WORK/err.txt"; rc=$?; set -e
check "split refuses an unknown link profile" test "$rc" -ne 0
check "split error names the chain file and the profile" grep -q "bad_chain.yaml: line 5: link 1 (edge -> cloud): unknown link profile 'smoke-signals'" "$WORK/err.txt"
set +e; "$TML" split "$WORK/ae8.onnx" --chain smoke-signals > /dev/null 2> "$WORK/err.txt"; rc=$?; set -e
check "split refuses an unknown chain name" test "$rc" -ne 0
check "the error lists the shipped chains" grep -q "no chain named 'smoke-signals' (shipped: .*mcu-gateway-cloud" "$WORK/err.txt"
set +e; "$TML" split "$WORK/ae8.onnx" --chain "$WORK/chain.yaml" --objective speed > /dev/null 2>&1; rc=$?; set -e
check "split refuses an unknown objective" test "$rc" -ne 0

# frontend: list, attach to the zoo's DS-CNN (49 x 10 MFCCs), show the attached one, errors.
"$TML" frontend list --json > "$WORK/fe.json"
check "frontend list has mlperf-kws with 49 frames" python3 -c "import json,sys; j={f['name']: f for f in json.load(open(sys.argv[1]))}; assert j['mlperf-kws']['frames'] == 49 and j['mlperf-kws']['features'] == 10" "$WORK/fe.json"
"$TML" frontend attach "$WORK/kws.onnx" --frontend mlperf-kws -o "$WORK/kws_audio.onnx" > "$WORK/out.txt"
check "frontend attach says the new input" grep -q "input 'audio' float32 \[1,16000\] fed by mlperf-kws" "$WORK/out.txt"
"$TML" frontend show "$WORK/kws_audio.onnx" --json > "$WORK/fe.json"
check "frontend show finds the attached front end" python3 -c "import json,sys; j=json.load(open(sys.argv[1])); assert j['name'] == 'attached' and j['frame_length'] == 480 and j['mfcc'] == 10 and j['samples'] == 16000" "$WORK/fe.json"
"$TML" verify "$WORK/kws_audio.onnx" --inputs 3 > "$WORK/out.txt"
check "the audio model verifies bit-exact in generated C" grep -q "^bit-exact" "$WORK/out.txt"
"$TML" frontend attach "$WORK/kws.onnx" --frontend mlperf-kws-fixed -o "$WORK/kws_fixed.onnx" > "$WORK/out.txt"
check "frontend attach of a fixed-point front end takes int16 samples" grep -q "input 'audio' int16 \[1,16000\] fed by mlperf-kws-fixed" "$WORK/out.txt"
"$TML" frontend show "$WORK/kws_fixed.onnx" --json > "$WORK/fe.json"
check "frontend show recovers fixed-point arithmetic" python3 -c "import json,sys; assert json.load(open(sys.argv[1]))['arithmetic'] == 'fixed'" "$WORK/fe.json"
cat > "$WORK/fe_pipe.yaml" <<YAML
name: fe-pipe
steps:
  - name: audio
    component: frontend
    with: {model: $WORK/kws.onnx, frontend: mlperf-kws-fixed}
YAML
"$TML" run "$WORK/fe_pipe.yaml" --workspace "$WORK/pws" > "$WORK/fr.txt"
fe_model=$(sed -n 's/^  audio.model = //p' "$WORK/fr.txt")
"$TML" frontend show "$fe_model" --json > "$WORK/fe.json"
check "a frontend pipeline step attaches the front end" python3 -c "import json,sys; j=json.load(open(sys.argv[1])); assert j['arithmetic'] == 'fixed' and j['frames'] == 49" "$WORK/fe.json"
set +e; "$TML" frontend attach "$WORK/kws_audio.onnx" --frontend mlperf-kws -o "$WORK/twice.onnx" 2> "$WORK/err.txt"; rc=$?; set -e
check "frontend attach refuses a second front end" grep -q "already has a front end attached" "$WORK/err.txt"
printf 'kind: mfcc\nsample_rate: 16000\nmel_bins: 20\nmfcc: 30\n' > "$WORK/bad_fe.yaml"
set +e; "$TML" frontend attach "$WORK/kws.onnx" --frontend "$WORK/bad_fe.yaml" -o "$WORK/x.onnx" 2> "$WORK/err.txt"; rc=$?; set -e
check "a bad front end exits 1" test "$rc" -eq 1
check "the error names the file and the setting" grep -q "bad_fe.yaml: front end: .*num_mfcc 30 must be 0..num_mel (20)" "$WORK/err.txt"
set +e; "$TML" frontend attach "$WORK/kws.onnx" --frontend log-mel-16k -o "$WORK/x.onnx" 2> "$WORK/err.txt"; rc=$?; set -e
check "a size mismatch says both sizes" grep -q "61 frames x 32 features = 1952 values, but the model input .* takes 490" "$WORK/err.txt"
check "nothing written on error" test ! -e "$WORK/x.onnx"
"$TML" export "$WORK/kws_audio.onnx" --format arduino --name kwsaudio -o "$WORK/kwsaudio.zip" > /dev/null
python3 -m zipfile -e "$WORK/kwsaudio.zip" "$WORK/arduino_audio"
check "the Arduino library of the audio model carries the front end" test -s "$WORK/arduino_audio/TinyMLaaS_kwsaudio/src/dsp.c"
check "its sources, front end included, compile with arm-none-eabi-gcc" compiles_for_m4 "$WORK/arduino_audio/TinyMLaaS_kwsaudio/src"

# data synth-speech: keywords from espeak-ng, speakers split.
"$TML" data synth-speech kw --words yes,no --speakers 4 --takes 1 --workspace "$WORK/ws_kw" > "$WORK/out.txt" 2> "$WORK/err.txt"
check "synth-speech makes kw@1 with 4 classes" grep -q "kw@1: 16 samples added, 0 duplicates skipped; 16 members, 4 classes" "$WORK/out.txt"
check "synth-speech names the test speakers" grep -q "test speakers: espeak-ng:en" "$WORK/err.txt"
set +e; "$TML" data synth-speech kw2 --words yes,yes --workspace "$WORK/ws_kw" > /dev/null 2> "$WORK/err.txt"; rc=$?; set -e
check "synth-speech refuses a repeated word" grep -q "'yes' given twice" "$WORK/err.txt"
set +e; "$TML" data synth-speech kw2 --set colours --workspace "$WORK/ws_kw" > /dev/null 2> "$WORK/err.txt"; rc=$?; set -e
check "synth-speech names the known sets" grep -q "known: mlperf-ten, digits" "$WORK/err.txt"

# stream: a model with a front end over a dataset's clips (the seeded DS-CNN: flat scores).
"$TML" zoo ds_cnn_kws --int8 -o "$WORK/kws8.onnx" > /dev/null
"$TML" frontend attach "$WORK/kws8.onnx" --frontend mlperf-kws -o "$WORK/kws8_audio.onnx" > /dev/null
"$TML" data synth-speech kw12 --set mlperf-ten --speakers 3 --takes 1 --workspace "$WORK/ws_kw" > /dev/null 2>&1
"$TML" stream "$WORK/kws8_audio.onnx" --data kw12@1@test --words 6 --threshold 0.1 --workspace "$WORK/ws_kw" --json > "$WORK/stream.json"
check "stream --json scores the detections" python3 -c "import json,sys; j=json.load(open(sys.argv[1])); assert j['frames'] > 300 and j['inferences'] > 30 and j['hits'] + j['false_alarms'] == len(j['detections'])" "$WORK/stream.json"
set +e; "$TML" stream "$WORK/kws8.onnx" --data kw12 --workspace "$WORK/ws_kw" 2> "$WORK/err.txt"; rc=$?; set -e
check "stream refuses a model without a front end" grep -q "feeds no front end" "$WORK/err.txt"

# SVDF: recurrent state kept between invocations, bit-exact on the M3, carried by packages;
# ONNX, which cannot carry it, says so.
"$TML" verify "$WORK/svdf_int8.tflite" --target cortex-m3 --inputs 5 > "$WORK/out.txt"
check "an SVDF model verifies bit-exact on cortex-m3" grep -q "^bit-exact" "$WORK/out.txt"
"$TML" package "$WORK/svdf_int8.tflite" -o "$WORK/svdf.tmlp" --target cortex-m4 --key "$WORK/keys/signing.key" > /dev/null
"$TML" package --check "$WORK/svdf.tmlp" > "$WORK/out.txt"
check "a package carries recurrent state and says so" grep -q "recurrent state: kept in the arena" "$WORK/out.txt"
set +e; "$TML" export "$WORK/svdf_int8.tflite" -o "$WORK/svdf.onnx" 2> "$WORK/err.txt"; rc=$?; set -e
check "ONNX export refuses recurrent state" grep -q "recurrent state" "$WORK/err.txt"
"$TML" verify "$WORK/lstm_16x8.tflite" --target cortex-m4 --inputs 4 > "$WORK/out.txt"
check "a 16x8 LSTM model verifies bit-exact on cortex-m4" grep -q "^bit-exact" "$WORK/out.txt"

# Published models (skipped without ../shared).
if [ -f "$SHARED/models/kws_ref_model.tflite" ]; then
  for m in kws_ref_model ad01_int8 kws_ref_model_float32 ad01_fp32; do
    "$TML" verify "$SHARED/models/$m.tflite" --inputs 20 > "$WORK/out.txt"
    check "$m verifies bit-exact" grep -q "^bit-exact" "$WORK/out.txt"
  done
  "$TML" profile "$SHARED/models/kws_ref_model.tflite" --json > "$WORK/p.json"
  check "kws profile arena 16000" grep -q '"arena_bytes": 16000' "$WORK/p.json"
else
  echo "skip published models: $SHARED/models is absent"
fi

echo "cli: $pass passed, $fail failed"
[ "$fail" -eq 0 ]
