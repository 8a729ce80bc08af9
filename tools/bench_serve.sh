#!/usr/bin/env bash
# Tile-serving benchmark against nginx and Orthanc (see tools/bench_serve.py): installs what is missing,
# builds release, runs.
set -euo pipefail
cd "$(dirname "$0")/.."
bash tools/setup.sh
sudo=""; if [ "$(id -u)" -ne 0 ]; then sudo="sudo"; fi
if ! command -v wrk >/dev/null || ! command -v nginx >/dev/null || ! command -v Orthanc >/dev/null; then
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends wrk nginx-light orthanc >/dev/null
fi
swift build -c release
python3 tools/bench_serve.py "$@"
