"""Correcting records after ingest: a wrong filter, a wrong "can see sky" flag.

A `RecordCorrection` sets one field of one target. The target is a whole exposure
(``detector`` None): its exposure record and, for the fields each raw also carries from
its own header (``RAW_FIELDS``: ``physical_filter``, the raw's ``dataset_filter``), every
raw of the exposure. Or it is
one raw (``detector`` given, or a ``dataset_id``): that raw's dataset row only, which is
how a filter wrong in 3 of 205 detectors' headers is fixed. A raw-level correction wins
over an exposure-level one for the same raw and field.

Nothing is rewritten. Corrected records are appended as newer rows (the latest row
per key is current), so ``*_history`` keeps the old values, a snapshot as of an
earlier time shows them, and a replica that copies rows carries the corrections too.
Each new row says what was corrected (``corrected_fields``, accumulated over
corrections) and why (``correction``: the source, and the reason when one is given).

Every correction is checked first; the good ones are then committed together (one
commit per table: exposures, then datasets, then an empty ``locations`` commit so the
catalog's version numbering counts the correction). Bad ones are reported with their
source. A correction that changes nothing commits nothing: applying one twice is a
no-op. How later ingests treat a corrected exposure is described in ``oods.records``.
"""

from __future__ import annotations

import csv
import dataclasses
import datetime as dt
import os
import typing
from collections.abc import Iterable, Sequence
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc

from .bands import band_of
from .errors import CorrectionFileError
from .query import VERSION_TABLE
from .records import ExposureRecord, Translation
from .tables import TABLES, CatalogStore

#: Fields that name an exposure or place its files: a correction may not change them.
IDENTITY_FIELDS = ("instrument", "exposure", "obs_id", "day_obs", "seq_num")
#: Fields OODS writes about the record itself.
BOOKKEEPING_FIELDS = ("corrected_cards", "corrected_fields", "correction")
#: Exposure fields each raw's dataset row also carries, from its own header.
RAW_FIELDS = ("physical_filter",)
#: The datasets column that holds each of those fields for one raw.
RAW_COLUMNS = {"physical_filter": "dataset_filter"}
#: Fields derived from others (``band`` from ``physical_filter``): follow, never set.
DERIVED_FIELDS = ("band",)
#: Every field a correction may change.
CORRECTABLE_FIELDS = tuple(
    f.name
    for f in dataclasses.fields(ExposureRecord)
    if f.name not in IDENTITY_FIELDS + BOOKKEEPING_FIELDS + DERIVED_FIELDS
)
_TYPES = typing.get_type_hints(ExposureRecord)
_TRUE = {"true", "t", "yes", "y", "1"}
_FALSE = {"false", "f", "no", "n", "0"}
_TABLE_COLUMNS = ("instrument", "exposure", "field", "value")


@dataclasses.dataclass(frozen=True)
class RecordCorrection:
    """Set ``field`` to ``value`` for a whole exposure, or for one raw of it.

    ``source`` says where the correction came from (a table line, a corrected file) and
    is kept, with ``reason``, in the corrected rows' ``correction`` note.
    """

    instrument: str
    exposure: int
    field: str
    value: object
    detector: int | None = None
    dataset_id: str | None = None
    source: str = "correction"
    reason: str | None = None

    def target(self) -> str:
        """E.g. ``LSSTCam 2025060100001 detector 5``."""
        shown = f"{self.instrument} {self.exposure}"
        if self.dataset_id is not None:
            return f"{shown} dataset {self.dataset_id}"
        return shown if self.detector is None else f"{shown} detector {self.detector}"

    def note(self) -> str:
        return self.source if not self.reason else f"{self.source}: {self.reason}"


@dataclasses.dataclass(frozen=True)
class Rejected:
    """A correction left out: where it came from and why."""

    source: str
    reason: str

    def line(self) -> str:
        return f"{self.source}: {self.reason}"


@dataclasses.dataclass(frozen=True)
class FieldChange:
    """One field of one record superseded: ``table`` is exposures or datasets."""

    table: str
    instrument: str
    exposure: int
    detector: int | None
    dataset_id: str | None
    field: str
    old: object
    new: object
    source: str


