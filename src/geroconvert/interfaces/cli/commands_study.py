"""Commands for studies: ``sweep``, ``sensitivity``, ``report``, ``validate``, ``calibrate`` and ``demo``.

    geroconvert sweep CONFIG -o OUT.h5 [--workers N] [--scheduler ADDRESS] [--resume]
                      [--overwrite] [--quiet] [--set section.key=value ...]
    geroconvert sensitivity CONFIG -o OUT.h5 [--workers N] [--scheduler ADDRESS] [--resume]
                      [--overwrite] [--quiet] [--set section.key=value ...]
    geroconvert report OUT.h5 -o DIR [--overwrite]
    geroconvert validate [--quick] [--json FILE] [--overwrite] [--workers N] [--only in-vitro|skin]
                         [--posterior FILE [--draws K]]
    geroconvert trial CONFIG -o DIR [--workers N] [--set ...] [--resume | --overwrite]
    geroconvert calibrate [--replicates N] [--json FILE] [--overwrite] [--write]
    geroconvert calibrate --abc -o POSTERIOR.h5 [--particles N] [--generations G] [--seed S]
                          [--workers N] [--priors CONFIG] [--overwrite]
    geroconvert demo [--port P] [--host 127.0.0.1] [--allow-host NAME ...] [--config CONFIG]

Errors follow ``cli``: one line, exit code 2, nothing on disk lost.  Every output that
exists (an archive, a report folder that is not empty, a JSON file) is replaced only with
``--overwrite``, and the check comes before any work (``common.refuse_existing``).
"""

from __future__ import annotations

import os
import sys
import time
from pathlib import Path
from typing import Any

from geroconvert.errors import UsageError
from geroconvert.interfaces.cli.common import (
    EXIT_FAILURE,
    EXIT_OK,
    add_set_option,
    load,
    positive_int,
    quiet_openmp,
    refuse_existing,
    seed_number,
    warn,
)


