"""`geroconvert sensitivity` end to end on a tiny dish: design -> runs -> archive -> indices -> report."""

from __future__ import annotations

import csv
import math

import numpy as np
import pytest

from tests.conftest import ROOT
from tests.interfaces.test_sweep_cli import geroconvert

TINY = f"""
extends = "{(ROOT / "configs" / "ht_p21.toml").as_posix()}"
[simulation]
width = 16
height = 16
hours = 96.0
record_every_h = 24.0
[assays]
rpp_every_h = 24.0
rpp_until_h = 96.0
max_cells = 40
[sensitivity]
method = "morris"
samples = 3
replicates = 2
seed = 5
parameters = ["cells.gero_rate_per_h", "cells.cycle_h", "cells.w_gero"]
outputs = ["t50_h", "final_mean_mass", "t50_h:difference"]
[sensitivity.contrast]
"environment.rapamycin_nM" = [0, 500]
"""


@pytest.fixture
def tiny(tmp_path):
    config = tmp_path / "tiny.toml"
    config.write_text(TINY, encoding="utf-8")
    return config


def test_a_study_runs_its_design_stores_it_and_reports_its_indices(tmp_path, tiny):
    from geroconvert import open_archive
    from geroconvert.analysis.sensitivity_design import design_from_mapping
    from geroconvert.config import load_config
    from geroconvert.studies.sensitivity import distinct_points

    out = tmp_path / "study.h5"
    done = geroconvert("sensitivity", tiny, "-o", out, "--workers", "2")
    assert done.returncode == 0, done.stderr
    design = design_from_mapping(load_config(tiny).mapping)
    points = distinct_points(design)
    assert len(points) <= 2 * len(design.values)  # Morris trajectories may share points
    assert f"{len(points) * 2} run(s) completed" in done.stdout
    assert "cells.gero_rate_per_h" in done.stdout
    # the archive holds the design matrix: every run's parameter values are a design point
    summary = open_archive(out).summary
    stored = {tuple(row) for row in summary[[*design.parameters, "environment.rapamycin_nM"]].to_numpy()}
    assert stored == {tuple(float(v) for v in p.values()) for p in points}
    for j, prior in enumerate(design.priors):
        assert prior.low <= summary[design.parameters[j]].min() and summary[design.parameters[j]].max() <= prior.high
    # common random numbers: replicate r has the same seed at every point
    assert sorted(set(summary["seed"])) == [5, 6]
    # resuming a finished study runs nothing
    again = geroconvert("sensitivity", tiny, "-o", out, "--resume")
    assert again.returncode == 0 and f"0 run(s) completed, {len(points) * 2} already there" in again.stdout
    report = geroconvert("report", out, "-o", tmp_path / "report")
    assert report.returncode == 0, report.stderr
    with open(tmp_path / "report" / "sensitivity.csv", encoding="utf-8") as handle:
        rows = list(csv.DictReader(handle))
    assert len(rows) == 3 * 3  # outputs x parameters
    t50 = {row["parameter"]: float(row["mu_star"]) for row in rows if row["output"] == "t50_h"}
    # geroconversion's own rate moves the control t50 far more than the S6K share does without rapamycin
    assert t50["cells.gero_rate_per_h"] > 10 * max(t50["cells.w_gero"], 1e-9)
    for row in rows:  # an output with undefined values (a censored control) has no noise share
        noise = float(row["noise_fraction"])
        assert 0.0 <= noise <= 1.0 or (math.isnan(noise) and row["output"] == "t50_h:difference"), row
    for name in ("sensitivity_t50_h.png", "sensitivity_final_mean_mass.svg", "sensitivity.txt", "runs.csv"):
        assert (tmp_path / "report" / name).stat().st_size > 0


def test_a_stopped_study_resumes_only_its_missing_runs_and_gives_the_same_archive(tmp_path, tiny):
    assert_resumed_equals_whole(tiny, tmp_path)


