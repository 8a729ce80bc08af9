#!/usr/bin/env python3
"""Orthanc plugin benchmark: tiles/s through our plugin (ROOT/wsi/tiles), against Orthanc's WSI plugin
(/wsi/tiles) and Orthanc's own raw frame route (/instances/ID/frames/N/raw), on the same level-0
instance of a 20,000 x 15,000 slide stored in one Orthanc, with the same wrk settings, in alternating
rounds (median reported), on 127.0.0.1 only. Also JPEG 2000 tiles (transcoded to JPEG by us; Orthanc's
WSI plugin answers them as PNG) through both plugins.

JPEG 2000 runs with our tile cache at 1 MB, so that every request is transcoded as Orthanc's WSI plugin
transcodes every request (with the default 256 MB cache ours would answer repeated tiles from memory).

Usage: tools/bench_plugin.sh [--seconds 10] [--tiles 4000] [--rounds 3]
       python3 tools/bench_plugin.py --bin .build-plugin/release ...   (binaries already built there)
"""
import argparse
import json
import os
import random
import subprocess
import sys
import tempfile
import urllib.request

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import bench_serve  # noqa: E402
from bench_serve import ROOT, benchmark_slide, convert_jpeg2000, frames_of, free_port, tile_grid, wait_http, wrk  # noqa: E402

ORTHANC = "/usr/sbin/Orthanc"
ORTHANC_WSI = "/usr/share/orthanc/plugins/libOrthancWSI.so"


def upload(port, folder):
    series, instances = None, {}
    for name in sorted(os.listdir(folder)):
        if not name.endswith(".dcm"):
            continue
        with open(os.path.join(folder, name), "rb") as f:
            request = urllib.request.Request(f"http://127.0.0.1:{port}/instances", data=f.read(), method="POST")
            answer = json.loads(urllib.request.urlopen(request).read())
            series = answer.get("ParentSeries", series)
            instances[name] = answer["ID"]
    return series, instances