def add_commands(commands) -> None:
    sweep = commands.add_parser(
        "sweep",
        help="run a [sweep] grid x replicates into one archive",
        description="Run every grid point x replicate of CONFIG's [sweep] section on "
        "local processes (default: one per core) or a Dask cluster.",
    )
    sweep.add_argument("config", metavar="CONFIG", help="TOML config file with a [sweep] section (see configs/)")
    sweep.add_argument("-o", "--output", required=True, metavar="OUT.h5", help="archive to write")
    add_set_option(sweep)
    sweep.add_argument("--seed", type=int, help="base seed of the sweep (same as --set sweep.seed=N)")
    sweep.add_argument(
        "--posterior",
        metavar="FILE",
        help="cross the grid with draws of this posterior (`calibrate --abc`); report gives their bands",
    )
    sweep.add_argument("--draws", type=positive_int, help="--posterior: draws (default: 20)")
    add_study_options(sweep)
    sweep.set_defaults(func=cmd_sweep)

    sensitivity = commands.add_parser(
        "sensitivity",
        help="global sensitivity analysis (Morris or Sobol) of a config's [sensitivity] section",
        description="Run the design of CONFIG's [sensitivity] section (SALib: Morris elementary "
        "effects or Sobol indices with Saltelli's sampling) into OUT.h5, on local processes or a "
        "Dask cluster, then print the indices; `geroconvert report OUT.h5 -o DIR` draws them.",
    )
    sensitivity.add_argument("config", metavar="CONFIG", help="TOML config with a [sensitivity] section")
    sensitivity.add_argument("-o", "--output", required=True, metavar="OUT.h5", help="archive to write")
    add_set_option(sensitivity, example="--set sensitivity.samples=8")
    add_study_options(sensitivity)
    sensitivity.set_defaults(func=cmd_sensitivity)

    report = commands.add_parser(
        "report",
        help="figures (PNG, SVG) and a text summary of an archive",
        description="Write figures (RPP curves, hypertrophy, dose response with its Hill fit) "
        "and summary.txt / summary.csv of the complete runs in OUT.h5 into DIR.",
    )
    report.add_argument("archive", metavar="OUT.h5", help="archive of `geroconvert run` or `geroconvert sweep`")
    report.add_argument("-o", "--output", required=True, metavar="DIR", help="folder for the figures and summaries")
    report.add_argument(
        "--overwrite", action="store_true", help="write into DIR even if it is not empty (replaces the report's files)"
    )
    report.set_defaults(func=cmd_report)

    validate = commands.add_parser(
        "validate",
        help="run the validation suite against published experiments",
        description="Reproduce the published experiments, in vitro (HT-p21 dishes) and in "
        "skin (homeostasis, ageing, stem exhaustion, the split-hand trial), and compare, case by "
        "case, with the accepted bands; exit code 1 if a case fails.",
    )
    validate.add_argument("--quick", action="store_true", help="fewer replicates and a smaller dish (~1 min)")
    validate.add_argument("--json", metavar="FILE", help="also write the cases as JSON")
    validate.add_argument("--overwrite", action="store_true", help="replace the --json FILE if it exists")
    validate.add_argument("--workers", type=positive_int, help="local processes (default: one per core)")
    validate.add_argument("--only", choices=("in-vitro", "skin"), help="run one group of cases (default: both)")
    validate.add_argument(
        "--posterior",
        metavar="FILE",
        help="run the in-vitro cases once per draw of this posterior (`calibrate --abc`): credible bands",
    )
    validate.add_argument("--draws", type=positive_int, default=20, help="--posterior: draws (default: 20)")
    validate.set_defaults(func=cmd_validate)

    trial = commands.add_parser(
        "trial",
        help="run the split-hand trial of a config's [trial] section",
        description="Age each subject's skin, treat one hand and not the other, "
        "and compare p16+ cells (see geroconvert.studies.trial).",
    )
    trial.add_argument("config", metavar="CONFIG", help="TOML config file with a [trial] section")
    trial.add_argument("-o", "--output", required=True, metavar="DIR", help="folder for the figure and tables")
    add_set_option(trial, example="--set dosing.topical_uM=20 --set trial.subjects=4")
    trial.add_argument("--workers", type=positive_int, help="local processes (default: one per core)")
    trial.add_argument("--overwrite", action="store_true", help="replace files in DIR")
    trial.add_argument(
        "--resume", action="store_true", help="finish a stopped trial in DIR: run only the subjects it lacks"
    )
    trial.add_argument(
        "--posterior",
        metavar="FILE",
        help="run the trial once per draw of this posterior (`calibrate --abc`), each in DIR/draw_NNN",
    )
    trial.add_argument("--draws", type=positive_int, default=10, help="--posterior: draws (default: 10)")
    trial.set_defaults(func=cmd_trial)

    calibrate = commands.add_parser(
        "calibrate",
        help="refit the HT-p21 geroconversion constants",
        description="Fit gero_rate_per_h, gero_threshold_sigma and w_gero to the "
        "HT-p21 targets (see geroconvert.studies.calibration).",
    )
    calibrate.add_argument(
        "--replicates", type=positive_int, default=4, help="seeds averaged at every evaluation (default: 4)"
    )
    calibrate.add_argument("--json", metavar="FILE", help="also write the fit, the rounds and the targets as JSON")
    calibrate.add_argument("--overwrite", action="store_true", help="replace the --json FILE if it exists")
    calibrate.add_argument(
        "--write",
        action="store_true",
        help="make the fit the package's calibrated constants (parameters/calibrated.json)",
    )
    calibrate.add_argument(
        "--abc",
        action="store_true",
        help="Bayesian mode: ABC-SMC (pyabc) over the priors of the three constants; writes the posterior to -o",
    )
    calibrate.add_argument("-o", "--output", metavar="POSTERIOR.h5", help="--abc: the posterior file to write")
    calibrate.add_argument("--particles", type=positive_int, default=100, help="--abc: particles (default: 100)")
    calibrate.add_argument(
        "--generations", type=positive_int, default=8, help="--abc: at most this many generations (default: 8)"
    )
    calibrate.add_argument("--seed", type=seed_number, default=0, help="--abc: seed of the sampler (default: 0)")
    calibrate.add_argument(
        "--workers",
        type=positive_int,
        default=1,
        help="--abc: processes (default: 1); any number gives the same particles for the same seed",
    )
    calibrate.add_argument(
        "--priors", metavar="CONFIG", help="--abc: a config whose [priors] narrow or replace the priors"
    )
    calibrate.set_defaults(func=cmd_calibrate)

    demo = commands.add_parser(
        "demo",
        help="serve the live web view for teaching",
        description="Serve the interactive lattice view on http://HOST:PORT/ until Ctrl-C or SIGTERM. "
        "It answers only requests addressed to a loopback name (localhost, 127.0.0.1, [::1]), to "
        "--host, or to an --allow-host NAME, so another site's page cannot reach it by DNS rebinding.",
    )
    demo.add_argument("--port", type=port_number, default=8765, help="TCP port, 1-65535 (default: 8765)")
    demo.add_argument("--host", default="127.0.0.1", help="bind address (default: 127.0.0.1, this machine only)")
    demo.add_argument(
        "--allow-host",
        action="append",
        default=[],
        metavar="NAME",
        help="also answer requests addressed to NAME (a reverse proxy's or this machine's name); repeatable; "
        "with --host 0.0.0.0, only these and the loopback names are answered ('*': any name)",
    )
    demo.add_argument("--config", help="start from this config (default: HT-p21, 100 x 100)")
    demo.set_defaults(func=cmd_demo)


