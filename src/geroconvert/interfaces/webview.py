"""A live web view for teaching: a Mesa SolaraViz page over the engine.

    geroconvert demo [--port 8765] [CONFIG]      # or: python -m geroconvert.interfaces.webview
    from geroconvert.interfaces.webview import serve; serve(port=8765)

The page (http://127.0.0.1:PORT/) shows the lattice coloured by phase (and by kind in
the epidermis), live controls for the environment (mTOR gain, rapamycin and pan-mTOR
doses on log-spaced steps, oxygen, the inducer switch) that act on the running model at
once, and live plots of the phase counts, the mean cell size and the RPP assay.  Mesa's
SolaraViz gives the step / play / pause / reset buttons and the step counter; its "Model
Parameters" card (lattice size, seed, geometry) takes effect on Reset.

The lattice is drawn as one image (a colour lookup on the phase array, upscaled), not one
glyph per cell, so a 100 x 100 dish stays responsive.  Each browser session gets its own
model.  The server binds to loopback by default and needs no network: telemetry and the
font CDN are switched off before Solara starts.
"""

from __future__ import annotations

import io
import math
import os
from pathlib import Path

import numpy as np

from geroconvert.core import layout as L
from geroconvert.interfaces.mesa_model import GeroModel
from geroconvert.parameters.models import Params

CONFIG_ENV = "GEROCONVERT_DEMO_CONFIG"
DEFAULT_PORT = 8765

# log-spaced dose steps for the sliders (nM at the cells)
RAPAMYCIN_STEPS_NM = (0.0, 0.1, 0.3, 1.0, 3.0, 10.0, 30.0, 100.0, 300.0, 1000.0)
PAN_MTOR_STEPS_NM = (0.0, 0.3, 1.0, 3.0, 10.0, 30.0, 100.0, 300.0)

# colours (RGB 0-255) per kind x phase; row EMPTY is the background
BACKGROUND = (245, 245, 240)
PHASE_COLOURS = {L.CYCLING: (46, 160, 67), L.ARRESTED: (49, 110, 200), L.SENESCENT: (222, 90, 40)}
KIND_CYCLING_COLOURS = {L.STEM: (140, 60, 180), L.PROGENITOR: (46, 160, 67), L.DIFFERENTIATED: (214, 190, 140),
                        L.FIBROBLAST: (150, 120, 100), L.LINE: (46, 160, 67)}


def colour_table() -> np.ndarray:
    """RGB per (kind, phase): phase colours, kinds told apart in the epidermis."""
    table = np.zeros((L.N_KINDS, L.N_PHASES, 3), np.uint8)
    for kind in range(L.N_KINDS):
        table[kind, L.EMPTY] = BACKGROUND
        table[kind, L.CYCLING] = KIND_CYCLING_COLOURS[kind]
        table[kind, L.ARRESTED] = PHASE_COLOURS[L.ARRESTED]
        table[kind, L.SENESCENT] = PHASE_COLOURS[L.SENESCENT]
    table[L.DIFFERENTIATED, L.ARRESTED] = KIND_CYCLING_COLOURS[L.DIFFERENTIATED]  # post-mitotic, not "arrested"
    table[L.FIBROBLAST, L.ARRESTED] = (95, 120, 170)
    return table


COLOURS = colour_table()


def lattice_rgb(phase: np.ndarray, kind: np.ndarray) -> np.ndarray:
    """An RGB image (rows x width x 3) of the lattice, row 0 at the bottom."""
    return COLOURS[kind, phase][::-1]


