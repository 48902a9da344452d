"""The explorer's live views in a real headless browser: live training (two runs side by side), the phase
diagram that fills in as its points stream, and an uploaded PyTorch model (docs/EXPLORER-API.md).

    python Tests/browser/test_live.py .build/release/gradlab .build/browser

Starts the server on a free port, drives the page as a lecturer would, and prints one line per check and
the closing line "N passed, M failed" (exit status 1 when a check failed). Screenshots (train.png,
train-present.png, sweep.png, sweep-partial.png, model.png, model-heatmap.png, model-error.png) go to the
output folder. Also checks, without the browser, that what a live run streams is `gradlab train --csv`
byte for byte. The uploaded model is Tests/browser/fixtures/pytorch_lstm2.npz (made by the script beside it).
"""
import json, os, re, shlex, subprocess, sys, tempfile, time, traceback, urllib.request

from selenium import webdriver
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.common.by import By
from selenium.webdriver.common.keys import Keys
from selenium.webdriver.support.ui import Select

BIN = os.path.abspath(sys.argv[1] if len(sys.argv) > 1 else ".build/release/gradlab")
OUT = os.path.abspath(sys.argv[2] if len(sys.argv) > 2 else ".build/browser")
os.makedirs(OUT, exist_ok=True)
HERE = os.path.dirname(os.path.abspath(__file__))
FIXTURE = os.path.join(HERE, "fixtures", "pytorch_lstm2.npz")

results = []
figures = {}


def check(name):
    def wrap(f):
        t0 = time.time()
        try:
            f()
            results.append((name, True))
            print(f"ok    {name} ({time.time() - t0:.1f} s)", flush=True)
        except Exception:
            results.append((name, False))
            print(f"FAIL  {name}\n" + traceback.format_exc(), flush=True)
        return f
    return wrap