def add_study_options(parser) -> None:
    """Where a study runs and what it does with an archive that exists (sweep, sensitivity)."""
    parser.add_argument("--workers", type=positive_int, help="local processes (default: one per core)")
    parser.add_argument(
        "--scheduler",
        metavar="ADDRESS",
        help="Dask scheduler, e.g. tcp://127.0.0.1:8786 (start `dask scheduler` and `dask worker ADDRESS`)",
    )
    parser.add_argument("--resume", action="store_true", help="finish only the runs missing from OUT.h5")
    parser.add_argument("--overwrite", action="store_true", help="replace OUT.h5 if it exists")
    parser.add_argument("--quiet", "-q", action="store_true", help="no progress bar and no summary")


class SweepProgress:
    """A tqdm bar of runs: done, failed and left, with the time left (on a terminal only)."""

    def __init__(self, enabled: bool):
        self.enabled = enabled and sys.stderr.isatty()
        self.bar: Any = None  # a tqdm bar once shown

    def __call__(self, done: int, failed: int, left: int, total: int) -> None:
        if not self.enabled:
            return
        if self.bar is None:
            from tqdm import tqdm

            self.bar = tqdm(total=total, desc="sweep", unit="run", file=sys.stderr, dynamic_ncols=True)
        self.bar.set_postfix_str(f"done {done}, failed {failed}, left {left}", refresh=False)
        self.bar.update(done + failed - self.bar.n)

    def close(self) -> None:
        if self.bar is not None:
            self.bar.close()


def load_study(args):
    """What every study command checks before any work: the output may be written (or, with
    ``--resume``, is the study's own), the config loads, and the output is not one of its files."""
    from geroconvert.archive.hdf5 import check_not_an_input, check_output, software_change

    if args.resume and args.overwrite:
        raise UsageError("--resume and --overwrite contradict each other; choose one")
    if not args.resume:
        check_output(args.output, args.overwrite)
    loaded = load(args)
    check_not_an_input(args.output, loaded.files)
    for message in loaded.warnings:
        warn(message)
    if args.resume and Path(args.output).exists() and (note := software_change(args.output)):
        warn(note)  # each run records its software; say so now
    return loaded


def with_progress(args, run):
    """``run(progress)`` with a progress bar of runs (unless ``--quiet``), closed however it ends."""
    progress = SweepProgress(not args.quiet)
    try:
        return run(progress)
    finally:
        progress.close()


