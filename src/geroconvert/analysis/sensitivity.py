"""Sensitivity indices from a study's runs: outputs per design point, SALib's estimators, noise.

:func:`outputs_of` reads each output of every design row and replicate from an archive's
summary (matching runs to rows by their stored parameter values, so run order is free);
:func:`analyse` turns an output matrix (rows x replicates) into indices.  A test feeds
:func:`analyse` the Ishigami function on the same design, so the estimators are checked
through the code path the model uses.

The model is stochastic.  Every point runs the same seeds (common random numbers), the
indices are computed on the replicate mean, and ``noise_fraction`` says how much of an
output's variance is between replicates of one point rather than between points: near 1,
the indices rank noise.
"""

from __future__ import annotations

import math
import warnings
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from geroconvert.analysis.sensitivity_design import DERIVED, Design
from geroconvert.errors import UsageError

BOOTSTRAP_RESAMPLES = 1000
CONFIDENCE = 0.95


@dataclass
class Indices:
    """One output's indices, one entry per parameter (``columns`` name -> array)."""

    output: str
    method: str
    parameters: tuple[str, ...]
    columns: dict[str, np.ndarray]
    noise_fraction: float
    n_censored: int = 0  # t50 values that never fell to 0.5 and were set to the last assay time
    notes: list[str] = field(default_factory=list)

    def rows(self) -> list[dict]:
        out = []
        for j, name in enumerate(self.parameters):
            row: dict[str, str | float] = {"output": self.output, "parameter": name}
            row.update({key: float(values[j]) for key, values in self.columns.items()})
            row["noise_fraction"] = self.noise_fraction
            out.append(row)
        return out


# ---- outputs from an archive ------------------------------------------------------------
def outputs_of(design: Design, summary, last_rpp_h: float = math.nan) -> dict[str, tuple[np.ndarray, int]]:
    """Each output as (rows x replicates array, number of censored t50 values) from ``summary``
    (:attr:`geroconvert.archive.frames.Archive.summary`).  A missing run is an error that says how
    to finish the study."""
    arms = {arm: _arm_table(design, summary, arm) for arm in design.arms}
    out = {}
    for name in design.outputs:
        base, _, kind = DERIVED.get(name, name).partition(":")
        values = {arm: _column(table, base, last_rpp_h) for arm, table in arms.items()}
        censored = sum(n for _, n in values.values()) if base == "t50_h" else 0
        control = values[design.arms[0]][0]
        if not kind:
            out[name] = (control, values[design.arms[0]][1])
            continue
        treated = values[design.arms[-1]][0]
        with np.errstate(divide="ignore", invalid="ignore"):
            out[name] = (treated / control if kind == "ratio" else treated - control, censored)
    return out


def _arm_table(design: Design, summary, arm) -> dict[str, np.ndarray]:
    """Every summary column as rows x replicates for one arm of the contrast."""
    columns = list(design.parameters) + ([design.contrast[0]] if design.contrast else [])
    missing = [c for c in columns if c not in summary.columns]
    if missing:
        raise UsageError(f"the archive has no column {missing[0]!r}: it is not this study's archive")
    lookup: dict[tuple, int] = {}
    values = summary[columns].to_numpy(dtype=np.float64)
    for i, (row, replicate) in enumerate(zip(values, summary["replicate"].to_numpy())):
        lookup[(*row.tolist(), int(replicate))] = i
    n_rows, reps = len(design.values), design.replicates
    index = np.full((n_rows, reps), -1, np.int64)
    for r in range(n_rows):
        point = design.point(r, arm)
        key = [float(point[c]) for c in columns]
        for rep in range(reps):
            index[r, rep] = lookup.get((*key, rep), -1)
    lost = int((index < 0).sum())
    if lost:
        raise UsageError(
            f"{lost} of {index.size} runs of the design are not in the archive; finish the study with "
            "`geroconvert sensitivity CONFIG -o OUT.h5 --resume`"
        )
    return {name: summary[name].to_numpy(dtype=np.float64)[index] for name in summary.columns if name != "replicate"}


