"""The schedule of environment changes: one rule for when an event takes effect.

An event takes effect at the start of the first step whose start time has reached the
event's time (a tolerance of 1e-9 h absorbs the rounding of ``step * dt_h``); events due at
the same step apply in time order, and ties in the order they were added.  The engine
applies a config's ``[[schedule]]`` with it, the plain-Python oracles do the same, and the
Mesa wrapper keeps its scenario events (added while a model runs) in a second one.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

DUE_TOLERANCE_H = 1e-9


@dataclass(frozen=True, order=True)
class TimedChange:
    """At ``time_h``, set environment values (``changes``: sorted (key, value) pairs)."""

    time_h: float
    order: int
    changes: tuple[tuple[str, Any], ...] = field(compare=False)


class Schedule:
    """Events in the order they take effect; :meth:`due` hands out each one once."""

    def __init__(self, events=()):
        self._events: list[TimedChange] = []
        self._next = 0
        self.next_time_h = math.inf  # when the next event is due (inf: none left)
        for event in events:  # config ScheduleEvents (time_h, set) or (time_h, mapping) pairs
            time_h, changes = (event.time_h, event.set) if hasattr(event, "set") else event
            self.add(time_h, changes)

    def add(self, time_h: float, changes: dict) -> TimedChange:
        """Add an event still to come; returns it."""
        event = TimedChange(float(time_h), len(self._events), tuple(sorted(changes.items())))
        pending = sorted(self._events[self._next :] + [event])
        self._events = self._events[: self._next] + pending
        self.next_time_h = pending[0].time_h
        return event

    def due(self, now_h: float) -> list[dict]:
        """The changes of every event due at ``now_h`` not handed out before, in order."""
        if self.next_time_h > now_h + DUE_TOLERANCE_H:
            return []  # the common case, every step: one comparison
        out = []
        while self._next < len(self._events) and self._events[self._next].time_h <= now_h + DUE_TOLERANCE_H:
            out.append(dict(self._events[self._next].changes))
            self._next += 1
        self.next_time_h = self._events[self._next].time_h if self._next < len(self._events) else math.inf
        return out

    def pending(self) -> tuple[TimedChange, ...]:
        """Events still to come."""
        return tuple(self._events[self._next :])
