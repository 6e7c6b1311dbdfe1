"""Certifying calibration datasets into calibration collections, with validity ranges.

The ``calibrations`` table is append-only. Certifying appends a row with a new
``validity_id``; decertifying appends, for each range it touches, a newer row with the
same id and ``state="decertified"`` plus new rows for what is left on either side (a
split). The latest row per ``validity_id`` is the truth and ``recorded_at`` dates every
version, so what was certified at any past time stays answerable.

Within one collection, a dataset type and a data id (instrument, detector,
physical_filter) have at most one calibration at any time: an overlapping certification
is refused, never resolved silently. Candidates are certified into their own collection
(e.g. ``u/alice/candidates``) and win over the certified one by coming first in the
collection list given to a lookup.

Each write checks the ranges of one table version and commits only onto that version
(Delta refuses the commit if another landed meanwhile; the check is then made again),
so two writers certifying the same data id at the same moment cannot both succeed.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import random
import time
import uuid
from collections.abc import Callable, Iterable, Sequence
from typing import Any, TypeVar

import pyarrow.compute as pc
from deltalake import CommitProperties, DeltaTable, write_deltalake
from deltalake.exceptions import CommitFailedError, DeltaError

from .errors import (
    CatalogCommitError,
    CatalogError,
    CatalogReadError,
    UnknownDatasetError,
    ValidityError,
    ValidityOverlapError,
)
from .records import CertificationRecord, to_arrow
from .tables import TABLES, CatalogStore

TABLE = "calibrations"
CERTIFIED = "certified"
DECERTIFIED = "decertified"

#: (collection, dataset_type, instrument, detector, physical_filter)
DataKey = tuple[str, str, str, int | None, str | None]


@dataclasses.dataclass(frozen=True)
class CertificationRequest:
    """One validity range asked for: the dataset, where, and when.

    ``dataset_type``, when given, must be the dataset's own type (a check that an
    archive's file says what the catalog knows).
    """

    dataset_id: str
    collection: str
    valid_begin: dt.datetime | None = None
    valid_end: dt.datetime | None = None
    dataset_type: str | None = None


@dataclasses.dataclass
class CertifyReport:
    """What a certification batch did: new ranges, ranges already there, refusals.

    ``rejected`` holds ``(index of the request, error)``; it stays empty for
    ``certify``, which raises instead.
    """

    certified: list[CertificationRecord] = dataclasses.field(default_factory=list)
    unchanged: list[CertificationRecord] = dataclasses.field(default_factory=list)
    rejected: list[tuple[int, CatalogError]] = dataclasses.field(default_factory=list)


@dataclasses.dataclass
class DecertifyReport:
    """The ranges a decertification ended, and the pieces of them it kept."""

    removed: list[CertificationRecord] = dataclasses.field(default_factory=list)
    kept: list[CertificationRecord] = dataclasses.field(default_factory=list)


def to_utc(value: dt.datetime | None) -> dt.datetime | None:
    """A UTC datetime (naive ones are taken as UTC), or None for an open end."""
    if value is None:
        return None
    if value.tzinfo is None:
        return value.replace(tzinfo=dt.UTC)
    return value.astimezone(dt.UTC)


def certify(
    store: CatalogStore,
    collection: str,
    dataset_ids: Iterable[str],
    begin: dt.datetime | None = None,
    end: dt.datetime | None = None,
) -> CertifyReport:
    """Certify calibration datasets into ``collection`` over [begin, end), in one commit.

    Certifying a dataset again over exactly the same range is a no-op (``unchanged``).

    Args:
        store: the catalog.
        collection: the calibration collection, e.g. ``LSSTCam/calib``.
        dataset_ids: calibration datasets already in the catalog.
        begin: first valid time (inclusive); None for "always before".
        end: first time no longer valid (exclusive); None for "until further notice".

    Returns:
        A ``CertifyReport``; nothing is committed if any dataset is refused.

    Raises:
        ValidityError: ``begin`` is not before ``end``.
        UnknownDatasetError: a dataset id is not in the catalog.
        ValidityOverlapError: the range overlaps one already certified for the same
            collection, dataset type and data id.

    Example:
        >>> certify(store, "LSSTCam/calib", [bias_id], dt.datetime(2025, 6, 1, tzinfo=dt.UTC))
    """
    requests = [CertificationRequest(i, collection, begin, end) for i in dataset_ids]
    datasets = _datasets(store, {r.dataset_id for r in requests})

    def plan(active: list[CertificationRecord]) -> tuple[CertifyReport, list[CertificationRecord]]:
        report = _plan(requests, datasets, active)
        if report.rejected:
            raise report.rejected[0][1]
        return report, report.certified

    return _commit_checked(store, {collection}, plan)


def certify_requests(
    store: CatalogStore, requests: Sequence[CertificationRequest]
) -> CertifyReport:
    """Check requests against the catalog and each other, and commit the accepted ones.

    As ``plan_certifications`` then ``commit_certifications``, but atomic: the commit
    fails if another writer changed the table since it was checked, and then the check
    is made again (a bounded number of times). Refusals are in the report, not raised.

    Raises:
        CatalogCommitError: other writers kept changing the table.
    """
    datasets = _datasets(store, {r.dataset_id for r in requests})

    def plan(active: list[CertificationRecord]) -> tuple[CertifyReport, list[CertificationRecord]]:
        report = _plan(requests, datasets, active)
        return report, report.certified

    return _commit_checked(store, {r.collection for r in requests}, plan)


def plan_certifications(
    store: CatalogStore, requests: Sequence[CertificationRequest]
) -> CertifyReport:
    """Check requests against the catalog and each other; commit nothing.

    Requests are taken in order: a later one overlapping an earlier accepted one is
    refused, so a file's good rows can still be committed together. (To commit them,
    ``certify_requests``: checking here and committing later is not atomic.)
    """
    datasets = _datasets(store, {r.dataset_id for r in requests})
    active = active_certifications(store, {r.collection for r in requests})
    return _plan(requests, datasets, active)


def _plan(
    requests: Sequence[CertificationRequest],
    datasets: dict[str, dict[str, object]],
    current: Iterable[CertificationRecord],
) -> CertifyReport:
    """Check requests against the ``current`` certified ranges and each other."""
    report = CertifyReport()
    now = dt.datetime.now(dt.UTC)
    active: dict[DataKey, list[CertificationRecord]] = {}
    for record in current:
        active.setdefault(data_key(record), []).append(record)
    for index, request in enumerate(requests):
        try:
            record = _record(request, datasets, now)
        except CatalogError as exc:
            report.rejected.append((index, exc))
            continue
        same_key = active.setdefault(data_key(record), [])
        clash = next(
            (
                c
                for c in same_key
                if ranges_overlap(c.valid_begin, c.valid_end, record.valid_begin, record.valid_end)
            ),
            None,
        )
        if clash is None:
            same_key.append(record)
            report.certified.append(record)
        elif (clash.dataset_id, clash.valid_begin, clash.valid_end) == (
            record.dataset_id,
            record.valid_begin,
            record.valid_end,
        ):
            report.unchanged.append(clash)
        else:
            report.rejected.append((index, _overlap_error(record, clash)))
    return report


def commit_certifications(store: CatalogStore, records: Sequence[CertificationRecord]) -> None:
    """Append certification rows as one commit (nothing happens for none)."""
    if records:
        store.append("calibrations", to_arrow(records, CertificationRecord))


def decertify(
    store: CatalogStore,
    collection: str,
    dataset_type: str,
    begin: dt.datetime | None = None,
    end: dt.datetime | None = None,
    *,
    instrument: str | None = None,
    detector: int | None = None,
    physical_filter: str | None = None,
    dataset_id: str | None = None,
    dry_run: bool = False,
) -> DecertifyReport:
    """End certification over [begin, end), splitting ranges that reach beyond it.

    Every certified range of ``dataset_type`` in ``collection`` that overlaps the span
    (and matches each filter given) is superseded; the parts of it outside the span are
    certified again as new ranges, in the same commit. History keeps the old range.

    Args:
        store: the catalog.
        collection: the calibration collection.
        dataset_type: e.g. ``flat``.
        begin: start of the span to clear (inclusive); None for open.
        end: end of the span (exclusive); None for open.
        instrument: only this instrument's calibrations.
        detector: only this detector's.
        physical_filter: only this filter's.
        dataset_id: only this dataset's ranges.
        dry_run: work out what would be ended and kept, and commit nothing.

    Returns:
        A ``DecertifyReport`` (empty, and nothing committed, when nothing matched).

    Raises:
        ValidityError: ``begin`` is not before ``end``.

    Example:
        >>> decertify(store, "LSSTCam/calib", "flat", night_start, night_end, detector=94)
    """
    begin, end = to_utc(begin), to_utc(end)
    _check_range(begin, end)
    wanted = {
        "dataset_type": dataset_type,
        "instrument": instrument,
        "detector": detector,
        "physical_filter": physical_filter,
        "dataset_id": dataset_id,
    }

    def plan(
        active: list[CertificationRecord],
    ) -> tuple[DecertifyReport, list[CertificationRecord]]:
        report = DecertifyReport()
        now = dt.datetime.now(dt.UTC)
        for record in active:
            if any(v is not None and getattr(record, k) != v for k, v in wanted.items()):
                continue
            if not ranges_overlap(record.valid_begin, record.valid_end, begin, end):
                continue
            report.removed.append(record)
            if begin is not None and (record.valid_begin is None or record.valid_begin < begin):
                report.kept.append(_piece(record, record.valid_begin, begin, now))
            if end is not None and (record.valid_end is None or end < record.valid_end):
                report.kept.append(_piece(record, end, record.valid_end, now))
        ended = [dataclasses.replace(r, state=DECERTIFIED, recorded_at=now) for r in report.removed]
        return report, [] if dry_run else ended + report.kept

    return _commit_checked(store, {collection}, plan)


def active_certifications(
    store: CatalogStore, collections: Iterable[str]
) -> list[CertificationRecord]:
    """The certified ranges now in force in ``collections`` (latest row per range)."""
    names = sorted(set(collections))
    if not names:
        return []
    rows = store.scan(TABLE, pc.field("collection").isin(names)).to_pylist()
    return _latest_certified(rows)


def _latest_certified(rows: list[dict[str, Any]]) -> list[CertificationRecord]:
    """The ranges whose latest row (by ``recorded_at``) is certified."""
    latest: dict[str, dict[str, Any]] = {}
    for row in sorted(rows, key=lambda r: r["recorded_at"]):
        latest[str(row["validity_id"])] = row
    return [
        CertificationRecord(**row)  # type: ignore[arg-type]
        for row in latest.values()
        if row["state"] == CERTIFIED
    ]


#: Tries at a checked commit while other writers keep changing the table.
COMMIT_ATTEMPTS = 8

_Planned = TypeVar("_Planned")


def _commit_checked(
    store: CatalogStore,
    collections: Iterable[str],
    plan: Callable[[list[CertificationRecord]], tuple[_Planned, Sequence[CertificationRecord]]],
) -> _Planned:
    """Plan against the certified ranges of one table version; commit only onto it.

    ``plan`` gets the ranges in force and returns (its report, the rows to append). The
    append is refused by Delta if any other commit landed since that version (no
    automatic rebase: two appends of overlapping ranges would both pass it), and then
    the table is read and planned again. So the overlap check and the commit are one
    step for every (collection, type, data id). ``plan`` may raise to refuse.

    Raises:
        CatalogCommitError: other writers kept changing the table.
    """
    names = sorted(set(collections))
    last: BaseException | None = None
    for attempt in range(COMMIT_ATTEMPTS):
        delta = store.open(TABLE)
        if delta is None:
            store.create()
            continue
        report, rows = plan(_active_in(delta, names))
        if not rows:
            return report
        data = to_arrow(rows, CertificationRecord).cast(TABLES[TABLE].schema)
        try:
            write_deltalake(
                delta,
                data,
                mode="append",
                commit_properties=CommitProperties(max_commit_retries=0),
            )
            return report
        except (CommitFailedError, DeltaError, OSError) as exc:
            last = exc
            time.sleep(min(1.0, 0.02 * 2**attempt) * random.uniform(0.5, 1.5))
    raise CatalogCommitError(TABLE, COMMIT_ATTEMPTS, last or LookupError("no table"))


def _active_in(delta: DeltaTable, collections: Sequence[str]) -> list[CertificationRecord]:
    """The certified ranges in force in ``collections`` at ``delta``'s version."""
    if not collections:
        return []
    try:
        rows = (
            delta.to_pyarrow_dataset()
            .to_table(filter=pc.field("collection").isin(list(collections)))
            .to_pylist()
        )
    except (DeltaError, OSError) as exc:
        raise CatalogReadError(TABLE, exc) from exc
    return _latest_certified(rows)


