"""geroconvert: agent-based simulation of mTOR-driven geroconversion in skin cells.

The documented entry points, importable from the package itself::

    import geroconvert as gc

    loaded = gc.load_config("ht_p21.toml")          # a packaged config, or any path
    results = gc.Simulation(loaded.params).run()      # one run -> Results
    gc.run_sweep(loaded.mapping, "out/sweep.h5")      # a [sweep] section -> one archive
    archive = gc.open_archive("out/sweep.h5")         # pandas summary, xarray time series and RPP
    data = gc.load_sweep("out/sweep.h5")              # every run of an archive -> SweepData
    run = gc.read_run("out/sweep.h5", "run0")         # one run's series, RPP and summary

Importing the package is cheap on purpose: each name is imported from its layer the
first time it is used, so ``import geroconvert`` loads neither numba, h5py nor
matplotlib, and touches no file.  The layers (``parameters``, ``config``, ``core``,
``oracle``, ``archive``, ``analysis``, ``studies``, ``interfaces``) are described in
``docs/design.md``.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

__version__ = "0.2.0"

# public name -> the module that defines it
_EXPORTS = {
    # parameters and configs
    "Params": "geroconvert.parameters.models",
    "Environment": "geroconvert.parameters.models",
    "CellParams": "geroconvert.parameters.models",
    "load_config": "geroconvert.config.loading",
    "LoadedConfig": "geroconvert.config.loading",
    "packaged_configs": "geroconvert.resources",
    # one simulation
    "Simulation": "geroconvert.core.engine",
    "Results": "geroconvert.core.recorder",
    # archives
    "ArchiveWriter": "geroconvert.archive.writer",
    "open_archive": "geroconvert.archive.frames",
    "Archive": "geroconvert.archive.frames",
    "read_archive": "geroconvert.archive.reader",
    "read_run": "geroconvert.archive.reader",
    "load_sweep": "geroconvert.archive.sweepdata",
    "SweepData": "geroconvert.archive.sweepdata",
    # studies
    "run_sweep": "geroconvert.studies.sweep",
    "plan_runs": "geroconvert.studies.sweep",
    "run_trial": "geroconvert.studies.trial",
    # interfaces
    "GeroModel": "geroconvert.interfaces.mesa_model",
    # errors
    "GeroconvertError": "geroconvert.errors",
    "ConfigError": "geroconvert.errors",
    "ArchiveError": "geroconvert.errors",
    "ClusterError": "geroconvert.errors",
    "UsageError": "geroconvert.errors",
}

__all__ = ["__version__", *_EXPORTS]


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'geroconvert' has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value  # later look-ups skip this function
    return value


def __dir__() -> list[str]:
    return sorted(__all__)


if TYPE_CHECKING:  # for type checkers and IDEs; never executed
    from geroconvert.archive.frames import Archive, open_archive
    from geroconvert.archive.reader import read_archive, read_run
    from geroconvert.archive.sweepdata import SweepData, load_sweep
    from geroconvert.archive.writer import ArchiveWriter
    from geroconvert.config.loading import LoadedConfig, load_config
    from geroconvert.core.engine import Simulation
    from geroconvert.core.recorder import Results
    from geroconvert.errors import ArchiveError, ClusterError, ConfigError, GeroconvertError, UsageError
    from geroconvert.interfaces.mesa_model import GeroModel
    from geroconvert.parameters.models import CellParams, Environment, Params
    from geroconvert.resources import packaged_configs
    from geroconvert.studies.sweep import plan_runs, run_sweep
    from geroconvert.studies.trial import run_trial
