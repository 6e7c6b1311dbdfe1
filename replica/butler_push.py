"""``push --to butler:REPO``: register in a real Butler repository what it lacks.

The plan is the push plan's rule (raws and certified calibrations, ``plan.PUSHED``)
diffed against the Butler's registry by dataset id, so a re-push moves nothing. The
datasets it lacks are written as an ``oods export`` (dimension records, RUN and
CALIBRATION collections, validity ranges; ids kept) into a scratch directory with their
verified bytes, and ``Butler.import_`` copies them into the repository's datastore (an
``s3://`` root is reached through lsst-resources: ``S3_ENDPOINT_URL`` and the AWS keys in
the environment). Dimension records the repository already has are kept (the import
skips them). The local copies are not released: the retention gate knows OODS sites only.
"""

from __future__ import annotations

import dataclasses
import tempfile
import time
import uuid
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any

from catalog.errors import one_line
from oods import OodsError, Site
from oods.butler_export import CALIBRATION_FORMATTER, export_for_butler

from .plan import PUSHED

if TYPE_CHECKING:
    from lsst.daf.butler import Butler

#: The prefix of ``--to`` / ``oods import`` naming a Butler repository, not a site.
BUTLER_PREFIX = "butler:"


class ButlerUnavailable(OodsError):
    """The Butler repository cannot be opened (or lsst-daf-butler is not installed)."""


def butler_repo(target: str) -> str | None:
    """REPO of ``butler:REPO`` (a repository root, butler.yaml path or URI); else None."""
    if not target.startswith(BUTLER_PREFIX):
        return None
    repo = target[len(BUTLER_PREFIX) :].strip()
    if not repo:
        raise ButlerUnavailable(f"{target!r} names no repository (butler:REPO)")
    return repo


def open_butler(repo: str, writeable: bool = False) -> Butler:
    """The Butler of ``repo``; one clear error when it is not there or not a repository."""
    try:
        from lsst.daf.butler import Butler
    except ImportError as exc:
        raise ButlerUnavailable(
            "lsst-daf-butler is not installed (pip install 'oods[butler]')"
        ) from exc
    try:
        return Butler.from_config(repo, writeable=writeable)
    except Exception as exc:  # the Butler raises many kinds (FileNotFound, KeyError, ...)
        raise ButlerUnavailable(f"{repo}: not a Butler repository: {one_line(exc)}") from exc


@dataclasses.dataclass
class ButlerPushReport:
    """What one push to a Butler repository did."""

    repo: str
    candidates: int = 0  # datasets the push rule selects here
    already: int = 0  # of those, registered in the repository before this push
    pushed: list[str] = dataclasses.field(default_factory=list)  # dataset ids
    bytes: int = 0
    failed: list[tuple[str, str]] = dataclasses.field(default_factory=list)  # (key, reason)
    seconds: float = 0.0

    @property
    def ok(self) -> bool:
        return not self.failed

    def lines(self) -> list[str]:
        return [f"{key}: not pushed: {reason}" for key, reason in self.failed]

    def summary(self) -> dict[str, Any]:
        return {
            "repo": self.repo,
            "candidates": self.candidates,
            "already": self.already,
            "pushed": len(self.pushed),
            "bytes": self.bytes,
            "failed": len(self.failed),
            "seconds": round(self.seconds, 3),
        }

    def to_dict(self) -> dict[str, Any]:
        failures = [{"key": key, "reason": reason} for key, reason in self.failed]
        return {**self.summary(), "dataset_ids": list(self.pushed), "failures": failures}


def butler_push_plan(
    site: Site, butler: Butler, where: str | None = None
) -> tuple[list[str], list[str]]:
    """(chosen, missing): the ids of the datasets present here that the push rule (and
    ``where``, over ``files f``) chooses, and those of them the registry lacks."""
    site.refresh()
    predicate = f"({PUSHED})" + (f" AND ({where})" if where and where.strip() else "")
    ids = [
        row[0]
        for row in site.sql(
            f"SELECT f.dataset_id FROM files f WHERE {predicate} ORDER BY f.dataset_id"
        ).fetchall()
    ]
    held = registered(butler, ids)
    return ids, [i for i in ids if i not in held]


def registered(butler: Butler, dataset_ids: list[str]) -> set[str]:
    """Those of ``dataset_ids`` the Butler's registry knows (one query)."""
    if not dataset_ids:
        return set()
    return {str(ref.id) for ref in butler.get_many_datasets(dataset_ids)}


def push_to_butler(
    site: Site,
    repo: str,
    where: str | None = None,
    *,
    formatter: str | None = None,
    calibration_formatter: str = CALIBRATION_FORMATTER,
    storage_classes: Mapping[str, str] | None = None,
    progress: Callable[[str], None] | None = None,
) -> ButlerPushReport:
    """Register in the Butler repository ``repo`` the pushed datasets it lacks, ids kept.

    Args:
        where: also an SQL predicate over this site's ``files f`` (None: all).
        formatter, calibration_formatter, storage_classes: as ``oods export`` takes them
            (obs_lsst's by default; a repository without obs_lsst names its own).
        progress: told each stage in a line (for a terminal).

    Returns:
        A ``ButlerPushReport``; a file that cannot be read here is reported and left out.
    """
    started = time.perf_counter()
    butler = open_butler(repo, writeable=True)
    report = ButlerPushReport(repo)
    chosen, missing = butler_push_plan(site, butler, where)
    report.candidates = len(chosen)
    report.already = len(chosen) - len(missing)
    if progress is not None:
        progress(f"{len(missing)} of {len(chosen)} datasets to register in {repo}")
    if missing:
        _register(site, butler, missing, report, formatter, calibration_formatter, storage_classes)
    report.seconds = time.perf_counter() - started
    return report


def _register(
    site: Site,
    butler: Butler,
    dataset_ids: list[str],
    report: ButlerPushReport,
    formatter: str | None,
    calibration_formatter: str,
    storage_classes: Mapping[str, str] | None,
) -> None:
    """Export ``dataset_ids`` with their bytes to a scratch directory and import it."""
    chosen = ", ".join(f"'{uuid.UUID(i)}'" for i in dataset_ids)  # ids checked, then quoted
    with tempfile.TemporaryDirectory(prefix="oods-butler-push-") as scratch:
        exported = export_for_butler(
            site,
            scratch,
            f"dataset_id IN ({chosen})",
            transfer="copy",
            formatter=formatter,
            calibration_formatter=calibration_formatter,
            storage_classes=storage_classes,
        )
        report.failed.extend(exported.failed)
        if not sum(exported.datasets.values()):
            return
        try:
            butler.import_(directory=scratch, filename=str(exported.export_file), transfer="copy")
        except Exception as exc:  # the import is one transaction: all or nothing
            reason = f"the Butler refused the import: {one_line(exc)}"
            raise ButlerUnavailable(f"{report.repo}: {reason}") from exc
    left_out = {key for key, _ in exported.failed}
    rows = site.sql(
        "SELECT dataset_id, key, size FROM files WHERE dataset_id IN (SELECT unnest($ids))",
        {"ids": dataset_ids},
    ).fetchall()
    for dataset_id, key, size in rows:
        if key not in left_out:
            report.pushed.append(dataset_id)
            report.bytes += size
