"""Capacity eviction on a real MinIO: oldest expiring objects first, never hold or pinned."""

from __future__ import annotations

import time
from pathlib import Path

from oods import Site, ingest
from oods.eviction import evict, retention_task, usage
from oods.fsck import fsck
from oods.location_states import latest_locations
from oods.retention_classes import RetentionSettings
from oods.retention_tags import object_tags, set_object_tags

SETTINGS = RetentionSettings(classes={"cache": 30, "scratch": 7})


def ingest_oldest_first(site: Site, night: Path) -> list[list[tuple[str, str]]]:
    """Each exposure ingested on its own, a moment apart: their objects' ages are ordered.
    Returns the (dataset_id, key) of each exposure, oldest exposure first."""
    exposures = []
    for folder in sorted(p for p in night.rglob("MC_O_*") if p.is_dir()):
        ingest(site, [folder])
        site.refresh()
        exposures.append(
            [
                tuple(row)
                for row in site.sql(
                    "SELECT dataset_id, key FROM files WHERE key LIKE ? ORDER BY key",
                    [f"%{folder.name}%"],
                ).fetchall()
            ]
        )
        time.sleep(0.05)
    return exposures


def classify(site: Site, key: str, name: str) -> None:
    set_object_tags(site.s3, site.bucket, key, {"oods-retention": name})


def bucket_bytes(site: Site) -> int:
    pages = site.s3.get_paginator("list_objects_v2").paginate(Bucket=site.bucket)
    return sum(o["Size"] for page in pages for o in page.get("Contents", []))


def exists(site: Site, key: str) -> bool:
    return bool(site.s3.list_objects_v2(Bucket=site.bucket, Prefix=key).get("KeyCount"))


def states(site: Site) -> dict[str, str]:
    rows = latest_locations(site)
    ids, found = rows.column("dataset_id").to_pylist(), rows.column("state").to_pylist()
    return dict(zip(ids, found, strict=True))


def test_evicts_oldest_expiring_objects_first_and_marks_them_expired(
    site: Site, night: Path
) -> None:
    exposures = ingest_oldest_first(site, night)
    first, second = exposures[0], exposures[1]
    (held_id, held_key), (pinned_id, pinned_key) = first[0], first[1]
    for exposure in exposures:
        for dataset_id, key in exposure:
            if dataset_id not in (held_id, pinned_id):
                classify(site, key, "scratch" if exposure is second else "cache")
    classify(site, pinned_key, "pinned")
    size = site.s3.head_object(Bucket=site.bucket, Key=first[2][1])["ContentLength"]
    used = bucket_bytes(site)
    need = 5 * size  # the two expiring files of the oldest exposure, three of the next

    report = evict(site, RetentionSettings(capacity=used, **_classes()), to=(used - need) / used)

    removed = {r.key for r in report.removed}
    assert {k for _, k in first[2:]} <= removed
    assert len(removed & {k for _, k in second}) == 3
    assert len(removed) == 5 and report.shortfall == 0 and report.used_after <= report.target
    assert {r.retention_class for r in report.removed} == {"cache", "scratch"}
    assert exists(site, held_key) and exists(site, pinned_key)
    assert not any(exists(site, key) for key in removed)
    assert report.marked_expired == 5
    now = states(site)
    assert {d for d, s in now.items() if s == "expired"} == {r.dataset_id for r in report.removed}
    assert now[held_id] == now[pinned_id] == "present"
    assert fsck(site, retention=SETTINGS).problems == []


def test_evicts_no_hold_pinned_or_catalog_object_even_when_the_mark_is_unreachable(
    site: Site, night: Path
) -> None:
    exposures = ingest_oldest_first(site, night)
    everything = [item for exposure in exposures for item in exposure]
    expiring = everything[:6]
    for _, key in expiring:
        classify(site, key, "cache")
    classify(site, everything[6][1], "pinned")
    used = bucket_bytes(site)

    report = evict(site, RetentionSettings(capacity=used), to=0.01)

    assert sorted(r.key for r in report.removed) == sorted(k for _, k in expiring)
    assert report.shortfall > 0 and report.used_after == used - report.freed
    assert all(exists(site, key) for _, key in everything[6:])
    site.refresh()
    assert site.sql("SELECT count(*) FROM files").fetchall() == [(len(everything) - 6,)]
    assert fsck(site, retention=SETTINGS).problems == []


def test_dry_run_removes_nothing_and_a_pin_after_listing_is_kept(site: Site, night: Path) -> None:
    exposures = ingest_oldest_first(site, night)
    keys = [key for _, key in exposures[0]]
    for key in keys:
        classify(site, key, "cache")
    used = bucket_bytes(site)
    settings = RetentionSettings(capacity=used)

    dry = evict(site, settings, to=0.01, dry_run=True)
    assert sorted(r.key for r in dry.removed) == sorted(keys) and dry.marked_expired == 0
    assert all(exists(site, key) for key in keys)
    assert set(states(site).values()) == {"present"}

    # The listing says the oldest is in cache; pinned since, it is kept, and the next
    # oldest goes in its place.
    listed = usage(site, settings)
    oldest = min(
        (o for o in listed[2] if o.key in keys), key=lambda o: (o.last_modified, o.key)
    ).key
    classify(site, oldest, "pinned")
    size = site.s3.head_object(Bucket=site.bucket, Key=oldest)["ContentLength"]
    report = evict(site, settings, to=(used - size) / used, measured=listed)
    assert len(report.removed) == 1 and report.removed[0].key != oldest
    assert report.removed[0].key in keys and exists(site, oldest)
    assert report.shortfall == 0 and not report.failed


def test_usage_without_a_capacity_is_the_servers_disk(site: Site, night: Path) -> None:
    ingest(site, [night])
    used, capacity, objects = usage(site, RetentionSettings())
    assert 0 < used < capacity
    assert len([o for o in objects if o.tags.get("oods-retention") == "hold"]) == 20
    assert evict(site, RetentionSettings(), to=1.0).removed == []


def test_retention_task_evicts_only_above_the_high_water_mark(site: Site, night: Path) -> None:
    ingest(site, [night])
    site.refresh()
    keys = [k for (k,) in site.sql("SELECT key FROM files ORDER BY key").fetchall()]
    for key in keys[:4]:
        classify(site, key, "cache")
    used = bucket_bytes(site)
    relaxed = retention_task(60, RetentionSettings(capacity=used * 2, high_water=0.9))
    assert relaxed.name == "retention" and relaxed.interval == 60
    assert relaxed.action(site) is None
    assert all(exists(site, key) for key in keys)
    full = retention_task(
        60, RetentionSettings(capacity=used, high_water=0.5, low_water=(used - 1) / used)
    )
    report = full.action(site)
    assert report is not None and len(report.removed) == 1
    assert object_tags(site.s3, site.bucket, keys[5])["oods-retention"] == "hold"


def _classes() -> dict[str, object]:
    return {"classes": dict(SETTINGS.classes)}
