"""The gate out of ``hold``, and pins: the only ways OODS changes an object's class.

Nothing the archive does not hold may ever expire. New raws are tagged ``hold``, which
no lifecycle rule matches; ``release`` moves a dataset to an expiring class only after
confirming that the archive site has the same dataset, present, with the same size and
SHA-256 (its catalog row, and a HEAD of its object). Everything else stays in ``hold``
and is reported with the reason. The replica's push calls ``release`` after a verified
push; ``oods retention release --verified-at SITE`` does the same by hand.

Re-tagging does not restart an object's age: MinIO counts a rule's days from the
object's modification time (its upload), so a raw released after a long hold may expire
at the scanner's next pass (see ``oods.lifecycle``).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Iterable
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pyarrow as pa

from ._s3 import RETENTION_TAG, TRANSPORT_ERRORS, describe, error_code
from .errors import OodsError
from .location_states import PRESENT, latest_locations
from .retention_classes import DEFAULT_RELEASE_TO, HOLD, PINNED
from .retention_tags import BEFORE_PIN_TAG, object_tags, retention_class, set_object_tags
from .site import Site


@dataclasses.dataclass
class RetagReport:
    """Datasets whose class changed, those already so, and those refused with why."""

    to_class: str
    changed: list[str] = dataclasses.field(default_factory=list)
    unchanged: list[str] = dataclasses.field(default_factory=list)
    refused: dict[str, str] = dataclasses.field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)

    def in_order(self, dataset_ids: list[str]) -> RetagReport:
        """The lists in the order the ids were given (work runs in parallel)."""
        rank = {dataset_id: i for i, dataset_id in enumerate(dataset_ids)}
        self.changed.sort(key=rank.__getitem__)
        self.unchanged.sort(key=rank.__getitem__)
        self.refused = dict(sorted(self.refused.items(), key=lambda kv: rank.get(kv[0], -1)))
        return self


#: What ``release`` returns: ``changed`` are the released datasets.
ReleaseReport = RetagReport


def release(
    site: Site, dataset_ids: Iterable[str], archive: Site, to_class: str = DEFAULT_RELEASE_TO
) -> ReleaseReport:
    """Move each dataset from ``hold`` to ``to_class`` if ``archive`` verifiably holds it.

    Verified means: the archive's latest location row for the dataset is present with
    the same size and checksum as here, and its object answers a HEAD with that size
    (and, when it carries one, the same ``sha256`` metadata). A pinned dataset stays
    pinned; one already in ``to_class`` is ``unchanged``; all others are ``refused``.

    Raises:
        ValueError: ``to_class`` is ``hold`` or ``pinned``.
        CatalogReadError: a catalog could not be read.
    """
    if to_class in (HOLD, PINNED):
        raise ValueError(f"release moves to an expiring class, not {to_class!r}")
    report = RetagReport(to_class)
    wanted = list(dict.fromkeys(dataset_ids))
    here = _present_rows(site, wanted, report)
    theirs = _rows_by_id(latest_locations(archive, list(here)))

    def verify_then_retag(dataset_id: str, row: dict[str, Any]) -> None:
        reason = _archive_disagrees(archive, row, theirs.get(dataset_id))
        if reason:
            report.refused[dataset_id] = reason
        else:
            _retag(site, dataset_id, row["key"], to_class, report, allowed_from=(HOLD,))

    _in_parallel(site, here, verify_then_retag)
    return report.in_order(wanted)


def pin(site: Site, dataset_ids: Iterable[str]) -> RetagReport:
    """Tag each present dataset ``pinned`` (never expired, never evicted), remembering
    its class for ``unpin``."""
    report = RetagReport(PINNED)
    wanted = list(dict.fromkeys(dataset_ids))
    here = _present_rows(site, wanted, report)
    _in_parallel(
        site, here, lambda dataset_id, row: _retag(site, dataset_id, row["key"], PINNED, report)
    )
    return report.in_order(wanted)


def unpin(site: Site, dataset_ids: Iterable[str]) -> RetagReport:
    """Give each pinned dataset back the class it had when pinned (``hold`` if unknown).

    An unpinned object is as old as its upload: back in an expiring class, it may be
    overdue at once.
    """
    report = RetagReport("(before pin)")
    wanted = list(dict.fromkeys(dataset_ids))

    def restore(dataset_id: str, row: dict[str, Any]) -> None:
        try:
            tags = object_tags(site.s3, site.bucket, row["key"])
            if retention_class(tags) != PINNED:
                report.unchanged.append(dataset_id)
                return
            before = tags.pop(BEFORE_PIN_TAG, HOLD)
            tags[RETENTION_TAG] = HOLD if before == PINNED else before
            set_object_tags(site.s3, site.bucket, row["key"], tags)
        except OodsError as exc:
            report.refused[dataset_id] = str(exc)
            return
        report.changed.append(dataset_id)

    _in_parallel(site, _present_rows(site, wanted, report), restore)
    return report.in_order(wanted)


def _in_parallel(
    site: Site, rows: dict[str, dict[str, Any]], work: Callable[[str, dict[str, Any]], None]
) -> None:
    """``work(dataset_id, row)`` for each row, ``site.config.workers`` at a time: each is
    a few small requests, so a night of 200,000 files is bound by round trips."""
    with ThreadPoolExecutor(max_workers=site.config.workers) as pool:
        for future in [pool.submit(work, i, row) for i, row in rows.items()]:
            future.result()


def _present_rows(
    site: Site, dataset_ids: list[str], report: RetagReport
) -> dict[str, dict[str, Any]]:
    """The latest location rows of the ids that are present here; the rest refused."""
    rows = _rows_by_id(latest_locations(site, dataset_ids))
    present: dict[str, dict[str, Any]] = {}
    for dataset_id in dataset_ids:
        row = rows.get(dataset_id)
        if row is None:
            report.refused[dataset_id] = "unknown dataset here"
        elif row["state"] != PRESENT:
            report.refused[dataset_id] = f"not present here ({row['state']})"
        else:
            present[dataset_id] = row
    return present


def _rows_by_id(table: pa.Table) -> dict[str, dict[str, Any]]:
    return {row["dataset_id"]: row for row in table.to_pylist()}


def _archive_disagrees(archive: Site, row: dict[str, Any], theirs: dict[str, Any] | None) -> str:
    """Why the archive's copy does not verify ``row`` ('' when it does)."""
    if theirs is None:
        return f"the archive ({archive.bucket}) has no copy"
    if theirs["state"] != PRESENT:
        return f"the archive's copy is {theirs['state']}"
    if theirs["size"] != row["size"] or theirs["checksum"] != row["checksum"]:
        return "the archive's catalog has other bytes (size or checksum differs)"
    try:
        head = archive.s3.head_object(Bucket=archive.bucket, Key=theirs["key"])
    except TRANSPORT_ERRORS as exc:
        if error_code(exc) in ("404", "NoSuchKey", "NotFound"):
            return f"the archive's object {theirs['key']} is missing"
        return f"the archive did not answer for {theirs['key']}: {describe(exc)}"
    if head.get("ContentLength") != row["size"]:
        return f"the archive's object has {head.get('ContentLength')} bytes, not {row['size']}"
    sha256 = head.get("Metadata", {}).get("sha256")
    if sha256 is not None and sha256 != row["checksum"]:
        return "the archive's object has another sha256"
    return ""


def _retag(
    site: Site,
    dataset_id: str,
    key: str,
    to_class: str,
    report: RetagReport,
    allowed_from: tuple[str, ...] | None = None,
) -> None:
    """Set the class of ``key``, keeping its other tags; outcome into ``report``."""
    try:
        tags = object_tags(site.s3, site.bucket, key)
        current = retention_class(tags)
        if current == to_class:
            report.unchanged.append(dataset_id)
            return
        if allowed_from is not None and current not in allowed_from:
            report.refused[dataset_id] = f"in {current or 'no class'}, not in {HOLD}"
            return
        if to_class == PINNED and current is not None:
            tags[BEFORE_PIN_TAG] = current
        tags[RETENTION_TAG] = to_class
        set_object_tags(site.s3, site.bucket, key, tags)
    except OodsError as exc:
        report.refused[dataset_id] = str(exc)
        return
    report.changed.append(dataset_id)
