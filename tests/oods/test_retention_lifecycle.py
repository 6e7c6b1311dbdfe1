"""Lifecycle rules per retention class, and real expiry by MinIO's own scanner.

The expiry tests run a MinIO with ``MINIO_SCANNER_SPEED=fastest`` (a cycle of about a
second). A GET or HEAD of an overdue object deletes it on the spot, so these tests never
read an object that should expire: they watch the server's drive folder, where each
object is a folder holding its ``xl.meta``.
"""

from __future__ import annotations

import datetime as dt
import time
from pathlib import Path

from infra.minio_server import MinioServer
from oods import Site, ingest
from oods.lifecycle import apply_lifecycle, bucket_rules, describe_rule, expected_expiry
from oods.retention import pin
from oods.retention_classes import RetentionSettings
from oods.retention_tags import set_object_tags
from tests.conftest import on_drive, site_config

PATIENCE = 120.0  # seconds for the scanner to reach an overdue object


def wait_until_gone(server: MinioServer, bucket: str, keys: list[str]) -> float:
    started = time.monotonic()
    while any(on_drive(server, bucket, key) for key in keys):
        assert time.monotonic() - started < PATIENCE, "the scanner did not expire them"
        time.sleep(0.5)
    return time.monotonic() - started


def test_apply_is_idempotent_and_keeps_others_rules(site: Site) -> None:
    foreign = {
        "ID": "ops-tmp",
        "Status": "Enabled",
        "Filter": {"Prefix": "tmp/"},
        "Expiration": {"Days": 1},
    }
    site.s3.put_bucket_lifecycle_configuration(
        Bucket=site.bucket, LifecycleConfiguration={"Rules": [foreign]}
    )
    settings = RetentionSettings(classes={"cache": 30, "scratch": dt.date(2020, 1, 1)})

    first = apply_lifecycle(site, settings)
    assert first.changed and first.installed == ["oods-cache", "oods-scratch"]
    assert first.kept == ["ops-tmp"]
    rules = {rule["ID"]: rule for rule in bucket_rules(site)}
    assert set(rules) == {"ops-tmp", "oods-cache", "oods-scratch"}
    for name in ("cache", "scratch"):
        assert rules[f"oods-{name}"]["Filter"] == {"Tag": {"Key": "oods-retention", "Value": name}}
    assert rules["oods-cache"]["Expiration"] == {"Days": 30}
    assert "tag oods-retention=scratch  expire from 2020-01-01" in describe_rule(
        rules["oods-scratch"]
    )

    again = apply_lifecycle(site, settings)
    assert not again.changed and not again.installed and not again.removed

    fewer = apply_lifecycle(site, RetentionSettings(classes={"cache": 14}))
    assert fewer.installed == ["oods-cache"] and fewer.removed == ["oods-scratch"]
    rules = {rule["ID"]: rule for rule in bucket_rules(site)}
    assert set(rules) == {"ops-tmp", "oods-cache"}
    assert rules["oods-cache"]["Expiration"] == {"Days": 14}

    none = apply_lifecycle(site, RetentionSettings(classes={}, release_to="cache"))
    assert none.removed == ["oods-cache"]
    assert [rule["ID"] for rule in bucket_rules(site)] == ["ops-tmp"]


def test_the_scanner_expires_an_overdue_class_and_never_hold_or_pinned(
    fast_scanner: MinioServer, night: Path
) -> None:
    with Site.open(site_config(fast_scanner, "expiry")) as site:
        ingest(site, [night])
        site.refresh()
        rows = site.sql("SELECT dataset_id, key FROM files ORDER BY key").fetchall()
        scratch, pinned, held = rows[:8], rows[8], rows[9:]
        for _, key in [*scratch, pinned]:
            set_object_tags(site.s3, site.bucket, key, {"oods-retention": "scratch"})
        assert pin(site, [pinned[0]]).changed == [pinned[0]]
        assert all(on_drive(fast_scanner, site.bucket, key) for _, key in rows)
        catalog_files = list((fast_scanner.data_dir / site.bucket / "_catalog").rglob("xl.meta"))

        # From here on no S3 call reads an object: only the scanner can delete them.
        report = apply_lifecycle(
            site, RetentionSettings(classes={"cache": 30, "scratch": dt.date(2020, 1, 1)})
        )
        assert report.installed == ["oods-cache", "oods-scratch"]
        wait_until_gone(fast_scanner, site.bucket, [key for _, key in scratch])
        time.sleep(3.0)  # a few more scanner cycles: nothing else may go

        assert on_drive(fast_scanner, site.bucket, pinned[1])
        assert all(on_drive(fast_scanner, site.bucket, key) for _, key in held)
        assert catalog_files and all(path.exists() for path in catalog_files)


def test_retagging_does_not_restart_the_age_minio_counts_from_the_upload(
    fast_scanner: MinioServer,
) -> None:
    with Site.open(site_config(fast_scanner, "age")) as site:
        uploaded = dt.datetime.now(dt.UTC) - dt.timedelta(days=40)

        def backdate(request: object, **_: object) -> None:
            # What MinIO's own replication sends: the source's modification time.
            request.headers["x-minio-source-mtime"] = uploaded.isoformat()  # type: ignore[attr-defined]

        site.s3.meta.events.register("before-sign.s3.PutObject", backdate)
        site.s3.put_object(Bucket=site.bucket, Key="old", Body=b"o", Tagging="oods-retention=hold")
        site.s3.meta.events.unregister("before-sign.s3.PutObject", backdate)
        site.s3.put_object(Bucket=site.bucket, Key="new", Body=b"n", Tagging="oods-retention=hold")
        apply_lifecycle(site, RetentionSettings(classes={"cache": 30}))
        time.sleep(3.0)  # hold never expires, however old
        assert on_drive(fast_scanner, site.bucket, "old")

        for key in ("old", "new"):
            set_object_tags(site.s3, site.bucket, key, {"oods-retention": "cache"})
        waited = wait_until_gone(fast_scanner, site.bucket, ["old"])
        time.sleep(3.0)

        # 40 days old by its upload, released today, gone at once: the tag did not reset
        # its age; the fresh object, tagged alike, stays until upload + 30 days.
        assert on_drive(fast_scanner, site.bucket, "new"), waited
        head = site.s3.head_object(Bucket=site.bucket, Key="new")
        due = expected_expiry(head["LastModified"], 30)
        assert f'expiry-date="{due:%a, %d %b %Y} 00:00:00 GMT"' in head["Expiration"]
