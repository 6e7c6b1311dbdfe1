"""Check that the catalog and the bucket agree: every present dataset has its object,
every object of the data layout has a present dataset, every present object carries a
known retention class (its ``oods-retention`` tag, which is what lifecycle rules obey),
and (``full``) every object's bytes still hash to the checksum the catalog recorded.
``verify`` does only the last, for every present file or for a selection of them (a
day, an exposure, some ids).

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
from .minio_extensions import list_tagged
from .retention_classes import HOLD, PINNED, RetentionSettings, load_retention
from .selection import select_files
from .site import Site

Progress = Callable[[int], None]


@dataclasses.dataclass(frozen=True)
class Problem:
    """One disagreement: ``kind`` is missing, orphan, size, tag (no known retention
    class), corrupt, unreadable or unknown (``verify`` was asked for a dataset id that
    names no present dataset)."""

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
        kinds = ("missing", "orphan", "size", "tag", "corrupt", "unreadable", "unknown")
        return {
            "datasets": self.datasets,
            "objects": self.objects,
            "verified": self.verified,
            **{kind: len(self.of_kind(kind)) for kind in kinds},
        }

    def to_dict(self) -> dict[str, object]:
        return {**self.summary(), "problems": [dataclasses.asdict(p) for p in self.problems]}


def fsck(
    site: Site,
    full: bool = False,
    workers: int | None = None,
    progress: Progress | None = None,
    retention: RetentionSettings | None = None,
) -> FsckReport:
    """Compare the site's catalog with its bucket.

    Args:
        site: the site to check (its latest catalog).
        full: also read every present object and compare its SHA-256 with the catalog.
        workers: parallel reads for ``full`` (default: the site's ``workers``).
        progress: called with the number of objects verified, as they finish.
        retention: the site's retention classes, which a present object's tag must name
            (default: the ``[retention]`` section ``load_retention`` finds).

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
    absent = {
        key: (dataset_id, state)
        for dataset_id, key, state in site.sql(
            "SELECT dataset_id, key, state FROM all_files WHERE state <> 'present'"
        ).fetchall()
    }
    classes = retention or load_retention()
    known = {HOLD, PINNED, *classes.classes}
    report = FsckReport(datasets=len(present))
    listed: dict[str, int] = {}
    tags: dict[str, str | None] = {}
    for key, size, retention_class in _list_objects(site):
        listed[key] = size
        tags[key] = retention_class
    report.objects = len(listed)
    for key, (dataset_id, size, _checksum) in present.items():
        if key not in listed:
            report.problems.append(Problem("missing", key, dataset_id, "no object in the bucket"))
            continue
        if listed[key] != size:
            reason = f"object has {listed[key]} bytes, the catalog says {size}"
            report.problems.append(Problem("size", key, dataset_id, reason))
        if tags[key] not in known:
            report.problems.append(Problem("tag", key, dataset_id, _tag_reason(tags[key], known)))
    for key in sorted(set(listed) - set(present)):
        if key in absent:
            dataset_id, state = absent[key]
            reason = f"the catalog has this dataset as {state} (`oods reconcile` restores it)"
            report.problems.append(Problem("orphan", key, dataset_id, reason))
        else:
            reason = "no present dataset in the catalog"
            report.problems.append(Problem("orphan", key, None, reason))
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


def _list_objects(site: Site) -> Iterator[tuple[str, int, str | None]]:
    """Every object of the data layout (the catalog's own prefix left out), with its
    retention class, from one listing that carries the tags."""
    catalog_prefix = site.config.catalog_prefix.strip("/") + "/"
    for item in list_tagged(site.config, site.s3):
        if not item.key.startswith(catalog_prefix):
            yield item.key, item.size, item.tags.get(_s3.RETENTION_TAG)


def _tag_reason(found: str | None, known: set[str]) -> str:
    classes = ", ".join(sorted(known))
    if found is None:
        return f"no {_s3.RETENTION_TAG} tag; a lifecycle rule cannot see it (classes: {classes})"
    return f"{_s3.RETENTION_TAG}={found} is not a retention class of this site ({classes})"


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
