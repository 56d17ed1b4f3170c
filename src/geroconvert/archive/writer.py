"""Writing archives: :class:`ArchiveWriter` adds complete runs one at a time and keeps /summary current.

A run is written with ``status = "writing"`` and marked ``"complete"`` last, then
``/summary`` is rebuilt from every complete run's ``summary`` attributes and the file is
flushed: a reader never mistakes a half-written run for a result, and an archive can be
reopened (``mode="a"``) to append runs.  The layout is in :mod:`geroconvert.archive.schema`.
"""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import BinaryIO

import numpy as np

from geroconvert.archive.reader import open_checked
from geroconvert.archive.schema import (
    RPP_UNITS,
    SCHEMA_VERSION,
    STATUS_COMPLETE,
    STATUS_WRITING,
    check_key,
    import_h5py,
    natural_key,
    plain,
    sha256_text,
    utf8_dtype,
)
from geroconvert.errors import ArchiveError


class ArchiveWriter:
    """Write runs into an archive, one complete run at a time.

    ``ArchiveWriter(path, config_text)`` creates a new file (``mode="w"``);
    ``ArchiveWriter(path, mode="a")`` reopens an existing archive to add runs (a
    ``config_text`` given then must match the stored one).  Use as a context manager.

    ``path`` may also be an in-memory buffer (``io.BytesIO``; for ``mode="a"`` holding the
    archive's bytes): :func:`geroconvert.archive.output.atomic_output` writes that way, so
    that HDF5 never meets a full disk (it crashes the process when it does).

    ``provenance`` (default: collected once, when first needed) is this writing session's:
    the root attributes of a new file, and what each run it adds records of the software
    that made it (``provenance.RUN_FIELDS``), so runs that a resume adds under another
    version say so.
    """

    def __init__(
        self,
        path: str | Path | BinaryIO,
        config_text: str | None = None,
        mode: str = "w",
        provenance: dict | None = None,
        command: str | None = None,
    ):
        h5py = import_h5py()
        in_memory = not isinstance(path, str | Path)
        self.path = Path("<memory>") if in_memory else Path(path)  # type: ignore[arg-type]
        target = path if in_memory else self.path
        self._provenance = provenance
        if mode == "w":
            self.file = h5py.File(target, "w")
            self._write_header(config_text or "", self.session_provenance(command))
        elif mode == "a":
            if not in_memory:  # a buffer holds bytes its caller has already read through the checks
                open_checked(self.path).close()
            self.file = h5py.File(target, "a")
            stored = self.file["config"].attrs.get("sha256", "") if "config" in self.file else ""
            if config_text is not None and plain(stored) != sha256_text(config_text):
                self.file.close()
                raise ArchiveError(
                    f"{self.path}: its /config differs from this config; "
                    "runs of different configs do not belong in one archive"
                )
            self.file.require_group("runs")
        else:
            raise ValueError(f"mode must be 'w' or 'a', not {mode!r}")

    def session_provenance(self, command: str | None = None) -> dict:
        """The provenance of this writing session, collected on first use (it asks git)."""
        if self._provenance is None:
            from geroconvert.archive.provenance import collect

            self._provenance = collect(command=command)
        return self._provenance

    def _write_header(self, config_text: str, provenance: dict) -> None:
        f = self.file
        f.attrs["schema_version"] = np.int64(SCHEMA_VERSION)
        for name, value in provenance.items():
            f.attrs[name] = int(value) if isinstance(value, bool) else value
        config = f.create_group("config")
        config.create_dataset("toml", data=config_text, dtype=utf8_dtype())
        digest = sha256_text(config_text)
        config.attrs["sha256"] = digest
        config["toml"].attrs["sha256"] = digest
        f.create_group("runs")
        self.rebuild_summary()
        f.flush()

    # -- context manager
    def __enter__(self) -> ArchiveWriter:
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def close(self) -> None:
        if self.file.id.valid:
            self.file.close()

    # -- runs
    def run_keys(self, status: str | None = STATUS_COMPLETE) -> list[str]:
        runs = self.file["runs"]
        keys = [k for k in runs if status is None or plain(runs[k].attrs.get("status")) == status]
        return sorted(keys, key=natural_key)

    def has_run(self, key: str) -> bool:
        return key in self.run_keys()

    def add_run(
        self,
        key: str,
        results,
        seed: int,
        overrides: dict | None = None,
        replicate: int = 0,
        swept: dict | None = None,
        status: str = STATUS_COMPLETE,
        snapshots: bool = True,
        wall_s: float | None = None,
        replace: bool = False,
    ) -> None:
        """Write one finished run (a :class:`~geroconvert.core.recorder.Results`), rebuild /summary, flush.

        ``swept`` maps config paths to this run's values (they become /summary columns);
        ``wall_s`` (default: the results' own) becomes the run's ``wall_s`` attribute and
        summary value.  A half-written run left by a crash (status ``writing``) is
        replaced silently.
        """
        check_key(key)
        runs = self.file["runs"]
        if key in runs:
            if plain(runs[key].attrs.get("status")) == STATUS_COMPLETE and not replace:
                raise ArchiveError(f"{self.path}: run {key!r} already exists")
            del runs[key]
        summary = {name: float(value) for name, value in (results.summary or {}).items()}
        if wall_s is None:
            wall_s = summary.get("wall_s", math.nan)
        elif "wall_s" in summary:
            summary["wall_s"] = float(wall_s)  # one wall time per run: the caller's, which covers set-up too
        group = runs.create_group(key, track_order=True)
        group.attrs["status"] = STATUS_WRITING
        group.attrs["seed"] = np.int64(seed)
        group.attrs["replicate"] = np.int64(replicate)
        group.attrs["overrides"] = json.dumps(overrides or {}, sort_keys=True, default=str)
        group.attrs["swept"] = json.dumps(swept or {}, sort_keys=True, default=str)
        group.attrs["wall_s"] = float(wall_s)
        self._write_run_provenance(group)
        self._write_series(group.create_group("timeseries", track_order=True), results.timeseries, results.units)
        rpp = group.create_group("assays").create_group("rpp", track_order=True)
        self._write_series(rpp, results.rpp, RPP_UNITS)
        events = group.create_group("events", track_order=True)
        for name, value in (results.events or {}).items():
            events.attrs[name] = np.int64(value)
        summary_group = group.create_group("summary", track_order=True)
        for name, value in summary.items():
            summary_group.attrs[name] = value
        if snapshots and results.snapshots:
            self._write_snapshots(group.create_group("snapshots"), results.snapshots)
        group.attrs["status"] = status
        self.rebuild_summary()
        self.file.flush()

    def _write_run_provenance(self, group) -> None:
        """When and by which software this run was written (old archives lack all but created_utc)."""
        from geroconvert.archive.provenance import RUN_FIELDS, utc_now

        group.attrs["created_utc"] = utc_now()
        session = self.session_provenance()
        for name in RUN_FIELDS:
            value = session.get(name, "")
            group.attrs[name] = int(value) if isinstance(value, bool) else value

    @staticmethod
    def _write_series(group, series: dict, units: dict) -> None:
        if "time_h" not in series:
            return
        time = np.asarray(series["time_h"], np.float64)
        scale = group.create_dataset("time_h", data=time)
        scale.attrs["units"] = units.get("time_h", "h")
        scale.make_scale("time_h")
        for name, values in series.items():
            if name == "time_h":
                continue
            values = np.asarray(values)
            if values.shape != time.shape:
                raise ArchiveError(f"series {name!r} has shape {values.shape}, time_h has {time.shape}")
            options = {"compression": "gzip", "shuffle": True, "chunks": True} if values.size > 4096 else {}
            dataset = group.create_dataset(name, data=values, **options)
            dataset.attrs["units"] = units.get(name, "")
            dataset.dims[0].attach_scale(scale)
            dataset.dims[0].label = "time_h"

    @staticmethod
    def _write_snapshots(group, snapshots: dict) -> None:
        for time_h in sorted(snapshots):
            snap = group.create_group(f"{float(time_h):011.3f}")
            snap.attrs["time_h"] = float(time_h)
            for name, array in snapshots[time_h].items():
                array = np.asarray(array)
                snap.create_dataset(name, data=array, chunks=True, compression="gzip", compression_opts=4, shuffle=True)

    def rebuild_summary(self) -> None:
        """Recreate /summary from the ``summary`` attributes of every complete run."""
        f = self.file
        if "summary" in f:
            del f["summary"]
        table = summary_table(f)
        group = f.create_group("summary", track_order=True)
        group.attrs["layout"] = "columns: one dataset per column, one row per complete run, in run-key order"
        group.attrs["columns"] = json.dumps(list(table))
        group.attrs["swept_columns"] = json.dumps(table_swept_columns(f))
        for name, values in table.items():
            if values.dtype.kind in "OUS":
                group.create_dataset(name, data=np.asarray(values, dtype=object), dtype=utf8_dtype())
            else:
                group.create_dataset(name, data=values)