@dataclasses.dataclass
class RecordsReport:
    """What a records update did; ``recorded_at`` is the new rows' time (None: no commit)."""

    changes: list[FieldChange] = dataclasses.field(default_factory=list)
    unchanged: list[RecordCorrection] = dataclasses.field(default_factory=list)
    rejected: list[Rejected] = dataclasses.field(default_factory=list)
    recorded_at: dt.datetime | None = None

    def lines(self) -> list[str]:
        """One line per rejected correction: ``fixes.csv line 3: reason``."""
        return [r.line() for r in self.rejected]

    def summary(self) -> dict[str, int]:
        return {
            "exposures": len({(c.instrument, c.exposure) for c in self._in("exposures")}),
            "datasets": len({c.dataset_id for c in self._in("datasets")}),
            "fields": len(self.changes),
            "unchanged": len(self.unchanged),
            "rejected": len(self.rejected),
        }

    def to_dict(self) -> dict[str, object]:
        return {
            **self.summary(),
            "recorded_at": self.recorded_at,
            "changes": [dataclasses.asdict(c) for c in self.changes],
            "rejections": [dataclasses.asdict(r) for r in self.rejected],
        }

    def _in(self, table: str) -> list[FieldChange]:
        return [c for c in self.changes if c.table == table]


def check_field(field: str, raw_level: bool = False) -> str | None:
    """Why ``field`` cannot be corrected (for one raw with ``raw_level``), or None."""
    if field in BOOKKEEPING_FIELDS:
        return f"field {field!r} is written by OODS itself, not corrected"
    if field in DERIVED_FIELDS:
        return f"field {field!r} is derived from physical_filter: correct physical_filter"
    if field not in CORRECTABLE_FIELDS and field not in IDENTITY_FIELDS:
        return f"unknown field {field!r} (correctable: {', '.join(CORRECTABLE_FIELDS)})"
    if raw_level and field not in RAW_FIELDS:
        return (
            f"{field} is an exposure field, the same for every detector: leave the "
            "detector empty to correct the whole exposure"
        )
    return None


def parse_value(field: str, text: str) -> object:
    """The value of ``field`` written as text (a table cell); empty means none.

    Raises:
        ValueError: the text is not a value of the field's type.
    """
    annotation = _TYPES[field]
    nullable = type(None) in typing.get_args(annotation)
    kind = next((a for a in typing.get_args(annotation) if a is not type(None)), annotation)
    text = text.strip()
    if not text:
        if nullable:
            return None
        raise ValueError(f"{field} cannot be empty")
    if kind is bool:
        if text.lower() in _TRUE | _FALSE:
            return text.lower() in _TRUE
        raise ValueError(f"{field} takes true or false, not {text!r}")
    if kind is dt.datetime:
        try:
            moment = dt.datetime.fromisoformat(text.replace("Z", "+00:00"))
        except ValueError:
            raise ValueError(f"{field} takes an ISO 8601 time, not {text!r}") from None
        return moment if moment.tzinfo else moment.replace(tzinfo=dt.UTC)
    try:
        return kind(text)
    except ValueError:
        raise ValueError(f"{field} takes a {kind.__name__}, not {text!r}") from None


def corrections_from_translation(
    translation: Translation,
    source: str,
    reason: str | None = None,
    dataset_id: str | None = None,
) -> list[RecordCorrection]:
    """What a corrected header says: its exposure's fields, and its raw's own fields.

    Fields that already hold these values are reported unchanged when applied; identity
    fields must agree with the catalog (a header naming another exposure is refused).
    """
    exposure = translation.exposure
    common = {"instrument": exposure.instrument, "exposure": exposure.exposure}
    found = [
        RecordCorrection(
            **common, field=name, value=getattr(exposure, name), source=source, reason=reason
        )
        for name in (*IDENTITY_FIELDS[2:], *CORRECTABLE_FIELDS)
    ]
    found += [
        RecordCorrection(
            **common,
            field=name,
            value=getattr(exposure, name),
            detector=translation.detector.detector,
            dataset_id=dataset_id,
            source=source,
            reason=reason,
        )
        for name in RAW_FIELDS
    ]
    return found


