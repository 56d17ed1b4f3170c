"""Config files: overlays, overrides, suggestions, schedules, the resolved TOML."""

from __future__ import annotations

import copy
import math
import tomllib
from pathlib import Path

import pytest

from geroconvert.config import (
    ConfigError,
    config_from_mapping,
    dumps_toml,
    load_config,
    load_mapping,
    parse_override,
    parse_value,
    reference_markdown,
    set_path,
)
from geroconvert.parameters.models import Params
from tests.conftest import CONFIGS


def write(path: Path, text: str) -> Path:
    path.write_text(text, encoding="utf-8")
    return path


def test_empty_config_is_the_defaults():
    loaded = load_config(mapping={})
    assert loaded.params == Params()
    assert loaded.sweep is None


# ---- extends --------------------------------------------------------------------------

PARENT = """
[simulation]
width = 32
hours = 100.0

[environment]
inducer = 1.0
mitogen = 0.5

[[schedule]]
time_h = 48
inducer = 0

[cells]
paramset = "ht_p21"
cycle_h = 30.0
"""


def test_extends_overlays_section_by_section_key_by_key(tmp_path):
    write(tmp_path / "parent.toml", PARENT)
    child = write(
        tmp_path / "child.toml",
        'extends = "parent.toml"\n[simulation]\nwidth = 16\n[environment]\nrapamycin_nM = 500\n[cells]\nw_gero = 0.5\n',
    )
    params = load_config(child).params
    assert params.simulation.width == 16  # child wins
    assert params.simulation.hours == 100.0  # parent kept, same section
    assert params.environment.inducer == 1.0  # parent kept
    assert params.environment.mitogen == 0.5
    assert params.environment.rapamycin_nM == 500.0
    assert params.cells.cycle_h == 30.0 and params.cells.w_gero == 0.5
    assert [(e.time_h, e.set) for e in params.schedule] == [(48.0, {"inducer": 0.0})]  # inherited


def test_child_schedule_replaces_parent_schedule(tmp_path):
    write(tmp_path / "parent.toml", PARENT)
    child = write(
        tmp_path / "child.toml",
        'extends = "parent.toml"\n[[schedule]]\ntime_h = 24\nrapamycin_nM = 5\n'
        "[[schedule]]\ntime_h = 12\nmitogen = 1\n",
    )
    events = load_config(child).params.schedule
    assert sorted((e.time_h, tuple(e.set.items())) for e in events) == [
        (12.0, (("mitogen", 1.0),)),
        (24.0, (("rapamycin_nM", 5.0),)),
    ]


def test_extends_path_is_relative_to_the_file(tmp_path, monkeypatch):
    sub = tmp_path / "sub"
    sub.mkdir()
    write(tmp_path / "base.toml", "[simulation]\nwidth = 20\n")
    child = write(sub / "child.toml", 'extends = "../base.toml"\n')
    monkeypatch.chdir(sub)
    assert load_config(child).params.simulation.width == 20


def test_three_level_chain(tmp_path):
    write(tmp_path / "a.toml", "[simulation]\nwidth = 10\nheight = 11\nhours = 12.0\n")
    write(tmp_path / "b.toml", 'extends = "a.toml"\n[simulation]\nheight = 21\n')
    c = write(tmp_path / "c.toml", 'extends = "b.toml"\n[simulation]\nhours = 32.0\n')
    sim = load_config(c).params.simulation
    assert (sim.width, sim.height, sim.hours) == (10, 21, 32.0)


@pytest.mark.parametrize("chain", [["a"], ["a", "b"], ["a", "b", "c"]])
def test_circular_extends_is_an_error(tmp_path, chain):
    for name, target in zip(chain, chain[1:] + chain[:1]):
        write(tmp_path / f"{name}.toml", f'extends = "{target}.toml"\n')
    with pytest.raises(ConfigError, match="circular"):
        load_config(tmp_path / "a.toml")


def test_missing_parent(tmp_path):
    child = write(tmp_path / "child.toml", 'extends = "nowhere.toml"\n')
    with pytest.raises(ConfigError, match="extends: file 'nowhere.toml' not found"):
        load_config(child)


def test_shipped_ht_p16_extends_ht_p21():
    p21, p16 = load_config(CONFIGS / "ht_p21.toml").params, load_config(CONFIGS / "ht_p16.toml").params
    assert p16.cells.paramset == "ht_p16" and p16.cells.inducer_to_p16 == 1.0
    assert p16.simulation == p21.simulation and p16.assays == p21.assays


