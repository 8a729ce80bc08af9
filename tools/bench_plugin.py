#!/usr/bin/env python3
"""Orthanc plugin benchmark: tiles/s through our plugin (ROOT/wsi/tiles), against Orthanc's WSI plugin
(/wsi/tiles) and Orthanc's own raw frame route (/instances/ID/frames/N/raw), on the same level-0
instance of a 20,000 x 15,000 slide stored in one Orthanc, with the same wrk settings, in alternating
rounds (median reported), on 127.0.0.1 only. Also JPEG 2000 tiles (transcoded to JPEG by us; Orthanc's
WSI plugin answers them as PNG) through both plugins.

Usage: tools/bench_plugin.sh [--seconds 10] [--tiles 4000] [--rounds 3]
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
from bench_serve import OURS, ROOT, benchmark_slide, frames_of, free_port, wait_http, wrk  # noqa: E402

PLUGIN = os.path.join(ROOT, ".build/release/libDicomizerOrthanc.so")


def upload(port, folder):
    series, instances = None, {}
    for name in sorted(os.listdir(folder)):
        with open(os.path.join(folder, name), "rb") as f:
            request = urllib.request.Request(f"http://127.0.0.1:{port}/instances", data=f.read(), method="POST")
            answer = json.loads(urllib.request.urlopen(request).read())
            series = answer.get("ParentSeries", series)
            instances[name] = answer["ID"]
    return series, instances


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--seconds", type=int, default=10)
    p.add_argument("--tiles", type=int, default=4000)
    p.add_argument("--rounds", type=int, default=3)
    p.add_argument("--workdir", default=os.path.join(ROOT, "bench", "plugin"))
    args = p.parse_args()
    os.makedirs(args.workdir, exist_ok=True)
    slide = benchmark_slide()
    jpeg_dir = os.path.join(args.workdir, "jpeg")
    j2k_dir = os.path.join(args.workdir, "j2k")
    subprocess.run([OURS, slide, "-o", jpeg_dir, "--overwrite", "-q", "--no-label", "--no-overview", "--no-thumbnail"], check=True)
    subprocess.run([OURS, slide, "-o", j2k_dir, "--overwrite", "-q", "--compression", "jpeg2000", "--levels", "1", "--tile-size", "240",
                    "--no-label", "--no-overview", "--no-thumbnail"], check=True)
    ds, _ = frames_of(os.path.join(jpeg_dir, "level-0.dcm"))
    tile = int(ds.Columns)
    across = (int(ds.TotalPixelMatrixColumns) + tile - 1) // tile
    down = (int(ds.TotalPixelMatrixRows) + tile - 1) // tile
    random.seed(7)
    cells = random.sample([(c, r) for r in range(down) for c in range(across)], min(args.tiles, across * down))

    port = free_port()
    storage = tempfile.mkdtemp(prefix="orthanc-", dir=args.workdir)
    config = os.path.join(storage, "orthanc.json")
    with open(config, "w") as f:
        json.dump({"Name": "bench", "StorageDirectory": storage, "IndexDirectory": storage, "HttpPort": port,
                   "DicomServerEnabled": False, "RemoteAccessAllowed": False, "AuthenticationEnabled": False, "KeepAlive": True,
                   "Plugins": ["/usr/share/orthanc/plugins/libOrthancWSI.so", PLUGIN], "Dicomizer": {"Root": "/dicomizer"}}, f)
    orthanc = subprocess.Popen(["Orthanc", config], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        wait_http(f"http://127.0.0.1:{port}/system")
        series, instances = upload(port, jpeg_dir)
        j2k_series, _ = upload(port, j2k_dir)
        level0 = instances["level-0.dcm"]
        wait_http(f"http://127.0.0.1:{port}/dicomizer/wsi/pyramids/{series}")
        wait_http(f"http://127.0.0.1:{port}/wsi/pyramids/{series}")
        base = f"http://127.0.0.1:{port}"
        routes = {
            "dicomizer plugin": [f"/dicomizer/wsi/tiles/{series}/0/{c}/{r}" for c, r in cells],
            "orthanc-wsi": [f"/wsi/tiles/{series}/0/{c}/{r}" for c, r in cells],
            "Orthanc raw frame": [f"/instances/{level0}/frames/{r * across + c}/raw" for c, r in cells],
        }
        runs = {name: [] for name in routes}
        for _ in range(args.rounds):
            for name, paths in routes.items():
                runs[name].append(wrk(base, paths, args.seconds, args.workdir, name.split()[0]))
        j2k = {
            "dicomizer plugin": wrk(base, [f"/dicomizer/wsi/tiles/{j2k_series}/0/{c}/{r}" for c, r in cells], args.seconds, args.workdir, "j2k-ours"),
            "orthanc-wsi": wrk(base, [f"/wsi/tiles/{j2k_series}/0/{c}/{r}" for c, r in cells], args.seconds, args.workdir, "j2k-wsi"),
        }
    finally:
        orthanc.terminate()
        orthanc.wait(timeout=20)

    median = lambda values: sorted(values)[len(values) // 2]
    print(f"wrk: 16 connections, 2 threads, {args.seconds} s each, {len(cells)} distinct level-0 tiles of {tile}x{tile}, one Orthanc,"
          f" 127.0.0.1; median of {args.rounds} alternating rounds")
    print("| route | tiles | tiles/s (rounds) | p99 ms | non-200 |")
    print("|---|---|---|---|---|")
    for name, values in runs.items():
        rate = median([v[0] for v in values])
        print(f"| {name} | JPEG | {rate:,.0f} ({', '.join(f'{v[0]:,.0f}' for v in values)}) | {median([v[1] for v in values]):.2f} |"
              f" {sum(v[2] for v in values)} |")
    for name, (rate, p99, bad) in j2k.items():
        print(f"| {name} | JPEG 2000 | {rate:,.0f} | {p99:.2f} | {bad} |")
    ratio = lambda a, b: median([x[0] / y[0] for x, y in zip(runs[a], runs[b])])
    print(f"plugin / orthanc-wsi: {ratio('dicomizer plugin', 'orthanc-wsi'):.2f}x (median of the rounds' ratios); "
          f"plugin / raw frame route: {ratio('dicomizer plugin', 'Orthanc raw frame'):.2f}x; "
          f"JPEG 2000, plugin / orthanc-wsi: {j2k['dicomizer plugin'][0] / j2k['orthanc-wsi'][0]:.2f}x")


if __name__ == "__main__":
    sys.exit(main())
