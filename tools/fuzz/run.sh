#!/usr/bin/env bash
# Fuzzes our own parsers of untrusted bytes with libFuzzer (coverage-guided, with AddressSanitizer):
#   tools/fuzz/run.sh [dicom|ndpi|jpeg|vendor|head|http] [seconds, default 120]
#   dicom: the DICOM Part 10 reader and the pyramid indexer (what `serve` runs on any folder)
#   ndpi:  the NDPI directory parser, the restart-interval JPEG parser and the interval index
#   jpeg:  our JPEG entropy decoder and DCT-domain transcoder (C, with UndefinedBehaviorSanitizer too),
#          differentially: its output must equal what it makes with libjpeg's decoder alone
#   vendor: the XML descriptions of Philips TIFF and Leica SCN (which decide the levels read directly)
#   head:  the request-head scan `serve` runs on every request's bytes ahead of NIO's HTTP decoder
#   http:  `dicomizer serve` itself, black-box: mutated requests on every route (tools/fuzz/http_fuzz.py)
# Seeds are files our tools write (a converted slide's instances, a generated NDPI, JPEG streams of each
# kind the decoder takes or declines). A crash leaves its input as crash-* in .build-fuzz/TARGET/; turn
# each into a case of Tests/WSITests/MalformedInputTests.swift (or NDPISourceTests.swift,
# JPEGTranscoderTests.swift) before fixing it.
set -euo pipefail
cd "$(dirname "$0")/../.."
target="${1:-dicom}"
seconds="${2:-120}"
work=".build-fuzz/$target"
mkdir -p "$work/corpus"
flags=(-O -sanitize=fuzzer,address -parse-as-library -suppress-warnings)
extra=()
quiet() { "$@" 2> >(grep -v "Cannot export local symbol" >&2); }
# Our tools, which write the seeds of the Swift targets.
tools() {
    swift build --product wsi-testslide >/dev/null
    swift build --product dicomizer >/dev/null
    bin="$(swift build --show-bin-path)"
}
case "$target" in
dicom)
    tools
    quiet swiftc "${flags[@]}" -module-name WSIDICOM Sources/WSIDICOM/*.swift \
        Sources/WSITileService/PyramidIndexer.swift Sources/WSITileService/SlideModel.swift tools/fuzz/DICOMFuzz.swift \
        -o "$work/fuzz"
    if [ -z "$(ls -A "$work/corpus")" ]; then
        "$bin/wsi-testslide" "$work/seed.svs" --width 600 --height 400 --tile 128
        "$bin/dicomizer" "$work/seed.svs" -o "$work/seed" --overwrite -q
        "$bin/dicomizer" "$work/seed.svs" -o "$work/seed-small-tiles" --overwrite -q --reencode --tile-size 64
        cp "$work"/seed*/*.dcm "$work/corpus/" 2>/dev/null || true
        i=0; for f in "$work"/seed*/*.dcm; do i=$((i+1)); head -c 60000 "$f" > "$work/corpus/head-$i.dcm"; done
    fi
    ;;
ndpi)
    tools
    # WSICodecs as a module of its own (the parsers use its types), then the NDPI files with the harness.
    c=(-I Sources/CTurboJPEG -I Sources/COpenJPEG -I Sources/CPNG)
    for flag in $(pkg-config --cflags libopenjp2 libpng libturbojpeg); do c+=(-Xcc "$flag"); done
    quiet swiftc "${flags[@]}" "${c[@]}" -module-name WSICodecs -wmo -emit-module -emit-module-path "$work/WSICodecs.swiftmodule" \
        -c Sources/WSICodecs/*.swift -o "$work/WSICodecs.o"
    quiet swiftc "${flags[@]}" "${c[@]}" -I "$work" -module-name WSISources \
        Sources/WSISources/{NDPIFile,ReadOnlyFile,RestartIntervalIndex,SlideSource}.swift tools/fuzz/NDPIFuzz.swift \
        "$work/WSICodecs.o" -lturbojpeg -lopenjp2 -lpng -o "$work/fuzz"
    if [ -z "$(ls -A "$work/corpus")" ]; then
        "$bin/wsi-testslide" "$work/corpus/seed.ndpi" --kind ndpi --width 640 --height 480
        "$bin/wsi-testslide" "$work/corpus/seed-no-mcu-starts.ndpi" --kind ndpi --width 320 --height 240 --no-mcu-starts
    fi
    ;;
jpeg)
    src=Sources/CJPEGTranscode
    quiet clang -O1 -g -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=undefined -I "$src/include" -I "$src" \
        "$src"/*.c tools/fuzz/JPEGTranscodeFuzz.c -ljpeg -o "$work/fuzz"
    if [ -z "$(ls -A "$work/corpus")" ]; then
        clang -O1 -DJPEG_FUZZ_SEEDS tools/fuzz/JPEGTranscodeFuzz.c -ljpeg -o "$work/seeds"
        "$work/seeds" "$work/corpus"
    fi
    ;;
vendor)
    tools
    # XMLParser leaks a small CFError on each malformed document (Foundation's, 432 bytes): not ours to find.
    extra=(-detect_leaks=0)
    export ASAN_OPTIONS="${ASAN_OPTIONS:+$ASAN_OPTIONS:}detect_leaks=0"
    quiet swiftc "${flags[@]}" -module-name WSISources Sources/WSISources/{PhilipsDescription,SCNDescription,XMLTree,BarcodeText}.swift \
        tools/fuzz/VendorDescriptionFuzz.swift -o "$work/fuzz"
    if [ -z "$(ls -A "$work/corpus")" ]; then
        # The XML documents of generated slides, cut out of their first ImageDescription.
        "$bin/wsi-testslide" "$work/seed-philips.tiff" --kind philips --width 1200 --height 900 --tile 256
        "$bin/wsi-testslide" "$work/seed.scn" --kind scn --width 1200 --height 900 --tile 256
        python3 - "$work" <<'PY'
import sys
work = sys.argv[1]
for name, end in (("seed-philips.tiff", b"</DataObject>\n</Array></Attribute>\n</DataObject>"), ("seed.scn", b"</scn>")):
    data = open(f"{work}/{name}", "rb").read()
    start = data.index(b"<?xml")
    open(f"{work}/corpus/{name}.xml", "wb").write(data[start:data.index(end, start) + len(end)])
PY
    fi
    ;;
head)
    quiet swiftc "${flags[@]}" -module-name WSITileServer Sources/WSITileServer/RawRequestHead.swift \
        tools/fuzz/RequestHeadFuzz.swift -o "$work/fuzz"
    if [ -z "$(ls -A "$work/corpus")" ]; then
        printf 'GET /wsi/tiles/1.2.3/0/4/5 HTTP/1.1\r\nHost: a\r\nAccept: image/*\r\n\r\n' > "$work/corpus/tile"
        printf 'GET /api/slides/1.2/tiles/0/0/0 HTTP/1.1\r\nAuthorization: Bearer t\r\nOrigin: https://a\r\n\r\nGET / HTTP/1.0\r\n\r\n' > "$work/corpus/two"
        printf 'POST /dicomweb/studies HTTP/1.1\r\nContent-Length: 3\r\nTransfer-Encoding: chunked\r\n\r\nabc' > "$work/corpus/body"
        printf 'GET / HTTP/1.1\r\nUpgrade: h2c\r\nConnection: Upgrade\r\nExpect: 100-continue\r\n\r\n' > "$work/corpus/upgrade"
    fi
    ;;
http)
    # Not coverage-guided: the whole server (NIO's parser, the fast path, the route table) over real
    # sockets, on a JPEG, a JPEG 2000 and a plain-image slide. Findings are written to $work.
    tools
    if [ ! -d "$work/slides" ]; then
        "$bin/wsi-testslide" "$work/seed.svs" --width 3000 --height 2000
        "$bin/wsi-testslide" "$work/seed-jp2k.svs" --kind svs-jp2k --width 1500 --height 1000
        "$bin/wsi-testslide" "$work/seed.png" --kind png --width 700 --height 500
        for s in seed.svs seed-jp2k.svs seed.png; do "$bin/dicomizer" "$work/$s" -o "$work/slides/${s%%.*}-${s##*.}" -q; done
    fi
    exec python3 tools/fuzz/http_fuzz.py "$bin/dicomizer" "$work/slides" --seconds "$seconds" --findings "$work"
    ;;
*) echo "usage: tools/fuzz/run.sh [dicom|ndpi|jpeg|vendor|head|http] [seconds]" >&2; exit 2 ;;
esac
cd "$work"
./fuzz -max_total_time="$seconds" -max_len=524288 -rss_limit_mb=2048 -print_final_stats=1 "${extra[@]}" corpus
