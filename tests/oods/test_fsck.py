"""fsck: the catalog and the bucket compared, on a real MinIO."""

from __future__ import annotations

from pathlib import Path

from oods import Site, ingest
from oods.fsck import fsck


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
        ("orphan", "LSSTCam/raw/stray.fits"),
    }
    full = fsck(site, full=True)
    assert ("corrupt", flipped) in {(p.kind, p.key) for p in full.problems}
    assert full.verified == 18  # every present object of the right size was read
    assert full.summary()["corrupt"] == 1
    assert all(p.key in p.line() for p in full.problems)
