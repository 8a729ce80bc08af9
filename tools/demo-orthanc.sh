#!/usr/bin/env bash
# The plugin demo: installs what is missing, builds dicomizer and the Orthanc plugin, converts the
# generated sample slide (as tools/demo.sh does), starts Debian's Orthanc on 127.0.0.1:${DEMO_PORT:-8042}
# with the plugin (and Orthanc's WSI and DICOMweb plugins beside it), stores the pyramid there by
# STOW-RS, and prints the viewer's address. Ctrl-C stops Orthanc. Each run starts from an empty Orthanc
# in samples/orthanc/ (its configuration, log, index and storage). DICOMIZER_SCRATCH is SwiftPM's
# scratch path to build in (default .build); DEMO_DICOM_PORT is Orthanc's DICOM port (default 4242).
set -euo pipefail
cd "$(dirname "$0")/.."
bash tools/setup.sh
scratch="${DICOMIZER_SCRATCH:-.build}"
for product in dicomizer wsi-testslide DicomizerOrthanc; do
  swift build -c release --scratch-path "$scratch" --product "$product"
done
bin="$(cd "$scratch/release" && pwd)"
mkdir -p samples
if [ ! -f samples/sample.svs ]; then
  echo "demo: generating samples/sample.svs (8,000 x 6,000 pixels, Aperio-style)"
  "$bin/wsi-testslide" samples/sample.svs --kind svs --width 8000 --height 6000
fi
if [ ! -f samples/sample-dicom/level-0.dcm ]; then
  "$bin/dicomizer" samples/sample.svs -o samples/sample-dicom --overwrite --report samples/sample-report.json
fi

port="${DEMO_PORT:-8042}"
if curl -s -o /dev/null "http://127.0.0.1:$port/"; then
  echo "demo: something already answers on 127.0.0.1:$port (set DEMO_PORT)" >&2
  exit 1
fi
here="$(pwd)"
rm -rf samples/orthanc
mkdir -p samples/orthanc/storage
cat > samples/orthanc/orthanc.json <<JSON
{
  "Name": "dicomizer-demo", "HttpPort": $port, "DicomPort": ${DEMO_DICOM_PORT:-4242},
  "StorageDirectory": "$here/samples/orthanc/storage", "IndexDirectory": "$here/samples/orthanc",
  "RemoteAccessAllowed": false, "AuthenticationEnabled": false,
  "Plugins": ["/usr/share/orthanc/plugins/libOrthancWSI.so", "/usr/share/orthanc/plugins/libOrthancDicomWeb.so",
              "$bin/libDicomizerOrthanc.so"],
  "Dicomizer": {"Root": "/dicomizer", "WebRoot": "$here/web"}
}
JSON
/usr/sbin/Orthanc samples/orthanc/orthanc.json > samples/orthanc/orthanc.log 2>&1 &
orthanc=$!
trap 'kill $orthanc 2>/dev/null; wait $orthanc 2>/dev/null' EXIT
trap 'exit 130' INT TERM
for _ in $(seq 150); do
  curl -sf "http://127.0.0.1:$port/system" >/dev/null && break
  kill -0 $orthanc 2>/dev/null || { echo "demo: Orthanc stopped; its log:" >&2; tail -20 samples/orthanc/orthanc.log >&2; exit 1; }
  sleep 0.2
done
"$bin/dicomizer" send samples/sample-dicom --to "http://127.0.0.1:$port/dicom-web"
echo "demo: open http://127.0.0.1:$port/dicomizer/ (Orthanc Explorer: http://127.0.0.1:$port/app/explorer.html); Ctrl-C stops Orthanc"
wait $orthanc
