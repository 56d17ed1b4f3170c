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

from geroconvert.analysis.sensitivity_design import DERIVED, HILL_OUTPUTS, Design
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
    noise_fraction: float  # of a single run's value
    noise_fraction_of_mean: float = math.nan  # of the replicate mean, which the indices use
    notes: list[str] = field(default_factory=list)

    def rows(self) -> list[dict]:
        out = []
        for j, name in enumerate(self.parameters):
            row: dict[str, str | float] = {"output": self.output, "parameter": name}
            row.update({key: float(self.columns[key][j]) for key in INDEX_COLUMNS[self.method]})
            row["noise_fraction"] = self.noise_fraction
            row["noise_fraction_of_mean"] = self.noise_fraction_of_mean
            out.append(row)
        return out


# ---- outputs from an archive ------------------------------------------------------------
@dataclass
class Output:
    """One output over the design: ``values`` (rows x replicates) and what stands behind them."""

    values: np.ndarray
    censored_runs: int = 0  # runs whose t50 was never reached: their last assay time, a lower bound
    undefined: int = 0  # values with no meaning (a ratio over a censored or zero control): NaN
    subjects: int = 0  # a trial output: the replicates are the trial's subjects

    def notes(self) -> list[str]:
        notes = []
        if self.subjects:
            notes.append(
                f"the replicates are the trial's {self.subjects} subjects (each its own age, damage rate and seeds, "
                "the same at every point): the indices are of the cohort mean, and the share of variance "
                "between replicates is the spread between subjects"
            )
        if self.censored_runs:
            notes.append(
                f"{self.censored_runs} runs never fell to RPP 0.5: their t50 counts as their last assay time, "
                "a lower bound"
            )
        if self.undefined:
            notes.append(
                f"{self.undefined} of {self.values.size} values are undefined (a ratio or difference over a "
                "censored or zero control, or a Hill fit that did not converge); lengthen the run or narrow the priors"
            )
        return notes


CENSOR_COLUMN = "_censor_h"  # per run: the last assay time with a finite RPP (core.readouts.censor_time)


def outputs_of(design: Design, summary) -> dict[str, Output]:
    """Each output of every design row and replicate, from ``summary`` (the archive's summary,
    with :data:`CENSOR_COLUMN` added for t50 outputs).  A missing run is an error that says how
    to finish the study."""
    index = _run_index(design, summary)
    out = {}
    for name in design.outputs:
        if name in HILL_OUTPUTS:
            out[name] = _hill_output(design, summary, index, name)
            continue
        base, _, kind = DERIVED.get(name, name).partition(":")
        arms = [_column(summary, base, index[arm]) for arm in design.arms]
        control, control_censored = arms[0]
        runs = {int(i) for arm, (_, censored) in zip(design.arms, arms) for i in index[arm][censored]}
        if not kind:
            censored = len({int(i) for i in index[design.arms[0]][control_censored]})
            out[name] = Output(control, censored, subjects=design.replicates if design.trial else 0)
            continue
        treated, _ = arms[-1]
        with np.errstate(divide="ignore", invalid="ignore"):
            values = treated / control if kind == "ratio" else treated - control
        values = np.where(control_censored, np.nan, values)  # censored control: no ratio to speak of
        values[~np.isfinite(values)] = np.nan
        out[name] = Output(values, len(runs), int(np.isnan(values).sum()))
    return out


def _hill_output(design: Design, summary, index: dict, name: str) -> Output:
    """EC50 or Smax of the Hill fit to each point's and replicate's slowdown over the contrast's
    doses (t50 at a dose / t50 at 0 of the same seed; a censored dose is a lower bound, a
    censored control leaves the point undefined, as does a fit that does not converge)."""
    from geroconvert.analysis.hill import fit_hill

    doses = np.asarray(design.arms, np.float64)
    t50 = [_column(summary, "t50_h", index[arm]) for arm in design.arms]
    control, control_censored = t50[0]
    values = np.full(control.shape, np.nan)
    censored_runs = {int(i) for arm, (_, c) in zip(design.arms, t50) for i in index[arm][c]}
    for r, rep in np.ndindex(control.shape):
        if control_censored[r, rep]:
            continue
        slowdown = np.array([t[0][r, rep] / control[r, rep] for t in t50])
        fit = fit_hill(doses, slowdown, np.array([t[1][r, rep] for t in t50]), n_boot=0)
        if fit.converged:
            values[r, rep] = fit.ec50_nM if name == "ec50_nM" else fit.smax
    return Output(values, len(censored_runs), int(np.isnan(values).sum()))