# ---- --set ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    "text, value",
    [
        ("5", 5),
        ("-5", -5),
        ("1e-3", 0.001),
        ("2.5", 2.5),
        ("true", True),
        ("[0, 24, 48]", [0, 24, 48]),
        ('"quoted"', "quoted"),
        ("dish", "dish"),
        ("ht_p21", "ht_p21"),
        ("not toml [", "not toml ["),
        ("{a = 1}", {"a": 1}),
    ],
)
def test_parse_value(text, value):
    assert parse_value(text) == value
    assert type(parse_value(text)) is type(value)


def test_parse_override():
    assert parse_override("environment.rapamycin_nM=500") == ("environment.rapamycin_nM", 500)
    assert parse_override(" simulation.geometry = epidermis ") == ("simulation.geometry", "epidermis")
    assert parse_override("assays.rpp_times_h=[0, 24]") == ("assays.rpp_times_h", [0, 24])
    for bad in ("environment.rapamycin_nM", "=5", "a..b=1", ".a=1"):
        with pytest.raises(ConfigError):
            parse_override(bad)


def test_set_path_creates_tables_and_indexes_lists():
    mapping = {"schedule": [{"time_h": 1.0}, {"time_h": 2.0}]}
    set_path(mapping, "environment.rapamycin_nM", 500)
    set_path(mapping, "schedule.1.inducer", 0)
    assert mapping == {
        "schedule": [{"time_h": 1.0}, {"time_h": 2.0, "inducer": 0}],
        "environment": {"rapamycin_nM": 500},
    }
    with pytest.raises(ConfigError, match="schedule.5"):
        set_path(mapping, "schedule.5.inducer", 0)
    with pytest.raises(ConfigError, match="not a table"):
        set_path(mapping, "environment.rapamycin_nM.x", 1)


def test_overrides_apply_last_and_are_recorded():
    loaded = load_config(CONFIGS / "ht_p21.toml", ["environment.rapamycin_nM=500", "simulation.width=16"])
    assert loaded.params.environment.rapamycin_nM == 500.0
    assert loaded.params.simulation.width == 16
    assert loaded.overrides == {"environment.rapamycin_nM": 500, "simulation.width": 16}
    assert load_config(CONFIGS / "ht_p21.toml", {"simulation.width": 16}).params.simulation.width == 16


def test_config_from_mapping_for_sweeps():
    base = load_config(CONFIGS / "ht_p21.toml").mapping
    point = set_path(copy.deepcopy(base), "environment.rapamycin_nM", 50.0)
    params = config_from_mapping(point)
    assert params.environment.rapamycin_nM == 50.0
    assert params.simulation == load_config(CONFIGS / "ht_p21.toml").params.simulation
    assert base["environment"]["rapamycin_nM"] == 0.0  # the base mapping is not changed


# ---- unknown keys --------------------------------------------------------------------


@pytest.mark.parametrize(
    "text, message",
    [
        ("[simulaton]\nwidth = 3\n", "simulaton: unknown section; did you mean 'simulation'?"),
        ("[simulation]\nwidht = 3\n", "simulation.widht: unknown key; did you mean 'width'?"),
        ("[environment]\nrapamycin = 3\n", "environment.rapamycin: unknown key; did you mean 'rapamycin_nM'?"),
        ("[simulation]\nrapamycin_nM = 3\n", "simulation.rapamycin_nM: unknown key; it belongs in [environment]"),
        ("width = 3\n", "width: unknown section; put it under [simulation]"),
        ("[cells]\ncycle_hours = 3\n", "cells.cycle_hours: unknown key; did you mean 'cycle_h'?"),
        ("[assays]\nrpp_every = 3\n", "assays.rpp_every: unknown key; did you mean 'rpp_every_h'?"),
        ("[[schedule]]\ntime_h = 1\ninducr = 0\n", "schedule[0].inducr: unknown key; did you mean 'inducer'?"),
    ],
)
def test_unknown_keys_suggest_the_closest(tmp_path, text, message):
    path = write(tmp_path / "c.toml", text)
    with pytest.raises(ConfigError) as error:
        load_config(path)
    assert message in str(error.value)
    assert "\n" not in str(error.value)


def test_unknown_key_from_set_suggests_full_path():
    with pytest.raises(ConfigError, match="did you mean 'simulation.width'"):
        load_config(mapping={}, overrides=["widht=3"])
    with pytest.raises(ConfigError, match="did you mean 'rapamycin_nM'"):
        load_config(mapping={}, overrides=["environment.rapamycn_nM=3"])


