"""Push to a DBB on a second real MinIO server: verified copies, idempotent, resumable."""

from __future__ import annotations

import hashlib
from pathlib import Path

from oods import Site, ingest, put
from oods.simulate import simulate_night
from replica import push, push_plan, replica_status
from replica.transfer import copy_object
from tests.location_columns import assert_locations_copy_datasets
from tests.oods.test_calibrations import write_master


def _tags(site: Site, key: str) -> dict[str, str]:
    tags = site.s3.get_object_tagging(Bucket=site.bucket, Key=key)["TagSet"]
    return {t["Key"]: t["Value"] for t in tags}


def _counts(site: Site) -> dict[str, int]:
    site.refresh()
    return {
        table: site.sql(f"SELECT count(*) FROM {table}_history").fetchall()[0][0]
        for table in ("datasets", "exposures", "locations", "provenance", "calibrations")
    }


def test_push_copies_verified_then_repush_moves_nothing(
    site: Site, dbb: Site, night: Path, tmp_path: Path
) -> None:
    assert ingest(site, [night]).summary()["failed"] == 0
    raws = [r[0] for r in site.sql("SELECT dataset_id FROM datasets").fetchall()]
    output = put(
        site,
        write_master(tmp_path / "scratch.fits", seed=4),
        "postISRCCD",
        "u/alice/scratch",
        instrument="LSSTCam",
        detector=0,
        inputs=raws[:2],
    )

    before = push_plan(site, dbb)
    assert before.count == len(raws) == 20  # raws only: the unpromoted output stays local
    assert output.dataset_id not in {t.dataset_id for t in before.transfers}

    report = push(site, dbb)
    assert report.ok, report.lines()
    assert len(report.copied) == 20 and report.bytes == before.bytes > 0
    # Every object at the DBB hashes to the checksum the OODS catalog holds.
    local = dict(site.sql("SELECT key, checksum FROM files WHERE dataset_type = 'raw'").fetchall())
    dbb.refresh()
    remote = dict(dbb.sql("SELECT key, checksum FROM files").fetchall())
    assert set(remote) == set(local) and len(remote) == 20
    for key, checksum in remote.items():
        body = dbb.s3.get_object(Bucket=dbb.bucket, Key=key)
        assert hashlib.sha256(body["Body"].read()).hexdigest() == checksum == local[key]
        assert body["Metadata"]["sha256"] == checksum
        assert body["Metadata"]["dataset-id"]
        assert _tags(dbb, key) == {"oods-retention": "hold"}
    # Exposures came along: a query about the night works at the DBB.
    assert dbb.sql("SELECT count(*) FROM exposures").fetchall() == [(5,)]
    assert assert_locations_copy_datasets(dbb, {"present"}) == 20

    rows = _counts(dbb)
    again = push(site, dbb)
    assert again.plan.count == 0 and again.copied == [] and again.ok
    assert _counts(dbb) == rows  # nothing duplicated
    status = replica_status(site, dbb)
    assert (status.push.count, status.push.bytes, status.push.oldest) == (0, 0, None)


def test_status_counts_each_direction(site: Site, dbb: Site, night: Path) -> None:
    assert ingest(site, [night]).summary()["failed"] == 0
    status = replica_status(site, dbb)
    sizes = [r[0] for r in site.sql("SELECT size FROM files").fetchall()]
    oldest = site.sql("SELECT min(stored_at) FROM files").fetchall()[0][0]
    assert (status.push.count, status.push.bytes) == (20, sum(sizes))
    assert status.push.oldest == oldest
    assert status.pull.count == 0
    assert status.to_dict()["push"]["datasets"] == 20

    push(site, dbb)
    # The DBB now holds what the OODS holds; an exposure the OODS never saw shows as pull.
    status = replica_status(site, dbb)
    assert (status.push.count, status.pull.count) == (0, 0)


