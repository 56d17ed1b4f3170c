"""The one schedule rule: when an environment change takes effect."""

from __future__ import annotations

from geroconvert.core.schedule import Schedule
from geroconvert.parameters.models import ScheduleEvent


def test_events_take_effect_once_in_time_order_ties_as_added():
    schedule = Schedule(
        [
            ScheduleEvent(time_h=48.0, set={"inducer": 0.0}),
            ScheduleEvent(time_h=24.0, set={"rapamycin_nM": 500.0}),
            ScheduleEvent(time_h=24.0, set={"rapamycin_nM": 0.0}),
        ]
    )
    assert schedule.due(23.0) == []
    assert schedule.due(24.0 - 1e-10) == [{"rapamycin_nM": 500.0}, {"rapamycin_nM": 0.0}]
    assert schedule.due(30.0) == []  # handed out once
    assert schedule.due(100.0) == [{"inducer": 0.0}]
    assert schedule.pending() == ()


def test_events_added_while_running_join_those_still_to_come():
    schedule = Schedule([(10.0, {"oxygen": 0.05})])
    assert schedule.due(10.0) == [{"oxygen": 0.05}]
    schedule.add(20.0, {"oxygen": 1.0})
    schedule.add(15.0, {"mitogen": 0.0})
    assert [event.time_h for event in schedule.pending()] == [15.0, 20.0]
    assert schedule.due(20.0) == [{"mitogen": 0.0}, {"oxygen": 1.0}]
