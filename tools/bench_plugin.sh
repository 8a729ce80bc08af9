#!/usr/bin/env bash
# Orthanc plugin benchmark (see tools/bench_plugin.py): installs what is missing, builds release, runs.
set -euo pipefail
cd "$(dirname "$0")/.."
bash tools/setup.sh
sudo=""; if [ "$(id -u)" -ne 0 ]; then sudo="sudo"; fi
if ! command -v wrk >/dev/null; then
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends wrk >/dev/null
fi
swift build -c release
swift build -c release --product DicomizerOrthanc
python3 tools/bench_plugin.py "$@"