# ---- values --------------------------------------------------------------------------


def test_pydantic_errors_become_one_line_naming_the_field():
    with pytest.raises(ConfigError) as error:
        load_config(mapping={"environment": {"rapamycin_nM": -5}})
    assert str(error.value) == "environment.rapamycin_nM: must be >= 0 (got -5); set a dose of 0 or more"


@pytest.mark.parametrize(
    "mapping, field",
    [
        ({"simulation": {"dt_h": 0}}, "simulation.dt_h"),
        ({"simulation": {"width": "16"}}, "simulation.width"),
        ({"simulation": {"width": 16.0}}, "simulation.width"),
        ({"simulation": {"hours": float("inf")}}, "simulation.hours"),
        ({"environment": {"oxygen": 1.01}}, "environment.oxygen"),
        ({"environment": {"inducer": True}}, "environment.inducer"),
        ({"cells": {"paramset": "ht_p99"}}, "cells.paramset"),
        ({"cells": {"cycle_h": "fast"}}, "cells.cycle_h"),
        ({"assays": {"rpp_times_h": ["0"]}}, "assays.rpp_times_h[0]"),
        ({"schedule": [{"time_h": -1, "inducer": 0}]}, "schedule[0].time_h"),
        ({"schedule": [{"time_h": 1, "rapamycin_nM": -1}]}, "schedule[0].rapamycin_nM"),
        ({"simulation": {"record_every_h": 1e-3, "dt_h": 1e-3, "hours": 1e5}}, "simulation.record_every_h"),
    ],
)
def test_bad_values(mapping, field):
    with pytest.raises(ConfigError) as error:
        load_config(mapping=mapping)
    assert str(error.value).startswith(field + ":")


def test_strings_and_booleans_are_not_numbers():
    with pytest.raises(ConfigError, match="must be a number"):
        load_config(mapping={"environment": {"rapamycin_nM": "500"}})


# ---- schedule and assays -------------------------------------------------------------


def test_schedule_parsing(tmp_path):
    path = write(
        tmp_path / "s.toml",
        "[[schedule]]\ntime_h = 72\ninducer = 0\nrapamycin_nM = 0\n\n[[schedule]]\ntime_h = 24\nrapamycin_nM = 500\n",
    )
    events = load_config(path).params.schedule
    assert len(events) == 2
    by_time = {e.time_h: e.set for e in events}
    assert by_time == {72.0: {"inducer": 0.0, "rapamycin_nM": 0.0}, 24.0: {"rapamycin_nM": 500.0}}
    assert all(isinstance(v, float) for e in events for v in e.set.values())


def test_schedule_needs_time(tmp_path):
    path = write(tmp_path / "s.toml", "[[schedule]]\ninducer = 0\n")
    with pytest.raises(ConfigError, match=r"schedule\[0\].time_h: is required"):
        load_config(path)


def test_schedule_must_be_an_array_of_tables(tmp_path):
    path = write(tmp_path / "s.toml", "[schedule]\ntime_h = 1\n")
    with pytest.raises(ConfigError, match=r"schedule: must be a list of tables"):
        load_config(path)


def test_rpp_helpers_expand():
    assays = load_config(mapping={"assays": {"rpp_every_h": 24, "rpp_until_h": 72}}).params.assays
    assert assays.rpp_times_h == (0.0, 24.0, 48.0, 72.0)
    assays = load_config(
        mapping={"simulation": {"hours": 48.0}, "assays": {"rpp_every_h": 12, "rpp_from_h": 24, "rpp_times_h": [6, 24]}}
    ).params.assays
    assert assays.rpp_times_h == (6.0, 24.0, 36.0, 48.0)
    with pytest.raises(ConfigError, match="assays.rpp_until_h: needs assays.rpp_every_h"):
        load_config(mapping={"assays": {"rpp_until_h": 24}})
    with pytest.raises(ConfigError, match="assays.rpp_every_h: must be > 0"):
        load_config(mapping={"assays": {"rpp_every_h": 0}})


