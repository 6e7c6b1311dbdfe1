"""Certifications supplied as a file (CSV or Parquet), as the archive hands them over.

Columns (case-insensitive): ``dataset_id`` or ``file_name`` (the original file name of
a dataset in the catalog), ``collection``, ``dataset_type`` (or ``type``), ``begin`` and
``end`` (ISO 8601, UTC when no zone is given; empty for an open end; ``valid_begin`` and
``valid_end`` are accepted too). Every row is checked first; the good rows are then
committed together, in one commit, and each bad row is reported with its line (CSV: the
line in the file, the header being line 1; Parquet: the row number, from 1). A file
applied twice changes nothing the second time.
"""

from __future__ import annotations

import csv
import dataclasses
import datetime as dt
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from .calibrations import (
    CertificationRequest,
    certify_requests,
    plan_certifications,
)
from .errors import CertificationFileError
from .records import CertificationRecord
from .tables import CatalogStore

_ALIASES = {
    "type": "dataset_type",
    "valid_begin": "begin",
    "valid_end": "end",
    "validity_begin": "begin",
    "validity_end": "end",
    "filename": "file_name",
    "file": "file_name",
}
_REQUIRED = ("collection", "begin", "end")


@dataclasses.dataclass(frozen=True)
class RejectedRow:
    """A row left out, with where it is in the file and why."""

    line: int
    reason: str


@dataclasses.dataclass
class ImportReport:
    """What importing one file did."""

    source: str
    certified: list[CertificationRecord] = dataclasses.field(default_factory=list)
    unchanged: list[CertificationRecord] = dataclasses.field(default_factory=list)
    rejected: list[RejectedRow] = dataclasses.field(default_factory=list)
    unit: str = "line"  # how ``RejectedRow.line`` counts: "line" (CSV) or "row" (Parquet)

    def lines(self) -> list[str]:
        """One line per rejected row: ``file:line 7: reason``."""
        return [f"{self.source}:{self.unit} {r.line}: {r.reason}" for r in self.rejected]

    def summary(self) -> dict[str, int]:
        return {
            "certified": len(self.certified),
            "unchanged": len(self.unchanged),
            "rejected": len(self.rejected),
        }


def import_certifications(
    store: CatalogStore,
    path: str | os.PathLike[str],
    file_format: str | None = None,
    dry_run: bool = False,
) -> ImportReport:
    """Certify what a CSV or Parquet file lists; bad rows are reported, not raised.

    Args:
        store: the catalog.
        path: the file.
        file_format: ``csv`` or ``parquet``; by default from the file's suffix.
        dry_run: check every row and report what would be certified; commit nothing.

    Returns:
        An ``ImportReport``: the ranges certified (one commit), those already in
        place, and the rejected rows with their line numbers.

    Raises:
        CertificationFileError: the file cannot be read, or lacks a required column.

    Example:
        >>> report = import_certifications(store, "dbb_validity.csv")
        >>> print("\\n".join(report.lines()))
    """
    source = str(path)
    fmt = (file_format or Path(path).suffix.lstrip(".")).lower()
    if fmt == "csv":
        rows, unit = list(_csv_rows(Path(path))), "line"
    elif fmt in ("parquet", "pq"):
        rows, unit = list(_parquet_rows(Path(path))), "row"
    else:
        raise CertificationFileError(source, f"unknown format {fmt!r} (use csv or parquet)")
    report = ImportReport(source, unit=unit)
    parsed: list[tuple[int, dict[str, Any]]] = []
    for line, row in rows:
        try:
            parsed.append((line, _parse(row)))
        except ValueError as exc:
            report.rejected.append(RejectedRow(line, str(exc)))
    _resolve_file_names(store, parsed, report)
    requests = [CertificationRequest(**fields) for _, fields in parsed]
    # Checked and committed as one step: a concurrent certifier cannot slip in between.
    plan = (plan_certifications if dry_run else certify_requests)(store, requests)
    report.rejected.extend(RejectedRow(parsed[i][0], str(exc)) for i, exc in plan.rejected)
    report.rejected.sort(key=lambda r: r.line)
    report.certified, report.unchanged = plan.certified, plan.unchanged
    return report


def _columns(names: list[str], source: str) -> list[str]:
    columns = [_ALIASES.get(n.strip().lower(), n.strip().lower()) for n in names]
    missing = [c for c in _REQUIRED if c not in columns]
    if "dataset_id" not in columns and "file_name" not in columns:
        missing.append("dataset_id or file_name")
    if missing:
        raise CertificationFileError(source, f"missing column {', '.join(missing)}")
    return columns