def _column(table: dict[str, np.ndarray], name: str, last_rpp_h: float) -> tuple[np.ndarray, int]:
    values = np.array(table[name], np.float64)
    censored = 0
    if name == "t50_h" and math.isfinite(last_rpp_h):  # RPP never fell to 0.5: t50 is beyond the last assay
        never = np.isnan(values)
        censored = int(never.sum())
        values[never] = last_rpp_h
    return values, censored


# ---- the estimators -------------------------------------------------------------------------
def analyse(design: Design, output: str, y: np.ndarray, n_censored: int = 0) -> Indices:
    """Indices of one output from ``y`` (design rows x replicates)."""
    y = np.asarray(y, np.float64)
    if y.shape != (len(design.unit), design.replicates):
        raise ValueError(f"{output}: expected {len(design.unit)} x {design.replicates} values, got {y.shape}")
    notes = []
    bad = ~np.isfinite(y)
    if bad.any():
        raise UsageError(
            f"{output}: {int(bad.sum())} values are not finite (e.g. a ratio over a zero control); "
            "choose another output or narrow the priors"
        )
    mean = y.mean(axis=1)
    noise = noise_fraction(y)
    if n_censored:
        notes.append(f"{n_censored} t50 values never fell to 0.5 and count as the last assay time (lower bounds)")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # SALib warns on constant outputs; the columns are NaN then
        if design.method == "morris":
            columns = _morris(design, mean)
        else:
            columns = _sobol(design, mean)
    return Indices(output, design.method, design.parameters, columns, noise, n_censored, notes)


def noise_fraction(y: np.ndarray) -> float:
    """Share of the output's variance that lies between replicates of one point, W / (W + B):
    W the mean variance within a point, B the variance of the true point means, estimated as the
    variance of the replicate means less W / replicates (one-way ANOVA).  NaN without replicates."""
    replicates = y.shape[1]
    if replicates < 2:
        return math.nan
    within = float(np.mean(np.var(y, axis=1, ddof=1)))
    between = max(float(np.var(y.mean(axis=1), ddof=1)) - within / replicates, 0.0)
    if within + between == 0.0:
        return 0.0
    return within / (within + between)


def _morris(design: Design, mean: np.ndarray) -> dict[str, np.ndarray]:
    from SALib.analyze import morris

    result = morris.analyze(
        design.problem,
        design.unit,
        mean,
        num_resamples=BOOTSTRAP_RESAMPLES,
        conf_level=CONFIDENCE,
        num_levels=design.levels,
        seed=design.seed,
    )
    return {key: np.asarray(result[key], np.float64) for key in ("mu_star", "mu_star_conf", "mu", "sigma")}


def _sobol(design: Design, mean: np.ndarray) -> dict[str, np.ndarray]:
    from SALib.analyze import sobol

    result = sobol.analyze(
        design.problem,
        mean,
        calc_second_order=design.second_order,
        num_resamples=BOOTSTRAP_RESAMPLES,
        conf_level=CONFIDENCE,
        seed=design.seed,
    )
    return {key: np.asarray(result[key], np.float64) for key in ("S1", "S1_conf", "ST", "ST_conf")}


# ---- the report -------------------------------------------------------------------------------
def write_tables(indices: list[Indices], out_dir: Path) -> list[Path]:
    """``sensitivity.csv`` (one row per output and parameter) and ``sensitivity.txt``."""
    import csv

    rows = [row for item in indices for row in item.rows()]
    csv_path = out_dir / "sensitivity.csv"
    with open(csv_path, "w", newline="", encoding="utf-8") as handle:
        writer = csv.DictWriter(handle, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)
    text_path = out_dir / "sensitivity.txt"
    text_path.write_text("\n".join(summary_lines(indices)) + "\n", encoding="utf-8")
    return [csv_path, text_path]


def summary_lines(indices: list[Indices]) -> list[str]:
    lines = []
    for item in indices:
        noise = "n/a (one replicate)" if math.isnan(item.noise_fraction) else f"{item.noise_fraction:.3f}"
        lines.append(f"{item.output} ({item.method}; share of variance between replicates: {noise})")
        lines += [f"  note: {note}" for note in item.notes]
        key = "mu_star" if item.method == "morris" else "ST"
        order = np.argsort(-np.nan_to_num(item.columns[key], nan=-np.inf))
        for j in order:
            c = {k: v[j] for k, v in item.columns.items()}
            if item.method == "morris":
                text = f"mu* {c['mu_star']:.4g} +- {c['mu_star_conf']:.2g}, sigma {c['sigma']:.4g}"
            else:
                text = f"S1 {c['S1']:.3f} +- {c['S1_conf']:.3f}, ST {c['ST']:.3f} +- {c['ST_conf']:.3f}"
            lines.append(f"  {item.parameters[j]:<42} {text}")
    return lines


