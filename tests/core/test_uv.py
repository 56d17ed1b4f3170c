"""Solar UV (core/uv.py and its way into the step's inputs): the daily window, the depth
profile, the damage probability per row, and where UV is refused or switched off."""

from __future__ import annotations

import math

import numpy as np
import pytest

from geroconvert.config import ConfigError, load_config
from geroconvert.core import assays, inputs, uv
from geroconvert.core.engine import Simulation
from geroconvert.parameters.models import Dosing, UVExposure
from tests.conftest import CONFIGS, run_geroconvert

NOON = UVExposure(sed_per_day=1.0, exposure_start_h=10.0, exposure_hours=4.0)
NIGHT = UVExposure(sed_per_day=1.0, exposure_start_h=22.0, exposure_hours=4.0)  # wraps past midnight


@pytest.mark.parametrize(
    "window, time_h, dt_h, share",
    [
        (NOON, 0.0, 8.0, 0.0),  # before the window
        (NOON, 8.0, 8.0, 1.0),  # the whole window
        (NOON, 12.0, 4.0, 0.5),  # its second half
        (NOON, 11.0, 1.0, 0.25),
        (NOON, 24.0 * 3 + 8.0, 8.0, 1.0),  # any later day alike
        (NOON, 0.0, 48.0, 2.0),  # two days' windows in one long step
        (NIGHT, 0.0, 8.0, 0.5),  # 00:00-02:00 of the window that opened at 22:00
        (NIGHT, 16.0, 8.0, 0.5),  # 22:00-24:00
        (NIGHT, 20.0, 8.0, 1.0),  # across midnight
    ],
)
def test_a_step_gets_the_share_of_the_windows_it_overlaps(window, time_h, dt_h, share):
    assert uv.window_share(window, time_h, dt_h) == pytest.approx(share, abs=1e-12)


def test_a_day_of_steps_gets_one_day_of_sun_whatever_the_step():
    for dt in (0.5, 0.7, 1.0, 3.0, 8.0, 24.0):
        steps = math.ceil(24.0 * 10 / dt)  # ten days, the last step running past midnight
        total = sum(uv.window_share(NOON, i * dt, dt) for i in range(steps))
        assert total == pytest.approx(10.0, rel=1e-9), dt


def test_uvb_stays_in_the_epidermis_and_uva_reaches_the_dermis():
    dosing, rows, basal = Dosing(), 16, 4
    profile = uv.depth_profile(NOON, dosing, rows, basal)
    at_basal = (1 - NOON.uva_share) * NOON.uvb_epidermal_transmission + NOON.uva_share * NOON.uva_epidermal_transmission
    assert profile[basal] == pytest.approx(at_basal)  # the transmissions at the basal depth
    assert profile[-1] == pytest.approx(1.0)  # the top row lies at the surface (depth clamped)
    assert np.all(np.diff(profile[: basal + 10]) > 0)  # deeper rows (lower index) get less
    only_uvb = uv.depth_profile(NOON.model_copy(update={"uva_share": 0.0}), dosing, rows, basal)
    only_uva = uv.depth_profile(NOON.model_copy(update={"uva_share": 1.0}), dosing, rows, basal)
    # UVA's part of what is left grows with depth: in the dermis it is most of the damage
    uva_part = NOON.uva_share * only_uva / profile
    assert np.all(np.diff(uva_part[: basal + 10]) < 0)
    assert uva_part[0] > 0.5 > NOON.uva_share
    assert only_uvb[basal] == pytest.approx(NOON.uvb_epidermal_transmission)
    assert only_uva[basal] == pytest.approx(NOON.uva_epidermal_transmission)
    assert only_uvb[0] < only_uvb[basal] / 2  # 40 um into the dermis UVB has halved again


def test_protected_skin_has_the_age_related_probability_in_every_row_bit_for_bit():
    protected = load_config(CONFIGS / "epidermis_aging.toml", []).params
    sunlit = load_config(CONFIGS / "epidermis_photoaged.toml", []).params
    rows, basal = 16, 4
    for time_h in (0.0, 8.0, 16.0, 8766.0 * 40 + 8.0):
        shade = inputs.step_inputs(protected, protected.environment, time_h, 100, 0, rows, basal)
        assert np.all(shade.damage_p_row == shade.damage_p)
        sun = inputs.step_inputs(sunlit, sunlit.environment, time_h, 100, 0, rows, basal)
        assert sun.damage_p == shade.damage_p  # UV adds to the age-related damage, not in its place
        events = uv.damage_events_rows(sunlit.uv, sunlit.dosing, time_h, sunlit.simulation.dt_h, rows, basal)
        age_events = -math.log1p(-shade.damage_p)
        expected = -np.expm1(-(age_events + events))
        np.testing.assert_allclose(sun.damage_p_row, expected, rtol=1e-9)
        assert (events.max() > 0) == (time_h % 24 == 8.0)  # the 08:00-16:00 step holds 10:00-14:00


def test_uv_is_for_the_epidermis():
    with pytest.raises(ConfigError, match=r"^uv\.sed_per_day: UV exposure needs the epidermis"):
        load_config(CONFIGS / "ht_p21.toml", ["uv.sed_per_day=1"])
    with pytest.raises(ConfigError, match=r"uv\.sed_per_dya: unknown key; did you mean 'sed_per_day'"):
        load_config(CONFIGS / "epidermis_small.toml", ["uv.sed_per_dya=1"])
    with pytest.raises(ConfigError, match=r"uv\.uvb_epidermal_transmission: must be > 0"):
        load_config(CONFIGS / "epidermis_small.toml", ["uv.uvb_epidermal_transmission=0"])


def test_a_dish_with_uv_exits_2_with_one_line(tmp_path):
    config = tmp_path / "sunny_dish.toml"
    config.write_text('extends = "ht_p21.toml"\n\n[uv]\nsed_per_day = 2\n', encoding="utf-8")
    (tmp_path / "ht_p21.toml").write_text((CONFIGS / "ht_p21.toml").read_text(encoding="utf-8"), encoding="utf-8")
    done = run_geroconvert("run", str(config), "-o", str(tmp_path / "out.h5"))
    assert done.returncode == 2
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1 and "uv.sed_per_day" in lines[0] and "Traceback" not in done.stderr
    assert not (tmp_path / "out.h5").exists()


def test_a_replated_plate_is_out_of_the_sun():
    params = load_config(CONFIGS / "epidermis_photoaged.toml", ["simulation.width=20", "simulation.hours=24"]).params
    sim = Simulation(params, seed=1, record=False)
    plate = assays.regrowth_params(sim, 12)
    assert plate.uv.sed_per_day == 0.0 and plate.simulation.geometry == "dish"
