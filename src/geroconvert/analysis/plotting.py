"""Figures from results.  matplotlib is imported inside the functions (Agg backend).

Every function returns a ``matplotlib.figure.Figure``; ``save(fig, path)`` writes it
as ``path.png`` and ``path.svg``.
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

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


# unit suffixes of config keys (see `geroconvert reference`) and how a label writes them
UNITS = {
    "_nM": "nM",
    "_uM": "uM",
    "_ng_per_mL": "ng/mL",
    "_percent_w_w": "% w/w",
    "_per_h": "/h",  # before "_h": a rate, not a time
    "_h": "h",
    "_years": "years",
}


def _number(value, digits: int) -> str:
    """``1000``, ``0.316`` (a logspace's 0.316228 at 3 digits), ``0.015``; text as it is."""
    if not isinstance(value, (int, float, np.number)) or isinstance(value, bool):
        return str(value)
    v = float(value)
    return f"{v:.0f}" if v.is_integer() and abs(v) < 1e6 else f"{v:.{digits}g}"


def axis_text(path: str, value, digits: int = 3) -> str:
    """One swept value: ``rapamycin 500 nM``, ``blood 1 ng/mL``; without a unit ``oxygen = 0.05``."""
    value_text = _number(value, digits)
    key = path.rsplit(".", 1)[-1]
    for suffix, unit in UNITS.items():
        if key.endswith(suffix) and len(key) > len(suffix):
            return f"{key.removesuffix(suffix)} {value_text} {unit}"
    return f"{key} = {value_text}"


def point_label(paths, point, digits: int = 3) -> str:
    """Readable label of a grid point, e.g. ``rapamycin 500 nM, oxygen = 0.2``; "run" with nothing swept."""
    parts = [axis_text(path, value, digits) for path, value in zip(paths, point)]
    return ", ".join(parts) if parts else "run"


def config_values(sweep) -> dict | None:
    """The config's own value of every swept path (from the archived config), or None if unknown."""
    import tomllib

    try:
        mapping = tomllib.loads(sweep.config_toml or "")
    except tomllib.TOMLDecodeError:
        return None
    values: dict[str, Any] = {}
    for path in sweep.swept:
        node: Any = mapping
        for part in path.split("."):
            node = node.get(part) if isinstance(node, dict) else None
        if node is None or isinstance(node, dict):
            return None
        values[path] = node
    return values


def condition_labels(sweep) -> list[str]:
    """A short name per grid point, for legends and tables.

    Configs name no conditions, so a name is built from the swept values.  With one swept
    path it is that value (``rapamycin 500 nM``).  With several (a zip of conditions such as
    oxygen, mitogen and density) only the values that differ from the config's own are
    named (``oxygen = 0.05``), and the point with none is ``control``: two points differ in
    some path, where at least one of them is not the config's value, so names stay unique.
    """
    paths = sorted(sweep.swept)
    base = config_values(sweep) if len(paths) > 1 else None
    for digits in (3, 12):  # 12 only if 3 significant digits would merge two values
        labels = [_condition(paths, point, base, digits) for point in sweep.grid_points()]
        if len(set(labels)) == len(labels):
            break
    return labels


def _condition(paths, point, base: dict | None, digits: int) -> str:
    if base is None:
        return point_label(paths, point, digits)
    parts = [axis_text(path, value, digits) for path, value in zip(paths, point) if value != base[path]]
    return ", ".join(parts) or "control"


MARKERS = "osD^vP*Xph<>"  # one per grid point: neighbouring doses differ in shape, not only in shade


def styles(sweep) -> list[tuple]:
    """(colour, marker) per grid point.

    A single swept number (a dose) is ordered: a sequential colormap by rank of the value,
    dark to light.  Several swept paths are conditions, not an order: qualitative colours.
    Markers are distinct either way, since neighbouring steps of a colormap are hard to
    tell apart on a printed page.
    """
    plt = _plt()
    points = sweep.grid_points()
    n = len(points)
    markers = [MARKERS[k % len(MARKERS)] for k in range(n)]
    if len(sweep.swept) == 1:
        cmap = plt.get_cmap("viridis")
        colours = [cmap(0.9 * r / max(n - 1, 1)) for r in _ranks([p[0] for p in points])]
    else:
        cmap = plt.get_cmap("tab10")
        colours = [cmap(k % 10) for k in range(n)]
    return list(zip(colours, markers))


def _ranks(values) -> np.ndarray:
    """Rank of each value (0 = smallest); values that are not numbers keep their order."""
    try:
        keys = np.array([float(v) for v in values])
    except (TypeError, ValueError):
        keys = np.arange(len(values), dtype=float)
    return np.argsort(np.argsort(keys, kind="stable"), kind="stable")


def replicates_per_point(sweep) -> int:
    """The most runs at any grid point: bands and intervals need 2 or more."""
    return max((sweep.runs_at(point).size for point in sweep.grid_points()), default=0)


def band_title(n_rep: int) -> str:
    """Legend title: what the line and the band are; a single run draws (and promises) no band."""
    if n_rep >= 2:
        return f"mean of {n_rep} replicates; band: 95% CI of the mean"
    return "one run per condition (no band)"


def _band_axes(ax, time_h, runs, style, label, clip=(0.0, 1.0), markevery=None):
    colour, marker = style
    band = analysis.rpp_band(runs, clip=clip)
    ax.plot(time_h, band["mean"], "-", marker=marker, color=colour, lw=1.6, ms=4, label=label, markevery=markevery)
    if np.atleast_2d(runs).shape[0] >= 2 and np.isfinite(band["low"]).any():
        ax.fill_between(time_h, band["low"], band["high"], color=colour, alpha=0.2, lw=0)


MAX_CURVES = 12  # conditions drawn in one panel: more lines (and legend rows) read as noise


def drawn(sweep) -> list[tuple[tuple, tuple, str]]:
    """(grid point, style, label) of the conditions a curve panel draws: all of them, or
    MAX_CURVES spread evenly over the grid when there are more (the table lists all)."""
    triples = list(zip(sweep.grid_points(), styles(sweep), condition_labels(sweep)))
    if len(triples) <= MAX_CURVES:
        return triples
    keep = np.unique(np.linspace(0, len(triples) - 1, MAX_CURVES).round().astype(int))
    return [triples[i] for i in keep]


def curves_title(sweep) -> str:
    """The legend title of a curve panel: what line and band are, and how many conditions are drawn."""
    n_points = len(sweep.grid_points())
    shown = f"; {MAX_CURVES} of {n_points} conditions drawn (summary.txt lists all)" if n_points > MAX_CURVES else ""
    return band_title(replicates_per_point(sweep)) + shown


def rpp_curves(sweep, title: str | None = None, level: float = 0.5):
    """RPP (fraction of replated cells forming colonies) vs time, replicate mean and 95% band per grid point."""
    plt = _plt()
    fig, ax = plt.subplots(figsize=(6.4, 4.2))
    _rpp_panel(ax, sweep, level)
    ax.set_title(title or "Re-proliferative potential after arrest")
    fig.tight_layout()
    return fig


def _rpp_panel(ax, sweep, level=0.5, legend=True):
    points = drawn(sweep)
    for point, style, label in points:
        if sweep.rpp_time_h.size:
            _band_axes(ax, sweep.rpp_time_h, sweep.rpp[sweep.runs_at(point)], style, label)
    ax.axhline(level, color="0.5", ls=":", lw=1)
    ax.set_xlabel("time (h)")
    ax.set_ylabel("RPP (fraction of cells forming colonies)")
    ax.set_ylim(-0.03, 1.03)
    if sweep.rpp_time_h.size:
        ax.set_xticks(_day_ticks(sweep.rpp_time_h))
    if legend and points:
        ax.legend(fontsize=8, frameon=False, title=curves_title(sweep), title_fontsize=7)
    return ax


def _day_ticks(time_h):
    t = np.asarray(time_h, np.float64)
    span = t.max() - t.min() if t.size else 0.0
    step = 24.0 if span <= 24 * 12 else 24.0 * math.ceil(span / (24 * 12))
    return np.arange(math.floor(t.min() / step) * step, t.max() + 1e-9, step) if t.size else []


SATURATION = 0.9  # Smax counts as measured when the data reach 90% of the fitted rise


def measured_reach(dr) -> tuple[float, float]:
    """(highest dose with a measured slowdown, share of the fitted rise Smax - 1 reached there).

    A dose is measured when its paired slowdown is finite and none of its t50 is censored:
    censored doses give lower bounds only.  (nan, 0) when no positive dose is measured.
    """
    measured = [
        float(dose)
        for dose, slow in zip(dr.doses_nM, dr.slowdown)
        if dose > 0 and slow is not None and slow.n_censored == 0 and np.isfinite(slow.ratio)
    ]
    if not measured:
        return math.nan, 0.0
    top = max(measured)
    rise = dr.hill.smax - 1.0
    if not np.isfinite(rise) or abs(rise) < 1e-9:
        return top, 1.0
    return top, float((dr.hill.predict(top) - 1.0) / rise)


def smax_extrapolated(dr) -> bool:
    """Whether the fitted Smax lies beyond the data: the measured doses stop short of saturation."""
    if not np.isfinite(dr.hill.ec50_nM):
        return False
    return measured_reach(dr)[1] < SATURATION


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
    # per-dose paired estimate with interval (a legend promises an interval only if one is drawn)
    drawn = [s for i, s in enumerate(dr.slowdown) if positive[i] and s is not None and np.isfinite(s.ci_low)]
    with_ci = ", 95% CI" if drawn else ""
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
                label=None if "bound" in labelled else "lower bound (t50 censored)" + with_ci,
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
                label=None if "ratio" in labelled else "paired slowdown" + with_ci,
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
                label=f"Hill fit: Smax {hill.smax:.2f}{' (extrapolated)' if smax_extrapolated(dr) else ''}, "
                f"h {hill.hill:.2f}" + ("" if hill.converged else " (not converged)"),
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


def hypertrophy(sweep, series: str = "mean_mass", title: str | None = None, compare_at_h: float | None = None):
    """Two panels: mean cell mass vs time (hypertrophy) and RPP vs time, per grid point.

    ``compare_at_h`` marks the time at which sizes are compared (the report's table).
    """
    plt = _plt()
    fig, (ax_mass, ax_rpp) = plt.subplots(1, 2, figsize=(11.0, 4.2))
    t = np.asarray(sweep.series_time_h, np.float64)
    every = max(1, t.size // 10)  # markers tell the lines apart; ten per line are enough
    for point, style, label in drawn(sweep):
        runs = sweep.series[series][sweep.runs_at(point)]
        _band_axes(ax_mass, t, runs, style, label, clip=None, markevery=every)
    if compare_at_h is not None:
        ax_mass.axvline(compare_at_h, color="0.5", ls=":", lw=1, label=f"compared at {compare_at_h:g} h")
    ax_mass.set_xlabel("time (h)")
    ax_mass.set_ylabel("mean cell mass (newborn cell = 1)")
    ax_mass.set_title("Hypertrophy")
    if t.size:
        ax_mass.set_xticks(_day_ticks(t))
    ax_mass.legend(fontsize=8, frameon=False, title=curves_title(sweep), title_fontsize=7)
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
