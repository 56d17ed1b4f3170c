"""A pyabc sampler whose sample is the same on any number of workers.

pyabc's own parallel samplers seed each process from the clock and accept particles in the
order the processes finish, so two runs of one calibration differ.  This one numbers the
candidates of each generation 0, 1, 2, ... and gives candidate j its own seed (a hash of the
calibration's seed, the sampler call and j) for the proposal and the simulation.  Candidates
run on :func:`geroconvert.studies.executors.in_processes` (inline with one worker, else on
spawned processes, with its stop-signal handling), finish in any order, and are taken in
index order: the generation is every candidate up to the n-th accepted one, which is what
one process evaluating them one by one would have kept.  The few candidates still running
past it are dropped.
"""

from __future__ import annotations

import hashlib
import itertools
import random
from typing import Any

import numpy as np
import pyabc

from geroconvert.studies.executors import in_processes, use_threads

_LOADED: dict[str, Any] = {}  # per worker: the current generation's simulate function, by digest


def evaluate_candidate(payload, digest: str, seed: int):
    """One candidate: seed the global generators pyabc draws its proposal from, then propose,
    simulate and accept or reject.  ``payload`` is pyabc's simulate function, pickled for a
    worker (unpickled once per generation there) or itself when evaluated inline; the
    caller's generator states are put back, so an inline evaluation leaves the calibrating
    process as a worker's would."""
    if callable(payload):
        simulate_one = payload
    else:
        import cloudpickle

        use_threads(1)  # workers share the cores, as the sweep's runs do
        if digest not in _LOADED:
            _LOADED.clear()  # one generation at a time
            _LOADED[digest] = cloudpickle.loads(payload)
        simulate_one = _LOADED[digest]
    numpy_state, python_state = np.random.get_state(), random.getstate()
    try:
        np.random.seed([seed & 0xFFFFFFFF, seed >> 32])  # the whole seed: no two candidates share a proposal
        random.seed(seed)
        return simulate_one()
    finally:
        np.random.set_state(numpy_state)
        random.setstate(python_state)


def candidate_seed(seed: int, call: int, index: int) -> int:
    digest = hashlib.sha256(repr(("abc candidate", seed, call, index)).encode()).digest()
    return int.from_bytes(digest[:7], "little")


class OrderedSampler(pyabc.sampler.Sampler):
    """Candidates numbered and seeded by position, taken in that order (see the module)."""

    def __init__(self, workers: int, seed: int):
        super().__init__()
        self.workers, self.seed = max(1, workers), seed
        self.calls = 0  # pyabc asks in a fixed order (calibration sample, then each generation)

    def sample_until_n_accepted(self, n, simulate_one, t, *, max_eval=np.inf, all_accepted=False, ana_vars=None):
        import cloudpickle

        self.calls += 1
        if self.workers > 1:
            payload = cloudpickle.dumps(simulate_one)
            digest = hashlib.sha256(payload).hexdigest()
        else:  # inline: the function itself, so a model that cannot be pickled still calibrates
            payload, digest = simulate_one, "inline"
        jobs = (
            (j, (payload, digest, candidate_seed(self.seed, self.calls, j)))
            for j in (itertools.count() if max_eval == np.inf else range(int(max_eval)))
        )
        sample = self._create_empty_sample()
        waiting: dict[int, Any] = {}  # pyabc Particles, by candidate number
        taken = accepted = 0
        source = in_processes(evaluate_candidate, jobs, self.workers)
        try:
            for index, outcome in source:
                waiting[index] = outcome
                while accepted < n and taken in waiting:  # in index order, whatever order they finished in
                    particle = waiting.pop(taken)
                    if isinstance(particle, BaseException):  # a failure counts only where one process would meet it
                        raise particle
                    sample.append(particle)
                    taken += 1
                    accepted += bool(particle.accepted)
                if accepted >= n:
                    break
        finally:
            source.close()  # ends the candidates still running past the n-th accepted one
        self.nr_evaluations_ = taken
        if accepted < n:
            sample.ok = False
        return sample
