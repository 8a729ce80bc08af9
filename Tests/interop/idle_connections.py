"""Holds many idle connections open against `dicomizer serve` run under `ulimit -n 1024`, and reports what
a new client and the folder's rescan see meanwhile (HostileRequestTests).

usage: idle_connections.py DICOMIZER FOLDER IDLE TOUCH [serve options...]
  IDLE   how many idle connections to open
  TOUCH  1 to touch every file in FOLDER while they are open (the rescan must then index them again)
Prints one JSON object: opened, slides_before, slides_during (None when the request failed), slides_after,
closed_after (idle connections the server closed within IDLE_WAIT seconds), and the server's log.
The server's descriptor limit is DESCRIPTORS (default 1024).
"""
import json
import os
import resource
import socket
import subprocess
import sys
import time
import urllib.request

dicomizer, folder, idle, touch = sys.argv[1], sys.argv[2], int(sys.argv[3]), sys.argv[4] == "1"
options = sys.argv[5:]
wait_for_close = float(os.environ.get("IDLE_WAIT", "0"))
descriptors = int(os.environ.get("DESCRIPTORS", "1024"))

soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
resource.setrlimit(resource.RLIMIT_NOFILE, (min(hard, idle + 512), hard))

server = subprocess.Popen(["bash", "-c", f'ulimit -n {descriptors}; exec "$0" serve "$@"', dicomizer, folder, "--port", "0", *options],
                          stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
line = server.stdout.readline()
while line and "serving" not in line:
    line = server.stdout.readline()
port = int(line.rsplit(":", 1)[1].strip().strip("/"))


def slides(timeout=5.0):
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/api/slides", timeout=timeout) as answer:
            return len(json.loads(answer.read()))
    except Exception:
        return None


result = {"slides_before": slides()}
sockets = []
for _ in range(idle):
    s = socket.socket()
    s.setblocking(False)
    s.connect_ex(("127.0.0.1", port))
    sockets.append(s)
result["opened"] = len(sockets)
time.sleep(1.5)
if touch:
    for name in os.listdir(folder):
        os.utime(os.path.join(folder, name))
    time.sleep(2.0)  # several rescans
result["slides_during"] = slides()

if wait_for_close:
    time.sleep(wait_for_close)
    closed = 0
    for s in sockets:
        try:
            if s.recv(1) == b"":
                closed += 1
        except BlockingIOError:
            pass
        except OSError:
            closed += 1
    result["closed_after"] = closed
for s in sockets:
    s.close()
time.sleep(1.0)
result["slides_after"] = slides()
server.terminate()
_, log = server.communicate(timeout=30)
result["log"] = log[-20000:]
print(json.dumps(result))