def get(url):
    with urllib.request.urlopen(url, timeout=30) as r:
        return r.headers.get("Content-Type", ""), r.read()


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--seconds", type=int, default=10)
    p.add_argument("--tiles", type=int, default=4000)
    p.add_argument("--rounds", type=int, default=3)
    p.add_argument("--workdir", default=os.path.join(ROOT, "bench", "plugin"))
    p.add_argument("--bin", "--build-dir", dest="bin", default=os.path.join(ROOT, os.environ.get("BENCH_BUILD_DIR", ".build/release")),
                   help="folder of the release binaries: dicomizer, wsi-testslide, libDicomizerOrthanc.so (default .build/release,"
                        " or $BENCH_BUILD_DIR)")
    p.add_argument("--skip-j2k", action="store_true", help="JPEG tiles only")
    args = p.parse_args()
    binaries = os.path.abspath(args.bin)
    ours = os.path.join(binaries, "dicomizer")
    plugin = os.path.join(binaries, "libDicomizerOrthanc.so")
    bench_serve.GENERATOR = os.path.join(binaries, "wsi-testslide")
    for path in (ours, plugin, bench_serve.GENERATOR, ORTHANC, ORTHANC_WSI):
        if not os.path.exists(path):
            sys.exit(f"bench_plugin: {path} is missing (build with tools/bench_plugin.sh, or pass --bin)")
    os.makedirs(args.workdir, exist_ok=True)
    slide = benchmark_slide()
    jpeg_dir = os.path.join(args.workdir, "jpeg")
    j2k_dir = os.path.join(args.workdir, "j2k")
    subprocess.run([ours, slide, "-o", jpeg_dir, "--overwrite", "-q", "--no-label", "--no-overview", "--no-thumbnail"], check=True)
    if not args.skip_j2k:
        convert_jpeg2000(ours, slide, j2k_dir)
    ds, _ = frames_of(os.path.join(jpeg_dir, "level-0.dcm"))
    tile, across, down = tile_grid(ds)
    random.seed(7)
    cells = random.sample([(c, r) for r in range(down) for c in range(across)], min(args.tiles, across * down))

    port = free_port()
    storage = tempfile.mkdtemp(prefix="orthanc-", dir=args.workdir)
    config = {"Name": "bench", "StorageDirectory": storage, "IndexDirectory": storage, "HttpPort": port,
              "DicomServerEnabled": False, "RemoteAccessAllowed": False, "AuthenticationEnabled": False, "KeepAlive": True,
              "Plugins": [ORTHANC_WSI, plugin], "Dicomizer": {"Root": "/dicomizer", "CacheMB": 1}}
    config_path = os.path.join(storage, "orthanc.json")
    with open(config_path, "w") as f:
        json.dump(config, f)
    log = open(os.path.join(storage, "orthanc.log"), "w")
    orthanc = subprocess.Popen([ORTHANC, config_path], stdout=log, stderr=subprocess.STDOUT)
    try:
        wait_http(f"http://127.0.0.1:{port}/system")
        series, instances = upload(port, jpeg_dir)
        j2k_series = upload(port, j2k_dir)[0] if not args.skip_j2k else None
        level0 = instances["level-0.dcm"]
        base = f"http://127.0.0.1:{port}"
        wait_http(f"{base}/dicomizer/wsi/pyramids/{series}")
        wait_http(f"{base}/wsi/pyramids/{series}")
        routes = {
            "dicomizer plugin": [f"/dicomizer/wsi/tiles/{series}/0/{c}/{r}" for c, r in cells],
            "orthanc-wsi": [f"/wsi/tiles/{series}/0/{c}/{r}" for c, r in cells],
            "Orthanc raw frame": [f"/instances/{level0}/frames/{r * across + c}/raw" for c, r in cells],
        }
        # The same bytes from all three, before anything is timed.
        answers = {name: get(base + paths[0]) for name, paths in routes.items()}
        for name, (kind, body) in answers.items():
            print(f"{name}: {kind}, {len(body)} bytes for tile {cells[0]}", file=sys.stderr)
        if len({body for _, body in answers.values()}) != 1:
            sys.exit("bench_plugin: the three routes answer different bytes for the same tile")
        j2k_routes = {}
        if j2k_series:
            wait_http(f"{base}/dicomizer/wsi/pyramids/{j2k_series}")
            wait_http(f"{base}/wsi/pyramids/{j2k_series}")
            j2k_routes = {
                "dicomizer plugin": [f"/dicomizer/wsi/tiles/{j2k_series}/0/{c}/{r}" for c, r in cells],
                "orthanc-wsi": [f"/wsi/tiles/{j2k_series}/0/{c}/{r}" for c, r in cells],
            }
            for name, paths in j2k_routes.items():
                kind, body = get(base + paths[0])
                print(f"JPEG 2000, {name}: {kind}, {len(body)} bytes for tile {cells[0]}", file=sys.stderr)
        runs = {name: [] for name in routes}
        j2k_runs = {name: [] for name in j2k_routes}
        for round in range(args.rounds):
            for name, paths in routes.items():
                runs[name].append(wrk(base, paths, args.seconds, args.workdir, name.split()[0]))
                print(f"round {round + 1}, {name}: {runs[name][-1][0]:,.0f} tiles/s", file=sys.stderr)
            for name, paths in j2k_routes.items():
                j2k_runs[name].append(wrk(base, paths, args.seconds, args.workdir, "j2k-" + name.split()[0]))
                print(f"round {round + 1}, JPEG 2000, {name}: {j2k_runs[name][-1][0]:,.0f} tiles/s", file=sys.stderr)
    finally:
        orthanc.terminate()
        orthanc.wait(timeout=30)
        log.close()

    median = lambda values: sorted(values)[len(values) // 2]
    print(f"Orthanc {ORTHANC} with {ORTHANC_WSI} and {plugin}; configuration: {json.dumps(config)}")
    print(f"wrk: 16 connections, 2 threads, {args.seconds} s each, {len(cells)} distinct level-0 tiles of {tile}x{tile} (random, seed 7) of"
          f" {across}x{down}, 127.0.0.1; median of {args.rounds} alternating rounds")
    print("| route | tiles | tiles/s, median (rounds) | p99 ms | non-200 |")
    print("|---|---|---|---|---|")
    for label, table in (("JPEG", runs), ("JPEG 2000", j2k_runs)):
        for name, values in table.items():
            rate = median([v[0] for v in values])
            print(f"| {name} | {label} | {rate:,.0f} ({', '.join(f'{v[0]:,.0f}' for v in values)}) | {median([v[1] for v in values]):.2f} |"
                  f" {sum(v[2] for v in values)} |")
    ratio = lambda table, a, b: median([x[0] / y[0] for x, y in zip(table[a], table[b])])
    line = (f"plugin / orthanc-wsi: {ratio(runs, 'dicomizer plugin', 'orthanc-wsi'):.2f}x (median of the rounds' ratios); "
            f"plugin / raw frame route: {ratio(runs, 'dicomizer plugin', 'Orthanc raw frame'):.2f}x")
    if j2k_runs:
        line += f"; JPEG 2000, plugin / orthanc-wsi: {ratio(j2k_runs, 'dicomizer plugin', 'orthanc-wsi'):.2f}x"
    print(line)


if __name__ == "__main__":
    sys.exit(main())
