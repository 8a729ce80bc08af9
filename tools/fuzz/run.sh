#!/usr/bin/env bash
# Fuzzes our DICOM Part 10 reader and the pyramid indexer with libFuzzer (coverage-guided, with
# AddressSanitizer): tools/fuzz/run.sh [seconds, default 120]. Seeds are the instances dicomizer writes
# for a small generated slide. A crash leaves its input as crash-* in .build-fuzz/; turn each into a
# regression test (Tests/WSITests/MalformedInputTests.swift) before fixing it.
set -euo pipefail
cd "$(dirname "$0")/../.."
seconds="${1:-120}"
work=.build-fuzz
mkdir -p "$work/corpus"
swiftc -O -sanitize=fuzzer,address -parse-as-library -module-name WSIDICOM -suppress-warnings \
    Sources/WSIDICOM/*.swift Sources/WSITileService/PyramidIndexer.swift Sources/WSITileService/SlideModel.swift \
    tools/fuzz/DICOMFuzz.swift -o "$work/fuzz-dicom" 2> >(grep -v "Cannot export local symbol" >&2)
if [ -z "$(ls -A "$work/corpus")" ]; then
    swift build --product wsi-testslide >/dev/null
    swift build --product dicomizer >/dev/null
    bin="$(swift build --show-bin-path)"
    "$bin/wsi-testslide" "$work/seed.svs" --width 600 --height 400 --tile 128
    "$bin/dicomizer" "$work/seed.svs" -o "$work/seed" --overwrite -q
    "$bin/dicomizer" "$work/seed.svs" -o "$work/seed-sparse" --overwrite -q --reencode --tile-size 64
    find "$work/seed" "$work/seed-sparse" -name '*.dcm' -size -200k -exec cp {} "$work/corpus/" \; 2>/dev/null || true
    i=0; for f in "$work"/seed*/*.dcm; do i=$((i+1)); head -c 60000 "$f" > "$work/corpus/head-$i.dcm"; done
fi
cd "$work"
./fuzz-dicom -max_total_time="$seconds" -max_len=262144 -rss_limit_mb=2048 -print_final_stats=1 corpus