def read_correction_table(
    path: str | os.PathLike[str], reason: str | None = None
) -> tuple[list[RecordCorrection], list[Rejected]]:
    """The corrections a CSV table lists, and its rows that are not corrections.

    Columns (case-insensitive): ``instrument``, ``exposure``, ``field``, ``value``, and
    optionally ``detector`` (empty: the whole exposure) and ``reason`` (default:
    ``reason``). Each row's source is ``<path> line <n>``, the header being line 1.

    Raises:
        CorrectionFileError: the file cannot be read, or lacks a required column.

    Example:
        >>> corrections, bad = read_correction_table("fixes.csv", reason="filter log")
    """
    source = str(path)
    try:
        with open(path, newline="", encoding="utf-8") as file:
            reader = csv.reader(file)
            rows = [(reader.line_num, row) for row in reader]
    except (OSError, UnicodeDecodeError, csv.Error) as exc:
        raise CorrectionFileError(source, f"unreadable: {exc}") from None
    if not rows:
        raise CorrectionFileError(source, "empty file (no header line)")
    columns = [c.strip().lower() for c in rows[0][1]]
    missing = [c for c in _TABLE_COLUMNS if c not in columns]
    if missing:
        raise CorrectionFileError(source, f"missing column(s) {', '.join(missing)}")
    corrections: list[RecordCorrection] = []
    rejected: list[Rejected] = []
    for line, values in rows[1:]:
        if not any(v.strip() for v in values):
            continue  # blank line
        where = f"{source} line {line}"
        cells = dict(zip(columns, values, strict=False))
        try:
            corrections.append(_table_row(cells, where, reason))
        except ValueError as exc:
            rejected.append(Rejected(where, str(exc)))
    return corrections, rejected


def correct_records(
    store: CatalogStore,
    corrections: Sequence[RecordCorrection],
    now: dt.datetime | None = None,
    dry_run: bool = False,
) -> RecordsReport:
    """Check corrections, then supersede the records they change in one commit per table.

    Args:
        store: the catalog.
        corrections: in order; of two that set the same field of the same target to
            different values, the later is rejected.
        now: the new rows' ``recorded_at`` (default: now).
        dry_run: check and report the changes, and commit nothing.

    Returns:
        A `RecordsReport`; rejected corrections are in it, never raised.

    Raises:
        CatalogCommitError: a commit failed (nothing after it was committed).

    Example:
        >>> fix = RecordCorrection("LSSTCam", 2025060100001, "can_see_sky", False,
        ...                        reason="dome closed")
        >>> correct_records(store, [fix]).summary()
    """
    now = now or dt.datetime.now(dt.UTC)
    report = RecordsReport()
    if not corrections:
        return report
    exposures, raws = _current(store, sorted({c.exposure for c in corrections}))
    accepted = _accept(corrections, exposures, raws, report)
    rows = _Rows(now)
    # Exposure-level first: a raw-level correction of the same field then wins.
    for correction in sorted(accepted, key=lambda c: c.detector is not None or bool(c.dataset_id)):
        changed = _apply(correction, accepted, exposures, raws, rows, report)
        if not changed:
            report.unchanged.append(correction)
    if (rows.exposures or rows.datasets) and not dry_run:
        rows.commit(store)
        report.recorded_at = now
    return report


def _table_row(cells: dict[str, str], source: str, reason: str | None) -> RecordCorrection:
    instrument = cells["instrument"].strip()
    if not instrument:
        raise ValueError("instrument is empty")
    field = cells["field"].strip()
    detector = _integer(cells.get("detector", ""), "detector")
    problem = check_field(field, detector is not None)
    if problem is not None:
        raise ValueError(problem)
    exposure = _integer(cells["exposure"], "exposure")
    if exposure is None:
        raise ValueError("exposure is empty")
    return RecordCorrection(
        instrument=instrument,
        exposure=exposure,
        field=field,
        value=parse_value(field, cells["value"]),
        detector=detector,
        source=source,
        reason=(cells.get("reason") or "").strip() or reason,
    )


