#!/usr/bin/env bash
# The main job on a generated sample: installs what is missing, builds dicomizer, generates an
# Aperio-style sample slide (samples/sample.svs), converts it to DICOM (samples/sample-dicom/), describes
# the result, then serves it at http://127.0.0.1:8080/ until Ctrl-C (DEMO_PORT changes the port;
# DEMO_SERVE=0 stops after converting).
set -euo pipefail
cd "$(dirname "$0")/.."
bash tools/setup.sh
swift build -c release
mkdir -p samples
if [ ! -f samples/sample.svs ]; then
  echo "demo: generating samples/sample.svs (8,000 x 6,000 pixels, Aperio-style)"
  .build/release/wsi-testslide samples/sample.svs --kind svs --width 8000 --height 6000
fi
.build/release/dicomizer samples/sample.svs -o samples/sample-dicom --overwrite --report samples/sample-report.json
.build/release/dicomizer info samples/sample-dicom
echo "demo: DICOM instances are in $(pwd)/samples/sample-dicom (summary: samples/sample-report.json)"
if [ "${DEMO_SERVE:-1}" != "0" ]; then
  echo "demo: open http://127.0.0.1:${DEMO_PORT:-8080}/ in a browser; Ctrl-C stops the server"
  exec .build/release/dicomizer serve samples/sample-dicom --port "${DEMO_PORT:-8080}"
fi
