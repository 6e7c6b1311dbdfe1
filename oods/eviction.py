"""Capacity eviction: free space by removing the oldest objects of expiring classes.

Lifecycle rules expire by age; eviction answers a full disk before the rules would. It
only ever removes objects whose tag is an expiring class, which the gate (``release``)
gave them after the archive was verified to hold them; ``hold``, ``pinned`` and untagged
objects (the catalog) are never touched, even if the mark cannot be reached. Each
removed dataset's location is marked ``expired`` (one catalog commit), so it stays
known as metadata and re-ingesting its file restores it.

Usage is the bucket's bytes against the configured ``capacity``; without one, the
server's own drives (used / total, MinIO admin info).
"""

from __future__ import annotations

import dataclasses
import logging
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from ._s3 import TRANSPORT_ERRORS, describe
from .background import BackgroundTask
from .errors import OodsError, StorageError
from .location_states import EXPIRED, latest_locations, record_location_states
from .minio_extensions import TaggedObject, disk_usage, list_tagged
from .retention_classes import RetentionSettings, load_retention
from .retention_tags import object_tags, retention_class
from .site import Site

log = logging.getLogger("oods.retention")


@dataclasses.dataclass
class Removed:
    key: str
    size: int
    retention_class: str
    dataset_id: str | None  # None: an object the catalog does not know


@dataclasses.dataclass
class EvictionReport:
    """What was removed, and how far from the mark it ended."""

    capacity: int
    used_before: int
    target: int
    removed: list[Removed] = dataclasses.field(default_factory=list)
    failed: dict[str, str] = dataclasses.field(default_factory=dict)
    marked_expired: int = 0

    @property
    def freed(self) -> int:
        return sum(r.size for r in self.removed)

    @property
    def used_after(self) -> int:
        return self.used_before - self.freed

    @property
    def shortfall(self) -> int:
        """Bytes still over the mark: only hold, pinned or untagged objects were left."""
        return max(0, self.used_after - self.target)

    def to_dict(self) -> dict[str, Any]:
        data = dataclasses.asdict(self)
        data.update(freed=self.freed, used_after=self.used_after, shortfall=self.shortfall)
        return data


def usage(site: Site, settings: RetentionSettings) -> tuple[int, int, list[TaggedObject]]:
    """(used, capacity, the bucket's objects with tags)."""
    objects = list(list_tagged(site.config, site.s3))
    if settings.capacity is not None:
        return sum(o.size for o in objects), settings.capacity, objects
    disk = disk_usage(site.config)
    return disk.used, disk.total, objects


def evict(
    site: Site,
    settings: RetentionSettings,
    to: float,
    dry_run: bool = False,
    measured: tuple[int, int, list[TaggedObject]] | None = None,
) -> EvictionReport:
    """Remove the oldest objects of expiring classes until usage is at most ``to``.

    Oldest by modification time (then key), in parallel rounds of just enough objects
    to reach the mark. Just before each removal the object's tag is read again, so an
    object pinned since the listing is kept.

    Args:
        to: the low-water mark, a share of the capacity (0.8 for 80 %).
        dry_run: report what would be removed; remove nothing.
        measured: what ``usage`` just returned, to save listing the bucket again.
    """
    used, capacity, objects = measured or usage(site, settings)
    report = EvictionReport(capacity=capacity, used_before=used, target=int(capacity * to))
    candidates = sorted(
        (o for o in objects if settings.is_expiring(retention_class(o.tags))),
        key=lambda o: (o.last_modified, o.key),
    )
    queue = iter(candidates)
    while report.used_after > report.target:
        # A round: the oldest candidates that would reach the mark, removed in parallel;
        # those kept (pinned since the listing) or failed leave a gap for the next round.
        batch, planned = [], report.used_after
        for obj in queue:
            batch.append(obj)
            planned -= obj.size
            if planned <= report.target:
                break
        if not batch:
            break
        if dry_run:
            report.removed += [_removed(obj) for obj in batch]
            continue
        with ThreadPoolExecutor(max_workers=site.config.workers) as pool:
            outcomes = list(pool.map(lambda obj: _remove(site, settings, obj), batch))
        for obj, outcome in zip(batch, outcomes, strict=True):
            if outcome is True:
                report.removed.append(_removed(obj))
            elif outcome:
                report.failed[obj.key] = outcome
    _attach_datasets(site, report)
    if not dry_run:
        changes = {r.dataset_id: EXPIRED for r in report.removed if r.dataset_id is not None}
        report.marked_expired = record_location_states(site, changes) if changes else 0
    return report


def _removed(obj: TaggedObject) -> Removed:
    return Removed(obj.key, obj.size, retention_class(obj.tags) or "", None)


def _remove(site: Site, settings: RetentionSettings, obj: TaggedObject) -> bool | str:
    """Delete ``obj`` if its tag is still an expiring class: True when removed, False
    when kept (pinned or held since the listing), else why it failed."""
    try:
        if not settings.is_expiring(retention_class(object_tags(site.s3, site.bucket, obj.key))):
            return False
        site.s3.delete_object(Bucket=site.bucket, Key=obj.key)
    except TRANSPORT_ERRORS as exc:
        return describe(exc)
    except StorageError as exc:
        return exc.reason
    return True


def _attach_datasets(site: Site, report: EvictionReport) -> None:
    """Find the dataset id of each removed key from the catalog's latest locations."""
    if not report.removed:
        return
    rows = latest_locations(site)
    keys, ids = rows.column("key").to_pylist(), rows.column("dataset_id").to_pylist()
    by_key = dict(zip(keys, ids, strict=True))
    for removed in report.removed:
        removed.dataset_id = by_key.get(removed.key)


def retention_task(
    interval: float = 300.0, settings: RetentionSettings | None = None
) -> BackgroundTask:
    """For ``oods serve``: every ``interval`` s, evict down to the low-water mark when
    usage is above the high-water mark (``[retention]`` of the config by default)."""

    def evict_when_full(site: Site) -> EvictionReport | None:
        chosen = settings or load_retention()
        try:
            measured = usage(site, chosen)
        except OodsError as exc:
            log.warning("retention: cannot measure usage: %s", exc)
            return None
        used, capacity, _ = measured
        if capacity <= 0 or used <= capacity * chosen.high_water:
            return None
        report = evict(site, chosen, chosen.low_water, measured=measured)
        log.info(
            "retention: evicted %d objects (%d bytes); %d bytes still over the mark",
            len(report.removed),
            report.freed,
            report.shortfall,
        )
        return report

    return BackgroundTask("retention", interval, evict_when_full)
