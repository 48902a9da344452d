"""Leak test of the explorer's long jobs and uploads (Python's standard library only).

    python3 Tests/load/cycles.py .build/release/gradlab [--cycles 50] [--uploads 20]

Starts `gradlab serve --port 0` and runs 50 cycles of: POST a small training job, open its event stream,
read a few events, POST stop, read on until `end`, close. The server's resident memory (VmRSS of
/proc/PID/status) is read after cycle 10 and after the last cycle; the test fails if it grew by more than
8 MB between them. Then 20 uploads of the PyTorch fixture (more than the 16 the server keeps, so old ones
are dropped), with the same memory rule between upload 5 and the last. Prints the figures and the closing
line "N passed, M failed".
"""
import argparse, http.client, json, os, re, subprocess, sys, time

ap = argparse.ArgumentParser()
ap.add_argument("binary")
ap.add_argument("--cycles", type=int, default=50)
ap.add_argument("--uploads", type=int, default=20)
ap.add_argument("--iters", type=int, default=2000, help="iterations each job asks for (it is stopped long before)")
args = ap.parse_args()
FIXTURE = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "browser", "fixtures", "pytorch_lstm2.npz")
LIMIT = 8 * 1024 * 1024

server = subprocess.Popen([args.binary, "serve", "--port", "0"], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
m = re.search(r":(\d+)/", server.stdout.readline())
if not m:
    print("server did not start:", server.stderr.read()); print("0 passed, 1 failed"); sys.exit(1)
PORT = int(m.group(1))
results = []


def rss():
    with open(f"/proc/{server.pid}/status") as f:
        return int(re.search(r"VmRSS:\s+(\d+) kB", f.read()).group(1)) * 1024


def request(method, path, body=None):
    c = http.client.HTTPConnection("127.0.0.1", PORT, timeout=30)
    c.request(method, path, body=body, headers={"Content-Type": "application/octet-stream"} if body is not None else {})
    r = c.getresponse()
    data = r.read()
    c.close()
    return r.status, json.loads(data) if data else None


def events(resp):
    """Yields (name, data) of a server-sent event stream."""
    name, data = None, []
    while True:
        raw = resp.fp.readline()
        if not raw:
            return
        line = raw.decode().rstrip("\r\n")
        if line == "":
            if name:
                yield name, json.loads("\n".join(data))
            name, data = None, []
        elif line.startswith("event:"):
            name = line[6:].strip()
        elif line.startswith("data:"):
            data.append(line[5:].lstrip(" "))


def train_cycle(i):
    status, job = request("POST", f"/api/jobs/train?_client=cycles&cell=tanh&steps=30&hidden=16&iters={args.iters}&seed={i}")
    assert status == 201, (status, job)
    c = http.client.HTTPConnection("127.0.0.1", PORT, timeout=30)
    c.request("GET", f"/api/jobs/{job['id']}/events")
    r = c.getresponse()
    assert r.status == 200 and r.getheader("Content-Type", "").startswith("text/event-stream"), r.status
    it = events(r)
    seen = 0
    for name, _ in it:
        seen += 1
        if name == "progress" and seen >= 3:
            break
    status, _ = request("POST", f"/api/jobs/{job['id']}/stop?_client=cycles")
    assert status in (200, 202, 204), status
    end = None
    for name, d in it:
        if name == "end":
            end = d
            break
    c.close()
    assert end is not None and end["state"] == "stopped", end
    return end


def check(name, ok, detail):
    results.append(ok)
    print(("ok    " if ok else "FAIL  ") + name + ": " + detail, flush=True)


try:
    t0 = time.time()
    marks = {}
    for i in range(1, args.cycles + 1):
        train_cycle(i)
        if i % 10 == 0 or i == args.cycles:
            time.sleep(0.3)
            marks[i] = rss()
    print("RSS after cycle " + ", ".join(f"{k}: {v / 2**20:.1f} MB" for k, v in sorted(marks.items())), flush=True)
    grow = marks[args.cycles] - marks[10]
    per = grow / (args.cycles - 10)
    check(f"{args.cycles} training cycles (start, stream, stop, end)",
          grow <= LIMIT,
          f"RSS {marks[10] / 2**20:.1f} MB after cycle 10, {marks[args.cycles] / 2**20:.1f} MB after cycle {args.cycles}: "
          f"{grow / 2**20:+.2f} MB ({per / 1024:+.1f} KB per cycle; limit 8 MB) in {time.time() - t0:.1f} s")
    status, health = request("GET", "/healthz")
    check("no job left running", health["jobs"]["running"] == 0 and health["jobs"]["paused"] == 0, json.dumps(health["jobs"]))

    body = open(FIXTURE, "rb").read()
    t0 = time.time()
    umarks = {}
    for i in range(1, args.uploads + 1):
        status, up = request("POST", f"/api/models?name=rnn{i}.npz", body)
        assert status == 201 and up["depth"] == 2, (status, up)
        if i in (5, args.uploads):
            time.sleep(0.3)
            umarks[i] = rss()
    ugrow = umarks[args.uploads] - umarks[5]
    status, health = request("GET", "/healthz")
    check(f"{args.uploads} uploads of the {len(body) // 1024} KB fixture",
          ugrow <= LIMIT and health["uploads"] <= 16,
          f"RSS {umarks[5] / 2**20:.1f} MB after upload 5, {umarks[args.uploads] / 2**20:.1f} MB after upload {args.uploads}: "
          f"{ugrow / 2**20:+.2f} MB; {health['uploads']} kept (at most 16) in {time.time() - t0:.1f} s")
    status, _ = request("GET", "/api/view/import?_upload=u1")
    check("the oldest upload was dropped", status == 404, f"GET /api/view/import?_upload=u1 → {status}")
except Exception as e:
    import traceback
    traceback.print_exc()
    results.append(False)
finally:
    server.terminate()
    try:
        server.wait(timeout=10)
    except subprocess.TimeoutExpired:
        server.kill()

passed = sum(results)
print(f"{passed} passed, {len(results) - passed} failed")
sys.exit(0 if results and all(results) else 1)