def _run_index(design: Design, summary) -> dict:
    """Per arm: the summary row of every (design row, replicate)."""
    columns = list(design.parameters) + ([design.contrast[0]] if design.contrast else [])
    missing = [c for c in columns if c not in summary.columns]
    if missing:
        raise UsageError(f"the archive has no column {missing[0]!r}: it is not this study's archive")
    lookup: dict[tuple, int] = {}
    stored = summary[columns].to_numpy(dtype=np.float64)
    for i, (row, replicate) in enumerate(zip(stored, summary["replicate"].to_numpy())):
        lookup[(*row.tolist(), int(replicate))] = i
    index = {}
    for arm in design.arms:
        rows = np.full((len(design.values), design.replicates), -1, np.int64)
        for r in range(len(design.values)):
            point = design.point(r, arm)
            key = [float(point[c]) for c in columns]
            rows[r] = [lookup.get((*key, rep), -1) for rep in range(design.replicates)]
        index[arm] = rows
    lost = len({(r, rep, arm) for arm in design.arms for r, rep in zip(*np.nonzero(index[arm] < 0))})
    if lost:
        needed = sum(rows.size for rows in index.values())
        raise UsageError(
            f"{lost} of {needed} runs of the design are not in the archive; finish the study with "
            "`geroconvert sensitivity CONFIG -o OUT.h5 --resume`"
        )
    return index