def lattice_png(phase: np.ndarray, kind: np.ndarray, target_px: int = 300) -> bytes:
    """The lattice as PNG bytes, each site an integer block of pixels."""
    from PIL import Image

    rgb = lattice_rgb(phase, kind)
    scale = max(1, target_px // max(rgb.shape[0], rgb.shape[1]))
    if scale > 1:
        rgb = np.repeat(np.repeat(rgb, scale, axis=0), scale, axis=1)
    buffer = io.BytesIO()
    Image.fromarray(np.ascontiguousarray(rgb), "RGB").save(buffer, format="PNG", compress_level=1)
    return buffer.getvalue()


# ---------------------------------------------------------------------------------------
# the model behind the page
# ---------------------------------------------------------------------------------------
def builtin_params(geometry: str = "dish") -> Params:
    """The demo's own scenarios: the HT-p21 dish (inducer on) or a human epidermis."""
    from geroconvert.parameters import paramsets

    if geometry == "dish":
        params = Params(cells=paramsets.cells("ht_p21"))
        return params.with_changes(
            simulation={"geometry": "dish", "width": 100, "height": 100, "dt_h": 1.0, "initial_density": 0.15},
            environment={"inducer": 1.0})
    if geometry == "epidermis":
        params = Params(cells=paramsets.cells("human_epidermis"))
        return params.with_changes(
            simulation={"geometry": "epidermis", "width": 100, "height": 16, "dermis_rows": 3,
                        "initial_thickness_rows": 8, "initial_density": 0.3, "dt_h": 12.0},
            environment={"damage_rate_per_h": 2e-4})
    raise ValueError(f"geometry must be 'dish' or 'epidermis', not {geometry!r}")


def demo_params(config=None, geometry: str | None = None, size: int | None = None) -> Params:
    """Parameters for the page: the config's (or the built-in scenario), resized.

    ``size`` sets width and height of a dish, the width of an epidermis.  A ``geometry``
    other than the config's switches to the built-in scenario of that geometry.
    """
    if config is not None:
        from geroconvert.config import load_config

        params = load_config(Path(config)).params
        if geometry is not None and geometry != params.simulation.geometry:
            params = builtin_params(geometry)
    else:
        params = builtin_params(geometry or "dish")
    if size is not None:
        size = int(size)
        change = {"width": size} if params.simulation.geometry == "epidermis" else {"width": size, "height": size}
        params = params.with_changes(simulation=change)
    # a lighter RPP assay keeps the page responsive
    return params.with_changes(assays={"max_cells": min(params.assays.max_cells, 100), "rpp_times_h": ()})


class DemoModel(GeroModel):
    """The page's model: keyword arguments only, so SolaraViz can rebuild it on Reset."""

    def __init__(self, geometry: str | None = None, size: int | None = None, seed: int = 0,
                 config: str | None = None, rpp_every_h: float | None = None):
        params = demo_params(config if config is not None else os.environ.get(CONFIG_ENV), geometry, size)
        if rpp_every_h is None:
            rpp_every_h = 24.0 if params.simulation.geometry == "dish" else 0.0
        super().__init__(params=params, seed=int(seed), rpp_every_h=rpp_every_h)


def model_params(config=None) -> dict:
    """SolaraViz's "Model Parameters" (applied on Reset)."""
    params = demo_params(config if config is not None else os.environ.get(CONFIG_ENV))
    sim = params.simulation
    return {
        "geometry": {"type": "Select", "value": sim.geometry, "values": ["dish", "epidermis"],
                     "label": "geometry (on Reset)"},
        "size": {"type": "SliderInt", "value": sim.width, "min": 10, "max": 200, "step": 10,
                 "label": "lattice width (on Reset)"},
        "seed": {"type": "SliderInt", "value": sim.seed, "min": 0, "max": 99, "step": 1, "label": "seed (on Reset)"},
    }


def nearest(steps, value: float) -> float:
    """The slider step closest to ``value`` on a log scale (0 stays 0)."""
    if value <= 0:
        return steps[0]
    positive = [s for s in steps if s > 0]
    return min(positive, key=lambda s: abs(math.log(s) - math.log(value)))


def format_nM(value: float) -> str:
    return f"{value:g} nM"


def readout_text(model: GeroModel) -> dict[str, str]:
    """The numbers shown beside the controls (also what the browser test reads)."""
    from geroconvert.core.pharmacology import branch_factors

    env = model.environment
    s6k, e4bp = branch_factors(model.params.cells, env.rapamycin_nM, env.pan_mtor_nM)
    r = model.readout
    return {
        "time": f"t = {model.time_h:g} h (step {model.steps})",
        "rapamycin": f"rapamycin at the cells: {format_nM(env.rapamycin_nM)}",
        "pan_mtor": f"pan-mTOR inhibitor at the cells: {format_nM(env.pan_mtor_nM)}",
        "branches": f"S6K activity left: {100 * float(s6k):.0f}%, 4E-BP1 branch left: {100 * float(e4bp):.0f}%",
        "environment": (f"oxygen {100 * env.oxygen:.0f}% of normoxia, mTOR gain {env.mtor_gain:g}, "
                        f"inducer {'on' if env.inducer > 0 else 'off'}"),
        "cells": (f"{r['n_cells']} cells: {r['n_cycling']} cycling, {r['n_arrested']} arrested, "
                  f"{r['n_senescent']} senescent; mean mass {r['mean_mass']:.2f}, "
                  f"p16+ {100 * r['p16_positive_fraction']:.0f}%"),
    }


# ---------------------------------------------------------------------------------------
# the page (Solara is imported only here, so `import geroconvert.interfaces.webview` stays light)
# ---------------------------------------------------------------------------------------
def _plot_figure(model: GeroModel, which: str):
    from matplotlib.figure import Figure

    frame = model.dataframe()
    fig = Figure(figsize=(4.6, 2.7), dpi=80, layout="constrained")
    t = frame["time_h"].to_numpy()
    if which == "counts":
        ax = fig.add_subplot()
        for name, label in (("n_cycling", "cycling"), ("n_arrested", "arrested"), ("n_senescent", "senescent")):
            phase = {"cycling": L.CYCLING, "arrested": L.ARRESTED, "senescent": L.SENESCENT}[label]
            ax.plot(t, frame[name].to_numpy(), color=np.array(PHASE_COLOURS[phase]) / 255, label=label)
        ax.set_xlabel("time (h)")
        ax.set_ylabel("cells")
        ax.set_title("cells per phase", fontsize=10)
        ax.legend(fontsize=8, loc="upper left")
    else:
        ax_mass, ax_rpp = fig.subplots(1, 2)
        ax_mass.plot(t, frame["mean_mass"].to_numpy(), color="0.2")
        ax_mass.set_xlabel("time (h)")
        ax_mass.set_title("mean cell mass", fontsize=10)
        rpp = frame["rpp"].to_numpy()
        seen = ~np.isnan(rpp)
        ax_rpp.plot(t[seen], rpp[seen], "o-", color=np.array(PHASE_COLOURS[L.SENESCENT]) / 255, label="RPP")
        ax_rpp.plot(t, frame["p16_positive_fraction"].to_numpy(), color="0.5", lw=1, label="p16+")
        ax_rpp.set_ylim(-0.03, 1.03)
        ax_rpp.set_xlabel("time (h)")
        ax_rpp.set_title("RPP and p16+ fraction", fontsize=10)
        ax_rpp.legend(fontsize=8, loc="lower left")
        if not seen.any():
            ax_rpp.text(0.5, 0.5, "RPP: no assay yet" if model.rpp_every_h > 0 else "RPP: not assayed",
                        transform=ax_rpp.transAxes, ha="center", fontsize=8, color="0.4")
    return fig


def _components():
    import solara
    from mesa.visualization.utils import force_update, update_counter

    @solara.component
    def Lattice(model: GeroModel):
        update_counter.get()
        phase, kind = model.lattice("phase"), model.lattice("kind")
        png = solara.use_memo(lambda: lattice_png(phase, kind), dependencies=[id(model), model.steps])
        geometry = model.params.simulation.geometry
        with solara.Column(gap="4px", classes=["gc-lattice"]):
            solara.Image(png, format="png")
            legend = ("green cycling, blue arrested (quiescent), orange senescent" if geometry == "dish" else
                      "purple stem, green progenitor, tan differentiated, brown fibroblast; "
                      "blue arrested, orange senescent (basal row at the bottom)")
            solara.Text(legend, style={"font-size": "12px"})

    @solara.component
    def Controls(model: GeroModel):
        update_counter.get()
        env = model.environment

        def change(**values):
            model.set_environment(**values)
            force_update()

        text = readout_text(model)
        with solara.Column(gap="0px", classes=["gc-controls"]):
            solara.Markdown(f"**{text['time']}**", style={"font-size": "13px"})
            rapa_index = RAPAMYCIN_STEPS_NM.index(nearest(RAPAMYCIN_STEPS_NM, env.rapamycin_nM))
            with solara.Div(classes=["gc-rapamycin"]):
                solara.SliderInt(f"rapamycin {format_nM(env.rapamycin_nM)}", value=rapa_index, min=0,
                                 max=len(RAPAMYCIN_STEPS_NM) - 1, thumb_label=False,
                                 on_value=lambda i: change(rapamycin_nM=RAPAMYCIN_STEPS_NM[int(i)]))
            pan_index = PAN_MTOR_STEPS_NM.index(nearest(PAN_MTOR_STEPS_NM, env.pan_mtor_nM))
            with solara.Div(classes=["gc-pan-mtor"]):
                solara.SliderInt(f"pan-mTOR {format_nM(env.pan_mtor_nM)}", value=pan_index, min=0,
                                 max=len(PAN_MTOR_STEPS_NM) - 1, thumb_label=False,
                                 on_value=lambda i: change(pan_mtor_nM=PAN_MTOR_STEPS_NM[int(i)]))
            with solara.Div(classes=["gc-gain"]):
                solara.SliderFloat(f"mTOR gain {env.mtor_gain:g}", value=env.mtor_gain, min=0.0, max=5.0, step=0.1,
                                   on_value=lambda v: change(mtor_gain=float(v)))
            with solara.Div(classes=["gc-oxygen"]):
                solara.SliderFloat(f"oxygen {env.oxygen:g} x normoxia", value=env.oxygen, min=0.0, max=1.0, step=0.05,
                                   on_value=lambda v: change(oxygen=float(v)))
            with solara.Div(classes=["gc-inducer"]):
                solara.Switch(label="inducer (IPTG) on", value=env.inducer > 0,
                              on_value=lambda v: change(inducer=1.0 if v else 0.0))
            for key in ("rapamycin", "pan_mtor", "branches", "environment", "cells"):
                with solara.Div(classes=[f"gc-readout-{key.replace('_', '-')}"]):
                    solara.Text(text[key], style={"font-size": "12px"})

    def plot(which: str):
        @solara.component
        def Plot(model: GeroModel):
            update_counter.get()
            fig = _plot_figure(model, which)
            with solara.Div(classes=[f"gc-plot-{which}"]):
                solara.FigureMatplotlib(fig, format="png", dependencies=[id(model), model.steps, which,
                                                                           model.environment])
        Plot.__name__ = f"Plot_{which}"
        return Plot

    return [Lattice, Controls, plot("counts"), plot("size")]


def make_page():
    """The Solara ``Page`` component (a new model per browser session)."""
    import solara
    from mesa.visualization import SolaraViz

    components = _components()

    @solara.component
    def Page():
        model = solara.use_memo(lambda: DemoModel(**{k: v["value"] for k, v in model_params().items()}), [])
        SolaraViz(model, components=components, model_params=model_params(), play_interval=150,
                  name="geroconvert: geroconversion, live")

    return Page


def __getattr__(name):
    # Solara imports this module and asks for ``Page``; build it on first use (lazily,
    # so importing geroconvert.interfaces.webview does not import solara)
    if name == "Page":
        page = make_page()
        globals()["Page"] = page
        return page
    raise AttributeError(name)


# ---------------------------------------------------------------------------------------
# offline assets: Solara's page loads its JavaScript through a CDN proxy in the server
# ---------------------------------------------------------------------------------------
def required_assets() -> list[str]:
    """The npm packages (``name@version``, exact versions) that Solara's page and widgets load
    through its CDN proxy: the page template, grid layout, Markdown, requirejs."""
    import re

    import solara

    root = Path(solara.__file__).parent
    pattern = re.compile(r"(?:\{\{\s*cdn\s*\}\}|getCdn\(\)\})/((?:@[\w.-]+/)?[\w.-]+@\d+\.\d+\.\d+[\w.+-]*)/")
    found: set[str] = set()
    for path in root.rglob("*"):
        if path.suffix not in (".j2", ".vue", ".py", ".js", ".html") or "website" in path.parts:
            continue
        try:
            found.update(pattern.findall(path.read_text(encoding="utf-8", errors="ignore")))
        except OSError:
            continue
    return sorted(found)


def assets_cache_dir() -> Path:
    import solara.server.settings

    return Path(solara.server.settings.assets.proxy_cache_dir)


def missing_assets() -> list[str]:
    cache = assets_cache_dir()
    return [spec for spec in required_assets() if not (cache / spec / "package.json").exists()]


def install_assets(quiet: bool = False) -> list[str]:
    """Put the npm packages the page needs into Solara's CDN cache (``npm pack``, then unpack).

    Idempotent: packages already there are skipped.  Needs ``npm`` and the npm registry;
    without them the page still works where the public CDN is reachable.  Returns what
    was installed.
    """
    import shutil
    import subprocess
    import tarfile
    import tempfile

    todo = missing_assets()
    if not todo:
        return []
    npm = shutil.which("npm")
    if npm is None:
        raise RuntimeError(f"npm is needed to install the web page's assets ({', '.join(todo)}) for offline use")
    cache = assets_cache_dir()
    with tempfile.TemporaryDirectory() as tmp:
        for spec in todo:
            out = subprocess.run([npm, "pack", spec, "--silent", "--pack-destination", tmp], capture_output=True,
                                 text=True, timeout=600)
            if out.returncode != 0:
                raise RuntimeError(f"npm pack {spec} failed: {out.stderr.strip()[-500:]}")
            tarball = Path(tmp) / out.stdout.strip().splitlines()[-1]
            target = cache / spec
            partial = cache / f"{spec}.partial"
            shutil.rmtree(partial, ignore_errors=True)
            partial.mkdir(parents=True)
            with tarfile.open(tarball) as archive:
                archive.extractall(partial, filter="data")
            shutil.rmtree(target, ignore_errors=True)
            (partial / "package").rename(target)
            shutil.rmtree(partial, ignore_errors=True)
            if not quiet:
                print(f"installed {spec} into {target}")
    return todo


# ---------------------------------------------------------------------------------------
# the server
# ---------------------------------------------------------------------------------------
def quiet_solara_environment() -> None:
    """No telemetry, no version check, no font CDN: the page must work offline."""
    os.environ["SOLARA_TELEMETRY_MIXPANEL_ENABLE"] = "False"
    os.environ["SOLARA_ASSETS_FONTAWESOME_ENABLED"] = "False"
    os.environ.setdefault("SOLARA_MODE", "production")
    os.environ.setdefault("MPLBACKEND", "Agg")


def serve(port: int = DEFAULT_PORT, host: str = "127.0.0.1", config=None, log_level: str = "warning") -> None:
    """Serve the page at http://HOST:PORT/ until interrupted (blocks).

    ``config`` is a TOML config to start from (default: the built-in HT-p21 dish).
    """
    if config is not None:
        config = Path(config).resolve()
        demo_params(config)  # a bad config fails here, before the server starts
        os.environ[CONFIG_ENV] = str(config)
    else:
        os.environ.pop(CONFIG_ENV, None)
    quiet_solara_environment()
    os.environ["SOLARA_APP"] = "geroconvert.interfaces.webview:Page"
    os.environ["SERVER_NAME"] = host
    os.environ["SERVER_PORT"] = str(port)
    import solara.server.settings as solara_settings
    import uvicorn

    solara_settings.telemetry.mixpanel_enable = False
    solara_settings.assets.fontawesome_enabled = False
    solara_settings.main.mode = "production"
    uvicorn.run("solara.server.starlette:app", host=host, port=int(port), log_level=log_level,
                ws_max_size=2**26)


def main(argv=None) -> None:
    import argparse

    parser = argparse.ArgumentParser(prog="python -m geroconvert.interfaces.webview", description=__doc__.splitlines()[0])
    parser.add_argument("config", nargs="?", help="TOML config to start from (default: built-in HT-p21 dish)")
    parser.add_argument("--port", type=int, default=DEFAULT_PORT)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--install-assets", action="store_true",
                        help="put the page's JavaScript into Solara's cache (npm pack) for offline use, then exit")
    args = parser.parse_args(argv)
    if args.install_assets:
        installed = install_assets()
        print("web assets: " + (", ".join(installed) if installed else "already installed"))
        return
    print(f"geroconvert web view: http://{args.host}:{args.port}/ (Ctrl-C to stop)", flush=True)
    serve(port=args.port, host=args.host, config=args.config)


if __name__ == "__main__":
    main()
