"""`geroconvert calibrate --abc`: its mistakes are one line and exit code 2, before any simulation."""

from __future__ import annotations

import pytest

from tests.interfaces.test_sweep_cli import geroconvert


@pytest.mark.parametrize(
    "args,words",
    [
        (["-o", "{out}"], "add --abc"),
        (["--abc"], "--abc needs -o POSTERIOR.h5"),
        (["--abc", "-o", "{out}", "--json", "{tmp}/fit.json"], "belong to the point fit"),
        (["--abc", "-o", "{existing}"], "already exists"),
        (["--abc", "-o", "{out}", "--priors", "{bad_priors}"], 'priors."cells.w_gero"'),
        (["--abc", "-o", "{out}", "--priors", "{fixed_prior}"], "cells.w_gero: has no prior"),
        (["--abc", "-o", "{out}", "--particles", "0"], "--particles"),
    ],
)
def test_calibrate_abc_mistakes_are_one_line(tmp_path, args, words):
    existing = tmp_path / "existing.h5"
    existing.write_bytes(b"keep me")
    bad = tmp_path / "bad.toml"
    bad.write_text('[priors]\n"cells.w_gero" = { low = 0.5, high = 2.0 }\n')
    fixed = tmp_path / "fixed.toml"
    fixed.write_text('[priors]\n"cells.w_gero" = { distribution = "fixed" }\n')
    names = {
        "out": tmp_path / "post.h5",
        "tmp": tmp_path,
        "existing": existing,
        "bad_priors": bad,
        "fixed_prior": fixed,
    }
    done = geroconvert("calibrate", *[a.format(**names) for a in args])
    assert done.returncode == 2, done.stderr
    assert done.stderr.count("\n") == 1 and "Traceback" not in done.stderr and words in done.stderr, done.stderr
    assert not (tmp_path / "post.h5").exists() and existing.read_bytes() == b"keep me"
