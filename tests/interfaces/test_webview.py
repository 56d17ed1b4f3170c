"""The live web view: its pieces in Python, and the real page in a real browser.

The browser test starts ``geroconvert.interfaces.webview`` as a server on a free loopback port in a
subprocess, opens the page in headless Chromium (Debian's, driven by Playwright; see
``scripts/install-browser.sh``) and checks what a student would see: the page loads,
play advances the step counter and redraws the plots, and the rapamycin slider changes
the dose the model runs with (read back from the page's readout, which is rendered from
the model's environment).  A screenshot goes to ``test-artifacts/webview.png``.

It skips only when Chromium or Playwright is missing.
"""

from __future__ import annotations

import os
import re
import shutil
import socket
import subprocess
import sys
import time
import urllib.request

import numpy as np
import pytest

from geroconvert.core import layout as L
from geroconvert.interfaces import webview
from tests.conftest import ROOT

ARTIFACTS = ROOT / "test-artifacts"
CHROMIUM = os.environ.get("GEROCONVERT_CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


# ---- the pieces, no browser -------------------------------------------------------------------
def test_lattice_image_is_one_png_with_phase_colours():
    phase = np.array([[L.EMPTY, L.CYCLING], [L.ARRESTED, L.SENESCENT]], np.uint8)
    kind = np.full_like(phase, L.LINE)
    rgb = webview.lattice_rgb(phase, kind)
    # row 0 is drawn at the bottom
    assert tuple(rgb[1, 0]) == webview.BACKGROUND
    assert tuple(rgb[1, 1]) == webview.PHASE_COLOURS[L.CYCLING]
    assert tuple(rgb[0, 0]) == webview.PHASE_COLOURS[L.ARRESTED]
    assert tuple(rgb[0, 1]) == webview.PHASE_COLOURS[L.SENESCENT]
    png = webview.lattice_png(phase, kind, target_px=40)
    assert png[:8] == b"\x89PNG\r\n\x1a\n"


def test_epidermis_kinds_have_their_own_colours():
    colours = {tuple(webview.COLOURS[k, L.CYCLING]) for k in (L.STEM, L.PROGENITOR, L.FIBROBLAST)}
    assert len(colours) == 3
    assert tuple(webview.COLOURS[L.DIFFERENTIATED, L.ARRESTED]) != webview.PHASE_COLOURS[L.ARRESTED]


def test_lattice_png_of_a_100x100_dish_is_fast():
    model = webview.DemoModel(size=100, seed=1)
    start = time.perf_counter()
    for _ in range(10):
        webview.lattice_png(model.lattice("phase"), model.lattice("kind"))
    assert (time.perf_counter() - start) / 10 < 0.05


def test_demo_model_defaults_and_reset_parameters():
    model = webview.DemoModel(**{k: v["value"] for k, v in webview.model_params().items()})
    assert model.shape == (100, 100)
    assert model.environment.inducer == 1.0
    assert model.rpp_every_h == 24.0
    small = webview.DemoModel(geometry="epidermis", size=30)
    assert small.params.simulation.geometry == "epidermis" and small.shape[1] == 30
    assert small.rpp_every_h == 0.0


def test_demo_uses_a_config_file(tmp_path):
    config = tmp_path / "small.toml"
    config.write_text(
        '[simulation]\ngeometry = "dish"\nwidth = 24\nheight = 24\n'
        '[environment]\nrapamycin_nM = 500.0\n[cells]\nparamset = "ht_p21"\n'
    )
    model = webview.DemoModel(config=str(config))
    assert model.shape == (24, 24)
    assert model.environment.rapamycin_nM == 500.0
    text = webview.readout_text(model)
    assert text["rapamycin"] == "rapamycin at the cells: 500 nM"


def test_readout_follows_the_environment():
    model = webview.DemoModel(size=20)
    model.set_environment(rapamycin_nM=10.0, inducer=0.0)
    text = webview.readout_text(model)
    assert "10 nM" in text["rapamycin"] and "inducer off" in text["environment"]
    assert webview.nearest(webview.RAPAMYCIN_STEPS_NM, 500.0) in (300.0, 1000.0)
    assert webview.nearest(webview.RAPAMYCIN_STEPS_NM, 0.0) == 0.0


def test_plots_draw_from_the_data_collector():
    model = webview.DemoModel(size=20)
    for _ in range(3):
        model.step()
    for which in ("counts", "size"):
        fig = webview._plot_figure(model, which)
        assert fig.axes and any(ax.lines for ax in fig.axes)


def test_required_assets_are_pinned_npm_packages():
    assets = webview.required_assets()
    assert any(a.startswith("requirejs@") for a in assets)
    assert all(re.fullmatch(r"(@[\w.-]+/)?[\w.-]+@\d+\.\d+\.\d+[\w.+-]*", a) for a in assets)


# ---- the page in a browser ----------------------------------------------------------------------
def _browser_or_skip():
    try:
        import playwright.sync_api  # noqa: F401
    except ImportError:
        pytest.skip("Playwright for Python is not installed (pip install playwright; see scripts/install-browser.sh)")
    if not (os.path.exists(CHROMIUM) and os.access(CHROMIUM, os.X_OK)):
        pytest.skip(f"Chromium not found at {CHROMIUM} (apt-get install chromium; see scripts/install-browser.sh)")


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def server():
    """The demo server in a subprocess on a free loopback port: yields its URL."""
    _browser_or_skip()
    if webview.missing_assets():
        if shutil.which("npm") is None:
            pytest.fail(
                f"the page's JavaScript is not in Solara's cache ({webview.missing_assets()}) and npm is "
                "missing; run scripts/install-browser.sh"
            )
        webview.install_assets(quiet=True)
    port = _free_port()
    url = f"http://127.0.0.1:{port}/"
    log = ARTIFACTS / "webview-server.log"
    ARTIFACTS.mkdir(exist_ok=True)
    env = {k: v for k, v in os.environ.items() if k != "PYTHONWARNINGS"}
    with open(log, "w") as out:
        proc = subprocess.Popen(
            [sys.executable, "-m", "geroconvert.interfaces.webview", "--port", str(port)],
            stdout=out,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            env=env,
            cwd=ROOT,
        )
    try:
        deadline = time.monotonic() + 90
        while True:
            if proc.poll() is not None:
                pytest.fail(f"the server exited with code {proc.returncode}:\n{log.read_text()[-3000:]}")
            try:
                with urllib.request.urlopen(url, timeout=5) as response:
                    if response.status == 200:
                        break
            except OSError:
                pass
            if time.monotonic() > deadline:
                pytest.fail(f"the server did not answer on {url} within 90 s:\n{log.read_text()[-3000:]}")
            time.sleep(0.3)
        yield url
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=15)