def cmd_sweep(args) -> int:
    from geroconvert.archive.hdf5 import check_not_an_input
    from geroconvert.studies.sweep import run_sweep

    if args.seed is not None:
        args.sets.append(f"sweep.seed={args.seed}")
        args.seed = None
    loaded = load_study(args)
    if loaded.sweep is None:
        raise UsageError(
            f"{args.config}: no [sweep] section; add one (see configs/rapamycin_dose_sweep.toml) "
            "or use `geroconvert run`"
        )
    if args.posterior:
        check_not_an_input(args.output, [Path(args.posterior)])
        add_posterior_draws(loaded.mapping, args.posterior, args.draws)
    elif args.draws is not None:
        raise UsageError("--draws counts the draws of --posterior FILE; add --posterior or drop --draws")
    quiet_openmp()
    outcome = with_progress(
        args,
        lambda progress: run_sweep(
            loaded.mapping,
            args.output,
            workers=args.workers,
            scheduler=args.scheduler,
            resume=args.resume,
            overwrite=args.overwrite,
            progress=progress,
        ),
    )
    if not args.quiet:
        print(
            f"wrote {args.output}: {outcome.completed} run(s) completed, {outcome.skipped} already there, "
            f"{len(outcome.failed)} failed, {outcome.wall_s:.1f} s"
        )
    for key, message in outcome.failed:
        warn(f"run {key} failed: {message}")
    return EXIT_FAILURE if outcome.failed else EXIT_OK


def cmd_sensitivity(args) -> int:
    from geroconvert.studies.sensitivity import plan_study, run_sensitivity

    args.seed = None
    loaded = load_study(args)
    planned = plan_study(loaded.mapping)  # every bad key, prior or output is refused before a file is touched
    quiet_openmp()
    _, outcome = with_progress(
        args,
        lambda progress: run_sensitivity(
            loaded.mapping,
            args.output,
            workers=args.workers,
            scheduler=args.scheduler,
            resume=args.resume,
            overwrite=args.overwrite,
            progress=progress,
            planned=planned,
        ),
    )
    for key, message in outcome.failed:
        warn(f"run {key} failed: {message}")
    if outcome.failed:
        return EXIT_FAILURE
    if not args.quiet:
        print(
            f"wrote {args.output}: {outcome.completed} run(s) completed, {outcome.skipped} already there, "
            f"{outcome.wall_s:.1f} s"
        )
        from geroconvert.analysis import sensitivity
        from geroconvert.archive.frames import open_archive

        indices = sensitivity.indices_of(open_archive(args.output))
        print("\n".join(sensitivity.summary_lines(indices)))
    return EXIT_OK


def add_posterior_draws(mapping: dict, path: str, draws: int) -> None:
    """Put ``draws`` draws of the posterior into the sweep as ``[sweep.posterior]``: its values,
    not the file, go into the sweep's config, so ``--resume`` needs the same file and count."""
    from geroconvert.archive.posterior import read_posterior
    from geroconvert.parameters.paramsets import calibrated_overrides
    from geroconvert.studies.predictive import cell_values, draws_of

    if (mapping.get("sweep") or {}).get("posterior"):
        raise UsageError("--posterior: the config has a [sweep.posterior] already; use one or the other")
    chosen = draws_of(read_posterior(path), draws or 20)
    paramset = str((mapping.get("cells") or {}).get("paramset", "ht_p21"))
    # each draw as the config's parameter set scales it (the epidermis's gero rate is a tenth)
    rows = [calibrated_overrides(paramset, cell_values(draw)) for draw, _ in chosen]
    mapping["sweep"]["posterior"] = {f"cells.{name}": [row[name] for row in rows] for name in rows[0]}
    mapping["sweep"]["posterior_counts"] = [count for _, count in chosen]