def _integer(text: str, name: str) -> int | None:
    text = text.strip()
    if not text:
        return None
    try:
        return int(text)
    except ValueError:
        raise ValueError(f"{name} {text!r} is not an integer") from None


def _current(
    store: CatalogStore, exposure_ids: list[int]
) -> tuple[dict[tuple[str, int], dict[str, Any]], dict[tuple[str, int], list[dict[str, Any]]]]:
    """The current exposure rows and raw dataset rows of these exposures."""
    wanted = pc.field("exposure").isin(exposure_ids)
    exposures: dict[tuple[str, int], dict[str, Any]] = {}
    for row in _latest(store.scan("exposures", wanted), "recorded_at"):
        exposures[(row["instrument"], row["exposure"])] = row
    latest: dict[str, dict[str, Any]] = {}
    for row in _latest(store.scan("datasets", wanted & (pc.field("dataset_type") == "raw"))):
        latest[row["dataset_id"]] = row
    raws: dict[tuple[str, int], list[dict[str, Any]]] = {}
    for row in sorted(latest.values(), key=lambda r: (r["detector"], r["dataset_id"])):
        raws.setdefault((row["instrument"], row["exposure"]), []).append(row)
    return exposures, raws


def _latest(table: pa.Table, order: str = "recorded_at") -> list[dict[str, Any]]:
    """Rows in commit order, so that a later row for a key replaces an earlier one."""
    return sorted(table.to_pylist(), key=lambda r: r[order])


def _accept(
    corrections: Iterable[RecordCorrection],
    exposures: dict[tuple[str, int], dict[str, Any]],
    raws: dict[tuple[str, int], list[dict[str, Any]]],
    report: RecordsReport,
) -> list[RecordCorrection]:
    """The corrections that can apply, values typed; the others go to ``report.rejected``."""
    accepted: dict[tuple[object, ...], RecordCorrection] = {}
    for correction in corrections:
        problem = _problem(correction, exposures, raws)
        if problem is None:
            correction = dataclasses.replace(
                correction, value=_typed(correction.field, correction.value)
            )
            target = (
                correction.instrument,
                correction.exposure,
                correction.detector,
                correction.dataset_id,
                correction.field,
            )
            earlier = accepted.get(target)
            if earlier is None:
                accepted[target] = correction
                continue
            if earlier.value == correction.value:
                continue  # the same correction twice (e.g. from two corrected files)
            problem = (
                f"{correction.field} {correction.value!r} conflicts with "
                f"{earlier.value!r} from {earlier.source}"
            )
        report.rejected.append(Rejected(correction.source, f"{correction.target()}: {problem}"))
    return list(accepted.values())


def _problem(
    correction: RecordCorrection,
    exposures: dict[tuple[str, int], dict[str, Any]],
    raws: dict[tuple[str, int], list[dict[str, Any]]],
) -> str | None:
    raw_level = correction.detector is not None or correction.dataset_id is not None
    problem = check_field(correction.field, raw_level)
    if problem is not None:
        return problem
    key = (correction.instrument, correction.exposure)
    stored = exposures.get(key)
    if stored is None:
        return "no such exposure in the catalog"
    try:
        value = _typed(correction.field, correction.value)
    except ValueError as exc:
        return str(exc)
    if correction.field in IDENTITY_FIELDS and stored[correction.field] != value:
        return (
            f"{correction.field} cannot be corrected: it names the exposure and places its "
            f"files (catalog {stored[correction.field]!r}, correction {value!r})"
        )
    if raw_level and not _targets(correction, raws.get(key, [])):
        return "no such raw in the catalog"
    return None


def _typed(field: str, value: object) -> object:
    """A value given as text for a field of another type, parsed (as a table cell is)."""
    if isinstance(value, str) and str not in (_TYPES[field], *typing.get_args(_TYPES[field])):
        return parse_value(field, value)
    return value


