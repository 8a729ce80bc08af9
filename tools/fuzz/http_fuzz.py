#!/usr/bin/env python3
"""An HTTP request fuzzer for `dicomizer serve`: mutated requests on every route family (path, query,
headers, method, version, framing), sent as raw bytes to a running server over real sockets.

usage: http_fuzz.py DICOMIZER FOLDER [--seconds S] [--requests N] [--seed K] [--token T] [--findings DIR]

Seeds are real requests built from what the server lists (slide ids, study and instance UIDs), on the
routes of `serve`: /api, /wsi, /iiif, /dicomweb, the viewer's files. Each request is mutated (segments
replaced by hostile values, slashes doubled, percent escapes, huge numbers, query keys added or
repeated, headers added, broken or oversized, methods and versions changed, requests pipelined) and
sent; the answer is parsed. A finding is: the server exits; an answer that is not HTTP or never comes
(for a request the parser accepted); a 5xx; an answer that names a path on the server; a data route
answered without the token; the server's RSS past 512 MiB. Findings are written to DIR (one file each,
the raw request) and the script exits 1 when there were any. Deterministic for a seed.
"""
import argparse
import json
import os
import random
import re
import socket
import subprocess
import sys
import time
import urllib.request

parser = argparse.ArgumentParser()
parser.add_argument("dicomizer")
parser.add_argument("folder")
parser.add_argument("--seconds", type=float, default=60)
parser.add_argument("--requests", type=int, default=0, help="stop after this many (0: run for --seconds)")
parser.add_argument("--seed", type=int, default=1)
parser.add_argument("--token", default="s3cret")
parser.add_argument("--findings", default=".build-fuzz/http")
args = parser.parse_args()
rng = random.Random(args.seed)
folder = os.path.abspath(args.folder)
RSS_LIMIT_MIB = 512

