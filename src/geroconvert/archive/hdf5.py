"""The run archive (docs/design.md, "The run archive"): one self-describing HDF5 file, no pickles.

One import for writing and reading archives; the parts live in
:mod:`~geroconvert.archive.schema` (the layout, schema version and run statuses),
:mod:`~geroconvert.archive.output` (refuse to clobber, write atomically),
:mod:`~geroconvert.archive.writer` (:class:`ArchiveWriter`, the /summary table),
:mod:`~geroconvert.archive.validate` (the one schema check every reader goes through) and
:mod:`~geroconvert.archive.reader` (open, check and read archives and runs).
"""

from geroconvert.archive.output import (
    atomic_output,
    check_not_an_input,
    check_output,
    exclusive_writer,
    partial_path,
    replace_with_bytes,
)
from geroconvert.archive.reader import (
    checked,
    complete_run_keys,
    open_checked,
    read_archive,
    read_complete_runs,
    read_run,
    software_change,
)
from geroconvert.archive.schema import (
    READ_ERRORS,
    RPP_UNITS,
    SCHEMA_VERSION,
    SNAPSHOT_FIELDS,
    STATUS_COMPLETE,
    STATUS_WRITING,
    check_key,
    natural_key,
    sha256_text,
)
from geroconvert.archive.writer import ArchiveWriter, summary_table, table_swept_columns
from geroconvert.errors import ArchiveError

__all__ = [
    "ArchiveWriter",
    "summary_table",
    "table_swept_columns",
    "open_checked",
    "read_archive",
    "read_run",
    "complete_run_keys",
    "checked",
    "read_complete_runs",
    "software_change",
    "atomic_output",
    "check_not_an_input",
    "check_output",
    "exclusive_writer",
    "partial_path",
    "replace_with_bytes",
    "SCHEMA_VERSION",
    "STATUS_COMPLETE",
    "STATUS_WRITING",
    "SNAPSHOT_FIELDS",
    "RPP_UNITS",
    "READ_ERRORS",
    "check_key",
    "natural_key",
    "sha256_text",
    "ArchiveError",
]