def _targets(correction: RecordCorrection, raws: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The raw rows a correction applies to."""
    if correction.dataset_id is not None:
        return [r for r in raws if r["dataset_id"] == correction.dataset_id]
    if correction.detector is not None:
        return [r for r in raws if r["detector"] == correction.detector]
    return raws


@dataclasses.dataclass
class _Rows:
    """The superseding rows being built: one per record, however many fields change."""

    now: dt.datetime
    exposures: dict[tuple[str, int], dict[str, Any]] = dataclasses.field(default_factory=dict)
    datasets: dict[str, dict[str, Any]] = dataclasses.field(default_factory=dict)

    def change(
        self,
        book: dict[Any, dict[str, Any]],
        key: Any,
        stored: dict[str, Any],
        field: str,
        value: object,
        note: str,
        column: str | None = None,
    ) -> None:
        """Set ``field`` (held in ``column``, by default the field's own name)."""
        row = book.setdefault(key, {**stored, "recorded_at": self.now, "correction": None})
        row[column or field] = value
        if "band" in row and field == "physical_filter":
            row["band"] = band_of(str(value))
        fields = set(filter(None, (stored.get("corrected_fields") or "").split(",")))
        fields |= set(filter(None, (row.get("corrected_fields") or "").split(",")))
        row["corrected_fields"] = ",".join(sorted(fields | {field}))
        notes = [n for n in (row["correction"] or "").split("; ") if n]
        row["correction"] = "; ".join(notes if note in notes else [*notes, note])

    def commit(self, store: CatalogStore) -> None:
        # The order of ingest: exposures, datasets, then the table that numbers versions.
        for table, rows in (("exposures", self.exposures), ("datasets", self.datasets)):
            if rows:
                schema = TABLES[table].schema
                store.append(table, pa.Table.from_pylist(list(rows.values()), schema=schema))
        store.append(VERSION_TABLE, TABLES[VERSION_TABLE].schema.empty_table())


def _apply(
    correction: RecordCorrection,
    accepted: list[RecordCorrection],
    exposures: dict[tuple[str, int], dict[str, Any]],
    raws: dict[tuple[str, int], list[dict[str, Any]]],
    rows: _Rows,
    report: RecordsReport,
) -> bool:
    """Record what ``correction`` changes in ``rows``; False if it changes nothing."""
    key = (correction.instrument, correction.exposure)
    field, value, note = correction.field, correction.value, correction.note()
    if field in IDENTITY_FIELDS:
        return False  # checked equal to the catalog's
    changed = False
    raw_level = correction.detector is not None or correction.dataset_id is not None
    if not raw_level:
        stored = exposures[key]
        if stored[field] != value:
            rows.change(rows.exposures, key, stored, field, value, note)
            report.changes.append(_change("exposures", stored, None, field, value, note))
            changed = True
    if field not in RAW_FIELDS:
        return changed
    specific = {
        (c.detector, c.dataset_id)
        for c in accepted
        if c.field == field and (c.detector is not None or c.dataset_id is not None)
    }
    for raw in _targets(correction, raws.get(key, [])):
        if not raw_level and _has_own(raw, specific):
            continue  # a correction of this raw itself wins
        current = rows.datasets.get(raw["dataset_id"], raw)
        column = RAW_COLUMNS[field]
        if current[column] != value:
            rows.change(rows.datasets, raw["dataset_id"], raw, field, value, note, column)
            report.changes.append(_change("datasets", raw, raw, field, value, note, column))
            changed = True
    return changed


def _has_own(raw: dict[str, Any], specific: set[tuple[int | None, str | None]]) -> bool:
    return (raw["detector"], None) in specific or any(
        dataset == raw["dataset_id"] for _, dataset in specific
    )


def _change(
    table: str,
    stored: dict[str, Any],
    raw: dict[str, Any] | None,
    field: str,
    value: object,
    note: str,
    column: str | None = None,
) -> FieldChange:
    return FieldChange(
        table=table,
        instrument=stored["instrument"],
        exposure=stored["exposure"],
        detector=None if raw is None else raw["detector"],
        dataset_id=None if raw is None else raw["dataset_id"],
        field=field,
        old=stored[column or field],
        new=value,
        source=note,
    )
