#!/usr/bin/env bash
# Tile-serving benchmark against nginx and Orthanc (see tools/bench_serve.py): installs what is missing,
# builds release, runs. BENCH_SCRATCH=DIR builds into another scratch path (default .build).
set -euo pipefail
cd "$(dirname "$0")/.."
bash tools/setup.sh
sudo=""; if [ "$(id -u)" -ne 0 ]; then sudo="sudo"; fi
if ! command -v wrk >/dev/null || ! command -v nginx >/dev/null || ! command -v Orthanc >/dev/null; then
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends wrk nginx-light orthanc >/dev/null
fi
scratch="${BENCH_SCRATCH:-.build}"
swift build -c release --scratch-path "$scratch"
BENCH_BUILD_DIR="$scratch/release" python3 tools/bench_serve.py "$@"
