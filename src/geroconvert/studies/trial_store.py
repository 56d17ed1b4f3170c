"""The trial's record of finished subjects (``DIR/subjects.json``), so a stopped trial resumes.

Each subject is a pure function of the config and its index, so a trial resumed with
``--resume`` runs only the missing subjects and ends bit-identical to one that never
stopped: floats are written as JSON numbers, which Python reads back exactly.  The record
is rewritten whole (in memory, then one atomic replace) at most every ``SAVE_EVERY_S``
seconds, and always when the trial stops or ends.  It names the config it belongs to by
a digest, so a resume with another config or ``[trial]`` is refused.
"""

from __future__ import annotations

import hashlib
import json
import math
import time
from pathlib import Path

import numpy as np

from geroconvert import interrupts
from geroconvert.errors import ArchiveError
from geroconvert.studies.trial import MEASURES

STORE_NAME = "subjects.json"
STORE_FORMAT = "geroconvert trial subjects"
STORE_VERSION = 1
SAVE_EVERY_S = 2.0
RESUME_HINT = "geroconvert trial CONFIG -o DIR --resume"


def config_digest(mapping: dict) -> str:
    """A digest of everything a subject's result depends on: the config without [sweep]."""
    relevant = {key: value for key, value in mapping.items() if key != "sweep"}
    text = json.dumps(relevant, sort_keys=True, default=str, allow_nan=True)
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


class SubjectStore:
    """Finished subjects by index, saved to ``folder/subjects.json``."""

    def __init__(self, folder: str | Path, mapping: dict, total: int, n_visits: int, resume: bool):
        self.path = Path(folder) / STORE_NAME
        self.digest = config_digest(mapping)
        self.total, self.n_visits = total, n_visits
        self.subjects: dict[int, dict] = self._load() if resume else {}
        self.last_save = time.perf_counter()

    # -- reading back
    def _load(self) -> dict[int, dict]:
        if not self.path.is_file():
            raise ArchiveError(f"{self.path}: nothing to resume; run without --resume to start the trial")
        try:
            document = json.loads(self.path.read_bytes().decode("utf-8"))
        except (OSError, ValueError) as error:
            raise ArchiveError(
                f"{self.path}: not a readable trial record ({type(error).__name__}); "
                "remove it, or start the trial in a new folder"
            ) from None
        if not isinstance(document, dict) or document.get("format") != STORE_FORMAT:
            raise ArchiveError(f"{self.path}: not a geroconvert trial record; start the trial in a new folder")
        if document.get("config_sha256") != self.digest:
            raise ArchiveError(
                f"{self.path}: belongs to a different config or [trial]; resume with the config that "
                "started it, or start the trial in a new folder"
            )
        records = document.get("subjects")
        if not isinstance(records, list):
            raise ArchiveError(f"{self.path}: its 'subjects' is not a list; start the trial in a new folder")
        return {record["subject"]: record for record in (self._subject(r) for r in records)}

    def _subject(self, record) -> dict:
        bad = ArchiveError(f"{self.path}: a subject record is malformed; start the trial in a new folder")
        if not isinstance(record, dict):
            raise bad
        subject = record.get("subject")
        if isinstance(subject, bool) or not isinstance(subject, int) or not 0 <= subject < self.total:
            raise bad
        out: dict = {"subject": subject}
        for key in ("age_years", "damage_multiplier"):
            if not _finite(record.get(key)):
                raise bad
            out[key] = float(record[key])
        for key in (f"{hand}_{measure}" for hand in ("treated", "placebo") for measure in MEASURES):
            values = record.get(key)
            if not isinstance(values, list) or len(values) != self.n_visits or not all(map(_number, values)):
                raise bad
            out[key] = np.array(values, dtype=np.float64)
        return out

    # -- recording
    def add(self, subject: dict) -> None:
        self.subjects[int(subject["subject"])] = subject
        if time.perf_counter() - self.last_save >= SAVE_EVERY_S:
            self.save()

    def save(self) -> None:
        from geroconvert.archive.output import replace_with_bytes

        interrupts.check_insisted()  # a second Ctrl-C does not wait for this save
        document = {
            "format": STORE_FORMAT,
            "version": STORE_VERSION,
            "config_sha256": self.digest,
            "subjects": [_plain(self.subjects[s]) for s in sorted(self.subjects)],
        }
        data = json.dumps(document, allow_nan=True).encode("utf-8")
        replace_with_bytes(self.path, data, f"then finish with `{RESUME_HINT}`")
        self.last_save = time.perf_counter()
        interrupts.note_kept(self.kept())

    def kept(self) -> str:
        return f"{self.path} keeps {len(self.subjects)} of {self.total} subjects; finish with `{RESUME_HINT}`"


def _plain(subject: dict) -> dict:
    return {key: (value.tolist() if isinstance(value, np.ndarray) else value) for key, value in subject.items()}


def _number(value) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def _finite(value) -> bool:
    return _number(value) and math.isfinite(value)
