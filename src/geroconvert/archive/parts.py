"""A sweep's commits: each batch of finished runs is one small archive in ``OUT.h5.parts/``.

Why parts (docs/design.md, "Commits at scale"): a commit must cost what its batch costs,
not what the archive holds, and a SIGKILL at any moment must leave a readable archive
with every committed run.  Appending to the HDF5 file in place gives the first but not
the second (HDF5 can leave a file it was writing unreadable, and crashes the process on
a full disk); rewriting the file gives the second but costs O(archive) per commit.  A
part is a complete archive of its batch, built in memory and moved into place in one
step (:func:`geroconvert.archive.output.replace_with_bytes`), so it is either whole or
absent.  Readers see ``OUT.h5`` and its parts as one archive; the sweep's end merges them
into ``OUT.h5`` (once, O(archive)) and removes the folder.  A merge stopped after it
replaced ``OUT.h5`` leaves parts whose runs the archive already holds: they count once,
and the next merge removes them.
"""

from __future__ import annotations

import io
from pathlib import Path

from geroconvert.archive.output import (
    PART_NAME,
    part_files,
    parts_dir,
    remove_parts,
    remove_scratch,
    replace_with_bytes,
)
from geroconvert.archive.table import RunRows


def write_part(path: str | Path, config_text: str, root: dict, rows: RunRows, retry_hint: str) -> Path:
    """Write ``rows`` as the next part of ``path``, whole or not at all; returns the part's path."""
    from geroconvert.archive.writer import write_archive

    folder = parts_dir(path)
    folder.mkdir(parents=True, exist_ok=True)
    existing = part_files(path)
    number = int(PART_NAME.match(existing[-1].name).group(1)) + 1 if existing else 1  # type: ignore[union-attr]
    part = folder / f"part-{number:06d}.h5"
    buffer = io.BytesIO()
    write_archive(buffer, config_text, root, rows)
    replace_with_bytes(part, buffer.getvalue(), retry_hint)
    return part


def merge_parts(path: str | Path, retry_hint: str) -> int:
    """Merge the parts into ``path`` (replaced in one step), then remove them; returns the run count."""
    from geroconvert.archive.reader import read_rows
    from geroconvert.archive.writer import write_archive

    parts = part_files(path)
    checked = read_rows(path, snapshots=bool(parts))  # the file is rewritten: keep its snapshots
    if parts:
        buffer = io.BytesIO()
        write_archive(buffer, checked.config_toml, checked.attrs, checked.rows)
        replace_with_bytes(path, buffer.getvalue(), retry_hint)
    remove_parts(path)
    return checked.rows.n_runs


__all__ = ["write_part", "merge_parts", "part_files", "parts_dir", "remove_parts", "remove_scratch"]
