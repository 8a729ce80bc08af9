#!/usr/bin/env bash
# Installs what dicomizer builds against (Debian 12 packages), what the server uses (Leaflet), and what
# the tests check with: dicom3tools, DCMTK, OpenSlide 4 and wsidicom, the peers' converters (Orthanc WSI,
# wsidicomizer) whose output the server must read, and Chromium with Selenium for the viewer test.
# Safe to run again: installs only what is missing.
set -euo pipefail

APT_PACKAGES=(
  pkg-config libopenslide-dev libtiff-dev libjpeg-dev libturbojpeg0-dev libopenjp2-7-dev libdcmtk-dev libpng-dev
  dicom3tools dcmtk openslide-tools time orthanc orthanc-wsi orthanc-dicomweb orthanc-dev orthanc-postgresql postgresql
  libjs-leaflet chromium chromium-driver curl
)
PIP_PACKAGES=(openslide-bin openslide-python wsidicom wsidicomizer pydicom numpy pillow selenium dicomweb-client large-image-source-dicom iiif-validator)

sudo=""
if [ "$(id -u)" -ne 0 ]; then sudo="sudo"; fi

missing=()
for package in "${APT_PACKAGES[@]}"; do
  dpkg -s "$package" >/dev/null 2>&1 || missing+=("$package")
done
if [ "${#missing[@]}" -gt 0 ]; then
  echo "setup: installing ${missing[*]}"
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

if ! python3 -c "import openslide_bin, openslide, wsidicom, wsidicomizer, pydicom, numpy, PIL, selenium, dicomweb_client, large_image_source_dicom, iiif_validator" 2>/dev/null; then
  echo "setup: installing ${PIP_PACKAGES[*]} from PyPI"
  python3 -m pip install -q --disable-pip-version-check "${PIP_PACKAGES[@]}"
fi

# Real files for the tests (an Aperio SVS, PixelMed's DICOM conversion of a Leica slide, a generic TIFF, broken
# ones), from openslide-python's source distribution on PyPI: fetched here, never committed.
fixtures="$(cd "$(dirname "$0")/.." && pwd)/testdata/fetched/openslide-python"
if [ ! -f "$fixtures/tests/fixtures/small.svs" ]; then
  echo "setup: fetching openslide-python 1.4.7's test files from PyPI"
  download="$(mktemp -d)"
  python3 -m pip download -q --disable-pip-version-check --no-deps --no-binary :all: openslide-python==1.4.7 -d "$download"
  mkdir -p "$fixtures"
  tar xzf "$download/openslide_python-1.4.7.tar.gz" -C "$fixtures" --strip-components=1 openslide_python-1.4.7/tests/fixtures
  rm -rf "$download"
fi
