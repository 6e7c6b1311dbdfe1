"""Errors raised by the catalog.

    CatalogError
    ├── HeaderError(ValueError)          a file's header cannot give a record
    │   ├── NotFitsError                 not a FITS file, empty, or truncated
    │   ├── UnknownInstrumentError       no translator claims the header
    │   └── MissingHeaderKeyError        a translator needs a key that is absent
    ├── IdentityConflict                 same dataset id, different bytes
    ├── UnknownDatasetError(LookupError) a dataset id (or file name) is not in the catalog
    ├── ValidityError(ValueError)        a validity range is empty or reversed
    ├── ValidityOverlapError             a certification would overlap an existing one
    ├── CalibrationNotFound(LookupError) no calibration of a type is valid for a raw
    ├── CertificationFileError(ValueError) a certification file cannot be read at all
    ├── CorrectionFileError(ValueError)  a record correction table cannot be read at all
    ├── CatalogCommitError               a table commit failed after retries
    ├── CatalogReadError                 a table could not be read (store unreachable)
    └── ReadOnlyQueryError(ValueError)   SQL that would change a snapshot, not just read it

Each error keeps what it names as attributes, so callers can report without parsing.
Storage and Delta failures arrive as multi-line Rust error chains (with backtraces);
their message here is one line (``one_line``), the full text kept as ``detail``.
"""

from __future__ import annotations

import re

_ANSI = re.compile(r"\x1b\[[0-9;]*[A-Za-z]")
#: Lines of an error chain that say nothing to a user: Rust backtrace frames, their
#: source locations and section headers; DuckDB's echo of the query and its caret.
_NOISE = re.compile(r"^(\d+: |at |Stack backtrace:|Caused by:|Backtrace:|LINE \d+:|[^\w]*$)")


def one_line(text: object, limit: int = 300) -> str:
    """A multi-line error chain as one line: its first line and its root cause.

    Rust error chains (deltalake, object_store) put the operation on the first line and
    the cause (``Connection refused``) on the last; the lines between, and backtraces,
    are dropped. Control characters never reach the output.
    """
    lines = []
    for raw in _ANSI.sub("", str(text)).splitlines():
        line = raw.strip().lstrip("↳").strip()
        if line and not (lines and _NOISE.match(line)):
            lines.append(line)
    if not lines:
        return ""
    first, last = lines[0], lines[-1]
    if len(lines) == 1 or last in first:
        shown = first
    else:
        shown = f"{first} {last}" if first.endswith((".", "!", "?", ":")) else f"{first}: {last}"
    shown = "".join(c if c.isprintable() else " " for c in shown)
    return shown if len(shown) <= limit else shown[: limit - 1] + "…"


class CatalogError(Exception):
    """Base of every error the catalog raises."""


class HeaderError(CatalogError, ValueError):
    """A header cannot be turned into records: a *metadata failure*."""

    def __init__(self, source: str, reason: str) -> None:
        self.source = source
        self.reason = reason
        super().__init__(f"{source}: {reason}")


class NotFitsError(HeaderError):
    """The bytes are not a complete FITS file."""


class UnknownInstrumentError(HeaderError):
    """No translator recognises the header's instrument."""

    def __init__(self, source: str, instrument: str | None) -> None:
        self.instrument = instrument
        shown = repr(instrument) if instrument is not None else "none (no INSTRUME card)"
        super().__init__(source, f"unknown instrument {shown}")


class MissingHeaderKeyError(HeaderError):
    """A translator needs a header key that the file lacks."""

    def __init__(self, source: str, key: str, instrument: str) -> None:
        self.key = key
        self.instrument = instrument
        super().__init__(source, f"missing header {key} (needed by the {instrument} translator)")


class IdentityConflict(CatalogError):
    """A file claims a dataset id already held by different bytes."""

    def __init__(self, source: str, dataset_id: str, existing_checksum: str, checksum: str):
        self.source = source
        self.dataset_id = dataset_id
        self.existing_checksum = existing_checksum
        self.checksum = checksum
        self.reason = (
            f"dataset {dataset_id} already exists with different bytes "
            f"(sha256 {existing_checksum[:12]}… here {checksum[:12]}…); nothing was overwritten"
        )
        super().__init__(f"{source}: {self.reason}")


class CatalogCommitError(CatalogError):
    """A commit to a catalog table kept conflicting or failing."""

    def __init__(self, table: str, attempts: int, cause: BaseException) -> None:
        self.table = table
        self.attempts = attempts
        self.detail = str(cause)
        super().__init__(
            f"commit to table {table!r} failed after {attempts} attempts: {one_line(cause)}"
        )


class CatalogReadError(CatalogError):
    """A catalog table could not be read, e.g. because its store is unreachable."""

    def __init__(self, table: str, cause: BaseException) -> None:
        self.table = table
        self.detail = str(cause)
        super().__init__(f"cannot read table {table!r}: {one_line(cause)}")


class UnknownDatasetError(CatalogError, LookupError):
    """A dataset named by id (or file name) is not in the catalog."""

    def __init__(self, dataset: str, reason: str = "no such dataset in the catalog") -> None:
        self.dataset = dataset
        self.reason = reason
        super().__init__(f"dataset {dataset}: {reason}")


class ValidityError(CatalogError, ValueError):
    """A validity range [begin, end) that contains no time at all."""

    def __init__(self, begin: object, end: object) -> None:
        self.begin = begin
        self.end = end
        super().__init__(
            f"empty validity range [{begin}, {end}): begin must be before end "
            "(leave either end out for an open range)"
        )


class ValidityOverlapError(CatalogError):
    """Certifying would give one data id two calibrations at the same time.

    ``existing`` is the dataset id already certified there (or requested earlier in the
    same batch), with its range.
    """

    def __init__(
        self,
        collection: str,
        dataset_type: str,
        data_id: str,
        dataset_id: str,
        requested: str,
        existing: str,
        existing_range: str,
    ) -> None:
        self.collection = collection
        self.dataset_type = dataset_type
        self.data_id = data_id
        self.dataset_id = dataset_id
        self.existing = existing
        super().__init__(
            f"{collection}: {dataset_type} {dataset_id} for {data_id} over {requested} "
            f"overlaps {existing} certified over {existing_range}; decertify that range first"
        )


class CalibrationNotFound(CatalogError, LookupError):
    """No calibration of the requested type(s) is valid for a raw in the collections."""

    def __init__(self, raw: str, missing: list[str], collections: list[str], when: object):
        self.raw = raw
        self.missing = missing
        self.collections = collections
        self.when = when
        super().__init__(
            f"{raw}: no {', '.join(missing)} valid at {when} in collections {collections}"
        )


class CertificationFileError(CatalogError, ValueError):
    """A certification file cannot be read at all (unreadable, wrong format, no columns)."""

    def __init__(self, source: str, reason: str) -> None:
        self.source = source
        self.reason = reason
        super().__init__(f"{source}: {reason}")


class CorrectionFileError(CatalogError, ValueError):
    """A record correction table cannot be read at all (unreadable, no header, no columns)."""

    def __init__(self, source: str, reason: str) -> None:
        self.source = source
        self.reason = reason
        super().__init__(f"{source}: {reason}")


class ReadOnlyQueryError(CatalogError, ValueError):
    """SQL given to a snapshot that would do more than read it (a snapshot is read-only)."""

    def __init__(self, statement: str) -> None:
        self.statement = statement
        super().__init__(
            f"the catalog is read-only: {statement} is not allowed "
            "(only SELECT, SHOW, DESCRIBE and SUMMARIZE queries)"
        )