def _csv_rows(path: Path) -> Iterator[tuple[int, dict[str, Any]]]:
    try:
        with path.open(newline="", encoding="utf-8") as handle:
            reader = csv.reader(handle)
            header = next(reader, None)
            if header is None:
                raise CertificationFileError(str(path), "empty file (no header line)")
            columns = _columns(header, str(path))
            start = reader.line_num + 1
            for values in reader:
                if any(v.strip() for v in values):
                    if len(values) != len(columns):
                        values = values + [""] * (len(columns) - len(values))
                    yield start, dict(zip(columns, values, strict=False))
                start = reader.line_num + 1
    except (OSError, UnicodeDecodeError, csv.Error) as exc:
        raise CertificationFileError(str(path), f"unreadable CSV: {exc}") from None


def _parquet_rows(path: Path) -> Iterator[tuple[int, dict[str, Any]]]:
    try:
        table = pq.read_table(path)
    except (OSError, pa.ArrowException) as exc:
        raise CertificationFileError(str(path), f"unreadable Parquet: {exc}") from None
    table = table.rename_columns(_columns(table.column_names, str(path)))
    yield from enumerate(table.to_pylist(), start=1)


def _parse(row: dict[str, Any]) -> dict[str, Any]:
    """The fields of a ``CertificationRequest``, or ValueError naming what is wrong."""
    dataset_id = _text(row.get("dataset_id"))
    file_name = _text(row.get("file_name"))
    if dataset_id is None and file_name is None:
        raise ValueError("neither dataset_id nor file_name given")
    collection = _text(row.get("collection"))
    if collection is None:
        raise ValueError("no collection given")
    return {
        "dataset_id": dataset_id or f"file:{file_name}",
        "collection": collection,
        "valid_begin": _time(row.get("begin"), "begin"),
        "valid_end": _time(row.get("end"), "end"),
        "dataset_type": _text(row.get("dataset_type")),
    }


def _text(value: Any) -> str | None:
    if value is None:
        return None
    text = str(value).strip()
    return text or None


def _time(value: Any, column: str) -> dt.datetime | None:
    if isinstance(value, dt.datetime):
        return value if value.tzinfo else value.replace(tzinfo=dt.UTC)
    if isinstance(value, dt.date):
        return dt.datetime(value.year, value.month, value.day, tzinfo=dt.UTC)
    text = _text(value)
    if text is None:
        return None
    try:
        moment = dt.datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        raise ValueError(f"{column} {text!r} is not an ISO 8601 time") from None
    return moment if moment.tzinfo else moment.replace(tzinfo=dt.UTC)


def _resolve_file_names(
    store: CatalogStore, parsed: list[tuple[int, dict[str, Any]]], report: ImportReport
) -> None:
    """Replace ``file:<name>`` by the one dataset id with that original file name."""
    names = sorted({f["dataset_id"][5:] for _, f in parsed if f["dataset_id"].startswith("file:")})
    if not names:
        return
    locations = store.scan(
        "locations", pc.field("file_name").isin(names), ["dataset_id", "file_name"]
    )
    ids_by_name: dict[str, set[str]] = {}
    for row in locations.to_pylist():
        ids_by_name.setdefault(row["file_name"], set()).add(row["dataset_id"])
    types = _dataset_types(store, {i for ids in ids_by_name.values() for i in ids})
    kept: list[tuple[int, dict[str, Any]]] = []
    for line, fields in parsed:
        if not fields["dataset_id"].startswith("file:"):
            kept.append((line, fields))
            continue
        name = fields["dataset_id"][5:]
        ids = sorted(ids_by_name.get(name, ()))
        if fields["dataset_type"] is not None:
            ids = [i for i in ids if types.get(i) == fields["dataset_type"]]
        if len(ids) == 1:
            kept.append((line, {**fields, "dataset_id": ids[0]}))
        elif not ids:
            reason = f"file {name}: no such dataset in the catalog"
            report.rejected.append(RejectedRow(line, reason))
        else:
            reason = f"file {name}: {len(ids)} datasets have this name; give dataset_id"
            report.rejected.append(RejectedRow(line, reason))
    parsed[:] = kept


def _dataset_types(store: CatalogStore, ids: set[str]) -> dict[str, str]:
    if not ids:
        return {}
    rows = store.scan(
        "datasets", pc.field("dataset_id").isin(sorted(ids)), ["dataset_id", "dataset_type"]
    )
    return {r["dataset_id"]: r["dataset_type"] for r in rows.to_pylist()}
