"""Check that the catalog and the bucket agree: every present dataset has its object,
every object of the data layout has a present dataset, and (``full``) every object's
bytes still hash to the checksum the catalog recorded. ``verify`` does only the last,
for every present file or for a selection of them (a day, an exposure, some ids).

The checks only read; repairing is left to the caller (re-ingest, or a reconcile).
"""

from __future__ import annotations

import dataclasses
import hashlib
from collections.abc import Callable, Iterable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from . import _s3
from .datasets import Located
from .errors import StorageError
from .selection import select_files
from .site import Site

Progress = Callable[[int], None]


@dataclasses.dataclass(frozen=True)
class Problem:
    """One disagreement: ``kind`` is missing, orphan, size, corrupt, unreadable or unknown
    (``verify`` was asked for a dataset id that names no present dataset)."""

    kind: str
    key: str
    dataset_id: str | None
    reason: str

    def line(self) -> str:
        who = f" (dataset {self.dataset_id})" if self.dataset_id else ""
        return f"{self.key}{who}: {self.kind}: {self.reason}"


@dataclasses.dataclass
class FsckReport:
    """What ``fsck`` compared and every disagreement it found."""

    datasets: int = 0
    objects: int = 0
    verified: int = 0
    problems: list[Problem] = dataclasses.field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.problems

    def of_kind(self, kind: str) -> list[Problem]:
        return [p for p in self.problems if p.kind == kind]

    def summary(self) -> dict[str, object]:
        kinds = ("missing", "orphan", "size", "corrupt", "unreadable", "unknown")
        return {
            "datasets": self.datasets,
            "objects": self.objects,
            "verified": self.verified,
            **{kind: len(self.of_kind(kind)) for kind in kinds},
        }

    def to_dict(self) -> dict[str, object]:
        return {**self.summary(), "problems": [dataclasses.asdict(p) for p in self.problems]}


def fsck(
    site: Site, full: bool = False, workers: int | None = None, progress: Progress | None = None
) -> FsckReport:
    """Compare the site's catalog with its bucket.

    Args:
        site: the site to check (its latest catalog).
        full: also read every present object and compare its SHA-256 with the catalog.
        workers: parallel reads for ``full`` (default: the site's ``workers``).
        progress: called with the number of objects verified, as they finish.

    Returns:
        An ``FsckReport``; ``ok`` when nothing disagrees.

    Raises:
        StorageError: the bucket cannot be listed.

    Example:
        >>> report = fsck(Site.open(), full=True)
        >>> [p.line() for p in report.problems]
    """
    site.refresh()
    present = {
        key: (dataset_id, size, checksum)
        for dataset_id, key, size, checksum in site.sql(
            "SELECT dataset_id, key, size, checksum FROM files"
        ).fetchall()
    }
    report = FsckReport(datasets=len(present))
    listed: dict[str, int] = {}
    for key, size in _list_objects(site):
        listed[key] = size
    report.objects = len(listed)
    for key, (dataset_id, size, _checksum) in present.items():
        if key not in listed:
            report.problems.append(Problem("missing", key, dataset_id, "no object in the bucket"))
        elif listed[key] != size:
            reason = f"object has {listed[key]} bytes, the catalog says {size}"
            report.problems.append(Problem("size", key, dataset_id, reason))
    for key in sorted(set(listed) - set(present)):
        report.problems.append(Problem("orphan", key, None, "no present dataset in the catalog"))
    if full:
        checked = [
            Located(dataset_id, "", key, size, checksum)
            for key, (dataset_id, size, checksum) in present.items()
            if listed.get(key) == size
        ]
        _verify_all(site, checked, report, workers, progress)
    report.problems.sort(key=lambda p: (p.kind, p.key))
    return report


def verify(
    site: Site,
    where: str | None = None,
    dataset_ids: Iterable[str] | None = None,
    workers: int | None = None,
    progress: Progress | None = None,
) -> FsckReport:
    """Read present objects again and compare their SHA-256 with the catalog's.

    Args:
        site: the site (its latest catalog).
        where: a SQL predicate over the ``files`` table choosing what to read, e.g.
            ``day_obs = 20250601``; None for every present file.
        dataset_ids: only these datasets (each id that names no present dataset is an
            ``unknown`` problem; the others are still verified).
        workers: parallel reads (default: the site's ``workers``).
        progress: called with the number of objects verified, as they finish.

    Returns:
        An ``FsckReport`` whose ``verified`` counts the objects read; problems are
        ``missing``, ``size``, ``corrupt``, ``unreadable`` or ``unknown``.

    Raises:
        SelectionError: ``where`` is not a valid predicate over ``files``.

    Example:
        >>> report = verify(Site.open(), "exposure = 2025060100005")
        >>> report.ok, report.verified
    """
    selection = select_files(site, where, dataset_ids)
    report = FsckReport(datasets=len(selection.files))
    for unknown in selection.unknown:
        reason = "no present dataset with this id" + (" matches --where" if where else "")
        report.problems.append(Problem("unknown", unknown, None, reason))
    _verify_all(site, selection.files, report, workers, progress)
    report.problems.sort(key=lambda p: (p.kind, p.key))
    return report


def _verify_all(
    site: Site,
    files: Sequence[Located],
    report: FsckReport,
    workers: int | None,
    progress: Progress | None,
) -> None:
    with ThreadPoolExecutor(workers or site.config.workers) as pool:
        for problem in pool.map(lambda located: _verify(site, located), files):
            report.verified += 1
            if problem is not None:
                report.problems.append(problem)
            if progress is not None:
                progress(1)


def _list_objects(site: Site) -> Iterator[tuple[str, int]]:
    """Every object of the data layout (the catalog's own prefix left out)."""
    catalog_prefix = site.config.catalog_prefix.strip("/") + "/"
    try:
        pages = site.s3.get_paginator("list_objects_v2").paginate(Bucket=site.bucket)
        for page in pages:
            for item in page.get("Contents", []):
                if not item["Key"].startswith(catalog_prefix):
                    yield item["Key"], int(item["Size"])
    except _s3.TRANSPORT_ERRORS as exc:
        raise StorageError(site.bucket, _s3.describe(exc)) from exc


def _verify(site: Site, located: Located) -> Problem | None:
    key, dataset_id, checksum = located.key, located.dataset_id, located.checksum
    digest = hashlib.sha256()
    size = 0
    try:
        body: Any = site.s3.get_object(Bucket=site.bucket, Key=key)["Body"]
        for chunk in iter(lambda: body.read(1 << 20), b""):
            digest.update(chunk)
            size += len(chunk)
    except _s3.TRANSPORT_ERRORS as exc:
        if _s3.error_code(exc) in ("NoSuchKey", "404"):
            return Problem("missing", key, dataset_id, "no object in the bucket")
        return Problem("unreadable", key, dataset_id, _s3.describe(exc))
    if size != located.size:
        reason = f"object has {size} bytes, the catalog says {located.size}"
        return Problem("size", key, dataset_id, reason)
    if digest.hexdigest() != checksum:
        reason = f"sha256 {digest.hexdigest()[:12]}…, the catalog says {checksum[:12]}…"
        return Problem("corrupt", key, dataset_id, reason)
    return None
