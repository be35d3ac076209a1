#!/usr/bin/env bash
# Fetches the C sources that device images compile (mbedTLS, pinned to the version of the
# host's libmbedtls-dev) from Debian's source archive into DEST (default build/device-src).
# A private sources list derived from the machine's own is used; the system's apt
# configuration is not touched, and apt checks the source package's signature.
# Idempotent: nothing is fetched when the unpacked tree is there.
set -euo pipefail

MBEDTLS_VERSION=2.28.3
DEST="${1:-$(dirname "$0")/../build/device-src}"
mkdir -p "$DEST"
DEST="$(cd "$DEST" && pwd)"
TREE="$DEST/mbedtls-$MBEDTLS_VERSION"

if [ -f "$TREE/library/ecdsa.c" ]; then
  echo "fetch-device-sources: mbedtls $MBEDTLS_VERSION present in $TREE"
  exit 0
fi

WORK="$DEST/apt"
mkdir -p "$WORK/lists/partial" "$WORK/cache/archives/partial"
SOURCES="$WORK/sources.list"
if [ -f /etc/apt/sources.list.d/debian.sources ]; then
  sed 's/^Types: deb$/Types: deb-src/' /etc/apt/sources.list.d/debian.sources > "$WORK/debian-src.sources"
  SRC_OPTS=(-o "Dir::Etc::SourceList=/dev/null" -o "Dir::Etc::SourceParts=$WORK/parts")
  mkdir -p "$WORK/parts"
  cp "$WORK/debian-src.sources" "$WORK/parts/debian-src.sources"
elif [ -f /etc/apt/sources.list ]; then
  sed -n 's/^deb /deb-src /p' /etc/apt/sources.list > "$SOURCES"
  SRC_OPTS=(-o "Dir::Etc::SourceList=$SOURCES" -o "Dir::Etc::SourceParts=-")
else
  echo "fetch-device-sources: no apt sources on this machine to derive a source archive from" >&2
  exit 1
fi
APT_OPTS=("${SRC_OPTS[@]}" -o "Dir::State::Lists=$WORK/lists" -o "Dir::Cache=$WORK/cache"
          -o "Debug::NoLocking=1")

echo "fetch-device-sources: mbedtls $MBEDTLS_VERSION from Debian's source archive"
apt-get "${APT_OPTS[@]}" update -q > "$WORK/update.log" 2>&1 || {
  cat "$WORK/update.log" >&2
  exit 1
}
(cd "$DEST" && apt-get "${APT_OPTS[@]}" source --download-only -q "mbedtls=$MBEDTLS_VERSION-1") \
  > "$WORK/source.log" 2>&1 || {
  cat "$WORK/source.log" >&2
  exit 1
}
ORIG="$(ls "$DEST"/mbedtls_"$MBEDTLS_VERSION".orig.tar.* | head -1)"
mkdir -p "$TREE"
tar -xf "$ORIG" -C "$TREE" --strip-components=1
if [ ! -f "$TREE/library/ecdsa.c" ]; then
  echo "fetch-device-sources: $ORIG did not unpack to $TREE" >&2
  exit 1
fi
echo "fetch-device-sources: unpacked $TREE"
