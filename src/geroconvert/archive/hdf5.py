"""The run archive (docs/design.md, "The run archive"): one self-describing HDF5 file, no pickles.

One import for writing and reading archives; the parts live in
:mod:`~geroconvert.archive.schema` (the layout, schema version and run statuses),
:mod:`~geroconvert.archive.output` (refuse to clobber, write atomically),
:mod:`~geroconvert.archive.table` (runs as columns, in memory),
:mod:`~geroconvert.archive.writer` (:class:`ArchiveWriter`, :func:`write_archive`),
:mod:`~geroconvert.archive.validate` (the one schema check every reader goes through),
:mod:`~geroconvert.archive.reader` (open, check and read archives and runs),
:mod:`~geroconvert.archive.parts` (a sweep's commits) and
:mod:`~geroconvert.archive.schema1` (the old layout, read to convert it).
"""

from geroconvert.archive.output import (
    atomic_output,
    check_not_an_input,
    check_output,
    exclusive_writer,
    partial_path,
    replace_with_bytes,
)
from geroconvert.archive.parts import merge_parts, part_files, parts_dir, remove_parts, write_part
from geroconvert.archive.reader import (
    complete_run_keys,
    read_archive,
    read_complete_runs,
    read_rows,
    read_run,
    software_change,
    summary_table,
)
from geroconvert.archive.schema import (
    READ_ERRORS,
    RPP_UNITS,
    SCHEMA_VERSION,
    SNAPSHOT_FIELDS,
    STATUS_COMPLETE,
    check_key,
    natural_key,
    sha256_text,
)
from geroconvert.archive.table import Curves, RunRows
from geroconvert.archive.writer import ArchiveWriter, write_archive
from geroconvert.errors import ArchiveError

__all__ = [
    "ArchiveWriter",
    "write_archive",
    "RunRows",
    "Curves",
    "summary_table",
    "read_rows",
    "read_archive",
    "read_run",
    "complete_run_keys",
    "read_complete_runs",
    "merge_parts",
    "part_files",
    "parts_dir",
    "remove_parts",
    "write_part",
    "software_change",
    "atomic_output",
    "check_not_an_input",
    "check_output",
    "exclusive_writer",
    "partial_path",
    "replace_with_bytes",
    "SCHEMA_VERSION",
    "STATUS_COMPLETE",
    "SNAPSHOT_FIELDS",
    "RPP_UNITS",
    "READ_ERRORS",
    "check_key",
    "natural_key",
    "sha256_text",
    "ArchiveError",
]
