"""Small lattices run every per-step and per-record kernel on one thread (issue 14, item 7).

Before, only step() dropped to one thread: the recording kernels (tally, in_cycle_by_kind)
woke every numba thread, which on a busy machine made a 64 x 64 run spend 90% of its time
recording.  This test spies on the thread count each kernel is called with.
"""

from __future__ import annotations

import numba
import pytest

from geroconvert.core import engine
from tests.helpers import ht_p21

KERNELS = ("update_cells", "apply_pending", "diffuse", "tally", "in_cycle_by_kind")


@pytest.mark.skipif(numba.config.NUMBA_NUM_THREADS < 2, reason="needs a machine with 2 or more numba threads")
def test_a_small_lattice_calls_every_kernel_on_one_thread(monkeypatch):
    seen: dict[str, set[int]] = {name: set() for name in KERNELS}
    for name in KERNELS:
        kernel = getattr(engine, name)

        def spy(*args, _kernel=kernel, _name=name):
            seen[_name].add(numba.get_num_threads())
            return _kernel(*args)

        monkeypatch.setattr(engine, name, spy)
    numba.set_num_threads(numba.config.NUMBA_NUM_THREADS)
    sim = engine.Simulation(ht_p21(hours=6.0))
    assert sim.one_thread
    sim.run()
    assert all(seen[name] for name in KERNELS), seen  # every kernel was called
    assert all(threads == {1} for threads in seen.values()), seen
    assert numba.get_num_threads() == numba.config.NUMBA_NUM_THREADS  # and the count is restored