server = subprocess.Popen([BIN, "serve", "--port", "0"], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
line = server.stdout.readline()
m = re.search(r"http://[\d.]+:(\d+)/", line)
if not m:
    print("the server did not print its URL:", line, server.stderr.read())
    print("0 passed, 1 failed")
    sys.exit(1)
BASE = f"http://127.0.0.1:{m.group(1)}/"

opts = webdriver.ChromeOptions()
for a in ["--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--window-size=1400,950", "--hide-scrollbars"]:
    opts.add_argument(a)
opts.binary_location = "/usr/bin/chromium"
driver = webdriver.Chrome(service=Service("/usr/bin/chromedriver"), options=opts)
driver.set_page_load_timeout(30)


def wait(cond, timeout=20, what="condition", every=0.05):
    end = time.time() + timeout
    while time.time() < end:
        try:
            v = cond()
            if v:
                return v
        except Exception:
            pass
        time.sleep(every)
    raise AssertionError(f"timed out waiting for {what}")


def get_json(path):
    with urllib.request.urlopen(BASE + path.lstrip("/"), timeout=10) as r:
        return json.loads(r.read())


def cpu_rate(seconds):
    """The server's CPU time per second of wall time over `seconds` (/healthz's cpu_seconds)."""
    a, t0 = get_json("/healthz")["cpu_seconds"], time.time()
    time.sleep(seconds)
    b, t1 = get_json("/healthz")["cpu_seconds"], time.time()
    return (b - a) / (t1 - t0)


def idle_rate():
    """CPU rate over ~3 s, once the server has had a moment to wind down what was stopped."""
    wait(lambda: get_json("/healthz")["jobs"]["running"] == 0 and get_json("/healthz")["jobs"]["paused"] == 0, 10, "no job running")
    time.sleep(0.5)
    return cpu_rate(3)


def card(slot):
    return driver.find_element(By.ID, "run-" + slot)


def num(el, attr):
    v = el.get_attribute("data-" + attr)
    return float(v) if v not in (None, "") else None


def set_field(el_id, value):
    el = driver.find_element(By.ID, el_id)
    if el.tag_name == "select":
        Select(el).select_by_value(value)
    else:
        el.clear()
        el.send_keys(str(value), Keys.TAB)


run = {}

# ---- 1. live training --------------------------------------------------------------------------------------


@check("Train tab: the LSTM's held-out loss falls below half the adding baseline (1/6), live")
def _():
    driver.get(BASE + "?view=train")
    wait(lambda: driver.find_element(By.ID, "train-stage").is_displayed(), what="the Train tab")
    driver.find_element(By.CSS_SELECTOR, "[data-preset=cells]").click()
    driver.find_element(By.CSS_SELECTOR, ".runpick button[data-run=A]").click()
    # The options, through the controls (the preset set them already; typed again as a lecturer would).
    set_field("t-cell", "lstm")
    set_field("t-task", "adding")
    set_field("t-steps", 50)
    set_field("t-hidden", 32)
    set_field("t-iters", 3000)
    set_field("t-clip", "norm")
    set_field("t-clip-at", 1)
    t0 = time.time()
    card("A").find_element(By.CSS_SELECTOR, "button[data-action=start]").click()
    wait(lambda: card("A").get_attribute("data-state") == "running", 10, "run A running")
    cmd = card("A").find_element(By.CSS_SELECTOR, ".command").text
    assert cmd.startswith("gradlab train --cell lstm --task adding --steps 50 --hidden 32 --iters 3000"), cmd
    assert "--clip-norm 1" in cmd and "--csv" in cmd, cmd
    base = wait(lambda: num(card("A"), "baseline"), 10, "the baseline")
    assert abs(base - 1 / 6) < 1e-12, base
    seen = []

    def below_half():
        e = num(card("A"), "eval-loss")
        if e is not None:
            seen.append(e)
        return e is not None and e < base / 2
    wait(below_half, 60, "LSTM held-out loss < baseline/2", every=0.2)
    run["lstm_seconds"] = time.time() - t0
    run["lstm_iteration"] = int(num(card("A"), "eval-iteration"))
    assert seen[0] > base / 2, seen[:3]   # it started above: the fall was seen on the page
    # The loss chart draws what the card says: the held-out points are in the SVG.
    assert int(driver.find_element(By.ID, "chart-loss").get_attribute("data-drawn")) >= 3
    assert driver.find_elements(By.CSS_SELECTOR, "#chart-loss path"), "no curve drawn"
    print(f"      LSTM below half the baseline after {run['lstm_seconds']:.1f} s (held-out at iteration "
          f"{run['lstm_iteration']}: {num(card('A'), 'eval-loss'):.4f})")
    figures["lstm_half_seconds"] = round(run["lstm_seconds"], 1)


@check("the tanh run beside it stays near the baseline (> 0.8 × 1/6) while the LSTM is below half")
def _():
    assert card("A").get_attribute("data-state") == "running", "run A should still be running"
    driver.find_element(By.CSS_SELECTOR, ".runpick button[data-run=B]").click()
    assert Select(driver.find_element(By.ID, "t-cell")).first_selected_option.get_attribute("value") == "tanh"
    for k, v in [("t-steps", "50"), ("t-hidden", "32"), ("t-iters", "3000"), ("t-clip-at", "1")]:
        assert driver.find_element(By.ID, k).get_attribute("value") == v, k
    card("B").find_element(By.CSS_SELECTOR, "button[data-action=start]").click()
    wait(lambda: card("B").get_attribute("data-state") == "running", 10, "run B running")
    base = num(card("B"), "baseline") or 1 / 6
    lows = []

    def far_enough():
        e = num(card("B"), "eval-loss")
        if e is not None and num(card("B"), "eval-iteration") > 0:
            lows.append(e)
        return num(card("B"), "iteration") >= 900 and len(lows) >= 5
    wait(far_enough, 60, "tanh at iteration 900", every=0.1)
    a, b = num(card("A"), "eval-loss"), num(card("B"), "eval-loss")
    assert a < base / 2, a
    assert min(lows) > 0.8 * base, (min(lows), base)
    assert card("A").get_attribute("data-state") == "running" and card("B").get_attribute("data-state") == "running"
    assert "tanh" in card("B").find_element(By.CSS_SELECTOR, ".command").text
    print(f"      LSTM {a:.4f}, tanh {b:.4f} (lowest tanh held-out {min(lows):.4f}; baseline {base:.4f})")
    run["busy_rate"] = cpu_rate(1.5)
    driver.save_screenshot(os.path.join(OUT, "train.png"))
    driver.find_element(By.TAG_NAME, "body").send_keys("p")
    wait(lambda: "present" in driver.find_element(By.TAG_NAME, "body").get_attribute("class"), 5, "presentation mode")
    time.sleep(0.4)
    driver.save_screenshot(os.path.join(OUT, "train-present.png"))
    driver.find_element(By.TAG_NAME, "body").send_keys("p")


@check("Pause holds a run still, Resume continues it")
def _():
    if card("A").get_attribute("data-state") != "running":
        raise AssertionError("run A ended before the pause check: " + card("A").get_attribute("data-state"))
    card("A").find_element(By.CSS_SELECTOR, "button[data-action=pause]").click()
    wait(lambda: card("A").get_attribute("data-state") == "paused", 10, "paused")
    time.sleep(0.3)
    i0 = num(card("A"), "iteration")
    time.sleep(1.2)
    assert num(card("A"), "iteration") == i0, "the iteration moved while paused"
    card("A").find_element(By.CSS_SELECTOR, "button[data-action=pause]").click()  # now "Resume"
    wait(lambda: card("A").get_attribute("data-state") == "running" and num(card("A"), "iteration") > i0, 10, "resumed")


@check("Stop ends both runs and the server's CPU goes idle (< 0.05 CPU-s/s; it was busy before)")
def _():
    busy = run.get("busy_rate")
    if busy is None:
        busy = cpu_rate(1.5)
    for s in "AB":
        if card(s).get_attribute("data-state") in ("running", "paused"):
            card(s).find_element(By.CSS_SELECTOR, "button[data-action=stop]").click()
    for s in "AB":
        wait(lambda: card(s).get_attribute("data-state") in ("stopped", "done"), 15, f"run {s} ended")
    assert card("A").get_attribute("data-state") == "stopped", card("A").get_attribute("data-state")
    idle = idle_rate()
    figures["train_cpu_busy"] = round(busy, 3)
    figures["train_cpu_idle"] = round(idle, 4)
    print(f"      CPU while both ran: {busy:.2f} CPU-s/s; after Stop: {idle:.4f} CPU-s/s")
    assert busy > 0.2, busy
    assert idle < 0.05, idle
    # The ended run offers its files.
    links = [a.get_attribute("textContent") for a in card("A").find_elements(By.CSS_SELECTOR, ".downloads a")]
    assert "csv" in links, links


# ---- 2. your own model ---------------------------------------------------------------------------------------

@check("Your model: a real PyTorch .npz through the file input shows its layers and the import chart")
def _():
    driver.get(BASE + "?view=model")
    wait(lambda: driver.find_element(By.ID, "dropzone").is_displayed(), what="the drop zone")
    driver.find_element(By.ID, "file").send_keys(FIXTURE)
    img = driver.find_element(By.ID, "chart")
    wait(lambda: img.get_attribute("data-view") == "import" and img.get_attribute("data-upload")
         and driver.execute_script("return document.body.dataset.state") == "ready", 30, "the import chart")
    info = driver.find_element(By.ID, "upload-info").text
    assert "pytorch_lstm2.npz" in info and "2 layers" in info, info
    rows = driver.find_elements(By.CSS_SELECTOR, "#upload-info tr[data-layer]")
    assert [r.text.split()[:2] for r in rows] == [["0", "lstm"], ["1", "lstm"]], [r.text for r in rows]
    assert "3→24" in rows[0].text and "24→24" in rows[1].text, [r.text for r in rows]
    summary = driver.find_elements(By.CSS_SELECTOR, "#summary tr")
    assert len(summary) == 3, len(summary)   # header and one row per layer
    assert driver.find_element(By.ID, "command").text.startswith("gradlab import pytorch_lstm2.npz")
    assert int(img.get_attribute("data-hash").split("-")[1]) > 10000
    run["model_hash"] = img.get_attribute("data-hash")
    driver.save_screenshot(os.path.join(OUT, "model.png"))


@check("Your model: picking layer 1 and the heatmap draws that layer's heatmap")
def _():
    set_field("u-view", "heatmap")
    set_field("u-layer", "1")
    img = driver.find_element(By.ID, "chart")
    wait(lambda: img.get_attribute("data-view") == "heatmap" and img.get_attribute("data-layer") == "1"
         and driver.execute_script("return document.body.dataset.state") == "ready", 30, "layer 1's heatmap")
    cmd = driver.find_element(By.ID, "command").text
    assert "gradlab heatmap --model" in cmd and "l1" in cmd, cmd
    assert driver.find_element(By.CSS_SELECTOR, "#upload-info tr.picked").get_attribute("data-layer") == "1"
    driver.save_screenshot(os.path.join(OUT, "model-heatmap.png"))
    set_field("u-view", "curves")
    wait(lambda: img.get_attribute("data-view") == "curves" and driver.execute_script("return document.body.dataset.state") == "ready",
         30, "layer 1's curves")
    run["model_hash"] = img.get_attribute("data-hash")


@check("a corrupt file shows the server's one-line error and leaves the chart as it was")
def _():
    img = driver.find_element(By.ID, "chart")
    before = (img.get_attribute("data-hash"), img.get_attribute("data-view"), img.get_attribute("data-upload"))
    with tempfile.TemporaryDirectory() as d:
        bad = os.path.join(d, "corrupt.npz")
        with open(FIXTURE, "rb") as f:
            data = f.read()
        with open(bad, "wb") as f:
            f.write(data[: len(data) // 3])   # cut off: the zip's directory is missing
        driver.find_element(By.ID, "file").send_keys(bad)
        box = driver.find_element(By.ID, "upload-error")
        text = wait(lambda: box.is_displayed() and box.text, 20, "the upload error")
    assert text.startswith("400: corrupt.npz: "), text
    assert "\n" not in text and len(text) < 200, text
    time.sleep(0.5)
    after = (img.get_attribute("data-hash"), img.get_attribute("data-view"), img.get_attribute("data-upload"))
    assert after == before, (before, after)
    assert driver.find_element(By.ID, "upload-info").text.startswith("pytorch_lstm2.npz")
    print("      " + text)
    driver.save_screenshot(os.path.join(OUT, "model-error.png"))


# ---- 3. the phase diagram -----------------------------------------------------------------------------------

def sweep_points():
    return len(driver.find_elements(By.CSS_SELECTOR, "#chart-sweep .pt"))


@check("Phase diagram: the points stream in (drawn as they arrive), Cancel stops it and the CPU goes idle")
def _():
    driver.get(BASE + "?view=sweep")
    wait(lambda: driver.find_element(By.ID, "sweep-stage").is_displayed(), what="the Phase diagram tab")
    set_field("s-seeds", 4)
    set_field("s-steps", 3000)
    driver.find_element(By.ID, "sweep-start").click()
    stage = driver.find_element(By.ID, "sweep-stage")
    wait(lambda: stage.get_attribute("data-state") == "running", 10, "the sweep running")
    total = int(stage.get_attribute("data-total"))
    assert total == 3 * 31 * 4, total
    counts = []
    t0 = time.time()
    while time.time() - t0 < 30:
        n = sweep_points()
        if not counts or n != counts[-1]:
            counts.append(n)
        if len([c for c in counts if c > 0]) >= 4:
            break
        time.sleep(0.2)
    progress = driver.find_element(By.ID, "sweep-progress").text
    assert re.match(r"\d+ / 372 points", progress), progress
    busy = cpu_rate(1)
    driver.save_screenshot(os.path.join(OUT, "sweep-partial.png"))
    driver.find_element(By.ID, "sweep-cancel").click()
    wait(lambda: stage.get_attribute("data-state") == "stopped", 15, "the sweep cancelled")
    done = int(stage.get_attribute("data-done"))
    idle = idle_rate()
    print(f"      points drawn over time: {counts}; cancelled at {done} / {total}; CPU {busy:.2f} → {idle:.4f} CPU-s/s")
    figures["sweep_counts"] = counts
    figures["sweep_cpu_busy"] = round(busy, 3)
    figures["sweep_cpu_idle"] = round(idle, 4)
    positive = [c for c in counts if c > 0]
    assert len(positive) >= 4, counts                     # it grew in several steps …
    assert positive[0] < total // 2, counts               # … from a few points, not all at once
    assert counts == sorted(counts), counts
    assert done < total, (done, total)
    assert sweep_points() == done, (sweep_points(), done)  # every finished point is drawn
    assert busy > 0.2, busy
    assert idle < 0.05, idle


@check("Phase diagram: a whole sweep draws every seed, the per-cell means with their bands and the zero line")
def _():
    set_field("s-seeds", 5)
    set_field("s-steps", 500)
    driver.find_element(By.ID, "sweep-start").click()
    stage = driver.find_element(By.ID, "sweep-stage")
    wait(lambda: stage.get_attribute("data-state") == "done", 60, "the sweep done", every=0.2)
    total = int(stage.get_attribute("data-total"))
    assert total == 3 * 31 * 5
    time.sleep(0.3)
    assert sweep_points() == total, (sweep_points(), total)
    assert len(driver.find_elements(By.CSS_SELECTOR, "#chart-sweep path.mean")) == 3
    assert len(driver.find_elements(By.CSS_SELECTOR, "#chart-sweep polygon")) >= 3
    text = driver.find_element(By.ID, "chart-sweep").text
    assert "vanishing below" in text and "exploding above" in text and "λ1 = 0" in text, text
    assert driver.find_element(By.ID, "sweep-progress").text.startswith(f"{total} / {total} points"), driver.find_element(By.ID, "sweep-progress").text
    assert driver.find_element(By.ID, "sweep-command").text.startswith("gradlab sweep --seeds 5")
    driver.save_screenshot(os.path.join(OUT, "sweep.png"))


# ---- 4. what a live run streams is the CLI's CSV ---------------------------------------------------------------

def sse(path, timeout=120):
    """The events of a stream, as (name, data) pairs, until `end` (the server closes it then)."""
    events, name, data = [], None, []
    with urllib.request.urlopen(BASE + path.lstrip("/"), timeout=timeout) as r:
        assert r.headers.get("Content-Type", "").startswith("text/event-stream"), r.headers.get("Content-Type")
        for raw in r:
            line = raw.decode("utf-8").rstrip("\r\n")
            if line == "":
                if name:
                    events.append((name, json.loads("\n".join(data))))
                    if name == "end":
                        break
                name, data = None, []
            elif line.startswith(":"):
                continue
            elif line.startswith("event:"):
                name = line[6:].strip()
            elif line.startswith("data:"):
                data.append(line[5:].lstrip(" "))
    return events


@check("the numbers a live run streams are `gradlab train --csv`, byte for byte")
def _():
    for query in ["cell=lstm&task=adding&steps=20&hidden=16&iters=150&clip-norm=1&seed=3",
                  "cell=tanh&task=copy&steps=20&hidden=12&iters=120&clip-value=0.5&truncate=8&optimizer=sgd&lr=0.05"]:
        req = urllib.request.Request(BASE + "api/jobs/train?_client=csvcheck&" + query, method="POST")
        with urllib.request.urlopen(req, timeout=10) as r:
            assert r.status == 201
            job = json.loads(r.read())
        events = sse(f"/api/jobs/{job['id']}/events")
        assert events[-1][0] == "end" and events[-1][1]["state"] == "done", events[-1]
        lines = [l for name, d in events if name == "progress" for l in d["csv"]]
        streamed = ("run,iteration,loss,eval_loss,grad_norm,grad_norm_clipped\n" + "\n".join(lines) + "\n").encode()
        words = shlex.split(job["command"])
        assert words[:2] == ["gradlab", "train"] and words[-2] == "--csv", words
        with tempfile.TemporaryDirectory() as d:
            subprocess.run([BIN] + words[1:-1] + ["c.csv"], cwd=d, check=True, stdout=subprocess.DEVNULL)
            want = open(os.path.join(d, "c.csv"), "rb").read()
        assert streamed == want, f"`{job['command']}`: streamed {len(streamed)} bytes, the CLI wrote {len(want)}"
        # The same file, from the ended job.
        with urllib.request.urlopen(BASE + f"api/jobs/{job['id']}/files/csv", timeout=10) as r:
            assert r.read() == want
        print(f"      {job['command']}: {len(lines)} rows, {len(want)} bytes, identical")


try:
    pass
finally:
    driver.quit()
    server.terminate()
    try:
        server.wait(timeout=10)
    except subprocess.TimeoutExpired:
        server.kill()

if figures:
    print("figures: " + json.dumps(figures))
passed = sum(ok for _, ok in results)
failed = len(results) - passed
print(f"{passed} passed, {failed} failed")
sys.exit(1 if failed else 0)
