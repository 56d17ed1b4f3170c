"""Calibration with uncertainty: ABC-SMC (pyabc) over the priors of the fitted constants.

    geroconvert calibrate --abc -o POSTERIOR.h5 [--particles 100] [--generations 8] [--seed 0]

:func:`abc_smc` is the generic part: priors (:class:`~geroconvert.parameters.priors.Prior`),
a stochastic model returning named statistics, targets with tolerances.  The distance of a
simulation is the largest of |statistic - target| / tolerance, so a particle accepted at
epsilon <= 1 meets every target within its tolerance; the run stops when epsilon reaches 1
(or after ``generations``).  The posterior is then "every value of the constants that lets
the model meet the published numbers within their stated tolerances", weighted by the prior.

The particles, weights and distances are reproducible bit for bit on any number of workers:
the sampler (:mod:`geroconvert.studies.abc_sampler`) seeds each candidate by its position and
takes candidates in that order, and each simulation's seed hashes the run's seed and the
proposed values.
"""

from __future__ import annotations

import logging
import math
import random
import tempfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from geroconvert.archive.posterior import Posterior
from geroconvert.errors import UsageError
from geroconvert.parameters.priors import Prior

FAR = 1e6  # the distance of a simulation whose statistics are undefined (t50 never reached)


@dataclass(frozen=True)
class Target:
    name: str
    value: float
    tolerance: float
    source: str


# The HT-p21 targets of studies/calibration.py, each with the tolerance its source allows.
HT_P21_TARGETS = (
    Target(
        "t50_control_h",
        60.0,
        12.0,
        "Leontieva & Blagosklonny 2013: RPP kept for ~2 days and mostly lost by day 3, so t50 lies in 48-72 h",
    ),
    Target(
        "rpp_72h",
        0.2,
        0.15,
        "Leontieva & Blagosklonny 2013: 'mostly lost by day 3'; assumption: 'mostly' is 0.05-0.35",
    ),
    Target(
        "slowdown",
        3.0,
        0.5,
        "Demidenko et al. 2009: 'approximately 3-fold'; assumption: read as 2.5-3.5",
    ),
)
FITTED = ("cells.gero_rate_per_h", "cells.gero_threshold_sigma", "cells.w_gero")


def abc_smc(
    model: Callable[[dict[str, float], int], dict[str, float]],
    priors: dict[str, Prior],
    targets: tuple[Target, ...],
    particles: int = 100,
    generations: int = 8,
    seed: int = 0,
    workers: int = 1,
) -> Posterior:
    """Run ABC-SMC; ``model(values, seed)`` gives the statistics named by the targets."""
    import pyabc

    logging.getLogger("ABC").setLevel(logging.WARNING)  # pyabc logs every generation at INFO
    names = list(priors)
    safe = {name: f"p{j}" for j, name in enumerate(names)}  # pyabc stores names as SQL columns
    distribution = pyabc.Distribution(**{safe[name]: _rv(pyabc, priors[name]) for name in names})

    def simulate(parameter) -> dict:
        values = {name: float(parameter[safe[name]]) for name in names}
        return model(values, particle_seed(seed, values))

    def distance(simulated: dict, observed: dict) -> float:
        worst = 0.0
        for target in targets:
            value = simulated[target.name]
            if not math.isfinite(value):
                return FAR
            worst = max(worst, abs(value - target.value) / target.tolerance)
        return worst

    from geroconvert.studies.abc_sampler import OrderedSampler

    sampler = OrderedSampler(workers, seed)
    abc = pyabc.ABCSMC(simulate, distribution, distance, population_size=particles, sampler=sampler)
    np.random.seed(seed % 2**32)  # pyabc draws from numpy's and Python's global generators
    random.seed(seed)
    with tempfile.TemporaryDirectory() as scratch:  # pyabc's own database (it pickles): never kept
        abc.new(f"sqlite:///{Path(scratch) / 'abc.db'}", {t.name: t.value for t in targets})
        history = abc.run(minimum_epsilon=1.0, max_nr_populations=generations)
        return _posterior(history, names, safe, priors, targets)


