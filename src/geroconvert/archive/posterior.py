"""A posterior file: the weighted sample of a Bayesian calibration, with its provenance, in HDF5.

Layout (``kind = "geroconvert posterior"``, ``posterior_schema = 1`` at the root, beside the
software, host and command of :func:`geroconvert.archive.provenance.collect`)::

    /parameters/<config path>   (particle,) float64; attrs prior (e.g. "log-uniform 0.005-0.05")
    /weights                    (particle,) float64, sum 1: importance weights of ABC-SMC
    /distance                   (particle,) float64: each particle's distance to the targets
    /statistics/<target>        (particle,) float64: what each particle's simulation gave
    /targets/name, value, tolerance, source      one entry per target
    /generations/epsilon, particles, evaluations  one entry per ABC-SMC generation
    /config                     the calibration's settings and priors as TOML text

No pickles: the library's own database is a scratch file, removed after the run.
:func:`read_posterior` checks all of it and says in one line what is wrong with a file
that is not a posterior, is damaged, or holds no particle.
"""

from __future__ import annotations

import io
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from geroconvert.archive.schema import POSTERIOR_KIND, READ_ERRORS, import_h5py, utf8_dtype
from geroconvert.errors import ArchiveError

KIND = POSTERIOR_KIND
POSTERIOR_SCHEMA = 1


@dataclass
class Posterior:
    """A weighted sample: ``samples[i, j]`` is particle i's value of ``names[j]``."""

    names: tuple[str, ...]
    samples: np.ndarray
    weights: np.ndarray
    distance: np.ndarray
    targets: list[dict]  # name, value, tolerance, source
    generations: list[dict]  # epsilon, particles, evaluations
    priors: dict[str, str] = field(default_factory=dict)  # path -> the prior's description
    statistics: dict[str, np.ndarray] = field(default_factory=dict)  # target name -> each particle's simulated value
    config_toml: str = ""
    attrs: dict = field(default_factory=dict)

    def draws(self, count: int, seed: int = 0) -> list[tuple[dict[str, float], int]]:
        """``count`` draws by weight, with replacement (reproducibly), as the distinct particles
        drawn, each with how many of the draws it stands for: (config path -> value, count).

        A particle drawn twice would only rerun the same runs, so callers run each once and
        weight its results by its count.  The draws of a larger ``count`` begin with those of
        a smaller one (the same uniforms), so a study resumed with more draws keeps its first."""
        if count < 1:
            raise ValueError(f"draws must be at least 1 (got {count})")
        picked = np.random.default_rng(seed).choice(len(self.weights), size=count, replace=True, p=self.weights)
        counts: dict[int, int] = {}
        for i in picked.tolist():
            counts[i] = counts.get(i, 0) + 1
        return [({name: float(self.samples[i, j]) for j, name in enumerate(self.names)}, n) for i, n in counts.items()]

    def quantiles(self, q=(0.05, 0.5, 0.95)) -> dict[str, list[float]]:
        """Weighted quantiles of each parameter."""
        out = {}
        for j, name in enumerate(self.names):
            order = np.argsort(self.samples[:, j])
            cumulative = np.cumsum(self.weights[order])
            out[name] = [float(self.samples[order, j][np.searchsorted(cumulative, p * cumulative[-1])]) for p in q]
        return out


def posterior_bytes(posterior: Posterior, provenance: dict) -> bytes:
    """The file's bytes, built in memory (the caller moves them into place in one step)."""
    h5py = import_h5py()
    buffer = io.BytesIO()
    with h5py.File(buffer, "w") as f:
        f.attrs["kind"] = KIND
        f.attrs["posterior_schema"] = POSTERIOR_SCHEMA
        for key, value in provenance.items():
            f.attrs[key] = value if not isinstance(value, bool) else int(value)
        group = f.create_group("parameters")
        for j, name in enumerate(posterior.names):
            data = group.create_dataset(name, data=np.asarray(posterior.samples[:, j], np.float64))
            data.attrs["prior"] = posterior.priors.get(name, "")
        f.create_dataset("weights", data=np.asarray(posterior.weights, np.float64))
        f.create_dataset("distance", data=np.asarray(posterior.distance, np.float64))
        stats = f.create_group("statistics")
        for name, values in posterior.statistics.items():
            stats.create_dataset(name, data=np.asarray(values, np.float64))
        _table(f, "targets", posterior.targets, ("name", "source"), ("value", "tolerance"))
        _table(f, "generations", posterior.generations, (), ("epsilon", "particles", "evaluations"))
        f.create_dataset("config", data=posterior.config_toml, dtype=utf8_dtype())
    return buffer.getvalue()