def test_an_occupied_key_is_never_overwritten(site: Site, dbb: Site, night: Path) -> None:
    assert ingest(site, [night]).summary()["failed"] == 0
    victim = push_plan(site, dbb).transfers[0]
    dbb.s3.put_object(Bucket=dbb.bucket, Key=victim.key, Body=b"someone else's bytes")

    report = push(site, dbb)
    assert [t.key for t, _ in report.failed] == [victim.key]
    assert "already holds other bytes" in report.lines()[0] and "\n" not in report.lines()[0]
    assert len(report.copied) == 19  # the rest of the batch carries on
    body = dbb.s3.get_object(Bucket=dbb.bucket, Key=victim.key)["Body"].read()
    assert body == b"someone else's bytes"
    assert push_plan(site, dbb).count == 1  # still pending, reported again next time


def test_an_object_left_by_an_interrupted_push_is_adopted(
    site: Site, dbb: Site, night: Path
) -> None:
    """Bytes copied but never catalogued (the push died before its commit)."""
    assert ingest(site, [night]).summary()["failed"] == 0
    first = push_plan(site, dbb).transfers[0]
    assert copy_object(site, dbb, first, "hold").status == "copied"
    assert push_plan(site, dbb).count == 20  # not catalogued: still pending

    report = push(site, dbb)
    assert report.ok and len(report.copied) == 20
    assert push_plan(site, dbb).count == 0


def test_large_objects_go_multipart_and_are_verified(site: Site, dbb: Site, tmp_path: Path) -> None:
    simulate_night(tmp_path / "big", detectors=1, exposures=1, size=1400)  # ~7.8 MB
    assert ingest(site, [tmp_path / "big"]).summary()["failed"] == 0
    threshold = 5 * 2**20  # S3's smallest part
    (item,) = push_plan(site, dbb).transfers
    assert item.size > threshold
    outcome = copy_object(site, dbb, item, "hold", multipart_threshold=threshold)
    assert outcome.status == "copied"
    head = dbb.s3.head_object(Bucket=dbb.bucket, Key=item.key)
    assert head["ETag"].strip('"').endswith("-2")  # two parts
    assert head["Metadata"]["sha256"] == item.checksum
    body = dbb.s3.get_object(Bucket=dbb.bucket, Key=item.key)["Body"].read()
    assert hashlib.sha256(body).hexdigest() == item.checksum


def test_bytes_that_do_not_match_the_catalog_are_not_pushed(
    site: Site, dbb: Site, night: Path
) -> None:
    """The checksum is verified before the destination's rows are committed."""
    assert ingest(site, [night]).summary()["failed"] == 0
    victim = push_plan(site, dbb).transfers[0]
    body = site.s3.get_object(Bucket=site.bucket, Key=victim.key)["Body"].read()
    rotten = body[:-1] + bytes([body[-1] ^ 0xFF])  # one flipped byte, same size
    site.s3.put_object(Bucket=site.bucket, Key=victim.key, Body=rotten)

    report = push(site, dbb)
    assert [t.key for t, _ in report.failed] == [victim.key]
    assert "do not match its catalog checksum" in report.lines()[0]
    dbb.refresh()
    assert dbb.sql(
        "SELECT count(*) FROM locations_history WHERE dataset_id = $id",
        params={"id": victim.dataset_id},
    ).fetchall() == [(0,)]
    listed = dbb.s3.list_objects_v2(Bucket=dbb.bucket, Prefix=victim.key).get("KeyCount")
    assert listed == 0


def test_push_releases_the_local_copies_through_the_retention_gate(
    site: Site, dbb: Site, night: Path
) -> None:
    assert ingest(site, [night]).summary()["failed"] == 0
    keys = [r[0] for r in site.sql("SELECT key FROM files").fetchall()]
    assert {_tags(site, k)["oods-retention"] for k in keys} == {"hold"}

    report = push(site, dbb, release_to="scratch")
    assert report.ok and report.released == 20
    assert report.release_note == "released 20 local copies to their expiring class"
    assert {_tags(site, k)["oods-retention"] for k in keys} == {"scratch"}
    assert {_tags(dbb, k)["oods-retention"] for k in keys} == {"hold"}  # the archive keeps


def test_without_release_the_local_copies_stay_on_hold(site: Site, dbb: Site, night: Path) -> None:
    assert ingest(site, [night]).summary()["failed"] == 0
    report = push(site, dbb, release=False)
    assert report.ok and report.released is None
    keys = [r[0] for r in site.sql("SELECT key FROM files").fetchall()]
    assert {_tags(site, k)["oods-retention"] for k in keys} == {"hold"}
