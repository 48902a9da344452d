"""End-to-end test of `gradlab serve` in a real headless browser (Debian's chromium and chromium-driver,
Selenium from PyPI in the virtual environment the Makefile creates).

    python Tests/browser/test_explorer.py .build/release/gradlab .build/browser

Starts the server on a free port, drives the page as a lecturer would, and prints one line per check and
the closing line "N passed, M failed". Screenshots go to the output folder (README's comes from here).
"""
import json, os, re, shlex, subprocess, sys, tempfile, time, traceback, urllib.request

from selenium import webdriver
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.common.action_chains import ActionChains
from selenium.webdriver.common.by import By
from selenium.webdriver.common.keys import Keys

BIN = os.path.abspath(sys.argv[1] if len(sys.argv) > 1 else ".build/release/gradlab")
OUT = os.path.abspath(sys.argv[2] if len(sys.argv) > 2 else ".build/browser")
os.makedirs(OUT, exist_ok=True)
DOWNLOADS = tempfile.mkdtemp(prefix="gradlab-downloads-")

results = []


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
opts.add_experimental_option("prefs", {"download.default_directory": DOWNLOADS, "download.prompt_for_download": False})
driver = webdriver.Chrome(service=Service("/usr/bin/chromedriver"), options=opts)
driver.set_page_load_timeout(30)


def wait(cond, timeout=20, what="condition"):
    end = time.time() + timeout
    while time.time() < end:
        try:
            v = cond()
            if v:
                return v
        except Exception:
            pass
        time.sleep(0.05)
    raise AssertionError(f"timed out waiting for {what}")


def settled():
    """Waits until the page has drawn its latest request (or shown its error) and returns the state."""
    def done():
        s = driver.execute_script("return document.body.dataset.state")
        return s in ("ready", "error") and s
    return wait(done, what="the chart")


def regimes():
    return {tr.get_attribute("data-cell"): tr.get_attribute("data-regime")
            for tr in driver.find_elements(By.CSS_SELECTOR, "#summary tr[data-cell]")}


def chart_svg():
    """The fingerprint of the SVG on screen (hash and length, set by the page when it draws)."""
    return driver.find_element(By.ID, "chart").get_attribute("data-hash")


def drag_slider(name, target):
    slider = driver.find_element(By.ID, "c-" + name)
    lo, hi = float(slider.get_attribute("min")), float(slider.get_attribute("max"))
    width = slider.size["width"]
    now = float(slider.get_attribute("value"))
    # From the thumb's current position to the target's, in small moves as a hand would.
    x0 = (now - lo) / (hi - lo) * width - width / 2
    x1 = (target - lo) / (hi - lo) * width - width / 2
    chain = ActionChains(driver, duration=20).move_to_element_with_offset(slider, int(round(x0)), 0).click_and_hold()
    steps = 12
    for i in range(1, steps + 1):
        chain.move_by_offset(int(round((x1 - x0) / steps)) if i < steps else 0, 0)
    chain.release().perform()
    # Snap to the exact value with the number box beside the slider (what the lecturer types).
    box = slider.find_element(By.XPATH, "following-sibling::input")
    box.clear()
    box.send_keys(str(target), Keys.TAB)


START = BASE + "?view=curves&cells=tanh&input-scale=0.1&gain=0.5"


@check("page loads with no external resource and no console error")
def _():
    driver.get(START)
    assert settled() == "ready"
    logs = [l for l in driver.get_log("browser") if l["level"] == "SEVERE"]
    assert not logs, logs
    urls = driver.execute_script("return performance.getEntriesByType('resource').map(e => e.name)")
    assert all(u.startswith(BASE) or u.startswith("blob:") for u in urls), urls
    assert regimes() == {"tanh": "vanishing"}, regimes()


@check("dragging the gain from 0.5 to 2 turns vanishing into exploding")
def _():
    seen = []
    drag_slider("gain", 2)
    wait(lambda: "gain=2" in driver.current_url and settled() == "ready" and regimes().get("tanh") == "exploding",
         what="the exploding regime at gain 2")
    seen.append(regimes())
    assert driver.find_element(By.ID, "c-gain").get_attribute("value") == "2"
    cmd = driver.find_element(By.ID, "command").text
    assert "--gain 2" in cmd and "--cells tanh" in cmd and "--input-scale 0.1" in cmd, cmd