def cmd_report(args) -> int:
    from geroconvert.analysis.report import write_report
    from geroconvert.archive.frames import open_archive
    from geroconvert.archive.sweepdata import SweepData

    refuse_existing(args.output, args.overwrite, "report", folder=True)  # before reading the archive
    archive = open_archive(args.archive)
    if len(archive.summary) == 0:
        raise UsageError(f"{args.archive}: no complete runs to report on")
    from geroconvert.archive.schema import SENSITIVITY_COMMAND

    if str(archive.provenance.get("command", "")).startswith(SENSITIVITY_COMMAND):  # design points, not conditions
        from geroconvert.analysis import sensitivity

        files, lines = sensitivity.report(archive, args.output)
        files.append(write_runs_csv(archive, Path(args.output) / "runs.csv"))
        print(f"wrote {len(files)} files to {args.output}")
        print("\n".join(lines))
        return EXIT_OK
    data = SweepData.from_archive(archive)
    sweep = archive.config.get("sweep") or {}
    posterior = (
        {"rows": sweep["posterior"], "counts": sweep.get("posterior_counts")} if sweep.get("posterior") else None
    )
    files = write_report(data, args.output, posterior=posterior)
    files.append(write_runs_csv(archive, Path(args.output) / "runs.csv"))
    print(f"wrote {len(files)} files to {args.output}")
    # over posterior draws the per-draw table is long: print the predictions with their bands
    shown = "posterior_predictive.txt" if posterior else "summary.txt"
    summary = [f for f in files if str(f).endswith(shown)]
    if summary:
        print(Path(summary[0]).read_text(encoding="utf-8"), end="")
    return EXIT_OK


def write_runs_csv(archive, path: Path) -> Path:
    """``runs.csv``: /summary as a table, one row per run (the swept values, then the results)."""
    archive.summary.to_csv(path, float_format="%.17g")
    return path


def cmd_validate(args) -> int:
    from geroconvert.studies import validation

    if args.json:
        refuse_existing(args.json, args.overwrite, "JSON file")  # now, not after minutes of runs
    if args.posterior:
        return validate_posterior(args)
    quiet_openmp()
    size = "quick" if args.quick else "full"
    bar = None
    if sys.stderr.isatty():
        from tqdm import tqdm

        bar = tqdm(desc="validation runs", unit="run", file=sys.stderr, dynamic_ncols=True)

    def progress(done, total):
        if bar is not None:
            bar.total = total
            bar.update(done - bar.n)

    started = time.perf_counter()
    cases = []
    try:
        if args.only != "skin":
            cases += validation.evaluate(validation.run_experiments(size, workers=args.workers, progress=progress))
        if args.only != "in-vitro":
            from geroconvert.studies import validation_skin

            cases += validation_skin.evaluate(validation_skin.run(size, args.workers or os.cpu_count() or 1))
    finally:
        if bar is not None:
            bar.close()
    print(validation.format_table(cases))
    print(f"({size} suite, {time.perf_counter() - started:.0f} s)")
    if args.json:
        from geroconvert.archive.output import write_json_file

        write_json_file(args.json, [case.as_json() for case in cases], args.overwrite)
    # a known, documented failure (Case.known_failure) prints FAIL but does not fail the command
    return EXIT_FAILURE if any(case.unexpected_failure for case in cases) else EXIT_OK


def validate_posterior(args) -> int:
    from geroconvert.archive.posterior import read_posterior
    from geroconvert.studies import predictive

    if args.only == "skin":
        raise UsageError("--posterior holds the in-vitro constants; drop --only skin (the skin cases run without it)")
    posterior = read_posterior(args.posterior)  # a foreign, damaged or empty file is refused before any run
    others = [name for name in posterior.names if not name.startswith("cells.")]
    if others:
        raise UsageError(f"{args.posterior}: {others[0]} is not a cell parameter; validate draws only [cells] values")
    quiet_openmp()
    size = "quick" if args.quick else "full"
    started = time.perf_counter()
    cases = predictive.run(posterior, args.draws, size, args.workers, progress=_draw_progress())
    print(predictive.format_table(cases, args.draws))
    print(f"({size} in-vitro suite x {args.draws} posterior draws, {time.perf_counter() - started:.0f} s; "
          "the skin cases do not use the fitted constants' draws: run `validate --only skin` for them)")  # fmt: skip
    if args.json:
        from geroconvert.archive.output import write_json_file

        write_json_file(args.json, [case.as_json() for case in cases], args.overwrite)
    return EXIT_FAILURE if any(case.verdict == "fails" for case in cases) else EXIT_OK


def _draw_progress():
    if not sys.stderr.isatty():
        return None
    from tqdm import tqdm

    bar = tqdm(desc="posterior draws", unit="draw", file=sys.stderr, dynamic_ncols=True)

    def progress(done, total):
        bar.total = total
        bar.update(done - bar.n)
        if done == total:
            bar.close()

    return progress


