#!/usr/bin/env bash
# Runs every test: installs what is missing, builds, and runs the Swift test suite (unit tests and
# interop tests that check our DICOM output with dciodvfy, dcentvfy, DCMTK, OpenSlide 4 and wsidicom).
set -euo pipefail
cd "$(dirname "$0")/.."
bash tools/setup.sh
swift build --build-tests
swift test --skip-build
