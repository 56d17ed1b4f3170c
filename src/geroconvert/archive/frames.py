"""An archive as pandas and xarray objects: :func:`open_archive`.

    >>> archive = geroconvert.open_archive("out/rapamycin_dose_sweep.h5")
    >>> archive.summary                          # DataFrame: one row per run, the swept columns first
    >>> archive.rpp["rpp"].to_dataframe()        # RPP vs time for every run, the dose as a column

The archive is read once, through the same checks as ``geroconvert info`` (a sweep's
parts included), into memory; pandas and xarray are imported only here.
"""

from __future__ import annotations

import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from geroconvert.archive.schema import RPP_LONG_NAMES, RPP_UNITS, RUN_DIM, TIME_DIM, summary_units
from geroconvert.archive.table import Curves, RunRows, swept_columns


@dataclass
class Archive:
    """What :func:`open_archive` returns (every table indexed by the run key, ``run``)."""

    path: Path
    summary: Any  # pandas.DataFrame: replicate, seed, the swept columns, then the scalar results
    timeseries: Any  # xarray.Dataset (run x time_h), swept columns, replicate and seed as coordinates
    rpp: Any  # xarray.Dataset (run x time_h of the assays): rpp, n_replated, n_colonies
    runs: Any  # pandas.DataFrame: seed, replicate, wall_s, created_utc, overrides, and the software
    events: Any  # pandas.DataFrame: each event's total over the run
    config_toml: str  # the resolved config the runs ran
    provenance: dict  # the root attributes: software, host and command that created the file
    swept: list[str]  # the swept config paths (columns of summary, coordinates of the datasets)
    checked: Any = field(default=None, repr=False)  # the archive as read (validate.Checked), for SweepData

    @property
    def config(self) -> dict:
        """The resolved config as a dict (parsed from :attr:`config_toml`)."""
        return tomllib.loads(self.config_toml)

    def run(self, key: str, snapshots: bool = False) -> dict:
        """One run as :func:`geroconvert.read_run` gives it (numpy arrays; snapshots on request)."""
        from geroconvert.archive.reader import read_run

        return read_run(self.path, key, snapshots=snapshots)

    def __repr__(self) -> str:
        return (
            f"<geroconvert Archive {self.path}: {len(self.summary)} runs, swept {self.swept or 'nothing'}, "
            f"{self.timeseries.sizes.get(TIME_DIM, 0)} record times, {self.rpp.sizes.get(TIME_DIM, 0)} assay times>"
        )


def open_archive(path: str | Path) -> Archive:
    """Open an archive (schema 2) as pandas DataFrames and xarray Datasets; see :class:`Archive`."""
    from geroconvert.archive.reader import read_rows

    checked = read_rows(path)
    rows = checked.rows
    swept = swept_columns(rows)
    return Archive(
        path=Path(path),
        summary=_summary_frame(rows, swept),
        timeseries=_curves_dataset(rows, rows.timeseries, swept, rows.units, _series_long_names()),
        rpp=_curves_dataset(rows, rows.rpp, swept, RPP_UNITS, RPP_LONG_NAMES),
        runs=_runs_frame(rows),
        events=_frame(rows, {name: values for name, values in rows.events.items()}),
        config_toml=checked.config_toml,
        provenance=dict(checked.attrs),
        swept=list(swept),
        checked=checked,
    )


def _series_long_names() -> dict[str, str]:
    from geroconvert.core.recorder import SERIES_LONG_NAMES

    return SERIES_LONG_NAMES


def _frame(rows: RunRows, columns: dict):
    import pandas as pd

    index = pd.Index(rows.keys, name=RUN_DIM, dtype=object)
    return pd.DataFrame({name: np.asarray(values) for name, values in columns.items()}, index=index)


def _summary_frame(rows: RunRows, swept: dict[str, np.ndarray]):
    columns: dict[str, np.ndarray] = {"replicate": rows.replicate, "seed": rows.seed, **swept}
    for name, values in rows.summary.items():
        columns.setdefault(name, values)
    frame = _frame(rows, columns)
    frame.attrs["units"] = {name: summary_units(name, rows.units) for name in rows.summary}
    return frame


def _runs_frame(rows: RunRows):
    columns: dict[str, Any] = {
        "seed": rows.seed,
        "replicate": rows.replicate,
        "wall_s": rows.wall_s,
        "created_utc": np.array(rows.created_utc, dtype=object),
        "overrides": np.array(rows.overrides, dtype=object),
    }
    for name in ("package_version", "git_commit", "git_dirty", "host"):
        columns[name] = np.array([rows.sessions[s].get(name, "") for s in rows.session], dtype=object)
    return _frame(rows, columns)


def _curves_dataset(rows: RunRows, curves: Curves, swept: dict, units: dict, long_names: dict):
    """(run x time_h) variables; a time a run did not record is NaN (counts become floats then)."""
    import xarray as xr

    data = {}
    for name, values in curves.values.items():
        if curves.ragged:
            values = np.where(curves.recorded, values.astype(np.float64), np.nan)
        attrs = {"units": units.get(name, "1"), "long_name": long_names.get(name, name)}
        data[name] = xr.Variable((RUN_DIM, TIME_DIM), values, attrs)
    coords: dict[str, Any] = {
        RUN_DIM: (RUN_DIM, np.array(rows.keys, dtype=object)),
        TIME_DIM: (TIME_DIM, curves.time_h, {"units": "h", "long_name": long_names.get("time_h", "time")}),
        "replicate": (RUN_DIM, rows.replicate),
        "seed": (RUN_DIM, rows.seed),
    }
    for name, values in swept.items():
        coords[name] = (RUN_DIM, values)
    return xr.Dataset(data, coords=coords)
