"""The model behind the web view, and what the page shows of it besides the plots.

:class:`DemoModel` (a :class:`~geroconvert.interfaces.mesa_model.GeroModel` SolaraViz can
rebuild from keyword arguments), its built-in scenarios and "Model Parameters", the dose
steps of the sliders, the text beside the controls, and the lattice as a PNG image (a
colour lookup on the phase and kind arrays).  Nothing here imports Solara.
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

# log-spaced dose steps for the sliders (nM at the cells)
RAPAMYCIN_STEPS_NM = (0.0, 0.1, 0.3, 1.0, 3.0, 10.0, 30.0, 100.0, 300.0, 1000.0)
PAN_MTOR_STEPS_NM = (0.0, 0.3, 1.0, 3.0, 10.0, 30.0, 100.0, 300.0)

# colours (RGB 0-255) per kind x phase; row EMPTY is the background
BACKGROUND = (245, 245, 240)
PHASE_COLOURS = {L.CYCLING: (46, 160, 67), L.ARRESTED: (49, 110, 200), L.SENESCENT: (222, 90, 40)}
KIND_CYCLING_COLOURS = {
    L.STEM: (140, 60, 180),
    L.PROGENITOR: (46, 160, 67),
    L.DIFFERENTIATED: (214, 190, 140),
    L.FIBROBLAST: (150, 120, 100),
    L.LINE: (46, 160, 67),
}


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


def builtin_params(geometry: str = "dish") -> Params:
    """The demo's own scenarios: the HT-p21 dish (inducer on) or a human epidermis."""
    from geroconvert.parameters import paramsets

    if geometry == "dish":
        params = Params(cells=paramsets.cells("ht_p21"))
        return params.with_changes(
            simulation={"geometry": "dish", "width": 100, "height": 100, "dt_h": 1.0, "initial_density": 0.15},
            environment={"inducer": 1.0},
        )
    if geometry == "epidermis":
        params = Params(cells=paramsets.cells("human_epidermis"))
        return params.with_changes(
            simulation={
                "geometry": "epidermis",
                "width": 100,
                "height": 16,
                "dermis_rows": 3,
                "initial_thickness_rows": 8,
                "initial_density": 0.3,
                "dt_h": 12.0,
            },
            environment={"damage_rate_per_h": 2e-4},
        )
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

    def __init__(
        self,
        geometry: str | None = None,
        size: int | None = None,
        seed: int = 0,
        config: str | None = None,
        rpp_every_h: float | None = None,
    ):
        params = demo_params(config if config is not None else os.environ.get(CONFIG_ENV), geometry, size)
        if rpp_every_h is None:
            rpp_every_h = 24.0 if params.simulation.geometry == "dish" else 0.0
        super().__init__(params=params, seed=int(seed), rpp_every_h=rpp_every_h)


def model_params(config=None) -> dict:
    """SolaraViz's "Model Parameters" (applied on Reset)."""
    params = demo_params(config if config is not None else os.environ.get(CONFIG_ENV))
    sim = params.simulation
    return {
        "geometry": {
            "type": "Select",
            "value": sim.geometry,
            "values": ["dish", "epidermis"],
            "label": "geometry (on Reset)",
        },
        "size": {
            "type": "SliderInt",
            "value": sim.width,
            "min": 10,
            "max": 200,
            "step": 10,
            "label": "lattice width (on Reset)",
        },
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
        "environment": (
            f"oxygen {100 * env.oxygen:.0f}% of normoxia, mTOR gain {env.mtor_gain:g}, "
            f"inducer {'on' if env.inducer > 0 else 'off'}"
        ),
        "cells": (
            f"{r['n_cells']} cells: {r['n_cycling']} cycling, {r['n_arrested']} arrested, "
            f"{r['n_senescent']} senescent; mean mass {r['mean_mass']:.2f}, "
            f"p16+ {100 * r['p16_positive_fraction']:.0f}%"
        ),
    }
