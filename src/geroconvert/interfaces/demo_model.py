"""The model behind the web view, and what the page shows of it besides the plots.

:class:`DemoModel` (a :class:`~geroconvert.interfaces.mesa_model.GeroModel` SolaraViz can
rebuild from keyword arguments), its built-in scenarios and "Model Parameters", the dose
steps of the sliders, the text beside the controls and under the plots, the legend, and
the lattice as a PNG image (a colour lookup on the phase and kind arrays; a wide, shallow
epidermis folded into strips so it fills the page's square-ish card).  Nothing here
imports Solara.
"""

from __future__ import annotations

import io
import math
import os
import threading
from pathlib import Path

import numpy as np

from geroconvert.core import layout as L
from geroconvert.interfaces.mesa_model import GeroModel
from geroconvert.parameters.models import Params

CONFIG_ENV = "GEROCONVERT_DEMO_CONFIG"

# log-spaced dose steps for the sliders (nM at the cells)
RAPAMYCIN_STEPS_NM = (0.0, 0.1, 0.3, 1.0, 3.0, 10.0, 30.0, 100.0, 300.0, 1000.0)
PAN_MTOR_STEPS_NM = (0.0, 0.3, 1.0, 3.0, 10.0, 30.0, 100.0, 300.0)

# colours (RGB 0-255) per kind x phase; row EMPTY is the background.  Each colour has one
# meaning on every view: green is a cycling dish cell (and "cycling" in the plots), so the
# epidermis's cycling kinds get hues of their own and no green.
BACKGROUND = (245, 245, 240)
STRIP_GAP_COLOUR = (170, 170, 170)  # the line between the strips of a folded epidermis
PHASE_COLOURS = {L.CYCLING: (46, 160, 67), L.ARRESTED: (49, 110, 200), L.SENESCENT: (222, 90, 40)}
KIND_CYCLING_COLOURS = {
    L.STEM: (140, 60, 180),
    L.PROGENITOR: (0, 160, 170),
    L.DIFFERENTIATED: (214, 190, 140),
    L.FIBROBLAST: (150, 120, 100),
    L.LINE: PHASE_COLOURS[L.CYCLING],
    L.MELANOCYTE: (40, 30, 25),  # dark: the pigment cell
}
FIBROBLAST_ARRESTED = (95, 120, 170)

# what the phases mean, in the words of lesson 1: an arrest under active mTOR is not
# quiescence, it is the reversible window before senescence
PHASE_MEANINGS = (
    "arrested: blocked by p21/p16, still reversible, but geroconverting while mTOR is active; "
    "senescent: geroconverted, cannot resume (RPP lost)"
)


def colour_table() -> np.ndarray:
    """RGB per (kind, phase): phase colours, kinds told apart in the epidermis."""
    table = np.zeros((L.N_KINDS, L.N_PHASES, 3), np.uint8)
    for kind in range(L.N_KINDS):
        table[kind, L.EMPTY] = BACKGROUND
        table[kind, L.CYCLING] = KIND_CYCLING_COLOURS[kind]
        table[kind, L.ARRESTED] = PHASE_COLOURS[L.ARRESTED]
        table[kind, L.SENESCENT] = PHASE_COLOURS[L.SENESCENT]
    table[L.DIFFERENTIATED, L.ARRESTED] = KIND_CYCLING_COLOURS[L.DIFFERENTIATED]  # post-mitotic, not "arrested"
    table[L.FIBROBLAST, L.ARRESTED] = FIBROBLAST_ARRESTED
    return table


COLOURS = colour_table()


def legend(geometry: str) -> list[tuple[tuple[int, ...], str]]:
    """(colour, name) of every colour the lattice of ``geometry`` can show, from the colour
    table; a colour has the same name in every view."""
    if geometry == "dish":
        return [
            (tuple(COLOURS[L.LINE, L.CYCLING]), "cycling"),
            (tuple(COLOURS[L.LINE, L.ARRESTED]), "arrested"),
            (tuple(COLOURS[L.LINE, L.SENESCENT]), "senescent"),
        ]
    return [
        (tuple(COLOURS[L.STEM, L.CYCLING]), "stem, cycling"),
        (tuple(COLOURS[L.PROGENITOR, L.CYCLING]), "progenitor, cycling"),
        (tuple(COLOURS[L.DIFFERENTIATED, L.CYCLING]), "differentiated"),
        (tuple(COLOURS[L.MELANOCYTE, L.CYCLING]), "melanocyte"),
        (tuple(COLOURS[L.FIBROBLAST, L.CYCLING]), "fibroblast"),
        (tuple(COLOURS[L.FIBROBLAST, L.ARRESTED]), "fibroblast, arrested"),
        (tuple(COLOURS[L.STEM, L.ARRESTED]), "arrested"),
        (tuple(COLOURS[L.STEM, L.SENESCENT]), "senescent"),
    ]


