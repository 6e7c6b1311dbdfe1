"""Know every archived dataset (rows without bytes, ``remote``), then fetch on demand."""

from __future__ import annotations

from pathlib import Path

from oods import Site, ingest, simulate_night, update_records
from replica import fetch, push, sync, sync_marks, sync_metadata
from tests.location_columns import assert_locations_copy_datasets


def _located(site: Site) -> dict[str, str]:
    site.refresh()
    return dict(site.sql("SELECT dataset_id, state FROM locations").fetchall())


def test_metadata_only_then_fetch_on_demand(site: Site, dbb: Site, night: Path) -> None:
    assert ingest(dbb, [night]).summary()["failed"] == 0
    dbb.refresh()
    archived = {r[0] for r in dbb.sql("SELECT dataset_id FROM files").fetchall()}

    report = sync_metadata(site, dbb)
    assert report.remote == 20 and report.rows > 20
    assert assert_locations_copy_datasets(site, {"remote"}) == 20
    assert _located(site) == dict.fromkeys(archived, "remote")
    assert site.sql("SELECT count(*) FROM files").fetchall() == [(0,)]  # no bytes here
    assert site.sql("SELECT count(*) FROM exposures").fetchall() == [(5,)]  # queryable
    listed = site.s3.list_objects_v2(Bucket=site.bucket, Prefix="LSSTCam/raw/")
    assert listed["KeyCount"] == 0

    again = sync_metadata(site, dbb)
    assert (again.rows, again.remote) == (0, 0)

    wanted = sorted(archived)[:3]
    unknown = "00000000-0000-5000-8000-000000000000"
    fetched = fetch(site, dbb, [*wanted, unknown])
    assert {t.dataset_id for t in fetched.copied} == set(wanted)
    assert fetched.lines() == [f"{unknown}: not held at {dbb.bucket}"]
    states = _located(site)
    assert {i for i, s in states.items() if s == "present"} == set(wanted)
    assert site.sql("SELECT count(*) FROM files").fetchall() == [(3,)]
    assert assert_locations_copy_datasets(site, {"remote", "present"}) == 23
    for t in fetched.copied:
        tags = site.s3.get_object_tagging(Bucket=site.bucket, Key=t.key)["TagSet"]
        assert tags == [{"Key": "oods-retention", "Value": "cache"}]
    # Fetching again, or by a predicate that covers them, moves only what is missing.
    by_where = fetch(site, dbb, where="d.detector = 0")
    detector0 = {
        r[0] for r in dbb.sql("SELECT dataset_id FROM files WHERE detector = 0").fetchall()
    }
    assert {t.dataset_id for t in by_where.copied} == detector0 - set(wanted)
    assert by_where.ok


def test_an_exposure_corrected_at_the_dbb_is_corrected_here_after_sync(
    site: Site, dbb: Site, night: Path, tmp_path: Path
) -> None:
    assert ingest(site, [night]).summary()["failed"] == 0
    assert push(site, dbb, release=False).ok
    dbb.refresh()
    exposure, seen = dbb.sql(
        "SELECT exposure, can_see_sky FROM exposures ORDER BY exposure LIMIT 1"
    ).fetchall()[0]
    table = tmp_path / "fix.csv"
    table.write_text(
        "instrument,exposure,detector,field,value,reason\n"
        f"LSSTCam,{exposure},,can_see_sky,{not seen},dome was closed\n"
    )
    assert not update_records(dbb, table=table).rejected

    report = sync_metadata(site, dbb)
    assert report.remote == 0  # every dataset is already here, present
    site.refresh()
    corrected = site.sql(
        "SELECT can_see_sky, correction FROM exposures WHERE exposure = $e", params={"e": exposure}
    ).fetchall()
    assert len(corrected) == 1 and corrected[0][0] == (not seen)
    assert "dome was closed" in corrected[0][1]
    assert set(_located(site).values()) == {"present"}
    assert sync_metadata(site, dbb).rows == 0  # nothing new the second time


def test_a_correction_made_here_reaches_the_dbb_with_the_next_sync(
    site: Site, dbb: Site, night: Path, tmp_path: Path
) -> None:
    assert ingest(site, [night]).summary()["failed"] == 0
    assert push(site, dbb, release=False).ok
    exposure, seen = site.sql(
        "SELECT exposure, can_see_sky FROM exposures ORDER BY exposure LIMIT 1"
    ).fetchall()[0]
    table = tmp_path / "fix.csv"
    table.write_text(
        "instrument,exposure,detector,field,value,reason\n"
        f"LSSTCam,{exposure},,can_see_sky,{not seen},shutter log\n"
    )
    assert not update_records(site, table=table).rejected

    report = sync(site, dbb)
    assert report.ok, report.lines()
    assert report.push.plan.count == 0 and report.corrections.rows >= 1
    dbb.refresh()
    assert dbb.sql(
        "SELECT can_see_sky FROM exposures WHERE exposure = $e", params={"e": exposure}
    ).fetchall() == [(not seen,)]
    assert sync(site, dbb).corrections.rows == 0  # sent once


def test_a_resync_compares_nothing_until_the_other_site_writes(
    site: Site, dbb: Site, night: Path, tmp_path: Path
) -> None:
    assert ingest(dbb, [night]).summary()["failed"] == 0
    first = sync_metadata(site, dbb)
    assert first.remote == 20 and not first.unchanged
    again = sync_metadata(site, dbb)
    assert again.unchanged and (again.rows, again.remote) == (0, 0)

    more = simulate_night(
        tmp_path / "more", detectors=2, exposures=1, seed=21, size=8, day_obs=20250612
    )
    assert ingest(dbb, more.files).summary()["failed"] == 0  # the DBB writes: compared
    third = sync_metadata(site, dbb)
    assert not third.unchanged and third.remote == 2
    assert sync_metadata(site, dbb).unchanged

    prefix = f"{site.config.catalog_prefix.strip('/')}/{sync_marks.FOLDER}/"
    listed = site.s3.list_objects_v2(Bucket=site.bucket, Prefix=prefix)["Contents"]
    (mark,) = [o for o in listed if o["Key"].endswith(".json")]  # not the folder's marker
    site.s3.put_object(Bucket=site.bucket, Key=mark["Key"], Body=b"{garbage")
    fourth = sync_metadata(site, dbb)  # no usable mark: the full comparison, nothing new
    assert not fourth.unchanged and (fourth.rows, fourth.remote) == (0, 0)
    assert sync_metadata(site, dbb).unchanged  # marked again