def data_key(record: CertificationRecord) -> DataKey:
    """What may hold only one calibration at a time."""
    return (
        record.collection,
        record.dataset_type,
        record.instrument,
        record.detector,
        record.physical_filter,
    )


def describe_data_id(record: CertificationRecord) -> str:
    """``instrument=LSSTCam detector=94 physical_filter=r_57`` (unset keys left out)."""
    parts = {
        "instrument": record.instrument,
        "detector": record.detector,
        "physical_filter": record.physical_filter,
    }
    return " ".join(f"{k}={v}" for k, v in parts.items() if v is not None)


def describe_range(begin: dt.datetime | None, end: dt.datetime | None) -> str:
    """``[2025-06-01T00:00:00+00:00, open)``: the range as people read it."""
    shown = ["open" if t is None else t.isoformat() for t in (begin, end)]
    return f"[{shown[0]}, {shown[1]})"


def ranges_overlap(
    begin_a: dt.datetime | None,
    end_a: dt.datetime | None,
    begin_b: dt.datetime | None,
    end_b: dt.datetime | None,
) -> bool:
    """True if [begin_a, end_a) and [begin_b, end_b) share any time (None is open)."""
    return _before(begin_a, end_b) and _before(begin_b, end_a)


def _before(begin: dt.datetime | None, end: dt.datetime | None) -> bool:
    """``begin < end``, a None begin being -inf and a None end +inf."""
    return begin is None or end is None or begin < end