@check("reloading the URL gives the same chart")
def _():
    before_url = driver.current_url
    before = chart_svg()
    before_cmd = driver.find_element(By.ID, "command").text
    assert before and int(before.split("-")[1]) > 10000, before
    driver.get(before_url)
    assert settled() == "ready"
    assert driver.current_url == before_url
    after = chart_svg()
    after_cmd = driver.find_element(By.ID, "command").text
    assert after_cmd == before_cmd, (before_cmd, after_cmd)
    assert after == before, "the chart changed on reload"
    assert regimes() == {"tanh": "exploding"}
    driver.save_screenshot(os.path.join(OUT, "explorer-gain2.png"))


@check("a link with a size reproduces that chart at that size")
def _():
    url = driver.current_url + "&width=800&height=500"
    driver.get(url)
    assert settled() == "ready"
    assert "--width 800 --height 500" in driver.find_element(By.ID, "command").text
    assert driver.find_element(By.ID, "chart").get_attribute("data-width") == "800"
    assert driver.find_element(By.ID, "fit").is_displayed()
    driver.find_element(By.ID, "fit").click()
    wait(lambda: "width=800" not in driver.current_url and settled() == "ready", what="fit to window")
    assert "--width 800" not in driver.find_element(By.ID, "command").text


@check("hovering the chart reads out the lag, the norm and the bound")
def _():
    img = driver.find_element(By.ID, "chart")
    ActionChains(driver).move_to_element_with_offset(img, int(img.size["width"] * 0.1), 0).perform()
    text = wait(lambda: driver.find_element(By.ID, "readout").is_displayed() and driver.find_element(By.ID, "readout").text,
                what="the read-out")
    assert re.search(r"lag = \d+", text), text
    assert "tanh: 10^" in text and "tanh bound: 10^" in text, text


@check("the downloaded CSV is the CLI's, byte for byte")
def _():
    link = driver.find_element(By.CSS_SELECTOR, "#downloads a[data-kind=csv]")
    link.click()
    path = os.path.join(DOWNLOADS, "curves.csv")
    wait(lambda: os.path.exists(path) and not os.path.exists(path + ".crdownload") and os.path.getsize(path) > 0, what="the download")
    got = open(path, "rb").read()
    # The command the page shows, with --csv instead of --out.
    words = shlex.split(driver.find_element(By.ID, "command").text)
    assert words[:2] == ["gradlab", "curves"], words
    words = words[:words.index("--out")] + words[words.index("--out") + 2:]
    with tempfile.TemporaryDirectory() as d:
        subprocess.run([BIN] + words[1:] + ["--csv", "c.csv"], cwd=d, check=True, stdout=subprocess.DEVNULL)
        want = open(os.path.join(d, "c.csv"), "rb").read()
    assert got == want, "download differs from `%s --csv`" % " ".join(words)
    assert got.startswith(b"cell,lag,log10_spectral"), got[:80]


@check("the arrow keys move the gain, and presentation mode enlarges the chart")
def _():
    driver.find_element(By.TAG_NAME, "body").click()
    ActionChains(driver).send_keys(Keys.ARROW_LEFT).perform()
    wait(lambda: "gain=1.95" in driver.current_url and settled() == "ready", what="gain 1.95")
    small = driver.find_element(By.ID, "chartbox").size
    ActionChains(driver).send_keys("p").perform()
    wait(lambda: "present=1" in driver.current_url and settled() == "ready", what="presentation mode")
    big = driver.find_element(By.ID, "chartbox").size
    assert big["height"] > small["height"], (small, big)
    assert "--style slides" in driver.find_element(By.ID, "command").get_attribute("textContent")
    driver.save_screenshot(os.path.join(OUT, "explorer-present.png"))
    ActionChains(driver).send_keys("p").perform()
    wait(lambda: "present=1" not in driver.current_url and settled() == "ready", what="normal mode")