def test_rpp_time_table_is_replaced_as_a_whole(tmp_path):
    write(tmp_path / "parent.toml", "[assays]\nrpp_every_h = 24\nrpp_until_h = 96\nmax_cells = 50\n")
    child = write(tmp_path / "child.toml", 'extends = "parent.toml"\n[assays]\nrpp_times_h = [12, 36]\n')
    assays = load_config(child).params.assays
    assert assays.rpp_times_h == (12.0, 36.0) and assays.max_cells == 50
    other = write(tmp_path / "other.toml", 'extends = "parent.toml"\n[assays]\nrpp_until_h = 48\n')
    with pytest.raises(ConfigError, match="needs assays.rpp_every_h"):  # the parent's interval is not inherited
        load_config(other)
    assert load_config(tmp_path / "parent.toml", ["assays.rpp_times_h=[6]"]).params.assays.rpp_times_h == (6.0,)
    both = load_config(tmp_path / "parent.toml", ["assays.rpp_every_h=12", "assays.rpp_until_h=24"])
    assert both.params.assays.rpp_times_h == (0.0, 12.0, 24.0)


def test_warnings_for_times_after_the_end():
    loaded = load_config(
        mapping={
            "simulation": {"hours": 24.0},
            "assays": {"rpp_times_h": [0, 48]},
            "schedule": [{"time_h": 30, "inducer": 0}],
        }
    )
    assert any("rpp_times_h" in w for w in loaded.warnings)
    assert any("schedule" in w for w in loaded.warnings)


# ---- the resolved config -------------------------------------------------------------


@pytest.mark.parametrize("name", sorted(p.name for p in CONFIGS.glob("*.toml")))
def test_resolved_toml_reloads_to_the_same_params(name):
    loaded = load_config(CONFIGS / name, ["environment.rapamycin_nM=5"])
    mapping = tomllib.loads(loaded.resolved_toml)
    assert config_from_mapping(mapping) == loaded.params
    assert mapping.get("sweep") == loaded.sweep


def test_sweep_section_is_kept_untouched(tmp_path):
    sweep = {"replicates": 3, "grid": {"environment.rapamycin_nM": [0, 0.5, 5.0]}, "mode": "product"}
    path = write(
        tmp_path / "s.toml",
        '[sweep]\nreplicates = 3\nmode = "product"\n[sweep.grid]\n"environment.rapamycin_nM" = [0, 0.5, 5.0]\n',
    )
    loaded = load_config(path)
    assert loaded.sweep == sweep
    assert tomllib.loads(loaded.resolved_toml)["sweep"] == sweep


def test_toml_writer_round_trip():
    data = {
        "title": 'quote " backslash \\ newline \n tab \t unicode µ ☃ del \x7f',
        "n": -3,
        "x": 1e-300,
        "y": 2.5e16,
        "z": -0.0,
        "big": 2**62,
        "flag": False,
        "empty": [],
        "list": [1.5, 2, "three", [4]],
        "inline": [{"a": 1}, {"b": [2, 3]}],
        "table": {"dotted.key": 1, "with space": "v", "nested": {"deep": {"x": 1}}},
        "rows": [{"time_h": 1.0, "inducer": 0.0}, {"time_h": 2.0, "sub": {"q": 1}}],
    }
    text = dumps_toml(data)
    assert tomllib.loads(text) == data
    assert math.isinf(tomllib.loads(dumps_toml({"v": float("inf")}))["v"])


def test_reference_lists_every_field():
    from geroconvert.parameters.models import AssayParams, CellParams, Environment, SimulationParams

    text = reference_markdown()
    for model in (SimulationParams, Environment, CellParams, AssayParams):
        for name in model.model_fields:
            assert f"`{name}`" in text


def test_load_mapping_does_not_validate(tmp_path):
    path = write(tmp_path / "c.toml", "[environment]\nrapamycin_nM = -1\n")
    assert load_mapping(path) == {"environment": {"rapamycin_nM": -1}}


def test_a_sheet_is_for_the_epidermis_only():
    with pytest.raises(ConfigError, match="depth is for the epidermis only"):
        load_config(CONFIGS / "ht_p21.toml", ["simulation.depth=3"])
    sim = load_config(CONFIGS / "epidermis_small.toml", ["simulation.depth=3"]).params.simulation
    assert sim.depth == 3 and sim.geometry == "epidermis"
    with pytest.raises(ConfigError, match="simulation.depth"):
        load_config(CONFIGS / "epidermis_small.toml", ["simulation.depth=0"])


def test_a_sheet_counts_every_layer_site_against_the_lattice_limit():
    with pytest.raises(ConfigError, match="width\\*depth\\*height"):
        load_config(CONFIGS / "epidermis_small.toml", ["simulation.width=20000", "simulation.depth=20000"])
