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

This module serves the page (and fetches its JavaScript for offline use); the page's
components are in :mod:`~geroconvert.interfaces.webpage` and the model behind them in
:mod:`~geroconvert.interfaces.demo_model` (both re-exported here).
"""

from __future__ import annotations

import os
from pathlib import Path

from geroconvert.interfaces.demo_model import (
    BACKGROUND,
    COLOURS,
    CONFIG_ENV,
    KIND_CYCLING_COLOURS,
    PAN_MTOR_STEPS_NM,
    PHASE_COLOURS,
    RAPAMYCIN_STEPS_NM,
    DemoModel,
    builtin_params,
    colour_table,
    demo_params,
    format_nM,
    lattice_png,
    lattice_rgb,
    model_params,
    nearest,
    readout_text,
)
from geroconvert.interfaces.webpage import make_page, plot_figure

__all__ = [
    "serve",
    "main",
    "install_assets",
    "missing_assets",
    "required_assets",
    "assets_cache_dir",
    "quiet_solara_environment",
    "DEFAULT_PORT",
    "make_page",
    "plot_figure",
    "DemoModel",
    "builtin_params",
    "demo_params",
    "model_params",
    "readout_text",
    "nearest",
    "format_nM",
    "CONFIG_ENV",
    "RAPAMYCIN_STEPS_NM",
    "PAN_MTOR_STEPS_NM",
    "BACKGROUND",
    "PHASE_COLOURS",
    "KIND_CYCLING_COLOURS",
    "COLOURS",
    "colour_table",
    "lattice_rgb",
    "lattice_png",
]

DEFAULT_PORT = 8765
_plot_figure = plot_figure  # the name the tests draw the plots by


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
            out = subprocess.run(
                [npm, "pack", spec, "--silent", "--pack-destination", tmp], capture_output=True, text=True, timeout=600
            )
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
    uvicorn.run("solara.server.starlette:app", host=host, port=int(port), log_level=log_level, ws_max_size=2**26)


def main(argv=None) -> None:
    import argparse

    parser = argparse.ArgumentParser(
        prog="python -m geroconvert.interfaces.webview", description=__doc__.splitlines()[0]
    )
    parser.add_argument("config", nargs="?", help="TOML config to start from (default: built-in HT-p21 dish)")
    parser.add_argument("--port", type=int, default=DEFAULT_PORT)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument(
        "--install-assets",
        action="store_true",
        help="put the page's JavaScript into Solara's cache (npm pack) for offline use, then exit",
    )
    args = parser.parse_args(argv)
    if args.install_assets:
        installed = install_assets()
        print("web assets: " + (", ".join(installed) if installed else "already installed"))
        return
    print(f"geroconvert web view: http://{args.host}:{args.port}/ (Ctrl-C to stop)", flush=True)
    serve(port=args.port, host=args.host, config=args.config)


if __name__ == "__main__":
    main()
