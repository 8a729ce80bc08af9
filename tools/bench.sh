#!/usr/bin/env bash
# Conversion benchmark against the peers (see tools/bench.py): installs them (tools/setup.sh), builds
# release, runs.
set -euo pipefail
cd "$(dirname "$0")/.."
bash tools/setup.sh
sudo=""; if [ "$(id -u)" -ne 0 ]; then sudo="sudo"; fi
swift build -c release
python3 tools/bench.py "$@"
