"""Figures from results.  matplotlib is imported inside the functions (Agg backend).

Every function returns a ``matplotlib.figure.Figure``; ``save(fig, path)`` writes it
as ``path.png`` and ``path.svg``.
"""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np

from geroconvert.analysis import stats as analysis


def _plt():
    import matplotlib

    matplotlib.use("Agg", force=False)
    import matplotlib.pyplot as plt

    return plt


def save(fig, path_without_suffix) -> list[Path]:
    """Write ``fig`` as PNG (150 dpi) and SVG next to each other; returns the two paths."""
    base = Path(path_without_suffix)
    base.parent.mkdir(parents=True, exist_ok=True)
    paths = [base.with_name(base.name + ".png"), base.with_name(base.name + ".svg")]
    fig.savefig(paths[0], dpi=150, bbox_inches="tight")
    fig.savefig(paths[1], bbox_inches="tight")
    return paths


def close(fig) -> None:
    _plt().close(fig)


def short_name(path: str) -> str:
    """``environment.rapamycin_nM`` -> ``rapamycin``; other paths lose only their section."""
    return path.rsplit(".", 1)[-1].removesuffix("_nM")


def point_label(paths, point) -> str:
    """Readable label of a grid point, e.g. ``rapamycin 500 nM, oxygen = 0.2``; "run" with nothing swept."""
    parts = []
    for path, value in zip(paths, point):
        value_text = f"{value:g}" if isinstance(value, (int, float, np.number)) else str(value)
        if path.endswith("_nM"):
            parts.append(f"{short_name(path)} {value_text} nM")
        else:
            parts.append(f"{short_name(path)} = {value_text}")
    return ", ".join(parts) if parts else "run"


def _colours(n: int):
    plt = _plt()
    cmap = plt.get_cmap("viridis")
    return [cmap(0.9 * k / max(n - 1, 1)) for k in range(n)]


def _band_axes(ax, time_h, runs, colour, label, clip=(0.0, 1.0)):
    band = analysis.rpp_band(runs, clip=clip)
    ax.plot(time_h, band["mean"], "o-", color=colour, lw=1.6, ms=3.5, label=label)
    if np.isfinite(band["low"]).any():
        ax.fill_between(time_h, band["low"], band["high"], color=colour, alpha=0.2, lw=0)


def rpp_curves(sweep, title: str | None = None, level: float = 0.5):
    """RPP (fraction of replated cells forming colonies) vs time, replicate mean and 95% band per grid point."""
    plt = _plt()
    fig, ax = plt.subplots(figsize=(6.4, 4.2))
    _rpp_panel(ax, sweep, level)
    ax.set_title(title or "Re-proliferative potential after arrest")
    fig.tight_layout()
    return fig


def _rpp_panel(ax, sweep, level=0.5, legend=True):
    paths = sorted(sweep.swept)
    points = sweep.grid_points()
    n_rep = 0
    for point, colour in zip(points, _colours(len(points))):
        idx = sweep.runs_at(point)
        n_rep = max(n_rep, idx.size)
        if sweep.rpp_time_h.size:
            _band_axes(ax, sweep.rpp_time_h, sweep.rpp[idx], colour, point_label(paths, point))
    ax.axhline(level, color="0.5", ls=":", lw=1)
    ax.set_xlabel("time (h)")
    ax.set_ylabel("RPP (fraction of cells forming colonies)")
    ax.set_ylim(-0.03, 1.03)
    if sweep.rpp_time_h.size:
        ax.set_xticks(_day_ticks(sweep.rpp_time_h))
    if legend and points:
        ax.legend(fontsize=8, frameon=False, title=f"mean of {n_rep} replicate(s); band 95% CI", title_fontsize=7)
    return ax


def _day_ticks(time_h):
    t = np.asarray(time_h, np.float64)
    span = t.max() - t.min() if t.size else 0.0
    step = 24.0 if span <= 24 * 12 else 24.0 * math.ceil(span / (24 * 12))
    return np.arange(math.floor(t.min() / step) * step, t.max() + 1e-9, step) if t.size else []