def cmd_trial(args) -> int:
    from geroconvert.studies.trial import TrialSpec
    from geroconvert.studies.trial_store import STORE_NAME

    out = Path(args.output)
    if args.resume and args.overwrite:
        raise UsageError("--resume and --overwrite contradict each other; choose one")
    first = out / "draw_000" / STORE_NAME if args.posterior else out / STORE_NAME
    if args.resume and not first.is_file():
        raise UsageError(f"{first}: nothing to resume; run without --resume to start the trial")
    if not args.resume:
        refuse_existing(out, args.overwrite, "trial", folder=True)  # the rule of every output
    args.seed = None
    loaded = load(args)
    if not loaded.mapping.get("trial"):
        raise UsageError(f"{args.config}: no [trial] section (see configs/split_hand_trial.toml)")
    TrialSpec.for_mapping(loaded.mapping)  # every value checked before the folder is made
    quiet_openmp()
    if args.posterior:
        return trial_over_posterior(args, loaded.mapping, out)
    _, lines = trial_into(out, loaded.mapping, args.workers, args.resume)
    print("\n".join(lines))
    return EXIT_OK


def trial_into(out: Path, mapping: dict, workers, resume: bool):
    """Run (or finish) one trial in ``out``; returns its result and summary lines."""
    from geroconvert.archive.output import exclusive_writer
    from geroconvert.studies.trial import TrialSpec, run_trial
    from geroconvert.studies.trial_store import STORE_NAME, SubjectStore

    spec = TrialSpec.for_mapping(mapping)
    out.mkdir(parents=True, exist_ok=True)
    with exclusive_writer(out / STORE_NAME):  # one trial writes a folder at a time
        resume = resume and (out / STORE_NAME).is_file()
        store = SubjectStore(out, mapping, spec.subjects, len(spec.visits_months), resume=resume)
        result = run_trial(mapping, workers=workers, store=store)
        return result, write_trial_outputs(result, out)


def trial_over_posterior(args, mapping: dict, out: Path) -> int:
    """The trial once per posterior draw, each in ``out/draw_NNN`` (resumable one by one), then
    ``posterior_trial.txt`` and ``.json``: the answers with their bands and verdict probabilities."""
    import copy

    from geroconvert.archive.output import write_json_file
    from geroconvert.archive.posterior import read_posterior
    from geroconvert.parameters.paramsets import calibrated_overrides
    from geroconvert.studies import predictive

    draws = predictive.draws_of(read_posterior(args.posterior), args.draws)
    paramset = str((mapping.get("cells") or {}).get("paramset", "ht_p21"))
    results, counts = [], []
    for k, (draw, count) in enumerate(draws):  # each distinct particle once, counted as drawn
        drawn = copy.deepcopy(mapping)
        drawn.setdefault("cells", {}).update(calibrated_overrides(paramset, predictive.cell_values(draw)))
        result, _ = trial_into(out / f"draw_{k:03d}", drawn, args.workers, args.resume)
        results.append(result)
        counts.append(count)
        print(f"particle {k + 1} of {len(draws)} (x{count}): {result.summary_lines()[4]}; "
              f"{predictive.verdict_kind(result.verdict)}")  # fmt: skip
    summary = predictive.trial_summary(results, counts)
    lines = predictive.trial_lines(summary)
    (out / "posterior_trial.txt").write_text("\n".join(lines) + "\n", encoding="utf-8")
    write_json_file(out / "posterior_trial.json", {**summary, "posterior": str(args.posterior)}, overwrite=True)
    print("\n".join(lines))
    return EXIT_OK