def assert_resumed_equals_whole(config, tmp_path) -> None:
    """A study stopped half way resumes only its missing runs, into the archive of one that never stopped."""
    from dataclasses import replace

    from geroconvert import open_archive
    from geroconvert.config import load_config
    from geroconvert.studies.sensitivity import plan_study, run_sensitivity
    from geroconvert.studies.sweep import base_mapping, run_sweep

    mapping = load_config(config).mapping
    _, plan = plan_study(mapping)
    half = replace(plan, specs=plan.specs[: len(plan.specs) // 2])
    partial = tmp_path / "partial.h5"
    run_sweep(base_mapping(mapping), partial, workers=1, plan=half)  # as a study stopped half way leaves it
    _, outcome = run_sensitivity(mapping, partial, workers=2, resume=True)
    assert outcome.skipped == len(half.specs) and outcome.completed == len(plan.specs) - len(half.specs)
    whole = tmp_path / "whole.h5"
    run_sensitivity(mapping, whole, workers=2)
    a, b = open_archive(partial).summary.sort_index(), open_archive(whole).summary.sort_index()
    results = [c for c in a.columns if c not in ("wall_s", "compile_s")]
    np.testing.assert_array_equal(a[results].to_numpy(), b[results].to_numpy())


BAD = [
    ('outputs = ["t50_hours"]', "sensitivity.outputs: unknown output 't50_hours'; did you mean 't50_h'?"),
    ('parameters = ["cells.gero_threshold_median", "cells.w_gero"]', "cells.gero_threshold_median"),
    ('parameters = ["cells.no_such", "cells.w_gero"]', "cells.no_such"),
    ('method = "sobol"\nsamples = 100', "Sobol's N must be a power of two (got 100); use 64 or 128"),
    ("levels = 3", "sensitivity.levels: must be even"),
    ("samples = 1", "sensitivity.samples: must be an integer from 2"),
    ("replicate = 2", "sensitivity.replicate: unknown key; did you mean 'replicates'?"),
    (
        'outputs = ["slowdown"]\n[sensitivity.contrast]\n"environment.rapamycin_nM" = [0, 0]',
        "two or more different numbers",
    ),
    (
        'outputs = ["slowdown"]\n[sensitivity.contrast]\n"environment.rapamycin_nM" = [0, "a"]',
        "two or more different numbers",
    ),
    ('outputs = ["slowdown"]\n[sensitivity.contrast]\n"simulation.seed" = [1, 2]', "the study sets the seeds"),
    ('outputs = ["slowdown"]\n[sensitivity.contrast]\n"environment.rapamycn_nM" = [0, 1]', "did you mean"),
]


@pytest.mark.parametrize("line,message", BAD, ids=[m[:30] for _, m in BAD])
def test_bad_sensitivity_input_is_one_line_exit_2_and_writes_nothing(tmp_path, line, message):
    head = TINY[: TINY.index("[sensitivity]")]
    keys = {
        "method": 'method = "morris"',
        "samples": "samples = 3",
        "outputs": 'outputs = ["t50_h"]',
        "parameters": 'parameters = ["cells.gero_rate_per_h", "cells.cycle_h"]',
    }
    kept = [text for key, text in keys.items() if not line.startswith(key) and f"\n{key}" not in line]
    config = tmp_path / "bad.toml"
    config.write_text(head + "[sensitivity]\n" + "\n".join(kept) + "\n" + line + "\n", encoding="utf-8")
    out = tmp_path / "out.h5"
    done = geroconvert("sensitivity", config, "-o", out)
    assert done.returncode == 2, done.stderr
    assert done.stderr.count("\n") == 1 and "Traceback" not in done.stderr
    assert message in done.stderr
    assert not out.exists()


def test_a_derived_output_without_a_contrast_names_the_fix(tmp_path, tiny):
    text = tiny.read_text().replace('[sensitivity.contrast]\n"environment.rapamycin_nM" = [0, 500]\n', "")
    tiny.write_text(text, encoding="utf-8")
    done = geroconvert("sensitivity", tiny, "-o", tmp_path / "out.h5")
    assert done.returncode == 2 and "add [sensitivity.contrast]" in done.stderr


def test_undefined_ratios_leave_the_other_outputs_and_the_archive_usable(tmp_path, tiny):
    text = tiny.read_text().replace(
        'outputs = ["t50_h", "final_mean_mass", "t50_h:difference"]',
        'outputs = ["t50_h", "final_senescent_fraction:ratio"]',
    )
    tiny.write_text(text, encoding="utf-8")
    out = tmp_path / "ratio.h5"
    done = geroconvert("sensitivity", tiny, "-o", out, "--workers", "2")
    assert done.returncode == 0, done.stderr
    assert "values are undefined" in done.stdout  # and Morris analyses the trajectories without one, or none
    assert "trajectories with an undefined value are left out" in done.stdout or "indices not computed" in done.stdout
    assert "cells.gero_rate_per_h                      mu*" in done.stdout  # t50 still has its indices


def test_a_run_archive_of_a_study_config_is_a_plain_report_and_check_counts_the_study(tmp_path, tiny):
    single = tmp_path / "single.h5"
    done = geroconvert("run", tiny, "-o", single, "--quiet")
    assert done.returncode == 0 and "[sensitivity] is ignored by `run`" in done.stderr
    report = geroconvert("report", single, "-o", tmp_path / "report")
    assert report.returncode == 0, report.stderr
    assert (tmp_path / "report" / "summary.txt").exists() and not (tmp_path / "report" / "sensitivity.csv").exists()
    check = geroconvert("check", tiny)
    assert check.returncode == 0 and "a [sensitivity] study of" in check.stdout
    tiny.write_text(tiny.read_text().replace("samples = 3", "sampels = 3"), encoding="utf-8")
    bad = geroconvert("check", tiny)
    assert bad.returncode == 2 and "sensitivity.sampels: unknown key" in bad.stderr


def test_report_refuses_runs_of_another_design(tmp_path, tiny):
    from geroconvert import open_archive
    from geroconvert.analysis.sensitivity import design_of
    from geroconvert.errors import UsageError

    out = tmp_path / "study.h5"
    assert geroconvert("sensitivity", tiny, "-o", out, "--quiet").returncode == 0
    archive = open_archive(out)
    assert design_of(archive).samples == 3
    archive.config_toml = archive.config_toml.replace("sha256 ", "sha256 0")  # as another SALib or priors would
    with pytest.raises(UsageError, match="builds another design"):
        design_of(archive)


def test_a_study_on_a_dask_cluster_equals_the_study_on_local_processes(tmp_path, tiny, dask_cluster):
    assert_dask_equals_local(tiny, tmp_path, dask_cluster)


def assert_dask_equals_local(config, tmp_path, scheduler: str) -> None:
    from tests.interfaces.test_sweep_cli import assert_same_runs

    local, remote = tmp_path / "local.h5", tmp_path / "dask.h5"
    assert geroconvert("sensitivity", config, "-o", local, "--workers", "2", "--quiet").returncode == 0
    done = geroconvert("sensitivity", config, "-o", remote, "--scheduler", scheduler, "--quiet", timeout=600)
    assert done.returncode == 0, done.stderr
    assert_same_runs(local, remote)


def test_a_dose_response_contrast_gives_the_ec50_its_indices(tmp_path):
    config = tmp_path / "ec50.toml"
    config.write_text(
        f"""
extends = "{(ROOT / "configs" / "ht_p21.toml").as_posix()}"
[simulation]
width = 20
height = 20
hours = 336.0
record_every_h = 24.0
[assays]
rpp_times_h = [0, 24, 48, 60, 72, 96, 120, 168, 216, 264, 336]
max_cells = 60
[sensitivity]
samples = 3
parameters = ["cells.w_gero", "cells.rapa_s6k_ic50_nM", "cells.cycle_h"]
outputs = ["ec50_nM", "smax"]
[priors]
"cells.w_gero" = {{ low = 0.5, high = 0.7 }}
[sensitivity.contrast]
"environment.rapamycin_nM" = [0, 0.3, 3, 30, 1000]
""",
        encoding="utf-8",
    )
    done = geroconvert("sensitivity", config, "-o", tmp_path / "ec50.h5", "--workers", "2")
    assert done.returncode == 0, done.stderr
    report = geroconvert("report", tmp_path / "ec50.h5", "-o", tmp_path / "report")
    assert report.returncode == 0, report.stderr
    with open(tmp_path / "report" / "sensitivity.csv", encoding="utf-8") as handle:
        ec50 = {r["parameter"]: float(r["mu_star"]) for r in csv.DictReader(handle) if r["output"] == "ec50_nM"}
    # the EC50 of the slowdown follows the S6K IC50 of rapamycin, not the cell cycle
    assert ec50["cells.rapa_s6k_ic50_nM"] > 10 * ec50["cells.cycle_h"]
    text = config.read_text().replace("[0, 0.3, 3, 30, 1000]", "[0, 30, 1000]")
    config.write_text(text, encoding="utf-8")
    bad = geroconvert("sensitivity", config, "-o", tmp_path / "bad.h5")
    assert bad.returncode == 2 and "with 0 and at least 3 doses" in bad.stderr
