"""The web page: Solara components for the lattice, the controls and the live plots, in SolaraViz.

Solara and Mesa's visualisation are imported inside the functions, so importing this
module stays light; :func:`make_page` builds the ``Page`` component that
:mod:`geroconvert.interfaces.webview` serves.
"""

from __future__ import annotations

import numpy as np

from geroconvert.core import layout as L
from geroconvert.interfaces.demo_model import (
    PAN_MTOR_STEPS_NM,
    PHASE_COLOURS,
    PHASE_MEANINGS,
    RAPAMYCIN_STEPS_NM,
    DemoModel,
    format_nM,
    frame_steps,
    inducer_label,
    lattice_png,
    lattice_views,
    legend,
    model_params,
    nearest,
    readout_text,
    rpp_note,
    strip_count,
)
from geroconvert.interfaces.mesa_model import GeroModel

# text of at least 10 pt: 14 px on the page; the plots are drawn at the screen's 96 dpi,
# so their point sizes are the points the reader sees
TEXT = {"font-size": "14px"}
PLOT_DPI = 96
PLOT_FONTS = {"title": 12, "label": 11, "ticks": 10, "legend": 10}
PLAY_INTERVAL_MS = 50  # Mesa's pause between frames; drawing a frame takes longer than that already

PAGE_CSS = """
/* Mesa puts the components on tabbed pages; with one page its tab bar says only "PAGE 0" */
.v-tabs { display: none !important; }
/* the lattice fills its card above the legend; its pixels are sites, so no smoothing */
.gc-lattice { height: 100%; width: 100%; flex-wrap: nowrap !important; }
.gc-lattice > :first-child { flex: 1 1 0; min-height: 0; }
.gc-lattice img { width: 100%; height: 100%; object-fit: contain; object-position: left top;
                  image-rendering: pixelated; }
.gc-legend { flex: none; }
.gc-swatch { width: 14px; height: 14px; flex: none; border: 1px solid #888; margin-top: 3px; }
.gc-plot img { max-width: 100%; }
"""


def make_page():
    """The Solara ``Page`` component (a new model per browser session)."""
    import solara
    from mesa.visualization import SolaraViz

    components = _components()

    @solara.component
    def Page():
        model = solara.use_memo(lambda: DemoModel(**{k: v["value"] for k, v in model_params().items()}), [])
        solara.Style(PAGE_CSS)
        SolaraViz(
            model,
            components=components,
            model_params=model_params(),
            play_interval=PLAY_INTERVAL_MS,
            render_interval=frame_steps(model.dt_h),
            name="geroconvert: geroconversion, live",
        )

    return Page


def _components():
    return [_lattice_component(), _controls_component(), _plot_component("counts"), _plot_component("size")]