def _column(summary, name: str, rows: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(values, censored mask) of one summary column at ``rows``; a t50 never reached takes
    its run's last assay time."""
    values = summary[name].to_numpy(dtype=np.float64)[rows]
    censored = np.zeros(values.shape, bool)
    if name == "t50_h" and CENSOR_COLUMN in summary.columns:
        censored = np.isnan(values)
        values = np.where(censored, summary[CENSOR_COLUMN].to_numpy(dtype=np.float64)[rows], values)
    return values, censored


# ---- the estimators -------------------------------------------------------------------------
def analyse(design: Design, output: str, y: np.ndarray, notes: list[str] | None = None) -> Indices:
    """Indices of one output from ``y`` (design rows x replicates); an output with undefined
    values or none that varies gets NaN indices and a note saying why."""
    y = np.asarray(y, np.float64)
    if y.shape != (len(design.unit), design.replicates):
        raise ValueError(f"{output}: expected {len(design.unit)} x {design.replicates} values, got {y.shape}")
    notes = list(notes or [])
    if design.method == "morris" and not np.all(np.isfinite(y)):
        design, y, left_out = _complete_trajectories(design, y)
        if left_out:
            notes.append(
                f"{left_out} of {design.samples + left_out} trajectories with an undefined value are left out "
                "(the indices describe the rest of the priors)"
            )
    mean = y.mean(axis=1)
    finite = bool(y.size) and bool(np.all(np.isfinite(y)))
    noise = noise_fraction(y) if finite else math.nan
    noise_of_mean = noise_fraction(y, of_mean=True) if finite else math.nan
    if not finite:
        notes.append("indices not computed: the estimators need every value")
        columns = _nan_columns(design)
    elif np.ptp(mean) == 0.0:
        notes.append("the output does not vary over the design: no parameter moves it")
        columns = _nan_columns(design)
    else:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # SALib's warnings repeat what the notes say
            columns = _morris(design, mean) if design.method == "morris" else _sobol(design, mean)
    return Indices(output, design.method, design.parameters, columns, noise, noise_of_mean, notes)


def _complete_trajectories(design: Design, y: np.ndarray) -> tuple[Design, np.ndarray, int]:
    """The Morris trajectories (blocks of D + 1 rows) whose every value is defined; at least two
    must remain, else the design is returned as it was (and gets no indices)."""
    from dataclasses import replace

    width = len(design.parameters) + 1
    blocks = np.isfinite(y).all(axis=1).reshape(-1, width).all(axis=1)
    if blocks.sum() < 2 or blocks.all():
        return design, y, 0
    rows = np.repeat(blocks, width)
    kept = replace(design, samples=int(blocks.sum()), unit=design.unit[rows], values=design.values[rows])
    return kept, y[rows], int((~blocks).sum())


INDEX_COLUMNS = {"morris": ("mu_star", "mu_star_conf", "mu", "sigma"), "sobol": ("S1", "S1_conf", "ST", "ST_conf")}


def _nan_columns(design: Design) -> dict[str, np.ndarray]:
    return {key: np.full(len(design.parameters), np.nan) for key in INDEX_COLUMNS[design.method]}


def noise_fraction(y: np.ndarray, of_mean: bool = False) -> float:
    """Share of the output's variance that lies between replicates of one point, W / (W + B):
    W the mean variance within a point, B the variance of the true point means, estimated as the
    variance of the replicate means less W / replicates (one-way ANOVA).  ``of_mean``: the share
    in the replicate mean, which the indices use, (W / R) / (W / R + B).  NaN without replicates."""
    replicates = y.shape[1]
    if replicates < 2:
        return math.nan
    within = float(np.mean(np.var(y, axis=1, ddof=1)))
    between = max(float(np.var(y.mean(axis=1), ddof=1)) - within / replicates, 0.0)
    if of_mean:
        within /= replicates
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
    columns = {key: np.asarray(result[key], np.float64) for key in INDEX_COLUMNS["sobol"]}
    if design.second_order:  # (D x D) upper triangles: kept as columns S2_<j> for the pairs table
        for key in ("S2", "S2_conf"):
            for j, matrix_row in enumerate(np.asarray(result[key], np.float64)):
                columns[f"{key}_{j}"] = matrix_row
    return columns


def pairs_of(item: Indices) -> list[dict]:
    """The second-order Sobol indices as rows: output, parameter pair, S2 and its interval."""
    n = len(item.parameters)
    if f"S2_{0}" not in item.columns:
        return []
    return [
        {
            "output": item.output,
            "parameter": item.parameters[j],
            "with": item.parameters[k],
            "S2": float(item.columns[f"S2_{j}"][k]),
            "S2_conf": float(item.columns[f"S2_conf_{j}"][k]),
        }
        for j in range(n)
        for k in range(j + 1, n)
    ]


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
    pairs = [row for item in indices for row in pairs_of(item)]
    files = [csv_path]
    if pairs:
        pairs_path = out_dir / "sensitivity_pairs.csv"
        with open(pairs_path, "w", newline="", encoding="utf-8") as handle:
            writer = csv.DictWriter(handle, fieldnames=list(pairs[0]))
            writer.writeheader()
            writer.writerows(pairs)
        files.append(pairs_path)
    text_path = out_dir / "sensitivity.txt"
    text_path.write_text("\n".join(summary_lines(indices)) + "\n", encoding="utf-8")
    return [*files, text_path]


def summary_lines(indices: list[Indices]) -> list[str]:
    lines = []
    for item in indices:
        if math.isnan(item.noise_fraction):
            noise = "n/a (one replicate)"
        else:
            noise = f"{item.noise_fraction:.3f} of one run, {item.noise_fraction_of_mean:.3f} of the replicate mean"
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
        if not np.isfinite(item.columns[INDEX_COLUMNS[item.method][0]]).any():
            continue  # nothing to draw; the tables say why
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
    return indices_from(*study_outputs(archive))


def indices_from(design: Design, outputs: dict[str, Output]) -> list[Indices]:
    return [analyse(design, name, output.values, output.notes()) for name, output in outputs.items()]


def study_outputs(archive) -> tuple[Design, dict[str, Output]]:
    """The study's design and each output over it (rows x replicates)."""
    design = design_of(archive)
    summary = archive.summary.copy()
    summary[CENSOR_COLUMN] = _censor_times(archive, summary.index)
    return design, outputs_of(design, summary)


def write_points(design: Design, outputs: dict[str, Output], out_dir: Path) -> Path:
    """``sensitivity_points.csv``: each design row's parameter values and the mean of each
    output over those of its replicates where it is defined (NaN if none is), so a reader
    sees which points give which answers, not only the indices."""
    import csv

    path = Path(out_dir) / "sensitivity_points.csv"
    with open(path, "w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(["row", *design.parameters, *(f"{name}_mean" for name in outputs), "replicates"])
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # a row whose every value is undefined has a NaN mean, as it should
            means = {name: np.nanmean(output.values, axis=1) for name, output in outputs.items()}
        for r in range(len(design.values)):
            values = [repr(float(v)) for v in design.values[r]]
            writer.writerow([r, *values, *(repr(float(means[name][r])) for name in outputs), design.replicates])
    return path


def design_of(archive) -> Design:
    """The study's design, rebuilt from its config and checked against the one its runs used."""
    from geroconvert.analysis.sensitivity_design import design_from_mapping, design_line, stored_design_line
    from geroconvert.errors import ConfigError

    try:
        design = design_from_mapping(archive.config)
    except ConfigError as error:  # the archive's config was checked when it was written
        raise UsageError(f"{archive.path}: its [sensitivity] section no longer loads ({error})") from None
    stored, rebuilt = stored_design_line(archive.config_toml), design_line(design)
    if stored != rebuilt:
        raise UsageError(
            f"{archive.path}: this software builds another design from the study's config than its runs used "
            f"(the priors or SALib changed: stored '{stored}', now '{rebuilt}'); report it with the version "
            "that ran it (`geroconvert info` names it)"
        )
    return design


def _censor_times(archive, keys) -> np.ndarray:
    """Each run's last assay time with a finite RPP (NaN without assays)."""
    from geroconvert.core.readouts import censor_time

    rpp = archive.rpp
    if "rpp" not in rpp or rpp.sizes.get("time_h", 0) == 0:
        return np.full(len(keys), np.nan)
    times = rpp["time_h"].to_numpy()
    return np.array([censor_time(times, row) for row in rpp["rpp"].sel(run=list(keys)).to_numpy()])


def report(archive, out_dir: Path) -> tuple[list[Path], list[str]]:
    """The study's figures and tables; returns the files and the summary's lines."""
    design, outputs = study_outputs(archive)
    indices = indices_from(design, outputs)
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    files = write_tables(indices, out_dir) + [write_points(design, outputs, out_dir)] + plot(indices, out_dir)
    return files, summary_lines(indices)
