"""fsck: the catalog and the bucket compared, on a real MinIO."""

from __future__ import annotations

from pathlib import Path

from oods import Site, ingest
from oods.fsck import fsck
from oods.location_states import record_location_states
from oods.retention_classes import RetentionSettings


def test_clean_site_has_no_problems(site: Site, night: Path) -> None:
    ingest(site, [night])
    report = fsck(site, full=True)
    assert report.ok, [p.line() for p in report.problems]
    assert report.datasets == report.objects == report.verified == 20


def test_missing_orphan_size_and_corrupt_objects_are_each_named(site: Site, night: Path) -> None:
    ingest(site, [night])
    keys = [k for (k,) in site.sql("SELECT key FROM files ORDER BY key").fetchall()]
    gone, shrunk, flipped = keys[0], keys[1], keys[2]
    site.s3.delete_object(Bucket=site.bucket, Key=gone)
    site.s3.put_object(Bucket=site.bucket, Key=shrunk, Body=b"short")
    data = site.s3.get_object(Bucket=site.bucket, Key=flipped)["Body"].read()
    site.s3.put_object(Bucket=site.bucket, Key=flipped, Body=bytes([data[0] ^ 1]) + data[1:])
    site.s3.put_object(Bucket=site.bucket, Key="LSSTCam/raw/stray.fits", Body=b"x")

    quick = fsck(site)
    assert {(p.kind, p.key) for p in quick.problems} == {
        ("missing", gone),
        ("size", shrunk),
        ("tag", shrunk),  # written again without the tag ingest gives
        ("tag", flipped),
        ("orphan", "LSSTCam/raw/stray.fits"),
    }
    full = fsck(site, full=True)
    assert ("corrupt", flipped) in {(p.kind, p.key) for p in full.problems}
    assert full.verified == 18  # every present object of the right size was read
    assert full.summary()["corrupt"] == 1
    assert all(p.key in p.line() for p in full.problems)


def _tag(site: Site, key: str, value: str) -> None:
    site.s3.put_object_tagging(
        Bucket=site.bucket, Key=key, Tagging={"TagSet": [{"Key": "oods-retention", "Value": value}]}
    )


def test_a_present_object_must_carry_a_known_retention_class(site: Site, night: Path) -> None:
    ingest(site, [night])
    keys = [k for (k,) in site.sql("SELECT key FROM files ORDER BY key").fetchall()]
    cached, pinned, odd, bare = keys[:4]
    _tag(site, cached, "cache")
    _tag(site, pinned, "pinned")
    _tag(site, odd, "forever")
    site.s3.delete_object_tagging(Bucket=site.bucket, Key=bare)

    settings = RetentionSettings(classes={"cache": 30})
    report = fsck(site, retention=settings)
    assert [(p.kind, p.key) for p in report.problems] == [("tag", odd), ("tag", bare)]
    assert "oods-retention=forever is not a retention class" in report.of_kind("tag")[0].reason
    assert "no oods-retention tag" in report.of_kind("tag")[1].reason
    # With no "cache" class configured, a cache tag is no class of this site either.
    unconfigured = fsck(site, retention=RetentionSettings(classes={"scratch": 7}))
    assert ("tag", cached) in {(p.kind, p.key) for p in unconfigured.problems}

    _tag(site, odd, "hold")
    _tag(site, bare, "hold")
    assert fsck(site, full=True, retention=settings).ok


def test_an_object_of_a_dataset_marked_gone_is_named_as_such(site: Site, night: Path) -> None:
    ingest(site, [night])
    ((dataset_id, key),) = site.sql("SELECT dataset_id, key FROM files LIMIT 1").fetchall()
    record_location_states(site, {dataset_id: "missing"})
    (problem,) = fsck(site).problems
    assert (problem.kind, problem.key, problem.dataset_id) == ("orphan", key, dataset_id)
    assert "as missing" in problem.reason and "reconcile" in problem.reason
