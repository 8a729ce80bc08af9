"""Issue 19's hostile files next to a good slide, served by `dicomizer serve`: its peak RSS while it indexes
them and answers every slide's routes (HostileRequestTests).

usage: serve_rss.py DICOMIZER FOLDER
FOLDER holds one good slide's instances (level-0.dcm among them); the hostile variants of its level 0 are
written beside it, each a series of its own. Prints one JSON object: the slides listed, the statuses of the
requests, whether the server stayed up, and its peak RSS (VmHWM) in MiB.
"""
import json
import os
import struct
import subprocess
import sys
import urllib.error
import urllib.request

import pydicom
from pydicom.uid import generate_uid

dicomizer, folder = sys.argv[1], sys.argv[2]
good = pydicom.dcmread(os.path.join(folder, "level-0.dcm"))


def item(payload):
    return b"\xfe\xff\x00\xe0" + struct.pack("<I", len(payload)) + payload


def encapsulated(fragments, offsets=()):
    return item(b"".join(struct.pack("<I", o) for o in offsets)) + b"".join(item(f) for f in fragments) + b"\xfe\xff\xdd\xe0\x00\x00\x00\x00"


def variant(name, change):
    ds = pydicom.dcmread(os.path.join(folder, "level-0.dcm"))
    ds.SeriesInstanceUID = generate_uid()
    ds.SOPInstanceUID = ds.file_meta.MediaStorageSOPInstanceUID = generate_uid()
    change(ds)
    ds.save_as(os.path.join(folder, name), enforce_file_format=True)


jpeg = b"\xff\xd8\xff\xd9"


def pixels(ds, data, frames):
    ds.NumberOfFrames = frames
    ds.PixelData = data
    ds["PixelData"].VR = "OB"
    ds["PixelData"].is_undefined_length = True


variant("frames-2G.dcm", lambda ds: pixels(ds, encapsulated([jpeg] * 4), 2**31 - 1))
variant("matrix-1.6M.dcm", lambda ds: (setattr(ds, "TotalPixelMatrixColumns", 1_600_000), setattr(ds, "TotalPixelMatrixRows", 1_600_000)))
variant("tile-30000.dcm", lambda ds: (setattr(ds, "Rows", 30000), setattr(ds, "Columns", 30000)))
variant("fragments-n-plus-1.dcm", lambda ds: pixels(ds, encapsulated([jpeg] * 100_001), 100_000))
variant("offsets-outside.dcm", lambda ds: pixels(ds, encapsulated([jpeg] * 4, [0, 1 << 30, 2 << 30, 3 << 30]), 4))
variant("offsets-backwards.dcm", lambda ds: pixels(ds, encapsulated([jpeg] * 4, [0, 36, 12, 24]), 4))
variant("empty-fragments.dcm", lambda ds: pixels(ds, encapsulated([b""] * 4), 4))

server = subprocess.Popen([dicomizer, "serve", folder, "--port", "0", "-q"], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
line = server.stdout.readline()
while line and "serving" not in line:
    line = server.stdout.readline()
port = int(line.rsplit(":", 1)[1].strip().strip("/"))
statuses = {}


def get(path):
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}{path}", timeout=120) as answer:
            body = answer.read()
            status = answer.status
    except urllib.error.HTTPError as error:
        body, status = error.read(), error.code
    except OSError:
        body, status = b"", 0
    statuses[str(status)] = statuses.get(str(status), 0) + 1
    return status, body


status, body = get("/api/slides")
slides = json.loads(body)["slides"] if status == 200 else []
for slide in slides:
    sid = slide["id"]
    for path in [f"/api/slides/{sid}", f"/wsi/pyramids/{sid}", f"/iiif/{sid}/info.json", f"/api/slides/{sid}/tiles/0/0/0",
                 f"/api/slides/{sid}/tiles/0/0/0?format=png", f"/iiif/{sid}/full/max/0/default.jpg", f"/iiif/{sid}/full/max/0/default.png",
                 f"/dicomweb/series?SeriesInstanceUID={sid}"]:
        get(path)
alive = server.poll() is None and get("/api/slides")[0] == 200
peak = 0.0
with open(f"/proc/{server.pid}/status") as status_file:
    for entry in status_file:
        if entry.startswith("VmHWM:"):
            peak = int(entry.split()[1]) / 1024
server.terminate()
_, log = server.communicate(timeout=30)
print(json.dumps({"slides": len(slides), "statuses": statuses, "alive": alive, "peak_mib": round(peak, 1), "log": log[-6000:]}))
