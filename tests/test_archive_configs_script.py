"""scripts/archive_configs.py compare: what counts as a changed result between two archives."""

import importlib.util
from pathlib import Path

import h5py
import numpy as np

SCRIPT = Path(__file__).resolve().parents[1] / "scripts" / "archive_configs.py"
spec = importlib.util.spec_from_file_location("archive_configs", SCRIPT)
archive_configs = importlib.util.module_from_spec(spec)
spec.loader.exec_module(archive_configs)

CONFIG = "# source: a.toml\n[cells]\ncycle_h = 22.0\nw_gero = 0.6\n"


def archive(path: Path, config: str = CONFIG, **series) -> Path:
    with h5py.File(path, "w") as f:
        f.attrs["schema_version"] = 99  # current: compared as written
        f["config/toml"] = config
        for name, values in {"n_cells": [1.0, 2.0], **series}.items():
            f[f"timeseries/{name}"] = np.asarray(values, float)
    return path


def differences(tmp_path, first: dict, second: dict):
    notes: list[str] = []
    found = archive_configs.archive_differences(
        archive(tmp_path / "a.h5", **first), archive(tmp_path / "b.h5", **second), notes
    )
    return found, notes


def test_a_readout_added_since_is_a_note_not_a_difference(tmp_path):
    found, notes = differences(tmp_path, {}, {"n_melanocyte_cycling": [0.0, 3.0]})
    assert found == [] and any("only in the second" in note for note in notes)


def test_a_readout_lost_since_is_a_difference_unless_it_was_all_zero(tmp_path):
    found, _ = differences(tmp_path, {"n_stem": [1.0, 0.0]}, {})
    assert found and "only in the first" in found[0]
    found, notes = differences(tmp_path, {"n_stem": [0.0, 0.0]}, {})
    assert found == [] and any("all 0" in note for note in notes)


def test_changed_values_are_a_difference(tmp_path):
    found, _ = differences(tmp_path, {"p16": [0.1, 0.2]}, {"p16": [0.1, 0.2000001]})
    assert found == ["timeseries/p16: data differ"]


def test_new_parameters_in_the_resolved_config_are_a_note_and_a_changed_value_is_not(tmp_path):
    gained = CONFIG + "melanocyte_fraction = 0.0\n"
    notes: list[str] = []
    assert (
        archive_configs.archive_differences(
            archive(tmp_path / "a.h5"), archive(tmp_path / "b.h5", config=gained), notes
        )
        == []
    )
    assert any("new parameters melanocyte_fraction" in note for note in notes)
    changed = CONFIG.replace("w_gero = 0.6", "w_gero = 0.7")
    found = archive_configs.archive_differences(archive(tmp_path / "a.h5"), archive(tmp_path / "c.h5", config=changed))
    assert found == ["config/toml: resolved config differs"]