def write_trial_outputs(result, out: Path) -> list[str]:
    """summary.txt, subjects.csv and the figure; returns the summary's lines."""
    from geroconvert.studies.trial import MEASURES, analyse, plot

    lines = result.summary_lines()
    for measure in MEASURES[1:]:
        lines += ["", *analyse(result.spec, result.subjects, measure).summary_lines()[1:]]
    (out / "summary.txt").write_text("\n".join(lines) + "\n", encoding="utf-8")
    visits = [f"{v:g}" for v in result.visits_months]
    header = "subject,age_years,damage_multiplier," + ",".join(
        f"{hand}_{measure}_m{v}" for hand in ("treated", "placebo") for measure in MEASURES for v in visits
    )
    rows = [header]
    for s in result.subjects:
        values = [f"{x:.6g}" for hand in ("treated", "placebo") for measure in MEASURES for x in s[f"{hand}_{measure}"]]
        rows.append(f"{s['subject']},{s['age_years']:.3f},{s['damage_multiplier']:.4f}," + ",".join(values))
    (out / "subjects.csv").write_text("\n".join(rows) + "\n", encoding="utf-8")
    plot(result, out / "split_hand_trial")
    return lines


def cmd_calibrate(args) -> int:
    if args.abc or args.output:
        return cmd_calibrate_abc(args)
    if args.json:  # before importing the engine and minutes of fitting
        refuse_existing(args.json, args.overwrite, "JSON file")
    from geroconvert.studies.calibration import main as calibrate_main

    argv = ["--replicates", str(args.replicates)] + (["--json", args.json] if args.json else [])
    argv += ["--write"] if args.write else []
    argv += ["--overwrite"] if args.overwrite else []  # calibration writes the JSON itself
    return calibrate_main(argv)


def cmd_calibrate_abc(args) -> int:
    import importlib.util

    from geroconvert.archive.output import check_output

    if not args.abc:
        raise UsageError("-o is the posterior file of --abc; add --abc, or drop -o for the point fit")
    if not args.output:
        raise UsageError("--abc needs -o POSTERIOR.h5, the file to write the posterior to")
    if args.json or args.write:
        raise UsageError("--json and --write belong to the point fit; the posterior goes to -o")
    check_output(args.output, args.overwrite)  # before minutes of simulation
    if args.priors:
        from geroconvert.archive.output import check_not_an_input

        check_not_an_input(args.output, [Path(args.priors)])
    if importlib.util.find_spec("pyabc") is None:
        raise UsageError("--abc needs pyabc: pip install 'geroconvert[bayes]'")
    from geroconvert.studies.bayes import FITTED, run_ht_p21

    mapping = load_mapping_of(args.priors) if args.priors else {"cells": {"paramset": "ht_p21"}}
    quiet_openmp()
    started = time.perf_counter()
    posterior = run_ht_p21(
        mapping, args.output, args.particles, args.generations, args.seed, args.workers, args.overwrite
    )
    quantiles = posterior.quantiles()
    if posterior.generations[-1]["epsilon"] > 1.0:
        warn(
            f"the last generation's epsilon is {posterior.generations[-1]['epsilon']:.3g} > 1: not every particle "
            "meets every target within its tolerance; run more --generations or --particles"
        )
    print(
        f"wrote {args.output}: {len(posterior.weights)} particles, {len(posterior.generations)} generations, "
        f"final epsilon {posterior.generations[-1]['epsilon']:.3g}, {time.perf_counter() - started:.0f} s"
    )
    for name in FITTED:
        low, median, high = quantiles[name]
        print(f"  {name:<30} median {median:.4g}, 90% interval [{low:.4g}, {high:.4g}]")
    return EXIT_OK


def load_mapping_of(config: str) -> dict:
    from geroconvert.config import load_config

    return load_config(config).mapping


# the modules of the web extra (pyproject's `web`); checked first, without importing them
WEB_PACKAGES = ("solara", "ipyvuetify", "networkx", "altair")


def port_number(text: str) -> int:
    import argparse

    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"must be a whole number from 1 to 65535 (got {text!r})") from None
    if not 1 <= value <= 65535:
        raise argparse.ArgumentTypeError(f"must be from 1 to 65535 (got {value})")
    return value


def cmd_demo(args) -> int:
    import importlib.util

    missing = [name for name in WEB_PACKAGES if importlib.util.find_spec(name) is None]
    if missing:
        raise UsageError(f"the web view needs {' and '.join(missing)}: pip install 'geroconvert[web]'")
    from geroconvert.interfaces import webview

    return webview.run_demo(port=args.port, host=args.host, config=args.config, allow_hosts=args.allow_host, warn=warn)
