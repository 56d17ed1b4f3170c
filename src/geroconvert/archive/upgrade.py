"""``geroconvert upgrade``: an archive of schema 1 rewritten in the current schema.

The old file is only read (through the checks geroconvert 0.1 applied to it); its complete
runs, config and provenance are written to a new file, which also records when it was
converted and by which version.  Values are copied, not recomputed: the converted runs
hold the same numbers, bit for bit.
"""

from __future__ import annotations

from pathlib import Path

from geroconvert.archive.output import atomic_output
from geroconvert.archive.values import attr, count
from geroconvert.errors import ArchiveError


def upgrade(old: str | Path, new: str | Path, overwrite: bool = False) -> int:
    """Convert ``old`` (schema 1) into ``new``; returns the number of runs written."""
    from geroconvert import __version__
    from geroconvert.archive.provenance import utc_now
    from geroconvert.archive.reader import open_file
    from geroconvert.archive.schema1 import read_schema1
    from geroconvert.archive.writer import write_archive

    with open_file(old) as f:
        version = attr(f, "schema_version", old, count, None)  # a value of another type: one line
        if version is not None and version >= 2:
            raise ArchiveError(f"{old}: already schema {version}; nothing to convert")
        attrs, config_toml, rows = read_schema1(f, old)
    root = {**attrs, "converted_from_schema": 1, "converted_utc": utc_now(), "converted_by": __version__}
    with atomic_output(new, overwrite, "then run `geroconvert upgrade` again") as buffer:
        write_archive(buffer, config_toml, root, rows)
    return rows.n_runs
