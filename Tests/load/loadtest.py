"""Load and hostile-client test of `gradlab serve` on loopback (Python's standard library only).

    python3 Tests/load/loadtest.py .build/release/gradlab [--clients 200] [--seconds 30]

Starts the server on a free loopback port, runs `--clients` keep-alive clients for `--seconds` (each asks
for a view with its own gain, as students dragging sliders would, now and then the page and its assets),
and meanwhile sends hostile requests: huge and NaN numbers, a 10 MB query string, slowloris-style partial
heads, garbage, and oversized bodies. Passes when every client request got 200, every hostile one got the
4xx it deserves (or a closed connection), and the server answers /healthz afterwards. Prints p50/p99
latency, throughput and the server's peak memory, and the closing line "N passed, M failed".
"""
import argparse, asyncio, os, random, re, statistics, subprocess, sys, time

ap = argparse.ArgumentParser()
ap.add_argument("binary")
ap.add_argument("--clients", type=int, default=200)
ap.add_argument("--seconds", type=float, default=30)
args = ap.parse_args()

server = subprocess.Popen([args.binary, "serve", "--port", "0"], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
m = re.search(r":(\d+)/", server.stdout.readline())
if not m:
    print("server did not start:", server.stderr.read()); print("0 passed, 1 failed"); sys.exit(1)
PORT = int(m.group(1))

latencies, statuses, failures = [], {}, []
checks = []


async def request(reader, writer, path, extra=b""):
    writer.write(b"GET " + path.encode() + b" HTTP/1.1\r\nHost: 127.0.0.1\r\n" + extra + b"\r\n")
    await writer.drain()
    head = await reader.readuntil(b"\r\n\r\n")
    status = int(head.split(b" ", 2)[1])
    length = int(re.search(rb"(?i)content-length: *(\d+)", head).group(1))
    body = await reader.readexactly(length)
    return status, head, body


async def client(i, deadline):
    rng = random.Random(i)
    tab = f"load-{i}"
    seq = 0
    reader, writer = await asyncio.open_connection("127.0.0.1", PORT)
    try:
        while time.monotonic() < deadline:
            r = rng.random()
            if r < 0.05:
                path = rng.choice(["/", "/explorer.js", "/explorer.css", "/api/views"])
            else:
                seq += 1
                gain = round(rng.uniform(0.4, 2.2), 2)
                view = rng.choice(["curves?cells=tanh,lstm", "curves?cells=relu", "spectrum?cells=tanh&lags=20&hidden=16",
                                   "heatmap?steps=40&hidden=16", "carousel?steps=60&hidden=16", "compare?range=4"])
                sep = "&" if "?" in view else "?"
                path = f"/api/view/{view}{sep}gain={gain}&_client={tab}&_seq={seq}" if not view.startswith("compare") else f"/api/view/{view}"
            t0 = time.monotonic()
            try:
                status, _, _ = await request(reader, writer, path)
            except Exception as e:
                failures.append(f"client {i}: {type(e).__name__} on {path}")
                writer.close()
                reader, writer = await asyncio.open_connection("127.0.0.1", PORT)
                continue
            latencies.append(time.monotonic() - t0)
            statuses[status] = statuses.get(status, 0) + 1
            if status != 200:
                failures.append(f"client {i}: {status} on {path}")
    finally:
        writer.close()


async def hostile_one(name, payload, expect, trickle=False):
    """Sends `payload`; the answer must start with one of `expect` (None: a closed connection is fine too)."""
    try:
        reader, writer = await asyncio.open_connection("127.0.0.1", PORT)
        if trickle:
            # One byte every 0.4 s: the head would take 16 s; the server cuts it off (408) after 10.
            try:
                for b in payload[:40]:
                    writer.write(bytes([b])); await writer.drain(); await asyncio.sleep(0.4)
            except ConnectionError:
                pass
        else:
            writer.write(payload)
            try:
                await writer.drain()
            except ConnectionError:
                pass
        try:
            data = await asyncio.wait_for(reader.read(4096), timeout=25)
        except (ConnectionError, asyncio.IncompleteReadError):
            data = b""
        writer.close()
        ok = any(data.startswith(e.encode()) for e in expect if e) or (None in expect and data == b"")
        checks.append((f"hostile: {name}", ok, data[:120]))
    except Exception as e:
        checks.append((f"hostile: {name}", False, repr(e)))


async def hostile():
    await asyncio.sleep(2)
    g = lambda q: f"GET /api/view/curves?{q} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n".encode()
    await asyncio.gather(
        hostile_one("huge gain", g("gain=1e308&cells=tanh"), ["HTTP/1.1 200", "HTTP/1.1 400"]),
        hostile_one("gain 1e999", g("gain=1e999"), ["HTTP/1.1 400"]),
        hostile_one("NaN gain", g("gain=NaN"), ["HTTP/1.1 400"]),
        hostile_one("huge hidden", g("hidden=1000000000000000000000"), ["HTTP/1.1 400"]),
        hostile_one("work beyond the budget", g("hidden=4096&steps=1000000"), ["HTTP/1.1 400"]),
        hostile_one("10 MB query", g("title=" + "x" * (10 * 1024 * 1024)), ["HTTP/1.1 431", None]),
        hostile_one("garbage", os.urandom(3000), ["HTTP/1.1 400", "HTTP/1.1 431", None]),
        hostile_one("1 MB body", b"POST /api/view/curves HTTP/1.1\r\nHost: x\r\nContent-Length: 1000000\r\n\r\n" + b"a" * 1000000,
                    ["HTTP/1.1 413", None]),
        *[hostile_one(f"slowloris {k}", b"GET /api/view/curves?cells=tanh HTTP/1.1\r\nHost: x\r\nX-Slow: " + b"z" * 100, ["HTTP/1.1 408", None],
                      trickle=True) for k in range(20)],
    )


async def main():
    deadline = time.monotonic() + args.seconds
    start = time.monotonic()
    await asyncio.gather(*(client(i, deadline) for i in range(args.clients)), hostile())
    elapsed = time.monotonic() - start
    reader, writer = await asyncio.open_connection("127.0.0.1", PORT)
    status, _, _ = await request(reader, writer, "/healthz")
    writer.close()
    checks.append(("still serving after the load", status == 200, status))
    return elapsed


elapsed = asyncio.run(main())
peak = "?"
try:
    peak = [l for l in open(f"/proc/{server.pid}/status") if l.startswith("VmHWM")][0].split()[1]
    peak = f"{int(peak) / 1024:.0f} MB"
except Exception:
    pass
server.terminate()
server.wait(timeout=10)

lat = sorted(latencies)
if lat:
    p50, p99 = lat[len(lat) // 2], lat[min(len(lat) - 1, int(len(lat) * 0.99))]
    print(f"{len(lat)} requests from {args.clients} clients in {elapsed:.1f} s: {len(lat) / elapsed:.0f}/s, "
          f"p50 {p50 * 1000:.0f} ms, p99 {p99 * 1000:.0f} ms, max {lat[-1] * 1000:.0f} ms; statuses {statuses}; server peak RSS {peak}")
checks.insert(0, ("no client request failed", not failures, failures[:5]))
checks.insert(1, ("every client got answers", len(lat) >= args.clients, len(lat)))
passed = 0
for name, ok, detail in checks:
    print(("ok    " if ok else "FAIL  ") + name + ("" if ok else f": {detail}"))
    passed += ok
print(f"{passed} passed, {len(checks) - passed} failed")
sys.exit(0 if passed == len(checks) else 1)