def particle_seed(seed: int, values: dict[str, float]) -> int:
    """The simulation seed of one proposal: a hash of the run's seed and the proposed values, so
    it is the same in whichever process pyabc evaluates it (a counter would restart in each)."""
    import hashlib

    digest = hashlib.sha256(repr((seed, sorted(values.items()))).encode())
    return int.from_bytes(digest.digest()[:7], "little")  # below 2**56: a valid simulation seed


def _rv(pyabc, prior: Prior):
    if prior.low is None or prior.high is None or prior.integer:
        raise UsageError(f"a prior of {prior.describe()} cannot be calibrated; give a uniform or log-uniform range")
    if prior.distribution == "loguniform":
        return pyabc.RV("loguniform", prior.low, prior.high)
    return pyabc.RV("uniform", prior.low, prior.high - prior.low)


def _posterior(history, names, safe, priors, targets) -> Posterior:
    """The last generation, one row per particle (pivoted here by particle id: pyabc's tidy
    view drops particles whose distance and weight happen to be equal)."""
    rows = history.get_population_extended(t=history.max_t, tidy=False)
    parameters = rows.pivot_table(index="particle_id", columns="par_name", values="par_val", aggfunc="first")
    statistics = rows.pivot_table(index="particle_id", columns="sumstat_name", values="sumstat_val", aggfunc="first")
    per_particle = rows.groupby("particle_id")[["w", "distance"]].first()
    weights = per_particle["w"].to_numpy(np.float64)
    populations = history.get_all_populations()
    generations = [
        {"epsilon": float(row.epsilon), "particles": int(row.particles), "evaluations": int(row.samples)}
        for row in populations.itertuples()
        if row.t >= 0
    ]
    return Posterior(
        names=tuple(names),
        samples=np.column_stack(
            [parameters.loc[per_particle.index, safe[name]].to_numpy(np.float64) for name in names]
        ),
        weights=weights / weights.sum(),
        distance=per_particle["distance"].to_numpy(np.float64),
        targets=[{"name": t.name, "value": t.value, "tolerance": t.tolerance, "source": t.source} for t in targets],
        generations=generations,
        priors={name: priors[name].describe() for name in names},
        statistics={t.name: statistics.loc[per_particle.index, t.name].to_numpy(np.float64) for t in targets},
    )


def ht_p21_model(values: dict[str, float], seed: int) -> dict[str, float]:
    """The HT-p21 statistics of one seed: control t50, control RPP at 72 h, the slowdown by 500 nM."""
    from geroconvert import interrupts
    from geroconvert.studies.calibration import measure

    interrupts.check()  # a stop signal ends the calibration between two simulations, writing nothing
    cells = {path.split(".", 1)[1]: value for path, value in values.items()}
    return measure(cells, [seed])


def calibrate_ht_p21(priors: dict[str, Prior], particles: int, generations: int, seed: int, workers: int) -> Posterior:
    """The posterior of the three fitted constants given the HT-p21 targets."""
    chosen = {path: priors[path] for path in FITTED}
    return abc_smc(ht_p21_model, chosen, HT_P21_TARGETS, particles, generations, seed, workers)


def run_ht_p21(
    mapping: dict, out: str | Path, particles: int, generations: int, seed: int, workers: int, overwrite: bool
) -> Posterior:
    """Calibrate with the priors of ``mapping`` (its [priors] applied) and write the posterior file."""
    from geroconvert.archive.posterior import write_posterior
    from geroconvert.archive.provenance import collect
    from geroconvert.config import dumps_toml
    from geroconvert.parameters.priors import prior_of, priors_for

    priors = priors_for(mapping)
    chosen = {path: prior_of(path, priors) for path in FITTED}
    posterior = abc_smc(ht_p21_model, chosen, HT_P21_TARGETS, particles, generations, seed, workers)
    settings = {"particles": particles, "generations": generations, "seed": seed, "workers": workers}
    posterior.config_toml = dumps_toml(
        {
            "calibration": {**settings, "sampler": "ordered"},
            "priors": {p: _prior_table(chosen[p]) for p in FITTED},
        }
    )
    provenance = {**collect(), "reproducible": 1, **settings}  # on any number of workers
    write_posterior(out, posterior, provenance, overwrite)
    return posterior


def _prior_table(prior: Prior) -> dict:
    return {"distribution": prior.distribution, "low": prior.low, "high": prior.high, "source": prior.source}