def _table(f, name: str, rows: list[dict], texts: tuple[str, ...], numbers: tuple[str, ...]) -> None:
    group = f.create_group(name)
    for key in texts:
        group.create_dataset(key, data=[str(row[key]) for row in rows], dtype=utf8_dtype())
    for key in numbers:
        group.create_dataset(key, data=np.array([float(row[key]) for row in rows], np.float64))


def write_posterior(path: str | Path, posterior: Posterior, provenance: dict, overwrite: bool = False) -> Path:
    from geroconvert.archive.output import atomic_output

    with atomic_output(path, overwrite, "then run the calibration again") as buffer:
        buffer.write(posterior_bytes(posterior, provenance))
    return Path(path)


def read_posterior(path: str | Path) -> Posterior:
    """A posterior file, checked; ArchiveError (one line) for anything else."""
    from geroconvert.archive.reader import open_file

    path = Path(path)
    hint = "write one with `geroconvert calibrate --abc -o POSTERIOR.h5`"
    with open_file(path) as f:
        if f.attrs.get("kind") != KIND:
            raise ArchiveError(f"{path}: not a posterior file; {hint}")
        try:
            posterior = _read(f)
        except READ_ERRORS as error:
            raise ArchiveError(f"{path}: damaged posterior file ({type(error).__name__}: {error}); {hint}") from None
    problem = _problem(posterior)
    if problem:
        raise ArchiveError(f"{path}: {problem}; {hint}")
    posterior.weights = posterior.weights / posterior.weights.sum()  # exact for the samplers
    return posterior


def _read(f) -> Posterior:
    if int(f.attrs["posterior_schema"]) != POSTERIOR_SCHEMA:
        raise ValueError(f"posterior_schema {f.attrs['posterior_schema']} is not {POSTERIOR_SCHEMA}")
    names = tuple(f["parameters"])
    columns = [np.asarray(f["parameters"][name][()], np.float64) for name in names]
    samples = np.column_stack(columns) if columns else np.zeros((0, 0))
    targets = [
        {"name": n, "value": v, "tolerance": t, "source": s}
        for n, v, t, s in zip(
            f["targets/name"].asstr()[()],
            f["targets/value"][()],
            f["targets/tolerance"][()],
            f["targets/source"].asstr()[()],
        )
    ]
    generations = [
        {"epsilon": e, "particles": int(p), "evaluations": int(n)}
        for e, p, n in zip(
            f["generations/epsilon"][()], f["generations/particles"][()], f["generations/evaluations"][()]
        )
    ]
    return Posterior(
        names=names,
        samples=samples,
        weights=np.asarray(f["weights"][()], np.float64),
        distance=np.asarray(f["distance"][()], np.float64),
        targets=targets,
        generations=generations,
        priors={name: str(f["parameters"][name].attrs.get("prior", "")) for name in names},
        config_toml=f["config"].asstr()[()],
        statistics={name: np.asarray(f["statistics"][name][()], np.float64) for name in f["statistics"]},
        attrs={key: (value.item() if hasattr(value, "item") else value) for key, value in f.attrs.items()},
    )


def _problem(posterior: Posterior) -> str | None:
    n = len(posterior.weights)
    if not posterior.names or n == 0:
        return "holds no particle (an empty posterior)"
    lengths = {posterior.distance.shape, *(values.shape for values in posterior.statistics.values())}
    if posterior.samples.shape != (n, len(posterior.names)) or lengths != {(n,)}:
        return "its parameter, weight and distance columns differ in length (a damaged file)"
    if not (np.all(np.isfinite(posterior.samples)) and np.all(posterior.weights >= 0)):
        return "holds non-finite values or negative weights (a damaged file)"
    if not np.isclose(posterior.weights.sum(), 1.0, rtol=1e-6):
        return f"its weights sum to {posterior.weights.sum():.6g}, not 1 (a damaged file)"
    return None