server = subprocess.Popen([args.dicomizer, "serve", folder, "--port", "0", "--token", args.token, "-q", "--idle-timeout", "5"],
                          stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
line = server.stdout.readline()
while line and "serving" not in line:
    line = server.stdout.readline()
if not line:
    sys.exit(f"the server did not start: {server.stderr.read()}")
port = int(line.rsplit(":", 1)[1].strip().strip("/"))
auth = {"Authorization": f"Bearer {args.token}"}


def get_json(path):
    request = urllib.request.Request(f"http://127.0.0.1:{port}{path}", headers=auth)
    with urllib.request.urlopen(request, timeout=30) as answer:
        return json.loads(answer.read())


slides = get_json("/api/slides")["slides"]
if not slides:
    sys.exit(f"no slides under {folder}")
targets = []
for slide in slides:
    sid = slide["id"]
    series = get_json(f"/dicomweb/series?SeriesInstanceUID={sid}")
    study = series[0]["0020000D"]["Value"][0] if series else "1.2.3"
    instances = get_json(f"/dicomweb/studies/{study}/series/{sid}/instances")
    sops = [i["00080018"]["Value"][0] for i in instances] or ["1.2.3"]
    targets.append((sid, study, sops))


def seeds(sid, study, sop):
    """Real requests of every route family, as clients send them."""
    return [
        "/", "/index.html", "/viewer.html", "/vendor/leaflet/leaflet.js",
        "/api/slides", f"/api/slides/{sid}", f"/api/slides/{sid}/tiles/0/0/0", f"/api/slides/{sid}/tiles/1/0/0?format=png",
        f"/api/slides/{sid}/associated/thumbnail", f"/api/slides/{sid}/associated/label?format=png",
        f"/wsi/pyramids/{sid}", f"/wsi/tiles/{sid}/0/0/0", f"/wsi/tiles/{sid}/2/1/0",
        f"/iiif/{sid}/info.json", f"/iiif/{sid}/full/max/0/default.jpg", f"/iiif/{sid}/0,0,512,512/256,/0/default.png",
        f"/iiif/{sid}/square/128,128/90/gray.jpg", f"/iiif/{sid}/pct:10,10,50,50/pct:5/!0/bitonal.png",
        "/dicomweb/studies", f"/dicomweb/studies?StudyInstanceUID={study}&includefield=all&limit=5&offset=0",
        f"/dicomweb/studies/{study}/series", f"/dicomweb/series?Modality=SM&SeriesInstanceUID={sid}",
        f"/dicomweb/studies/{study}/instances?00080016=1.2.840.10008.5.1.4.1.1.77.1.6&includefield=AvailableTransferSyntaxUID",
        f"/dicomweb/studies/{study}/metadata", f"/dicomweb/studies/{study}/series/{sid}/metadata",
        f"/dicomweb/studies/{study}/series/{sid}/instances/{sop}/metadata",
        f"/dicomweb/studies/{study}/series/{sid}/instances/{sop}/frames/1",
        f"/dicomweb/studies/{study}/series/{sid}/instances/{sop}/frames/1,2,3",
        f"/dicomweb/studies/{study}/series/{sid}/instances/{sop}/frames/1/rendered",
        f"/dicomweb/studies/{study}/series/{sid}/instances/{sop}/rendered",
        f"/dicomweb/studies/{study}/series/{sid}/instances/{sop}",
    ]


HOSTILE_SEGMENTS = [
    "", ".", "..", "%2e%2e", "%2F", "%00", "%", "%zz", "%C0%AF", "\u00e9", "%E9", "😐", "-1", "0", "00000000001",
    "99999999999999999999", "2147483648", "9223372036854775808", "1e9", "0x10", " ", "%20", "a" * 5000,
    "full", "max", "square", "pct:", "pct:-1", "pct:1e308", "!0", "-90", "360", "0,0,0,0", "-1,-1,5,5",
    "999999999,1,1,1", "1,", ",1", "!1,1", "^max", "^pct:1000", "default.gif", "x.", ".jpg", "info.json",
    "frames", "1,", ",", "0", "4294967297", "1.2.3", "*", "?", "#", ";", "\\", "..%2F..%2Fetc%2Fpasswd",
]
QUERY_KEYS = ["format", "access_token", "includefield", "limit", "offset", "StudyInstanceUID", "00100020", "PatientID",
              "StudyDate", "Modality", "fuzzymatching", "quality", "viewport", "window", "x" * 300, "", "%", "a[]"]
QUERY_VALUES = ["png", "jpeg", "gif", "", "-1", "99999999999", "all", "00080016", "20200101-", "-20201231", "2020-01",
                "*", "?", "\\", "%", "%00", "a" * 10000, "SM", "1.2.3", "true", args.token, "bad"]
HEADERS = [
    ("Accept", ["image/png", "image/jpeg;q=0", "image/*", "*/*;q=0", "multipart/related; type=\"application/octet-stream\"",
                "multipart/related; type=\"image/jpeg\"; transfer-syntax=*", "application/dicom+json", "text/html;q=0.5, image/jxl",
                "image/png;q=abc", ";;;,,,", "a" * 9000]),
    ("Authorization", [f"Bearer {args.token}", "Bearer", "Bearer  " + args.token, "Basic Zm9vOmJhcg==", "bearer " + args.token, ""]),
    ("Host", ["localhost", "evil.example\"><script>", "[::1]:80", "a" * 3000, "", "localhost:99999", "h\u00e9"]),
    ("Origin", ["https://viewer.example", "null", "*", ""]),
    ("Range", ["bytes=0-10", "bytes=-5", "bytes=99999999999-", "junk"]),
    ("Connection", ["close", "keep-alive", "upgrade", "junk"]),
    ("Content-Length", ["0", "5", "-1", "99999999999999999999", "abc"]),
    ("Transfer-Encoding", ["chunked", "gzip, chunked", "identity"]),
    ("If-None-Match", ["*", "\"x\""]),
    ("X-Forwarded-Host", ["evil.example"]),
    ("Expect", ["100-continue"]),
]
METHODS = ["GET"] * 8 + ["HEAD", "OPTIONS", "POST", "PUT", "DELETE", "PATCH", "TRACE", "CONNECT", "GE T", "get", "X" * 100]
VERSIONS = ["HTTP/1.1"] * 10 + ["HTTP/1.0", "HTTP/2.0", "HTTP/0.9", "HTTP/1.1x", "HTTPS/1.1", ""]


def mutate_path(path):
    base, _, query = path.partition("?")
    parts = base.split("/")
    for _ in range(rng.randint(0, 3)):
        choice = rng.random()
        index = rng.randrange(len(parts))
        if choice < 0.5:
            parts[index] = rng.choice(HOSTILE_SEGMENTS)
        elif choice < 0.65:
            parts.insert(index, rng.choice(["", "..", "."]))
        elif choice < 0.8 and len(parts) > 2:
            del parts[index]
        else:
            parts.insert(index, rng.choice(HOSTILE_SEGMENTS))
    path = "/".join(parts)
    if not path.startswith("/") and rng.random() < 0.9:
        path = "/" + path
    pairs = [p for p in query.split("&") if p]
    for _ in range(rng.choice([0, 0, 1, 2, 3])):
        pairs.append(f"{rng.choice(QUERY_KEYS)}={rng.choice(QUERY_VALUES)}")
    if rng.random() < 0.05:
        pairs.append(rng.choice(["&&&", "=", "==", "a", "%%%"]))
    return path + ("?" + "&".join(pairs) if pairs or rng.random() < 0.03 else "")


def make_request(path):
    method = rng.choice(METHODS)
    version = rng.choice(VERSIONS)
    headers = [("Host", "localhost")]
    if rng.random() < 0.8:
        headers.append(("Authorization", f"Bearer {args.token}"))
    for _ in range(rng.choice([0, 0, 1, 1, 2, 3])):
        name, values = rng.choice(HEADERS)
        headers.append((name, rng.choice(values)))
    if rng.random() < 0.02:
        headers.append(("X-Big", "b" * rng.choice([8000, 70000])))
    body = b""
    if method in ("POST", "PUT") and rng.random() < 0.5:
        body = os.urandom(rng.choice([1, 100, 5000]))
        headers.append(("Content-Length", str(len(body))))
    head = f"{method} {path} {version}".strip() + "\r\n" + "".join(f"{n}: {v}\r\n" for n, v in headers) + "\r\n"
    data = head.encode("utf-8", "surrogateescape") + body
    if rng.random() < 0.03:  # raw byte damage
        data = bytearray(data)
        for _ in range(rng.randint(1, 4)):
            data[rng.randrange(len(data))] = rng.randrange(256)
        data = bytes(data)
    well_formed = version in ("HTTP/1.1", "HTTP/1.0") and method.isalpha() and method.isupper() and len(head) < 60000
    has_token = ("Authorization", f"Bearer {args.token}") in headers or f"access_token={args.token}" in path
    return data, well_formed, has_token, method


def receive(sock, deadline):
    data = b""
    while time.time() < deadline:
        try:
            chunk = sock.recv(65536)
        except socket.timeout:
            break
        if not chunk:
            break
        data += chunk
    return data


def rss_mib(pid):
    try:
        with open(f"/proc/{pid}/status") as status:
            for line in status:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1]) / 1024
    except OSError:
        pass
    return 0.0


