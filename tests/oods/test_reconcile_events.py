"""Deletions reaching the catalog through MinIO's bucket notifications (a real server).

The pinned MinIO build holds listener events back until about 4 KB are pending, so a
test deletes enough objects for a burst to leave the server, waits with a generous
patience for some of them, and leaves the rest to reconcile (which is the truth).
"""

from __future__ import annotations

import datetime as dt
import time
from pathlib import Path

from infra.minio_server import MinioServer
from oods import Site, ingest
from oods.deletion_events import DeletionListener, apply_removals, removal_of
from oods.fsck import fsck
from oods.location_states import latest_locations
from oods.reconcile import reconcile
from tests.conftest import on_drive, site_config

PATIENCE = 90.0


def _states(site: Site) -> dict[str, str]:
    rows = latest_locations(site).to_pylist()
    return {row["key"]: row["state"] for row in rows}


def test_deleted_objects_are_marked_missing_by_their_events(site: Site, night: Path) -> None:
    ingest(site, [night])
    keys = sorted(_states(site))
    deleted, kept = keys[:16], keys[16:]
    listener = DeletionListener(Site(site.config), batch_seconds=0.5).start()
    try:
        started = time.monotonic()
        while not listener.subscribed:
            assert time.monotonic() - started < 30, listener.last_error
            time.sleep(0.1)
        time.sleep(1.0)  # the server registers the listener once it has the request
        for key in deleted:
            site.s3.delete_object(Bucket=site.bucket, Key=key)
        started = time.monotonic()
        while listener.marked < 8 and time.monotonic() - started < PATIENCE:
            time.sleep(0.5)
    finally:
        listener.stop()
    states = _states(site)
    marked = {key for key, state in states.items() if state != "present"}
    assert len(marked) >= 8, (listener.marked, listener.last_error)
    assert marked <= set(deleted)  # only deleted objects, never a kept one
    assert {states[key] for key in marked} == {"missing"}  # a client's delete, not a rule
    assert all(states[key] == "present" for key in kept)

    report = reconcile(site)  # whatever the events did not bring, reconcile does
    assert {f.key for f in report.findings} == set(deleted) - marked
    assert fsck(site).ok


def test_a_lifecycle_removal_is_expired_and_a_noop_is_ignored(site: Site, night: Path) -> None:
    """Records shaped as the pinned MinIO sends them (cmd/bucket-lifecycle.go)."""
    ingest(site, [night])
    first, second, third = sorted(_states(site))[:3]

    def record(name: str, key: str, agent: str) -> dict[str, object]:
        return {
            "eventName": name,
            "eventTime": "2099-01-01T00:00:00.000Z",
            "source": {"host": "node", "port": "", "userAgent": agent},
            "s3": {"object": {"key": key}},
        }

    removals = [
        removal_of(record("s3:ObjectRemoved:Delete", first, "Internal: [ILM-Expiry]")),
        removal_of(record("s3:ObjectRemoved:Delete", second, "Boto3/1.44 md/Botocore")),
        removal_of(record("s3:ObjectRemoved:NoOP", third, "Boto3/1.44")),
        removal_of(record("s3:ObjectCreated:Put", third, "Boto3/1.44")),
    ]
    assert removals[2] is None and removals[3] is None
    assert apply_removals(site, [r for r in removals if r is not None]) == 2
    states = _states(site)
    assert (states[first], states[second], states[third]) == ("expired", "missing", "present")


def test_the_scanners_expiry_reaches_the_catalog_as_expired(
    fast_scanner: MinioServer, night: Path
) -> None:
    with Site.open(site_config(fast_scanner, "scanner-events")) as site:
        ingest(site, [night])
        keys = sorted(_states(site))
        doomed, kept = keys[:10], keys[10:]
        for key in doomed:
            site.s3.put_object_tagging(
                Bucket=site.bucket,
                Key=key,
                Tagging={"TagSet": [{"Key": "oods-retention", "Value": "scratch"}]},
            )
        listener = DeletionListener(Site(site.config), batch_seconds=0.5).start()
        try:
            started = time.monotonic()
            while not listener.subscribed:
                assert time.monotonic() - started < 30, listener.last_error
                time.sleep(0.1)
            time.sleep(1.0)
            midnight = dt.datetime.now(dt.UTC).replace(hour=0, minute=0, second=0, microsecond=0)
            rule = {
                "ID": "test-scratch",
                "Status": "Enabled",
                "Filter": {"Tag": {"Key": "oods-retention", "Value": "scratch"}},
                "Expiration": {"Date": midnight},
            }
            site.s3.put_bucket_lifecycle_configuration(
                Bucket=site.bucket, LifecycleConfiguration={"Rules": [rule]}
            )
            started = time.monotonic()
            while listener.marked < 5 and time.monotonic() - started < PATIENCE:
                time.sleep(0.5)
        finally:
            listener.stop()
        states = _states(site)
        expired = {key for key, state in states.items() if state == "expired"}
        assert len(expired) >= 5, (listener.marked, listener.last_error)
        assert expired <= set(doomed)
        assert not any(on_drive(fast_scanner, site.bucket, key) for key in expired)
        assert all(states[key] == "present" for key in kept)
        assert all(on_drive(fast_scanner, site.bucket, key) for key in kept)
