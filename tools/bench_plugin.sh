#!/usr/bin/env bash
# Orthanc plugin benchmark (see tools/bench_plugin.py): installs what is missing, builds release, runs.
# BENCH_SCRATCH is SwiftPM's scratch path to build in and take the binaries from (default .build), as for
# tools/bench_serve.sh.
set -euo pipefail
cd "$(dirname "$0")/.."
bash tools/setup.sh
sudo=""; if [ "$(id -u)" -ne 0 ]; then sudo="sudo"; fi
if ! command -v wrk >/dev/null; then
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends wrk >/dev/null
fi
scratch="${BENCH_SCRATCH:-.build}"
for product in dicomizer wsi-testslide DicomizerOrthanc; do
  swift build -c release --scratch-path "$scratch" --product "$product"
done
python3 tools/bench_plugin.py --bin "$scratch/release" "$@"