def _step_count(page) -> int:
    text = page.locator("text=/^Step: \\d+$/").first.inner_text()
    return int(text.split(":")[1])


def test_page_plays_and_the_rapamycin_slider_sets_the_dose(server):
    from playwright.sync_api import expect, sync_playwright

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)
        try:
            page = browser.new_page(viewport={"width": 1400, "height": 950})
            failed: list[str] = []
            page.on("response", lambda r: failed.append(f"{r.status} {r.url}") if r.status >= 400 else None)
            page.goto(server, timeout=90_000)

            # the page loads: the step counter, the lattice image, the plots and the readouts
            step_text = page.locator("text=/^Step: \\d+$/").first
            expect(step_text).to_have_text("Step: 0", timeout=90_000)
            expect(page.locator(".gc-lattice img")).to_be_visible(timeout=30_000)
            plot = page.locator(".gc-plot-counts img")
            expect(plot).to_be_visible(timeout=30_000)
            readout = page.locator(".gc-readout-rapamycin")
            expect(readout).to_have_text("rapamycin at the cells: 0 nM", timeout=30_000)
            assert not failed, f"requests failed: {failed}"
            plot_before = plot.get_attribute("src")
            lattice_before = page.locator(".gc-lattice img").get_attribute("src")

            # play: the step counter advances and the plots redraw
            page.get_by_role("button", name="▶").click()
            page.wait_for_function(
                "() => [...document.querySelectorAll('*')].some(e => /^Step: ([5-9]|\\d\\d+)$/.test(e.textContent))",
                timeout=60_000,
            )
            page.get_by_role("button", name="❚❚").click()
            expect(page.get_by_role("button", name="▶")).to_be_visible(timeout=30_000)
            steps = _step_count(page)
            assert steps >= 5
            page.wait_for_function(
                "(before) => { const img = document.querySelector('.gc-plot-counts img');"
                " return img && img.getAttribute('src') !== before; }",
                arg=plot_before,
                timeout=30_000,
            )
            assert page.locator(".gc-lattice img").get_attribute("src") != lattice_before
            expect(page.locator(".gc-controls")).to_contain_text(f"(step {steps})", timeout=30_000)

            # the rapamycin slider: five steps right on the log scale is 10 nM at the cells
            thumb = page.locator(".gc-rapamycin [role=slider]").first
            thumb.focus()
            for _ in range(5):
                thumb.press("ArrowRight")
            expected = webview.RAPAMYCIN_STEPS_NM[5]
            expect(readout).to_have_text(f"rapamycin at the cells: {expected:g} nM", timeout=30_000)
            expect(page.locator(".gc-readout-branches")).not_to_contain_text("S6K activity left: 100%")

            # one more step runs with the new dose; keep a picture of the page
            page.get_by_role("button", name="Step").click()
            expect(step_text).to_have_text(f"Step: {steps + 1}", timeout=30_000)
            expect(readout).to_have_text(f"rapamycin at the cells: {expected:g} nM")
            ARTIFACTS.mkdir(exist_ok=True)
            page.screenshot(path=str(ARTIFACTS / "webview.png"), full_page=True)
            assert not failed, f"requests failed: {failed}"
        finally:
            browser.close()
