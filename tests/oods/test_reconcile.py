"""reconcile: the catalog brought back in step with a real MinIO bucket, both directions."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pyarrow as pa

from catalog import TABLES
from infra.minio_server import MinioServer
from oods import Site, ingest
from oods.datasets import list_datasets
from oods.fsck import fsck
from oods.location_states import latest_locations
from oods.reconcile import reconcile
from tests.conftest import site_config


def _present_keys(site: Site) -> list[str]:
    site.refresh()
    return [k for (k,) in site.sql("SELECT key FROM files ORDER BY key").fetchall()]


def _state(site: Site, dataset_id: str) -> str:
    (state,) = latest_locations(site, [dataset_id]).column("state").to_pylist()
    return str(state)


def test_deleted_behind_the_back_is_marked_missing_and_reingest_restores_it(
    site: Site, night: Path
) -> None:
    ingest(site, [night])
    keys = _present_keys(site)
    gone = keys[3]
    ((dataset_id,),) = site.sql(
        "SELECT dataset_id FROM files WHERE key = $k", {"k": gone}
    ).fetchall()
    site.s3.delete_object(Bucket=site.bucket, Key=gone)

    report = reconcile(site)
    assert [(f.kind, f.key, f.dataset_id) for f in report.findings] == [
        ("missing", gone, dataset_id)
    ]
    assert report.objects == 19 and report.present == 20
    assert _state(site, dataset_id) == "missing"
    listed = [row[0] for row in list_datasets(site).fetchall()]
    assert dataset_id not in listed and len(listed) == 19
    assert fsck(site).ok  # the catalog no longer claims the object
    assert reconcile(site).findings == []  # nothing more to do; no new row either
    assert len(latest_locations(site)) == 20

    again = ingest(site, [night])
    assert [r.key for r in again.ingested] == [gone]  # uploaded again, not "skipped"
    assert len(again.skipped) == 19
    assert _state(site, dataset_id) == "present"
    assert site.s3.head_object(Bucket=site.bucket, Key=gone)["ContentLength"] > 0
    assert _present_keys(site) == keys
    assert fsck(site, full=True).ok


def test_dry_run_finds_but_changes_nothing(site: Site, night: Path) -> None:
    ingest(site, [night])
    gone = _present_keys(site)[0]
    site.s3.delete_object(Bucket=site.bucket, Key=gone)
    report = reconcile(site, dry_run=True)
    assert [(f.kind, f.key) for f in report.findings] == [("missing", gone)]
    assert gone in _present_keys(site)
    assert [p.kind for p in fsck(site).problems] == ["missing"]


def test_an_objects_bucket_without_catalog_is_adopted_from_headers(
    site: Site, night: Path, minio: MinioServer
) -> None:
    """The catalog rebuilt from the objects alone equals the one ingest wrote."""
    ingest(site, [night])
    bare = Site.open(site_config(minio, site.bucket[:50] + "-bare"))
    for key in _present_keys(site):
        bare.s3.copy_object(
            Bucket=bare.bucket, Key=key, CopySource={"Bucket": site.bucket, "Key": key}
        )

    # One object's bytes changed under its metadata: its claimed sha256 is not adopted.
    forged = _present_keys(site)[7]
    saved = bare.s3.get_object(Bucket=bare.bucket, Key=forged)
    body = saved["Body"].read()
    bare.s3.put_object(
        Bucket=bare.bucket, Key=forged, Body=body[:-1] + b"!", Metadata=saved["Metadata"]
    )

    report = reconcile(bare)
    assert report.summary()["adopted"] == 19
    assert [(f.key, f.kind) for f in report.unusable] == [(forged, "unusable")]
    assert "do not hash" in report.unusable[0].reason
    bare.s3.put_object(
        Bucket=bare.bucket,
        Key=forged,
        Body=body,
        Metadata=saved["Metadata"],
        Tagging="oods-retention=hold",
    )
    assert reconcile(bare).summary()["adopted"] == 1
    columns = (
        "dataset_id, dataset_type, run, instrument, data_id, exposure, detector, "
        "dataset_filter, day_obs, key, size, checksum, file_name"
    )
    query = f"SELECT {columns} FROM files ORDER BY key"
    site.refresh()
    bare.refresh()
    assert bare.sql(query).fetchall() == site.sql(query).fetchall()
    exposures = "SELECT * EXCLUDE (recorded_at) FROM exposures ORDER BY exposure"
    assert bare.sql(exposures).fetchall() == site.sql(exposures).fetchall()
    assert fsck(bare, full=True).ok
    assert ingest(bare, [night]).summary()["skipped"] == 20
    assert reconcile(bare).findings == []


def test_unusable_orphans_are_reported_and_left_alone(site: Site, night: Path) -> None:
    ingest(site, [night])
    good = _present_keys(site)[0]
    head = site.s3.head_object(Bucket=site.bucket, Key=good)["Metadata"]
    stray = "LSSTCam/raw/20250601/stray.fits"
    site.s3.put_object(Bucket=site.bucket, Key=stray, Body=b"x")
    fake = "LSSTCam/raw/20250601/fake.fits"  # OODS metadata, but not FITS
    site.s3.put_object(Bucket=site.bucket, Key=fake, Body=b"not fits" * 400, Metadata=head)
    moved = "LSSTCam/raw/20250601/moved.fits"  # a real raw, at a key not its data id's
    site.s3.copy_object(
        Bucket=site.bucket, Key=moved, CopySource={"Bucket": site.bucket, "Key": good}
    )

    report = reconcile(site)
    unusable = {f.key: f.reason for f in report.unusable}
    assert set(unusable) == {stray, fake, moved}
    assert "not stored by OODS" in unusable[stray]
    assert "not a FITS file" in unusable[fake]
    assert good in unusable[moved]  # names where it belongs
    assert len(report.findings) == 3
    assert site.s3.head_object(Bucket=site.bucket, Key=stray)["ContentLength"] == 1
    assert len(_present_keys(site)) == 20
    assert {p.key for p in fsck(site).problems} == {stray, fake, moved}

    for key in (stray, fake, moved):
        site.s3.delete_object(Bucket=site.bucket, Key=key)
    assert fsck(site, full=True).ok


def test_an_object_put_back_with_the_same_bytes_is_restored(site: Site, night: Path) -> None:
    ingest(site, [night])
    key = _present_keys(site)[5]
    saved = site.s3.get_object(Bucket=site.bucket, Key=key)
    body, metadata = saved["Body"].read(), saved["Metadata"]
    site.s3.delete_object(Bucket=site.bucket, Key=key)
    assert [f.kind for f in reconcile(site).findings] == ["missing"]

    site.s3.put_object(Bucket=site.bucket, Key=key, Body=body[:-1] + b"!", Metadata=metadata)
    report = reconcile(site)
    assert [f.kind for f in report.findings] == ["unusable"]  # other bytes: not restored
    assert key not in _present_keys(site)

    site.s3.put_object(
        Bucket=site.bucket, Key=key, Body=body, Metadata=metadata, Tagging="oods-retention=hold"
    )
    report = reconcile(site)
    assert [(f.kind, f.key) for f in report.findings] == [("restored", key)]
    assert key in _present_keys(site)
    assert fsck(site, full=True).ok


def test_a_second_copy_of_a_present_dataset_is_not_adopted(site: Site, night: Path) -> None:
    """A dataset catalogued at an older key layout keeps it: the copy at the new key is
    reported, not adopted over it."""
    ingest(site, [night])
    ((dataset_id, key),) = site.sql("SELECT dataset_id, key FROM files LIMIT 1").fetchall()
    old = "old-layout/" + key.rsplit("/", 1)[1]
    site.s3.copy_object(Bucket=site.bucket, Key=old, CopySource={"Bucket": site.bucket, "Key": key})
    row = latest_locations(site, [dataset_id]).to_pylist()[0]
    row.update(key=old, recorded_at=dt.datetime.now(dt.UTC))
    site.store.append("locations", pa.Table.from_pylist([row], TABLES["locations"].schema))

    report = reconcile(site)
    assert [(f.kind, f.key, f.dataset_id) for f in report.findings] == [
        ("unusable", key, dataset_id)
    ]
    assert f"a second copy of a dataset present at {old}" in report.findings[0].reason
    assert latest_locations(site, [dataset_id]).column("key").to_pylist() == [old]
