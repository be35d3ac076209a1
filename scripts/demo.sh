#!/usr/bin/env bash
# The demo: the compiler core end to end on example models, then the lifecycle on
# Fashion-MNIST (import, train, quantize, evaluate, compile, verify on the M4). It generates the
# MLPerf Tiny DS-CNN keyword-spotting architecture (seeded weights) as ONNX,
# and, when ../shared/models is present, also takes the published int8 TFLite
# model; each is profiled, compiled to C, verified bit-exact against the
# reference interpreter on the host and on an emulated Cortex-M4 (QEMU),
# profiled on that board and exported. Results land in out/demo/.
set -euo pipefail
BUILD="${1:-build}"
TML="$BUILD/tinymlaas"
OUT="out/demo"
rm -rf "$OUT"
mkdir -p "$OUT"

step() { printf '\n==> %s\n' "$*"; }

step "Generate the DS-CNN keyword-spotting architecture as ONNX"
"$TML" zoo ds_cnn_kws -o "$OUT/ds_cnn_kws.onnx"

models=("$OUT/ds_cnn_kws.onnx")
if [ -f ../shared/models/kws_ref_model.tflite ]; then
  models+=(../shared/models/kws_ref_model.tflite)
else
  echo "(../shared/models is absent: the published int8 model is left out)"
fi

for m in "${models[@]}"; do
  name=$(basename "${m%.*}")
  step "Profile $name: MACs, weights, arena plan"
  "$TML" profile "$m" | tee "$OUT/$name.profile.txt" | tail -5
  "$TML" profile "$m" --json > "$OUT/$name.profile.json"
  step "Compile $name to C99 and build the host test executable"
  "$TML" compile "$m" --target host -o "$OUT/${name}_c" --name "$(echo "$name" | tr -c 'a-zA-Z0-9_\n' '_')" \
    > "$OUT/$name.compile.txt"
  head -3 "$OUT/$name.compile.txt"
  step "Verify $name: generated C vs reference interpreter, 100 random inputs"
  "$TML" verify "$m" --inputs 100 | tee "$OUT/$name.verify.txt"
  step "Run $name on an emulated Cortex-M4 (QEMU): bit-exactness and exact instruction counts"
  "$TML" verify "$m" --target cortex-m4 --inputs 20 | tee "$OUT/$name.verify-cortex-m4.txt"
  "$TML" profile "$m" --target cortex-m4 > "$OUT/$name.profile-cortex-m4.txt"
  tail -5 "$OUT/$name.profile-cortex-m4.txt"
  step "Export $name to ONNX"
  "$TML" export "$m" -o "$OUT/$name.exported.onnx"
done

# The lifecycle on real data: Fashion-MNIST (Debian's dataset-fashion-mnist) into a fresh
# workspace, a tiny CNN trained, quantized, evaluated, compiled for the Cortex-M4 and checked.
FM=/usr/share/datasets/fashion-mnist
WS="$OUT/workspace"
CLASSES="T-shirt/top,Trouser,Pullover,Dress,Coat,Sandal,Shirt,Sneaker,Bag,Ankle boot"
step "Import Fashion-MNIST into a versioned dataset ($WS)"
"$TML" data import fashion --workspace "$WS" --idx "$FM/train-images-idx3-ubyte.gz" \
  "$FM/train-labels-idx1-ubyte.gz" --classes "$CLASSES" --split train
"$TML" data import fashion --workspace "$WS" --idx "$FM/t10k-images-idx3-ubyte.gz" \
  "$FM/t10k-labels-idx1-ubyte.gz" --classes "$CLASSES" --split test
"$TML" data split fashion --workspace "$WS" --keep-test --train 0.9 --val 0.1 --test 0
"$TML" data stats fashion --workspace "$WS" | tee "$OUT/fashion.stats.txt" | head -3
step "Train examples/models/tiny_cnn.yaml (libtorch, 2 epochs)"
"$TML" train --model examples/models/tiny_cnn.yaml --data fashion --workspace "$WS" --epochs 2 \
  --batch 128 --lr 3e-3 -o "$OUT/fashion_float.onnx" | tee "$OUT/fashion.train.txt"
step "Quantize to int8 (calibrated on training images), per-layer SQNR, accuracy on the test set"
"$TML" quantize "$OUT/fashion_float.onnx" --calibration fashion@train --eval fashion@test \
  --workspace "$WS" -o "$OUT/fashion_int8.onnx" | tee "$OUT/fashion.quantize.txt"
"$TML" evaluate "$OUT/fashion_int8.onnx" --data fashion@test --workspace "$WS" \
  > "$OUT/fashion.evaluate.txt"
head -1 "$OUT/fashion.evaluate.txt"
step "The trained int8 model on the emulated Cortex-M4: bit-exact, instructions, fit"
"$TML" verify "$OUT/fashion_int8.onnx" --target cortex-m4 --inputs 10 | tee "$OUT/fashion.verify-cortex-m4.txt"
"$TML" profile "$OUT/fashion_int8.onnx" --target cortex-m4 > "$OUT/fashion.profile-cortex-m4.txt"
tail -4 "$OUT/fashion.profile-cortex-m4.txt"
"$TML" compile "$OUT/fashion_int8.onnx" --target cortex-m4 -o "$OUT/fashion_cortex-m4" > /dev/null
step "On-device evaluation: 1000 test images through the Cortex-M4 firmware, compared with the host"
"$TML" evaluate "$OUT/fashion_int8.onnx" --data fashion@test --workspace "$WS" --target cortex-m4 \
  --samples 1000 > "$OUT/fashion.evaluate-cortex-m4.txt"
tail -1 "$OUT/fashion.evaluate-cortex-m4.txt"

cat <<TXT

Demo finished. Look at:
  $OUT/*.profile.txt     per-layer MACs, weight bytes, arena offsets, totals
  $OUT/*.verify*.txt     bit-exactness of the generated C (host and emulated Cortex-M4)
  $OUT/*-cortex-m4.txt   instructions per layer, flash, RAM and fit on the Cortex-M4 board
  $OUT/*_c/              generated C: model header, schedule, weights, kernels
  $OUT/*.exported.onnx   the models as ONNX (open them in any ONNX viewer)
  $OUT/fashion.*.txt     the Fashion-MNIST lifecycle: dataset stats, training, quantization
                         (per-layer SQNR, float vs int8), evaluation, Cortex-M4 profile
  $OUT/fashion_cortex-m4/  the trained int8 model as C sources and firmware.elf
  $OUT/workspace/        the dataset store (meta.db, blobs/) with the training run recorded
TXT
