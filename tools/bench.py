#!/usr/bin/env python3
"""Conversion benchmark: dicomizer against OrthancWSIDicomizer and wsidicomizer, side by side in one run.

Generates Aperio-style slides with our generator (tools/testslide), then converts each with every tool on
two paths, several times in rounds (every tool once a round, so that all see the machine alike), and prints
the median wall time, CPU time, peak memory and output size, each peer's time as a multiple of ours (the
median of the rounds' ratios), and every tool's time against the codec floor: the time
TurboJPEG itself needs for the path's decoding and encoding on this machine's cores with perfect
parallelism (measured on the same slide by tools/codecfloor):

  copy      level-0 tiles copied as they are (ours also computes the full dyadic pyramid below them;
            OrthancWSIDicomizer and wsidicomizer copy the source's own levels and add none, and
            `wsidicomizer --add-missing-levels` adds the missing dyadic ones as ours does; ours with
            `--pyramid source` copies the source's levels too, and adds the dyadic levels below them)
  reencode  every tile re-encoded as JPEG q90 4:2:0, full dyadic pyramid (ours in the DCT domain for level 0,
            so it can run below the codec floor, which is TurboJPEG's decoding and encoding of pixels)
  ndpi      a Hamamatsu NDPI (generated, --ndpi-size): ours by default (level-0 frames cut from the scanner's
            JPEG without decoding, dyadic levels computed), with --reencode (level 0 decoded by our reader and
            re-encoded as JPEG q90 4:2:0) and with `--reader openslide`; OrthancWSIDicomizer through OpenSlide
            with `--pyramid=1` (it cannot copy NDPI tiles). wsidicomizer is left out: its output of our
            generated NDPI does not match the source's pixels, so its time says nothing. No codec floor: the
            floor tool reads tiled TIFF only.
  philips   a Philips TIFF (generated, --philips-size; the right half of its last row of tiles left out, as
            scanners leave out unscanned areas): ours (level-0 tiles copied, dyadic levels computed), with
            `--pyramid source` and with `--reader openslide` (the way it went before the direct reader);
            wsidicomizer's copy and --add-missing-levels; OrthancWSIDicomizer (it stops at the first missing
            tile: "Corrupted file", so it has no figures).
  scn       a Leica SCN (generated, --scn-size): the main image placed on a collection 600 x 400 pixels larger.
            Ours reads the main image directly (level-0 tiles copied, dyadic levels computed), also with
            `--pyramid source` and `--reader openslide` (OpenSlide's view: the whole collection, decoded and
            re-encoded); OrthancWSIDicomizer and wsidicomizer read it through OpenSlide (neither copies SCN).
  mrxs      a 3DHistech MIRAX (generated, --mrxs-size: overlapping camera images placed by a position buffer), which
            every tool reads through OpenSlide, decoding and re-encoding: ours with its full dyadic pyramid,
            OrthancWSIDicomizer with `--pyramid=1 --jpeg-quality=90` (the same pyramid), wsidicomizer as it goes
            (OpenSlide's levels re-encoded). No codec floor: the floor tool reads tiled TIFF only.

Usage: tools/bench.sh [--sizes 20000x15000,50000x40000] [--runs 3] [--paths copy,reencode,ndpi,philips,scn,mrxs]
                     [--ndpi-size 20000x15000] [--philips-size 20000x15000] [--scn-size 20000x15000]
                     [--mrxs-size 20000x15000] [--no-peers]
Needs: orthanc-wsi (Debian) and wsidicomizer (PyPI) for the peers; `tools/bench.sh` installs them.
"""
import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
OURS = os.path.join(ROOT, ".build/release/dicomizer")
GENERATOR = os.path.join(ROOT, ".build/release/wsi-testslide")
FLOOR = os.path.join(ROOT, ".build/release/wsi-codec-floor")
OPENSLIDE_LIB = "/usr/lib/x86_64-linux-gnu/libopenslide.so.0"
# wsidicomizer runs behind tools/run_wsidicomizer.py, which works around its libturbojpeg lookup on Debian 12.
WSIDICOMIZER = [sys.executable, os.path.join(ROOT, "tools/run_wsidicomizer.py")]


