"""The live web view: its pieces in Python, and the real page in a real browser.

The browser test starts ``geroconvert.interfaces.webview`` as a server on a free loopback port in a
subprocess, opens the page in headless Chromium (Debian's, driven by Playwright; see
``scripts/install-browser.sh``) and checks what a student would see: the page loads,
play advances the step counter and redraws the plots, and the rapamycin slider changes
the dose the model runs with (read back from the page's readout, which is rendered from
the model's environment).  The server gets an asset cache that holds only the page's
packages and a CDN address where nothing listens, so the page is shown to need no network.
A screenshot goes to ``test-artifacts/webview.png``.

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


def test_each_colour_has_one_meaning_in_every_view():
    # every colour a lattice can show is in that view's legend, and no colour means two things
    names: dict[tuple, set[str]] = {}
    for geometry, kinds in (("dish", [L.LINE]), ("epidermis", [L.STEM, L.PROGENITOR, L.DIFFERENTIATED, L.FIBROBLAST])):
        legend = dict(webview.legend(geometry))
        assert len(legend) == len(webview.legend(geometry)), f"{geometry}: one colour listed twice"
        shown = {tuple(webview.COLOURS[k, p]) for k in kinds for p in (L.CYCLING, L.ARRESTED, L.SENESCENT)}
        assert shown <= set(legend), f"{geometry}: colours without a legend entry: {shown - set(legend)}"
        for colour, name in legend.items():
            names.setdefault(colour, set()).add(name)
    assert all(len(meanings) == 1 for meanings in names.values()), names


def test_the_legend_says_an_arrest_under_mtor_is_not_quiescence():
    # lesson 1: the same arrest is quiescence only with mTOR off; with mTOR on it geroconverts
    text = " ".join(name for g in ("dish", "epidermis") for _, name in webview.legend(g)) + webview.PHASE_MEANINGS
    assert "quiescen" not in text.lower()
    assert "geroconverting while mTOR is active" in webview.PHASE_MEANINGS


def test_the_epidermis_is_folded_to_fill_its_card():
    model = webview.DemoModel(geometry="epidermis")
    height, width = model.shape
    strips = webview.strip_count(width, height)
    rgb = webview.lattice_rgb(model.lattice("phase"), model.lattice("kind"), strips)
    # the picture's shape is near the card's, so scaled to fit it fills most of it
    aspect = rgb.shape[1] / rgb.shape[0]
    fill = min(aspect / webview.CARD_ASPECT, webview.CARD_ASPECT / aspect)
    assert strips > 1 and fill > 0.8, (strips, rgb.shape)
    # and it still shows every site once: the strips side by side are the lattice
    one = webview.lattice_rgb(model.lattice("phase"), model.lattice("kind"))
    parts = [rgb[i * (height + 1) : i * (height + 1) + height] for i in range(strips)]
    assert np.array_equal(np.concatenate(parts, axis=1)[:, :width], one)
    assert webview.strip_count(100, 100) == 1


def test_plot_text_is_at_least_10_points_on_screen():
    model = webview.DemoModel(size=20)
    model.step()
    for which in ("counts", "size"):
        fig = webview._plot_figure(model, which)
        assert fig.dpi >= 96  # drawn at the screen's resolution: a point on the figure is a point on screen
        texts = [t for t in fig.findobj(match=lambda a: hasattr(a, "get_fontsize")) if t.get_text()]
        assert texts and min(t.get_fontsize() for t in texts) >= 10, which


def test_the_inducer_label_follows_the_switch():
    assert webview.inducer_label(1.0) == "inducer (IPTG) on"
    assert webview.inducer_label(0.0) == "inducer (IPTG) off"


def test_the_rpp_plot_says_what_rpp_is():
    note = webview.rpp_note(webview.DemoModel(size=20))
    assert note.startswith("RPP (re-proliferative potential") and "colony" in note and "replated" in note


def test_playback_draws_a_frame_every_few_steps():
    # drawing takes ~0.1-0.2 s and a step under 1 ms: one frame per step played 336 h in minutes
    assert webview.frame_steps(1.0) >= 5
    assert webview.frame_steps(12.0) == 1


def test_required_assets_are_pinned_npm_packages():
    assets = webview.required_assets()
    assert any(a.startswith("requirejs@") for a in assets)
    assert {a.rsplit("@", 1)[0] for a in assets} == set(webview.PAGE_ASSETS)
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


def offline_assets(folder) -> dict[str, str]:
    """Environment for a server whose asset cache is ``folder`` holding only the page's
    packages (links into the real cache) and whose CDN is an address where nothing
    listens: a page that needed anything else, or the network, would fail to load."""
    if webview.missing_assets():
        if shutil.which("npm") is None:
            pytest.fail(
                f"the page's JavaScript is not in Solara's cache ({webview.missing_assets()}) and npm is "
                "missing; run scripts/install-browser.sh"
            )
        webview.install_assets(quiet=True)
    for spec in webview.required_assets():
        link = folder / spec
        link.parent.mkdir(parents=True, exist_ok=True)
        link.symlink_to(webview.assets_cache_dir() / spec, target_is_directory=True)
    return {"SOLARA_ASSETS_PROXY_CACHE_DIR": str(folder), "SOLARA_ASSETS_CDN": f"http://127.0.0.1:{_free_port()}/"}


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    """The demo server in a subprocess on a free loopback port, offline: yields its URL."""
    _browser_or_skip()
    port = _free_port()
    url = f"http://127.0.0.1:{port}/"
    log = ARTIFACTS / "webview-server.log"
    ARTIFACTS.mkdir(exist_ok=True)
    env = {k: v for k, v in os.environ.items() if k != "PYTHONWARNINGS"}
    env.update(offline_assets(tmp_path_factory.mktemp("cdn")))
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

            # what the page says: no "PAGE 0" tab, a legend per colour, RPP explained, >= 10 pt text
            expect(page.get_by_role("tab")).to_have_count(0)
            expect(page.locator(".gc-legend")).to_contain_text("arrested")
            expect(page.locator(".gc-legend")).not_to_contain_text("quiescent")
            expect(page.locator(".gc-rpp-note")).to_contain_text("re-proliferative potential")
            px = page.locator(".gc-readout-cells").evaluate(
                "e => parseFloat(getComputedStyle(e.firstElementChild || e).fontSize)"
            )
            assert px * 0.75 >= 10, f"readout text is {px * 0.75:g} pt"

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

            # the inducer switch: its label and the model follow it
            switch = page.locator(".gc-inducer")
            expect(switch).to_contain_text("inducer (IPTG) on")
            switch.locator("label").click()
            expect(switch).to_contain_text("inducer (IPTG) off", timeout=30_000)
            expect(page.locator(".gc-readout-environment")).to_contain_text("inducer off")

            # one more frame (Step advances one frame of playback) runs with the new dose
            frame = webview.frame_steps(1.0)
            paused_at = _step_count(page)  # read again: a frame drawn as the pause began may have landed since
            page.get_by_role("button", name="Step").click()
            expect(step_text).to_have_text(f"Step: {paused_at + frame}", timeout=30_000)
            expect(readout).to_have_text(f"rapamycin at the cells: {expected:g} nM")

            # playback is fast enough that 336 h of the 100 x 100 dish play in under a minute
            before, start = _step_count(page), time.monotonic()
            page.get_by_role("button", name="▶").click()
            time.sleep(5)
            rate = (_step_count(page) - before) / (time.monotonic() - start)
            page.get_by_role("button", name="❚❚").click()
            expect(page.get_by_role("button", name="▶")).to_be_visible(timeout=30_000)
            assert rate > 336 / 60, f"{rate:.1f} steps/s: 336 h would take {336 / max(rate, 1e-9):.0f} s"

            # keep a picture of the page
            ARTIFACTS.mkdir(exist_ok=True)
            page.screenshot(path=str(ARTIFACTS / "webview.png"), full_page=True)
            assert not failed, f"requests failed: {failed}"
        finally:
            browser.close()


def test_a_basal_sheet_is_shown_from_above_and_in_section(tmp_path):
    """A stratified epidermis on a sheet: two pictures, the basal layer from above (depth x
    width) and the vertical section through the middle of the sheet (rows x width)."""
    config = tmp_path / "sheet.toml"
    config.write_text('extends = "epidermis_small.toml"\n[simulation]\nwidth = 12\ndepth = 8\n', encoding="utf-8")
    (tmp_path / "epidermis_small.toml").write_text(
        (ROOT / "configs" / "epidermis_small.toml").read_text(encoding="utf-8"), encoding="utf-8"
    )
    model = webview.DemoModel(config=str(config))
    rows = model.shape[0]
    assert model.shape == (rows, 8, 12)
    phase, kind = model.lattice("phase"), model.lattice("kind")
    views = webview.lattice_views(phase, kind, model.sim.basal_row)
    (top, top_phase, top_kind), (section, section_phase, _) = views
    assert "from above" in top and "section" in section
    assert top_phase.shape == (8, 12) and section_phase.shape == (rows, 12)
    basal = kind[model.sim.basal_row]
    assert np.array_equal(top_kind, basal) and np.isin(basal, (L.STEM, L.PROGENITOR, L.MELANOCYTE)).all()
    assert np.array_equal(section_phase, phase[:, 4, :])
    assert webview.lattice_png(top_phase, top_kind)[:4] == b"\x89PNG"
    flat = webview.lattice_views(phase[:, 0, :], kind[:, 0, :], model.sim.basal_row)
    assert len(flat) == 1 and flat[0][0] == ""