def _check_range(begin: dt.datetime | None, end: dt.datetime | None) -> None:
    if begin is not None and end is not None and begin >= end:
        raise ValidityError(begin, end)


def _piece(
    record: CertificationRecord,
    begin: dt.datetime | None,
    end: dt.datetime | None,
    now: dt.datetime,
) -> CertificationRecord:
    return dataclasses.replace(
        record, validity_id=str(uuid.uuid4()), valid_begin=begin, valid_end=end, recorded_at=now
    )


def _datasets(store: CatalogStore, ids: set[str]) -> dict[str, dict[str, object]]:
    if not ids:
        return {}
    rows = store.scan(
        "datasets",
        pc.field("dataset_id").isin(sorted(ids)),
        ["dataset_id", "dataset_type", "instrument", "detector", "dataset_filter"],
    )
    return {str(row["dataset_id"]): row for row in rows.to_pylist()}


def _record(
    request: CertificationRequest, datasets: dict[str, dict[str, object]], now: dt.datetime
) -> CertificationRecord:
    begin, end = to_utc(request.valid_begin), to_utc(request.valid_end)
    _check_range(begin, end)
    if not request.collection or request.collection != request.collection.strip():
        raise CatalogError(
            f"dataset {request.dataset_id}: invalid collection name {request.collection!r}"
        )
    found = datasets.get(request.dataset_id)
    if found is None:
        raise UnknownDatasetError(request.dataset_id)
    if request.dataset_type is not None and request.dataset_type != found["dataset_type"]:
        raise UnknownDatasetError(
            request.dataset_id,
            f"is a {found['dataset_type']}, not a {request.dataset_type}",
        )
    if found["dataset_type"] == "raw":
        raise UnknownDatasetError(request.dataset_id, "is a raw, not a calibration")
    return CertificationRecord(
        validity_id=str(uuid.uuid4()),
        collection=request.collection,
        dataset_type=str(found["dataset_type"]),
        instrument=str(found["instrument"]),
        detector=found["detector"],  # type: ignore[arg-type]
        physical_filter=found["dataset_filter"],  # type: ignore[arg-type]
        dataset_id=request.dataset_id,
        valid_begin=begin,
        valid_end=end,
        state=CERTIFIED,
        recorded_at=now,
    )


def _overlap_error(record: CertificationRecord, clash: CertificationRecord) -> ValidityOverlapError:
    return ValidityOverlapError(
        collection=record.collection,
        dataset_type=record.dataset_type,
        data_id=describe_data_id(record),
        dataset_id=record.dataset_id,
        requested=describe_range(record.valid_begin, record.valid_end),
        existing=clash.dataset_id,
        existing_range=describe_range(clash.valid_begin, clash.valid_end),
    )
