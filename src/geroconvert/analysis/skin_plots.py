"""Figures of the skin experiments: ageing by decade, stem exhaustion by arm, and topical
vs systemic rapamycin."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from geroconvert.units import HOURS_PER_YEAR


def _pyplot():
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def aging(ts: dict, start_age_years: float, path_without_suffix) -> list:
    """p16+ fraction, senescent fraction and half-life, stem cells and thickness vs age."""
    from geroconvert.analysis.plotting import save

    plt = _pyplot()
    age = start_age_years + ts["time_h"] / HOURS_PER_YEAR
    fig, axes = plt.subplots(2, 2, figsize=(10, 7), constrained_layout=True)
    panels = (
        (
            axes[0, 0],
            [("p16_positive_fraction_epidermis", "epidermis"), ("p16_positive_fraction_dermis", "dermis")],
            100.0,
            "p16+ cells (%)",
        ),
        (axes[0, 1], [("senescent_fraction", "senescent")], 100.0, "senescent cells (%)"),
        (axes[1, 0], [("n_stem", "stem cells")], 1.0, "stem cells (not senescent)"),
        (axes[1, 1], [("thickness_rows", "suprabasal cells per column")], 1.0, "suprabasal cells per column"),
    )
    for ax, series, scale, label in panels:
        for name, legend in series:
            ax.plot(age, scale * ts[name], label=legend)
        ax.set_xlabel("age (years)")
        ax.set_ylabel(label)
        if len(series) > 1:
            ax.legend(frameon=False)
    half = ts["senescent_half_life_h"] / 24.0
    twin = axes[0, 1].twinx()
    twin.plot(age, half, ".", color="tab:red", alpha=0.6)
    twin.set_ylabel("senescent-cell half-life (days)", color="tab:red")
    fig.suptitle("Skin ageing, 1 cm cross-section")
    paths = save(fig, path_without_suffix)
    plt.close(fig)
    return paths


def arms(series_by_arm: dict[str, dict], path_without_suffix, title: str, start_age_years: float = 20.0) -> list:
    """Stem cells, thickness and divisions per year over time, one line per arm."""
    from geroconvert.analysis.plotting import save

    plt = _pyplot()
    fig, axes = plt.subplots(1, 3, figsize=(13, 4), constrained_layout=True)
    for label, ts in series_by_arm.items():
        years = ts["time_h"] / HOURS_PER_YEAR
        interval = np.diff(ts["time_h"], prepend=np.nan) / HOURS_PER_YEAR
        axes[0].plot(years, ts["n_stem"], label=label)
        axes[1].plot(years, ts["thickness_rows"], label=label)
        axes[2].plot(years, ts["events_divisions"] / interval, label=label)
    for ax, ylabel in zip(axes, ("stem cells (not senescent)", "suprabasal cells per column", "divisions per year")):
        ax.set_xlabel(f"years from age {start_age_years:g}")
        ax.set_ylabel(ylabel)
    axes[0].legend(frameon=False)
    fig.suptitle(title)
    paths = save(fig, path_without_suffix)
    plt.close(fig)
    return paths


def topical_vs_systemic(arms: list[dict], path_without_suffix, start_age_years: float, dpi: int = 100) -> Path:
    """What the skin gets for what the body gets, and what it buys: one PNG.

    ``arms``: one dict per arm with ``label``, ``basal_nM`` (rapamycin at the basal layer,
    mean over a day), ``blood_ng_per_mL`` and ``ts`` (replicate-mean time series with
    ``time_h``, ``p16_positive_fraction`` and ``senescent_fraction``).  Left: basal-layer
    level against blood level (log-log; the no-drug arm has neither and is left out);
    middle and right: p16+ and senescent cells over the year, per arm.
    """
    plt = _pyplot()
    fig, axes = plt.subplots(1, 3, figsize=(13, 3.8), constrained_layout=True)
    for k, arm in enumerate(arms):
        style = {"color": f"C{k}", "marker": "osD^v"[k % 5], "label": arm["label"]}
        if arm["basal_nM"] > 0 and arm["blood_ng_per_mL"] > 0:
            axes[0].loglog(arm["blood_ng_per_mL"], arm["basal_nM"], ls="none", ms=8, **style)
        months = arm["ts"]["time_h"] / (HOURS_PER_YEAR / 12.0)
        axes[1].plot(months, 100.0 * arm["ts"]["p16_positive_fraction"], ms=4, **style)
        axes[2].plot(months, 100.0 * arm["ts"]["senescent_fraction"], ms=4, **style)
    axes[0].set_xlabel("blood level (ng/mL)")
    axes[0].set_ylabel("basal-layer rapamycin (nM, daily mean)")
    axes[0].set_title("skin level against blood level")
    for ax, label in zip(axes[1:], ("p16+ cells (%)", "senescent cells (%)")):
        ax.set_xlabel(f"months from age {start_age_years:g}")
        ax.set_ylabel(label)
    axes[1].legend(frameon=False, fontsize=8)
    fig.suptitle("Topical vs systemic rapamycin, 1 cm of skin, mean of the replicates")
    path = Path(f"{path_without_suffix}.png")
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=dpi)
    plt.close(fig)
    return path
