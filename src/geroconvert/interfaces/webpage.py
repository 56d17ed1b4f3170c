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
    RAPAMYCIN_STEPS_NM,
    DemoModel,
    format_nM,
    lattice_png,
    model_params,
    nearest,
    readout_text,
)
from geroconvert.interfaces.mesa_model import GeroModel


def make_page():
    """The Solara ``Page`` component (a new model per browser session)."""
    import solara
    from mesa.visualization import SolaraViz

    components = _components()

    @solara.component
    def Page():
        model = solara.use_memo(lambda: DemoModel(**{k: v["value"] for k, v in model_params().items()}), [])
        SolaraViz(
            model,
            components=components,
            model_params=model_params(),
            play_interval=150,
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
        phase, kind = model.lattice("phase"), model.lattice("kind")
        png = solara.use_memo(lambda: lattice_png(phase, kind), dependencies=[id(model), model.steps])
        geometry = model.params.simulation.geometry
        with solara.Column(gap="4px", classes=["gc-lattice"]):
            solara.Image(png, format="png")
            legend = (
                "green cycling, blue arrested (quiescent), orange senescent"
                if geometry == "dish"
                else "purple stem, green progenitor, tan differentiated, brown fibroblast; "
                "blue arrested, orange senescent (basal row at the bottom)"
            )
            solara.Text(legend, style={"font-size": "12px"})

    return Lattice


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
            solara.Markdown(f"**{text['time']}**", style={"font-size": "13px"})
            rapa_index = RAPAMYCIN_STEPS_NM.index(nearest(RAPAMYCIN_STEPS_NM, env.rapamycin_nM))
            with solara.Div(classes=["gc-rapamycin"]):
                solara.SliderInt(
                    f"rapamycin {format_nM(env.rapamycin_nM)}",
                    value=rapa_index,
                    min=0,
                    max=len(RAPAMYCIN_STEPS_NM) - 1,
                    thumb_label=False,
                    on_value=lambda i: change(rapamycin_nM=RAPAMYCIN_STEPS_NM[int(i)]),
                )
            pan_index = PAN_MTOR_STEPS_NM.index(nearest(PAN_MTOR_STEPS_NM, env.pan_mtor_nM))
            with solara.Div(classes=["gc-pan-mtor"]):
                solara.SliderInt(
                    f"pan-mTOR {format_nM(env.pan_mtor_nM)}",
                    value=pan_index,
                    min=0,
                    max=len(PAN_MTOR_STEPS_NM) - 1,
                    thumb_label=False,
                    on_value=lambda i: change(pan_mtor_nM=PAN_MTOR_STEPS_NM[int(i)]),
                )
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
                    label="inducer (IPTG) on",
                    value=env.inducer > 0,
                    on_value=lambda v: change(inducer=1.0 if v else 0.0),
                )
            for key in ("rapamycin", "pan_mtor", "branches", "environment", "cells"):
                with solara.Div(classes=[f"gc-readout-{key.replace('_', '-')}"]):
                    solara.Text(text[key], style={"font-size": "12px"})

    return Controls


def _plot_component(which: str):
    import solara
    from mesa.visualization.utils import update_counter

    @solara.component
    def Plot(model: GeroModel):
        update_counter.get()
        fig = plot_figure(model, which)
        with solara.Div(classes=[f"gc-plot-{which}"]):
            solara.FigureMatplotlib(fig, format="png", dependencies=[id(model), model.steps, which, model.environment])

    Plot.__name__ = f"Plot_{which}"
    return Plot


def plot_figure(model: GeroModel, which: str):
    """The live plot ``which``: "counts" (cells per phase) or "size" (mean mass beside RPP and p16+)."""
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
            ax_rpp.text(
                0.5,
                0.5,
                "RPP: no assay yet" if model.rpp_every_h > 0 else "RPP: not assayed",
                transform=ax_rpp.transAxes,
                ha="center",
                fontsize=8,
                color="0.4",
            )
    return fig