def table_swept_columns(f) -> list[str]:
    names: list[str] = []
    for key in sorted(f["runs"], key=natural_key):
        for name in json.loads(plain(f["runs"][key].attrs.get("swept", "{}"))):
            if name not in names:
                names.append(name)
    return names


def summary_table(f) -> dict[str, np.ndarray]:
    """The /summary columns computed from the runs of an open file."""
    runs = f["runs"]
    keys = [k for k in sorted(runs, key=natural_key) if plain(runs[k].attrs.get("status")) == STATUS_COMPLETE]
    rows = []
    for key in keys:
        group = runs[key]
        rows.append(
            {
                "key": key,
                "replicate": int(plain(group.attrs.get("replicate", 0))),
                "seed": int(plain(group.attrs.get("seed", 0))),
                "swept": json.loads(plain(group.attrs.get("swept", "{}"))),
                "summary": {n: float(plain(v)) for n, v in group["summary"].attrs.items()}
                if "summary" in group
                else {},
            }
        )
    table: dict[str, np.ndarray] = {
        "run_key": np.array([r["key"] for r in rows], dtype=object),
        "replicate": np.array([r["replicate"] for r in rows], np.int64),
        "seed": np.array([r["seed"] for r in rows], np.int64),
    }
    swept_names: list[str] = []
    result_names: list[str] = []
    for row in rows:
        swept_names += [n for n in row["swept"] if n not in swept_names]
        result_names += [n for n in row["summary"] if n not in result_names]
    for name in swept_names:
        values = [row["swept"].get(name) for row in rows]
        present = [v for v in values if v is not None]
        if present and all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in present):
            if all(isinstance(v, int) for v in present) and len(present) == len(values):
                table[name] = np.array(values, np.int64)
            else:
                table[name] = np.array([math.nan if v is None else float(v) for v in values], np.float64)
        else:
            table[name] = np.array(
                ["" if v is None else (v if isinstance(v, str) else json.dumps(v)) for v in values], dtype=object
            )
    for name in result_names:
        if name in table:
            continue
        table[name] = np.array([row["summary"].get(name, math.nan) for row in rows], np.float64)
    return table
