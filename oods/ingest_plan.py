"""A dry run of ``ingest``: what would be ingested, skipped or rejected, with nothing
uploaded and nothing committed.

It takes the same first steps as ``ingest`` (read and translate each header, look the
dataset ids up in the catalog, hash the files whose id is already held) and asks the
bucket, with a HEAD, whether a new file's key is already taken. It stops before the
upload, so the answer is what ``ingest`` would do now, barring the store failing.
A site that does not exist yet is not created: every file would be new to it.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from catalog import CatalogError

from . import _s3
from .errors import StorageError
from .ingest import (
    INGEST,
    FileResult,
    IngestReport,
    Progress,
    _claimed,
    _compare,
    _hash,
    _held_under_other_runs,
    _known_checksums,
    _one_raw,
    _prepare,
    _Prepared,
)
from .site import Site
from .sources import find_files

#: The reason given with every file a dry run would ingest.
WOULD_INGEST = "dry run: would be uploaded and catalogued"


def plan_ingest(
    site: Site,
    paths: Iterable[str | Path],
    run: str | None = None,
    dataset_type: str = "raw",
    progress: Progress | None = None,
) -> IngestReport:
    """What ``ingest(site, paths, run, dataset_type)`` would do; changes nothing.

    Returns:
        An ``IngestReport`` whose ``ingested`` files are those that would be ingested
        (each with the reason ``WOULD_INGEST``), ``skipped`` those already there, and
        ``failed`` those that would be rejected, with the same reasons.

    Example:
        >>> plan_ingest(Site.open(), ["night/20250601"]).summary()
    """
    run = run or site.config.run
    corrections = site.corrections
    exists = _bucket_exists(site)
    report = IngestReport()
    prepared: list[_Prepared] = []
    for path in find_files(paths):
        item = _prepare(path, run, dataset_type, corrections)
        if isinstance(item, FileResult):
            report.results.append(item)
            _tick(progress)
        else:
            prepared.append(item)
    try:
        known = _known_checksums(site, [p.dataset_id for p in prepared]) if exists else {}
        held = _held_under_other_runs(site, prepared, dataset_type) if exists else {}
    except CatalogError as exc:
        report.results.extend(p.result("failed", INGEST, f"catalog: {exc}") for p in prepared)
        return report
    fresh: dict[str, _Prepared] = {}
    repeated: list[_Prepared] = []
    for item in prepared:
        if item.dataset_id in held:  # one raw, one dataset: as ingest refuses it
            report.results.append(item.result("failed", INGEST, _one_raw(*held[item.dataset_id])))
            _tick(progress)
        elif item.dataset_id in known or item.dataset_id in fresh:
            repeated.append(item)
        else:
            fresh[item.dataset_id] = item
    with ThreadPoolExecutor(site.config.workers) as pool:
        for result in pool.map(lambda p: _check_key(site, p, exists), fresh.values()):
            report.results.append(result)
            _tick(progress)
        would_store = {r.dataset_id for r in report.ingested}
        for item, (sha256, failure) in zip(repeated, pool.map(_hash, repeated), strict=True):
            if item.dataset_id in known:
                result = _compare(item, sha256, failure, known[item.dataset_id])
            elif item.dataset_id in would_store:
                fresh_item = fresh[item.dataset_id]
                first, _ = _hash(fresh_item)
                result = _compare(item, sha256, failure, first.hex() if first else None)
            else:
                result = _compare(item, sha256, failure, None)
            report.results.append(result)
            _tick(progress)
    return report


def _bucket_exists(site: Site) -> bool:
    """Whether the site's bucket exists (a dry run never creates it).

    Raises:
        StorageError: the server does not answer, or refuses us.
    """
    try:
        site.s3.head_bucket(Bucket=site.bucket)
        return True
    except _s3.TRANSPORT_ERRORS as exc:
        if _s3.error_code(exc) in ("404", "NoSuchBucket", "NotFound"):
            return False
        raise StorageError(site.bucket, _s3.describe(exc)) from exc


def _check_key(site: Site, item: _Prepared, bucket_exists: bool = True) -> FileResult:
    """Would the create-only upload of ``item`` succeed? Asks the bucket, writes nothing."""
    if not bucket_exists:
        return item.result("ingested", reason=WOULD_INGEST)
    try:
        head = site.s3.head_object(Bucket=site.bucket, Key=item.key)
    except _s3.TRANSPORT_ERRORS as exc:
        if _s3.error_code(exc) in ("404", "NoSuchKey", "NotFound"):
            return item.result("ingested", reason=WOULD_INGEST)
        return item.result("failed", INGEST, f"storage: {_s3.describe(exc)}")
    sha256, failure = _hash(item)
    if sha256 is None:
        return item.result("failed", INGEST, failure)
    # The key is taken: as ingest decides from the object's metadata (``_claimed``).
    outcome = _claimed(item, sha256, dict(head.get("Metadata", {})))
    if outcome.failure is not None:
        return item.result("failed", INGEST, outcome.failure)
    # Left by an earlier run that stopped before its commit: it would be catalogued.
    return dataclasses.replace(item, sha256=sha256).result("ingested", reason=WOULD_INGEST)


def _tick(progress: Progress | None) -> None:
    if progress is not None:
        progress(1)
