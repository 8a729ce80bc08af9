#!/usr/bin/env bash
# The plugin demo: builds dicomizer and the Orthanc plugin, converts the generated sample slide (as
# tools/demo.sh does), starts Debian's Orthanc on 127.0.0.1:${DEMO_PORT:-8042} with the plugin (and
# Orthanc's WSI and DICOMweb plugins beside it), stores the pyramid there by STOW-RS, and prints the
# viewer's address. Ctrl-C stops Orthanc; its files are in samples/orthanc/.
set -euo pipefail
cd "$(dirname "$0")/.."
DEMO_SERVE=0 bash tools/demo.sh
swift build -c release --product DicomizerOrthanc
port="${DEMO_PORT:-8042}"
mkdir -p samples/orthanc/storage
cat > samples/orthanc/orthanc.json <<JSON
{
  "Name": "dicomizer-demo", "HttpPort": $port, "DicomPort": ${DEMO_DICOM_PORT:-4242},
  "StorageDirectory": "$(pwd)/samples/orthanc/storage", "IndexDirectory": "$(pwd)/samples/orthanc",
  "RemoteAccessAllowed": false, "AuthenticationEnabled": false,
  "Plugins": ["/usr/share/orthanc/plugins/libOrthancWSI.so", "/usr/share/orthanc/plugins/libOrthancDicomWeb.so",
              "$(pwd)/.build/release/libDicomizerOrthanc.so"],
  "Dicomizer": {"Root": "/dicomizer", "WebRoot": "$(pwd)/web"}
}
JSON
/usr/sbin/Orthanc samples/orthanc/orthanc.json > samples/orthanc/orthanc.log 2>&1 &
orthanc=$!
trap 'kill $orthanc 2>/dev/null' EXIT INT TERM
for _ in $(seq 100); do curl -sf "http://127.0.0.1:$port/system" >/dev/null && break; sleep 0.2; done
.build/release/dicomizer send samples/sample-dicom --to "http://127.0.0.1:$port/dicom-web"
echo "demo: open http://127.0.0.1:$port/dicomizer/ (Orthanc Explorer: http://127.0.0.1:$port/app/explorer.html); Ctrl-C stops Orthanc"
wait $orthanc