def _lattice_component():
    import solara
    from mesa.visualization.utils import update_counter

    @solara.component
    def Lattice(model: GeroModel):
        update_counter.get()
        views = lattice_views(model.lattice("phase"), model.lattice("kind"), model.sim.basal_row)
        height, width = views[-1][1].shape
        strips = strip_count(width, height) if len(views) == 1 else 1  # a sheet's two views are not folded

        def pictures():
            return [
                (caption, lattice_png(phase, kind, target_px=400 // len(views), strips=strips))
                for caption, phase, kind in views
            ]

        pngs = solara.use_memo(pictures, dependencies=[id(model), model.steps])
        geometry = model.params.simulation.geometry
        with solara.Column(gap="4px", classes=["gc-lattice"]):
            for caption, png in pngs:
                if caption:  # a sheet: the top view and the vertical section, each named
                    solara.Text(caption, style=TEXT)
                solara.Image(png, format="png")
            _Legend(geometry, strips, width)

    return Lattice


def _Legend(geometry: str, strips: int, width: int):
    """What every colour of this view means (from the colour table, so it cannot disagree)."""
    import solara

    with solara.Column(gap="2px", classes=["gc-legend"]):
        with solara.Row(gap="14px", style={"flex-wrap": "wrap"}):
            for rgb, name in legend(geometry):
                with solara.Row(gap="5px", classes=["gc-legend-item"]):
                    solara.Div(classes=["gc-swatch"], style={"background-color": f"rgb{tuple(int(c) for c in rgb)}"})
                    solara.Text(name, style=TEXT)
        solara.Text(PHASE_MEANINGS, style=TEXT)
        if geometry != "dish":
            where = "dermis at the bottom"
            if strips > 1:
                where = f"in {strips} strips of {-(-width // strips)} sites (the left part on top), {where} of each"
            solara.Text(f"epidermis {where}", style=TEXT)


def _controls_component():
    import solara
    from mesa.visualization.utils import force_update, update_counter

    @solara.component
    def Controls(model: GeroModel):
        update_counter.get()
        env = model.environment

        def change(**values):
            model.set_environment(**values)
            force_update()

        text = readout_text(model)
        with solara.Column(gap="0px", classes=["gc-controls"]):
            solara.Text(text["time"], style={**TEXT, "font-weight": "bold"})
            _dose_slider("rapamycin", "rapamycin", RAPAMYCIN_STEPS_NM, env.rapamycin_nM, "rapamycin_nM", change)
            _dose_slider("pan-mtor", "pan-mTOR", PAN_MTOR_STEPS_NM, env.pan_mtor_nM, "pan_mtor_nM", change)
            with solara.Div(classes=["gc-gain"]):
                solara.SliderFloat(
                    f"mTOR gain {env.mtor_gain:g}",
                    value=env.mtor_gain,
                    min=0.0,
                    max=5.0,
                    step=0.1,
                    on_value=lambda v: change(mtor_gain=float(v)),
                )
            with solara.Div(classes=["gc-oxygen"]):
                solara.SliderFloat(
                    f"oxygen {env.oxygen:g} x normoxia",
                    value=env.oxygen,
                    min=0.0,
                    max=1.0,
                    step=0.05,
                    on_value=lambda v: change(oxygen=float(v)),
                )
            with solara.Div(classes=["gc-inducer"]):
                solara.Switch(
                    label=inducer_label(env.inducer),
                    value=env.inducer > 0,
                    on_value=lambda v: change(inducer=1.0 if v else 0.0),
                )
            for key in ("rapamycin", "pan_mtor", "branches", "environment", "cells"):
                with solara.Div(classes=[f"gc-readout-{key.replace('_', '-')}"]):
                    solara.Text(text[key], style=TEXT)

    return Controls


def _dose_slider(css: str, name: str, steps, dose_nM: float, key: str, change) -> None:
    """A slider over log-spaced dose steps, labelled with the dose it sets."""
    import solara

    with solara.Div(classes=[f"gc-{css}"]):
        solara.SliderInt(
            f"{name} {format_nM(dose_nM)}",
            value=steps.index(nearest(steps, dose_nM)),
            min=0,
            max=len(steps) - 1,
            thumb_label=False,
            on_value=lambda i: change(**{key: steps[int(i)]}),
        )


def _plot_component(which: str):
    import solara
    from mesa.visualization.utils import update_counter

    @solara.component
    def Plot(model: GeroModel):
        update_counter.get()
        fig = plot_figure(model, which)
        with solara.Column(gap="2px", classes=["gc-plot", f"gc-plot-{which}"]):
            solara.FigureMatplotlib(fig, format="png", dependencies=[id(model), model.steps, which, model.environment])
            if which == "size":
                solara.Text(rpp_note(model), style=TEXT, classes=["gc-rpp-note"])

    Plot.__name__ = f"Plot_{which}"
    return Plot


def plot_figure(model: GeroModel, which: str):
    """The live plot ``which``: "counts" (cells per phase) or "size" (mean mass beside RPP and p16+)."""
    from matplotlib.figure import Figure

    # fixed margins: constrained layout took two thirds of the drawing time
    fig = Figure(figsize=(4.6, 3.0), dpi=PLOT_DPI)
    frame = model.dataframe()
    t = frame["time_h"].to_numpy()
    if which == "counts":
        fig.subplots_adjust(left=0.16, right=0.97, bottom=0.17, top=0.9)
        _counts(fig.add_subplot(), t, frame)
    else:
        fig.subplots_adjust(left=0.14, right=0.98, bottom=0.17, top=0.9, wspace=0.42)
        ax_mass, ax_rpp = fig.subplots(1, 2)
        _mass(ax_mass, t, frame)
        _rpp(ax_rpp, t, frame, model.rpp_every_h > 0)
    for ax in fig.axes:
        ax.tick_params(labelsize=PLOT_FONTS["ticks"])
    return fig


def _counts(ax, t, frame) -> None:
    for name, label, phase in (
        ("n_cycling", "cycling", L.CYCLING),
        ("n_arrested", "arrested", L.ARRESTED),
        ("n_senescent", "senescent", L.SENESCENT),
    ):
        ax.plot(t, frame[name].to_numpy(), color=np.array(PHASE_COLOURS[phase]) / 255, label=label)
    _labels(ax, "cells per phase", "cells")
    ax.legend(fontsize=PLOT_FONTS["legend"], loc="upper left")


def _mass(ax, t, frame) -> None:
    ax.plot(t, frame["mean_mass"].to_numpy(), color="0.2")
    _labels(ax, "mean cell mass", None)


def _rpp(ax, t, frame, assayed: bool) -> None:
    rpp = frame["rpp"].to_numpy()
    seen = ~np.isnan(rpp)
    ax.plot(t[seen], rpp[seen], "o-", color=np.array(PHASE_COLOURS[L.SENESCENT]) / 255, label="RPP")
    ax.plot(t, frame["p16_positive_fraction"].to_numpy(), color="0.5", lw=1, label="p16+")
    ax.set_ylim(-0.03, 1.03)
    _labels(ax, "RPP and p16+", None)
    ax.legend(fontsize=PLOT_FONTS["legend"], loc="center left")
    if not seen.any():
        note = "no assay yet" if assayed else "not assayed"
        ax.text(0.5, 0.85, note, transform=ax.transAxes, ha="center", fontsize=PLOT_FONTS["legend"], color="0.4")


def _labels(ax, title: str, ylabel: str | None) -> None:
    ax.set_title(title, fontsize=PLOT_FONTS["title"])
    ax.set_xlabel("time (h)", fontsize=PLOT_FONTS["label"])
    if ylabel:
        ax.set_ylabel(ylabel, fontsize=PLOT_FONTS["label"])
