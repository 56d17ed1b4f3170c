"""The HT-p21 protocol runs and loses RPP in the published window (coarse check)."""

from geroconvert.core.engine import Simulation
from geroconvert.parameters.models import Params


def test_ht_p21_control_loses_rpp_by_day_3():
    params = Params().with_changes(
        environment={"inducer": 1.0}, simulation={"hours": 96}, assays={"rpp_times_h": (0.0, 48.0, 96.0)}
    )
    rpp = Simulation(params, seed=3).run().rpp["rpp"]
    # Leontieva & Blagosklonny 2013: reversible for ~2 days, senescent after ~3
    assert rpp[0] > 0.9
    assert rpp[1] >= 0.7
    assert rpp[2] <= 0.3