def plot(indices: list[Indices], out_dir: Path) -> list[Path]:
    """Morris: the mu*-sigma plane per output; Sobol: S1 and ST bars with their intervals."""
    from geroconvert.analysis.plotting import close, save

    files = []
    for item in indices:
        figure = _morris_plane(item) if item.method == "morris" else _sobol_bars(item)
        files += save(figure, out_dir / f"sensitivity_{_file_name(item.output)}")
        close(figure)
    return files


def _file_name(output: str) -> str:
    return "".join(ch if ch.isalnum() or ch in "_-" else "_" for ch in output)


def _morris_plane(item: Indices):
    from geroconvert.analysis.plotting import _plt

    figure, axes = _plt().subplots(figsize=(6.4, 4.8))
    mu, sigma, conf = item.columns["mu_star"], item.columns["sigma"], item.columns["mu_star_conf"]
    axes.errorbar(mu, sigma, xerr=conf, fmt="o", color="tab:blue", ecolor="0.6", capsize=2)
    for j, name in enumerate(item.parameters):
        axes.annotate(name.split(".")[-1], (mu[j], sigma[j]), fontsize=7, xytext=(3, 3), textcoords="offset points")
    top = float(np.nanmax(np.concatenate([mu, sigma]))) if np.isfinite(mu).any() else 1.0
    axes.plot([0, top], [0, top], ":", color="0.5", lw=0.8, label="sigma = mu*")
    axes.set_xlabel(f"mu* of {item.output} (effect across each prior)")
    axes.set_ylabel("sigma (interaction or non-linearity)")
    axes.set_title(f"Morris elementary effects: {item.output}")
    axes.legend(loc="upper left", fontsize=8)
    figure.tight_layout()
    return figure


def _sobol_bars(item: Indices):
    from geroconvert.analysis.plotting import _plt

    figure, axes = _plt().subplots(figsize=(max(6.4, 0.7 * len(item.parameters) + 2), 4.8))
    x = np.arange(len(item.parameters))
    c = item.columns
    axes.bar(x - 0.2, c["S1"], 0.4, yerr=c["S1_conf"], capsize=2, label="first order S1")
    axes.bar(x + 0.2, c["ST"], 0.4, yerr=c["ST_conf"], capsize=2, label="total ST")
    axes.set_xticks(x, [name.split(".")[-1] for name in item.parameters], rotation=45, ha="right", fontsize=8)
    axes.set_ylabel("share of variance")
    axes.set_title(f"Sobol indices (95% bootstrap intervals): {item.output}")
    axes.legend(fontsize=8)
    figure.tight_layout()
    return figure


def indices_of(archive) -> list[Indices]:
    """Every output's indices from a study's :class:`~geroconvert.archive.frames.Archive`."""
    from geroconvert.analysis.sensitivity_design import design_from_mapping
    from geroconvert.errors import ConfigError

    try:
        design = design_from_mapping(archive.config)
    except ConfigError as error:  # the archive's config was checked when it was written
        raise UsageError(f"{archive.path}: its [sensitivity] section no longer loads ({error})") from None
    times = archive.rpp["time_h"].to_numpy() if "time_h" in archive.rpp.coords else np.array([])
    last_rpp_h = float(times.max()) if times.size else math.nan
    outputs = outputs_of(design, archive.summary, last_rpp_h)
    return [analyse(design, name, y, censored) for name, (y, censored) in outputs.items()]


def report(archive, out_dir: Path) -> tuple[list[Path], list[str]]:
    """The study's figures and tables; returns the files and the summary's lines."""
    indices = indices_of(archive)
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    files = write_tables(indices, out_dir) + plot(indices, out_dir)
    return files, summary_lines(indices)