def dose_response(dr, title: str | None = None):
    """Slowdown of RPP loss vs dose (log x): per-dose paired slowdown with interval, Hill fit, EC50."""
    plt = _plt()
    fig, ax = plt.subplots(figsize=(6.4, 4.2))
    drug = short_name(dr.dose_path)
    doses = dr.doses_nM
    positive = doses > 0
    ratio, cens = dr.slowdown_matrix()
    # per-replicate factors, faint
    for j in range(ratio.shape[0]):
        ok = positive & ~cens[j]
        ax.plot(doses[ok], ratio[j, ok], ".", color="0.6", ms=4, zorder=2, label="single replicate" if j == 0 else None)
    # per-dose paired estimate with interval
    labelled = set()
    for i in np.flatnonzero(positive):
        slow = dr.slowdown[i]
        if slow is None:
            continue
        low, high = slow.ci_low, slow.ci_high
        if slow.n_censored:
            ax.plot(
                [doses[i]],
                [slow.lower_bound],
                "^",
                color="C3",
                ms=8,
                zorder=4,
                label=None if "bound" in labelled else "lower bound (t50 censored), 95% CI",
            )
            labelled.add("bound")
            if np.isfinite(low):
                ax.vlines(doses[i], low, high, color="C3", lw=1.5, zorder=3)
        else:
            yerr = None
            if np.isfinite(low):
                yerr = [[slow.ratio - low], [high - slow.ratio]]
            ax.errorbar(
                [doses[i]],
                [slow.ratio],
                yerr=yerr,
                fmt="o",
                color="C0",
                ms=6,
                capsize=3,
                zorder=4,
                label=None if "ratio" in labelled else "paired slowdown, 95% CI",
            )
            labelled.add("ratio")
    ax.axhline(1.0, color="0.5", ls=":", lw=1, label="control (dose 0) = 1")
    hill = dr.hill
    if positive.any():
        grid = np.logspace(math.log10(doses[positive].min()) - 0.5, math.log10(doses[positive].max()) + 0.5, 300)
        if np.isfinite(hill.ec50_nM):
            ax.plot(
                grid,
                hill.predict(grid),
                "-",
                color="k",
                lw=1.3,
                label=f"Hill fit: Smax {hill.smax:.2f}, h {hill.hill:.2f}"
                + ("" if hill.converged else " (not converged)"),
            )
            ax.axvline(hill.ec50_nM, color="C1", ls="--", lw=1.2, label=f"EC50 {hill.ec50_nM:.3g} nM")
            if np.isfinite(hill.ec50_ci).all():
                ax.axvspan(*hill.ec50_ci, color="C1", alpha=0.15, lw=0)
        ax.set_xscale("log")
        ax.set_xlim(grid[0], grid[-1])
    ax.set_xlabel(f"{drug} (nM)")
    ax.set_ylabel("slowdown of RPP loss, t50 / t50(control)")
    ax.set_ylim(bottom=0.8)
    ax.legend(fontsize=8, frameon=False, loc="upper left")
    ax.set_title(title or f"{drug}: slowdown of geroconversion vs dose")
    fig.tight_layout()
    return fig


def hypertrophy(sweep, series: str = "mean_mass", title: str | None = None):
    """Two panels: mean cell mass vs time (hypertrophy) and RPP vs time, per grid point."""
    plt = _plt()
    fig, (ax_mass, ax_rpp) = plt.subplots(1, 2, figsize=(11.0, 4.2))
    paths = sorted(sweep.swept)
    points = sweep.grid_points()
    t = np.asarray(sweep.series_time_h, np.float64)
    for point, colour in zip(points, _colours(len(points))):
        idx = sweep.runs_at(point)
        band = analysis.rpp_band(sweep.series[series][idx], clip=None)
        ax_mass.plot(t, band["mean"], "-", color=colour, lw=1.6, label=point_label(paths, point))
        if np.isfinite(band["low"]).any():
            ax_mass.fill_between(t, band["low"], band["high"], color=colour, alpha=0.2, lw=0)
    ax_mass.set_xlabel("time (h)")
    ax_mass.set_ylabel("mean cell mass (newborn cell = 1)")
    ax_mass.set_title("Hypertrophy")
    if t.size:
        ax_mass.set_xticks(_day_ticks(t))
    ax_mass.legend(fontsize=8, frameon=False)
    if sweep.rpp_time_h.size:
        _rpp_panel(ax_rpp, sweep, legend=False)
    else:
        ax_rpp.text(0.5, 0.5, "no RPP assay in these runs", ha="center", va="center", transform=ax_rpp.transAxes)
        ax_rpp.set_axis_off()
    ax_rpp.set_title("Re-proliferative potential")
    if title:
        fig.suptitle(title)
    fig.tight_layout()
    return fig