def measure(command, output):
    """Runs a command under /usr/bin/time; returns wall s, cpu s, peak RSS MiB, output MiB."""
    if os.path.exists(output):
        shutil.rmtree(output)
    if command[0] == "OrthancWSIDicomizer":
        os.makedirs(output)  # it writes into an existing folder; wsidicomizer wants none
    with tempfile.NamedTemporaryFile("r") as t:
        result = subprocess.run(["/usr/bin/time", "-o", t.name, "-f", "%e %U %S %M"] + command,
                                stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
        if result.returncode != 0:
            raise RuntimeError(f"{' '.join(command[:3])} failed: {result.stderr[-500:]}")
        wall, user, system, rss = t.read().split()[-4:]
    size = sum(os.path.getsize(os.path.join(d, f)) for d, _, fs in os.walk(output) for f in fs)
    return float(wall), float(user) + float(system), int(rss) / 1024, size / 2**20


def tools_for(path, slide, out, threads, peers):
    ours = lambda extra: [OURS, slide, "-o", out, "--overwrite", "-q", "--threads", str(threads)] + extra
    orthanc = lambda extra: ["OrthancWSIDicomizer", f"--openslide={OPENSLIDE_LIB}", f"--folder={out}", f"--threads={threads}", slide] + extra
    wsid = lambda extra: WSIDICOMIZER + ["-i", slide, "-o", out, "-w", str(threads)] + extra
    if path in ("philips", "scn"):
        runs = [("dicomizer", ours([])), ("dicomizer --pyramid source", ours(["--pyramid", "source"])),
                ("dicomizer --reader openslide", ours(["--reader", "openslide"]))]
        if peers:
            runs += [("OrthancWSIDicomizer", orthanc([])), ("wsidicomizer", wsid([])),
                     ("wsidicomizer --add-missing-levels", wsid(["--add-missing-levels"]))]
    elif path == "mrxs":
        runs = [("dicomizer", ours([]))]
        if peers:
            runs += [("OrthancWSIDicomizer", orthanc(["--pyramid=1", "--jpeg-quality=90"])), ("wsidicomizer", wsid([]))]
    elif path == "ndpi":
        runs = [("dicomizer", ours([])), ("dicomizer --reencode", ours(["--reencode"])),
                ("dicomizer --reader openslide", ours(["--reader", "openslide"]))]
        if peers:
            runs += [("OrthancWSIDicomizer", orthanc(["--pyramid=1", "--jpeg-quality=90"]))]
    elif path == "copy":
        runs = [("dicomizer", ours([])), ("dicomizer --pyramid source", ours(["--pyramid", "source"]))]
        if peers:
            # wsidicomizer's plain copy writes no new level; with --add-missing-levels it copies level 0 and
            # computes the same dyadic levels ours does (its default encoder for them).
            runs += [("OrthancWSIDicomizer", orthanc([])), ("wsidicomizer", wsid([])),
                     ("wsidicomizer --add-missing-levels", wsid(["--add-missing-levels"]))]
    else:
        runs = [("dicomizer", ours(["--reencode", "--quality", "90", "--subsampling", "420"]))]
        if peers:
            runs += [("OrthancWSIDicomizer", orthanc(["--reencode=1", "--pyramid=1", "--jpeg-quality=90"])),
                     ("wsidicomizer", wsid(["--force-transcoding", "--add-missing-levels", "--format", "jpeg",
                                            "--quality", "90"]))]
    return runs


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--sizes", default="20000x15000,50000x40000")
    p.add_argument("--runs", type=int, default=3)
    p.add_argument("--threads", type=int, default=os.cpu_count())
    p.add_argument("--paths", default="copy,reencode,ndpi,philips,scn,mrxs", help="which paths to run: copy, reencode, ndpi, philips, scn, mrxs")
    p.add_argument("--ndpi-size", default="20000x15000", help="the NDPI slide's size (the generator holds it whole in memory)")
    p.add_argument("--philips-size", default="20000x15000", help="the Philips TIFF slide's size")
    p.add_argument("--scn-size", default="20000x15000", help="the Leica SCN slide's main image size")
    p.add_argument("--mrxs-size", default="20000x15000", help="the MRXS slide's size")
    p.add_argument("--no-peers", action="store_true")
    p.add_argument("--workdir", default=os.path.join(ROOT, "bench"))
    args = p.parse_args()
    os.makedirs(args.workdir, exist_ok=True)

    rows = []
    paths = args.paths.split(",")
    jobs = [(size, [p for p in paths if p not in ("ndpi", "philips", "scn", "mrxs")], "svs") for size in args.sizes.split(",")]
    if "ndpi" in paths:
        jobs.append((args.ndpi_size, ["ndpi"], "ndpi"))
    if "philips" in paths:
        jobs.append((args.philips_size, ["philips"], "philips"))
    if "scn" in paths:
        jobs.append((args.scn_size, ["scn"], "scn"))
    if "mrxs" in paths:
        jobs.append((args.mrxs_size, ["mrxs"], "mrxs"))
    for size, job_paths, kind in jobs:
        if not job_paths:
            continue
        w, h = (int(v) for v in size.split("x"))
        name = f"slide-{w}x{h}-philips.tiff" if kind == "philips" else f"slide-{w}x{h}.{kind}"
        slide = os.path.join(args.workdir, name)
        if not os.path.exists(slide):
            print(f"generating {slide}", file=sys.stderr)
            subprocess.run([GENERATOR, slide, "--kind", kind, "--width", str(w), "--height", str(h)], check=True)
        floor = {}
        if kind in ("svs", "philips", "scn"):
            floor = json.loads(subprocess.run([FLOOR, slide, "--threads", str(args.threads)], check=True,
                                              capture_output=True, text=True).stdout)
            print(f"{size} codec floor: {floor}", file=sys.stderr)
        for path in job_paths:
            # Philips TIFF and SCN take the copy path: level-0 tiles copied, the dyadic levels computed.
            floor_seconds = floor.get(f"{'copy' if path in ('philips', 'scn') else path}FloorSeconds")
            # Rounds, each tool once a round, so that every tool sees the machine as it is in that round:
            # these shared machines change speed by a third within minutes, which would otherwise decide
            # the ratios. The ratio is the median of the rounds' own ratios.
            tools = tools_for(path, slide, os.path.join(args.workdir, "out"), args.threads, not args.no_peers)
            samples = {name: [] for name, _ in tools}
            failed = set()
            for _ in range(args.runs):
                for name, command in tools:
                    if name in failed:
                        continue
                    try:
                        samples[name].append(measure(command, os.path.join(args.workdir, "out")))
                    except RuntimeError as e:
                        print(f"{name}: {e}", file=sys.stderr)
                        failed.add(name)
            results = {}
            for name, runs in samples.items():
                if runs and name not in failed:
                    results[name] = [statistics.median(v) for v in zip(*runs)]
                    print(f"{size} {path} {name}: {results[name]} (walls {[r[0] for r in runs]})", file=sys.stderr)
            ours = samples.get("dicomizer") if "dicomizer" in results else None
            label = f"{w}x{h} ({w * h / 1e6:.0f} MP)"
            for name, (wall, cpu, rss, mib) in results.items():
                ratio = ""
                if ours and not name.startswith("dicomizer"):
                    ratio = f"{statistics.median(peer[0] / own[0] for peer, own in zip(samples[name], ours)):.2f}x"
                # The source pyramid decodes nothing: the codec floor does not apply to it.
                versus_floor = f"{wall / floor_seconds:.2f}x" if floor_seconds and "--pyramid source" not in name else ""
                rows.append((label, path, name, f"{wall:.2f}", f"{cpu:.2f}", f"{rss:.0f}", f"{mib:.0f}", ratio, versus_floor))
            if floor_seconds:
                rows.append((label, path, "codec floor (TurboJPEG alone)", f"{floor_seconds:.2f}", "", "", "", "", "1.00x"))
    shutil.rmtree(os.path.join(args.workdir, "out"), ignore_errors=True)

    header = ("slide", "path", "tool", "wall s", "CPU s", "peak MiB", "output MiB", "peer time / ours", "time / codec floor")
    print("| " + " | ".join(header) + " |")
    print("|" + "---|" * len(header))
    for row in rows:
        print("| " + " | ".join(row) + " |")


if __name__ == "__main__":
    main()
