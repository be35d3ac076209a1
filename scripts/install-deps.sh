#!/usr/bin/env bash
# Installs the Debian packages the build and the tests need. Idempotent: packages
# already present are skipped, and apt-get runs only when something is missing.
set -euo pipefail

PACKAGES=(
  build-essential cmake pkg-config
  libgtest-dev libgmock-dev libbenchmark-dev
  libonnx-dev libprotobuf-dev
  libflatbuffers-dev flatbuffers-compiler
  nlohmann-json3-dev libyaml-cpp-dev libcli11-dev libspdlog-dev libfmt-dev
  libsqlite3-dev zlib1g-dev libpng-dev libjpeg-dev
  gcc-arm-none-eabi libnewlib-arm-none-eabi qemu-system-arm
  dataset-fashion-mnist libtorch-dev
  # libtorch's dense layers call BLAS: OpenBLAS instead of the reference BLAS makes
  # them ~20x faster (the trainer pins it to one thread, see src/train/torch_trainer.cc).
  libopenblas0-pthread
  libcpp-httplib-dev curl
  # PostgreSQL: the server-scale metadata store; the tests start a server on loopback.
  postgresql libpqxx-dev
  # Devices: package signatures (mbedTLS, the library MCUboot uses; the device side is
  # built from Debian's source package, scripts/fetch-device-sources.sh) and device
  # messaging over MQTT (the tests start their own Mosquitto broker on loopback).
  libmbedtls-dev mosquitto mosquitto-clients libmosquitto-dev
  # The dashboard's browser tests drive Debian's Chromium (playwright-core from npm).
  chromium
  # Audio: keyword datasets from speech synthesis (data synth-speech) and resampling.
  espeak-ng libsoxr-dev
)

missing=()
for p in "${PACKAGES[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
    missing+=("$p")
  fi
done

# node and npm build the dashboard; Debian's npm when the machine has none.
command -v npm > /dev/null || missing+=(npm)

if [ ${#missing[@]} -eq 0 ]; then
  echo "install-deps: all ${#PACKAGES[@]} packages present"
else
  echo "install-deps: installing ${missing[*]}"
  SUDO=""
  if [ "$(id -u)" -ne 0 ]; then SUDO="sudo"; fi
  export DEBIAN_FRONTEND=noninteractive
  $SUDO apt-get update -q
  $SUDO apt-get install -y -q --no-install-recommends "${missing[@]}"
fi

# The dashboard's npm packages (web/package-lock.json), when missing or out of date.
WEB="$(dirname "$0")/../web"
if [ ! -f "$WEB/node_modules/.package-lock.json" ] ||
   [ "$WEB/package-lock.json" -nt "$WEB/node_modules/.package-lock.json" ]; then
  echo "install-deps: npm ci in web/"
  (cd "$WEB" && npm ci --no-audit --no-fund)
fi