# the room for the picture in the page's lattice card (under it: the legend) is about
# this wide for its height; a lattice much wider than that (the epidermis: 100 x 19) is
# folded into strips so that it fills the card
CARD_ASPECT = 1.5
MAX_STRIPS = 8


def strip_count(width: int, height: int, aspect: float = CARD_ASPECT) -> int:
    """Into how many strips to fold a ``width`` x ``height`` lattice so its picture comes closest to ``aspect``."""

    def misfit(n: int) -> float:
        return abs(math.log(math.ceil(width / n) / (n * height + n - 1) / aspect))

    return min(range(1, min(MAX_STRIPS, width) + 1), key=misfit)


def lattice_rgb(phase: np.ndarray, kind: np.ndarray, strips: int = 1) -> np.ndarray:
    """An RGB image of the lattice, row 0 at the bottom; ``strips`` > 1 folds it into
    that many strips of columns (the leftmost on top), one grey row between strips."""
    rgb = COLOURS[kind, phase][::-1]
    if strips <= 1:
        return rgb
    rows, width = rgb.shape[:2]
    per_strip = math.ceil(width / strips)
    padded = np.empty((rows, per_strip * strips, 3), np.uint8)
    padded[:] = BACKGROUND
    padded[:, :width] = rgb
    gap = np.empty((1, per_strip, 3), np.uint8)
    gap[:] = STRIP_GAP_COLOUR
    parts = [padded[:, i * per_strip : (i + 1) * per_strip] for i in range(strips)]
    return np.concatenate([x for part in parts for x in (gap, part)][1:], axis=0)


def lattice_views(phase: np.ndarray, kind: np.ndarray, basal_row: int) -> list[tuple[str, np.ndarray, np.ndarray]]:
    """The pictures of a lattice as (caption, phase, kind), each 2-D with row 0 at the bottom.

    A cross-section or a dish (2-D arrays) is one picture.  A stratified epidermis on a
    basal sheet (rows x depth x width) is two: the basal sheet seen from above (rows of the
    sheet bottom to top), and the vertical section through the middle of the sheet."""
    if phase.ndim == 2:
        return [("", phase, kind)]
    depth = phase.shape[1]
    middle = depth // 2
    return [
        (f"basal sheet from above ({depth} x {phase.shape[2]} sites)", phase[basal_row], kind[basal_row]),
        (f"vertical section at sheet row {middle}", phase[:, middle, :], kind[:, middle, :]),
    ]


def lattice_png(phase: np.ndarray, kind: np.ndarray, target_px: int = 300, strips: int = 1) -> bytes:
    """The lattice as PNG bytes, each site an integer block of pixels (see :func:`lattice_rgb`)."""
    from PIL import Image

    rgb = lattice_rgb(phase, kind, strips)
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


# Mesa's play loop is a non-daemon thread that runs while the page is "playing", and a
# page whose browser closed keeps playing: at exit Python would wait for that thread
# forever.  The server sets this event when it stops; the next step of every demo
# model then ends the loop's thread (SystemExit ends a thread quietly, and Mesa's loop
# catches only Exception).
_halt = threading.Event()


class ServerStopped(SystemExit):
    """Raised by :meth:`DemoModel.step` once the server is stopping: ends the play loop's thread."""


def halt_models() -> None:
    """Make every demo model's next step end the thread that called it (the server is stopping)."""
    _halt.set()


def resume_models() -> None:
    _halt.clear()


# playback draws one frame every FRAME_HOURS of simulated time: drawing (0.1-0.2 s) costs
# far more than a step (about 1 ms at 100 x 100), so a frame per step played 336 h in minutes
FRAME_HOURS = 5.0


def frame_steps(dt_h: float) -> int:
    """Steps per frame of playback (SolaraViz's render interval) for a step of ``dt_h`` hours."""
    return max(1, round(FRAME_HOURS / dt_h))


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

    def step(self) -> None:
        if _halt.is_set():
            self.running = False
            raise ServerStopped()
        super().step()


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


def inducer_label(inducer: float) -> str:
    return f"inducer (IPTG) {'on' if inducer > 0 else 'off'}"


def rpp_note(model: GeroModel) -> str:
    """One sentence on what the RPP plot shows, with this model's assay settings."""
    assays = model.params.assays
    every = f"every {model.rpp_every_h:g} h" if model.rpp_every_h > 0 else "not assayed in this view"
    return (
        f"RPP (re-proliferative potential, {every}): the fraction of up to {assays.max_cells} sampled "
        f"cells that, replated sparsely with the block lifted (inducer off, drugs washed out), grow "
        f"into a colony of {assays.colony_min_cells} or more cells in {assays.replate_hours:g} h; "
        "arrested cells keep it, senescent cells have lost it."
    )


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
