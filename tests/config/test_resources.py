"""Packaged configs are found by name; a path that names a real or a foreign file is kept."""

from __future__ import annotations

from pathlib import Path

from geroconvert.resources import configs_folder, packaged_configs, resolve_config


def test_a_packaged_config_is_found_by_name_from_anywhere(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)  # no configs/ here
    expected = configs_folder() / "ht_p21.toml"
    for name in ("ht_p21", "ht_p21.toml", "configs/ht_p21.toml"):
        assert resolve_config(name) == expected, name
    assert set(packaged_configs()) >= {"ht_p21", "rapamycin_dose_sweep", "split_hand_trial"}


def test_existing_files_and_foreign_paths_are_never_swapped(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    own = tmp_path / "ht_p21.toml"
    own.write_text("")
    assert resolve_config("ht_p21.toml") == Path("ht_p21.toml")  # the user's own file wins
    elsewhere = tmp_path / "other" / "configs" / "ht_p21.toml"
    assert resolve_config(elsewhere) == elsewhere  # missing: the loader says so
    assert resolve_config("no_such_config") == Path("no_such_config")
