#!/usr/bin/env bash
# Conversion benchmark against the peers (see tools/bench.py): installs them, builds release, runs.
set -euo pipefail
cd "$(dirname "$0")/.."
bash tools/setup.sh
sudo=""; if [ "$(id -u)" -ne 0 ]; then sudo="sudo"; fi
if ! command -v OrthancWSIDicomizer >/dev/null || ! [ -x /usr/bin/time ]; then
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq orthanc-wsi time >/dev/null
fi
python3 -c "import wsidicomizer" 2>/dev/null || python3 -m pip install -q --disable-pip-version-check wsidicomizer
swift build -c release
python3 tools/bench.py "$@"
