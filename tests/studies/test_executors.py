"""The executors keep a bounded window of runs in flight (issue 14, item 6).

Before, every run of a sweep was submitted at once: the driver held a future (and, on
Dask, a copy of its arguments) per run, so its memory grew with the sweep.  Each test
draws jobs from a generator and checks, at every result, how many jobs were drawn but
not yet returned.
"""

from __future__ import annotations

import math

from geroconvert.studies import executors
from geroconvert.studies.sweep import RunSpec


class CountingJobs:
    def __init__(self, items):
        self.items, self.drawn = items, 0

    def __iter__(self):
        for item in self.items:
            self.drawn += 1
            yield item


def test_local_processes_hold_a_bounded_window():
    jobs = CountingJobs([(i, (float(i),)) for i in range(40)])
    in_flight, results = [], {}
    for label, value in executors.in_processes(math.sqrt, jobs, 2):
        results[label] = value
        in_flight.append(jobs.drawn - len(results) + 1)  # drawn and not yet returned, this one included
    assert results == {i: math.sqrt(i) for i in range(40)}
    assert max(in_flight) <= executors.WINDOW_PER_WORKER * 2
    assert jobs.drawn == 40


def test_dask_holds_a_bounded_window(dask_cluster):
    from dask.distributed import Client

    mapping = {"simulation": {"width": 4, "height": 4, "hours": 2.0}, "assays": {"rpp_times_h": []}}
    specs = CountingJobs([RunSpec(f"g{i:03d}_r00", i, 0, i, {}) for i in range(40)])
    with Client(dask_cluster, timeout=30) as client:
        window = max(executors.DASK_WINDOW_MIN, executors.WINDOW_PER_WORKER * executors._dask_threads(client))
        in_flight, seeds = [], []
        for spec, results in executors.on_dask(specs, mapping, client, dask_cluster):
            assert not isinstance(results, BaseException), results
            seeds.append(spec.seed)
            in_flight.append(specs.drawn - len(seeds) + 1)
    assert sorted(seeds) == list(range(40))
    assert max(in_flight) <= window < 40