@check("a bad value shows the server's error next to its control")
def _():
    box = driver.find_element(By.CSS_SELECTOR, ".control[data-param=hidden] input.num")
    box.clear()
    box.send_keys("-3", Keys.TAB)
    assert settled() == "error"
    err = driver.find_element(By.ID, "error").text
    assert err.startswith("400") and "--hidden" in err and "positive" in err, err
    assert "invalid" in driver.find_element(By.CSS_SELECTOR, ".control[data-param=hidden]").get_attribute("class")
    driver.save_screenshot(os.path.join(OUT, "explorer-error.png"))
    box.clear()
    box.send_keys("32", Keys.TAB)
    assert settled() == "ready"
    assert not driver.find_element(By.ID, "error").is_displayed()


@check("every view draws")
def _():
    for i, view in enumerate(["heatmap", "spectrum", "carousel", "compare"], start=2):
        driver.get(BASE + "?view=" + view + "&steps=60")
        assert settled() == "ready", view
        assert driver.find_element(By.ID, "chart").get_attribute("naturalWidth") != "0", view
        driver.save_screenshot(os.path.join(OUT, f"explorer-{view}.png"))


@check("the Layers slider draws a stack (each layer's curves, the gradient through depth); the layer x lag read-out")
def _():
    driver.get(BASE + "?view=curves&cells=tanh&steps=80&hidden=16")
    assert settled() == "ready"
    assert driver.find_element(By.ID, "c-layers").is_displayed()
    before = chart_svg()
    drag_slider("layers", 3)
    wait(lambda: "layers=3" in driver.current_url and settled() == "ready" and chart_svg() != before, what="the 3-layer stack")
    assert "--layers 3" in driver.find_element(By.ID, "command").text
    cells = [tr.get_attribute("data-cell") for tr in driver.find_elements(By.CSS_SELECTOR, "#summary tr[data-cell]")]
    assert len(cells) == 3 and all(" l" in c for c in cells), cells
    driver.save_screenshot(os.path.join(OUT, "explorer-layers.png"))
    # The stack heatmap: layer on y, lag on x; the read-out names both (and no (t, k) lag).
    driver.get(BASE + "?view=heatmap&cell=lstm&layers=4&steps=60&hidden=8")
    assert settled() == "ready"
    img = driver.find_element(By.ID, "chart")
    ActionChains(driver).move_to_element_with_offset(img, 0, 0).perform()
    wait(lambda: driver.find_element(By.ID, "readout").is_displayed(), what="the grid read-out")
    text = driver.find_element(By.ID, "readout").text
    assert "layer = " in text and "lag = " in text and "(lag" not in text, text
    driver.save_screenshot(os.path.join(OUT, "explorer-layers-heatmap.png"))
    # The other textbook form: offered for vanilla cells only; w-of-f with layers is refused on the page.
    driver.get(BASE + "?view=curves&cells=lstm")
    assert settled() == "ready"
    assert not driver.find_elements(By.ID, "c-form") or not driver.find_element(By.ID, "c-form").is_displayed()
    driver.get(BASE + "?view=curves&cells=tanh&form=w-of-f&layers=2")
    assert settled() == "error"
    assert "--form w-of-f takes one layer" in driver.find_element(By.ID, "error").text


@check("README's screenshot: four cells, both bounds, a read-out")
def _():
    driver.get(BASE + "?view=curves&cells=sigmoid,tanh,relu,lstm&bounds=classical,trajectory&input-scale=0.5&gain=1.2&steps=120")
    assert settled() == "ready"
    img = driver.find_element(By.ID, "chart")
    ActionChains(driver).move_to_element_with_offset(img, int(img.size["width"] * 0.05), int(-img.size["height"] * 0.05)).perform()
    wait(lambda: driver.find_element(By.ID, "readout").is_displayed(), what="the read-out")
    driver.save_screenshot(os.path.join(OUT, "explorer.png"))


try:
    pass
finally:
    driver.quit()
    server.terminate()
    try:
        server.wait(timeout=10)
    except subprocess.TimeoutExpired:
        server.kill()

passed = sum(ok for _, ok in results)
failed = len(results) - passed
print(f"{passed} passed, {failed} failed")
sys.exit(1 if failed else 0)