os.makedirs(args.findings, exist_ok=True)
findings = []
statuses = {}
sent = 0
start = time.time()
DATA_ROUTES = re.compile(r"^/+(api|wsi|iiif|dicomweb)(/|$)")


def finding(kind, data, detail=""):
    name = os.path.join(args.findings, f"finding-{len(findings) + 1}.txt")
    with open(name, "wb") as out:
        out.write(data)
    findings.append((kind, name, detail[:300]))
    print(f"FINDING {kind}: {name} {detail[:300]}", flush=True)


while True:
    if args.requests and sent >= args.requests:
        break
    if not args.requests and time.time() - start > args.seconds:
        break
    sid, study, sops = rng.choice(targets)
    count = 1 if rng.random() < 0.85 else rng.randint(2, 4)  # pipelined
    batch = [make_request(mutate_path(rng.choice(seeds(sid, study, rng.choice(sops)))) if rng.random() < 0.9
                          else rng.choice(seeds(sid, study, rng.choice(sops)))) for _ in range(count)]
    payload = b"".join(item[0] for item in batch)
    sent += count
    try:
        sock = socket.create_connection(("127.0.0.1", port), timeout=30)
        sock.sendall(payload)
        sock.shutdown(socket.SHUT_WR)
        answer = receive(sock, time.time() + 30)
        sock.close()
    except OSError as error:
        answer = b""
        if server.poll() is not None:
            finding("server exited", payload, f"status {server.returncode}: {server.stderr.read()[-2000:]}")
            break
    if server.poll() is not None:
        finding("server exited", payload, f"status {server.returncode}: {server.stderr.read()[-2000:]}")
        break
    first = batch[0]
    match = re.match(rb"HTTP/1\.[01] (\d{3})", answer)
    if not match:
        if first[1] and not answer and b"\r\n\r\n" in payload and b"Transfer-Encoding" not in payload and b"Content-Length" not in payload:
            finding("no answer", payload)
        continue
    status = int(match.group(1))
    statuses[status] = statuses.get(status, 0) + 1
    if status >= 500:
        finding(f"status {status}", payload, answer[:300].decode("latin-1"))
    if folder.encode() in answer:
        finding("server path in answer", payload)
    request_line = first[0].split(b"\r\n", 1)[0].decode("latin-1")
    target = request_line.split(" ")[1] if request_line.count(" ") >= 2 else ""
    if status == 200 and not first[2] and first[3] in ("GET", "HEAD") and DATA_ROUTES.match(target):
        finding("data without the token", payload, request_line)
    if sent % 200 < count:
        rss = rss_mib(server.pid)
        if rss > RSS_LIMIT_MIB:
            finding("memory", payload, f"RSS {rss:.0f} MiB")

elapsed = time.time() - start
peak = rss_mib(server.pid)
server.terminate()
try:
    server.wait(timeout=30)
except subprocess.TimeoutExpired:
    server.kill()
print(json.dumps({"requests": sent, "seconds": round(elapsed, 1), "per_second": round(sent / max(elapsed, 1e-9)),
                  "statuses": dict(sorted(statuses.items())), "findings": len(findings), "rss_mib_at_end": round(peak)}))
sys.exit(1 if findings else 0)
