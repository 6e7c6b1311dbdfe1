"""Sync between sites whose catalogs are at different schema versions."""

from __future__ import annotations

from pathlib import Path

import pyarrow as pa
from deltalake import write_deltalake

from oods import Site, ingest, simulate_night
from replica import pull, push, sync_metadata
from tests.location_columns import assert_locations_copy_datasets
from tests.old_schema import make_version_1


def _rewrite_datasets(dbb: Site, drop: str, extra: str | None = None) -> None:
    """Give the DBB's datasets table another version's columns (a real Delta rewrite)."""
    delta = dbb.store.open("datasets")
    assert delta is not None
    rows = delta.to_pyarrow_table().drop_columns([drop])
    if extra is not None:
        rows = rows.append_column(extra, pa.array(["from v0"] * rows.num_rows))
    dbb.store.close()
    write_deltalake(
        dbb.store.uri("datasets"),
        rows,
        mode="overwrite",
        schema_mode="overwrite",
        storage_options=dict(dbb.store.storage_options),
    )
    dbb.refresh()


def test_shared_columns_sync_and_the_rest_is_said(site: Site, dbb: Site, night: Path) -> None:
    assert ingest(dbb, [night]).summary()["failed"] == 0
    _rewrite_datasets(dbb, drop="correction", extra="legacy_note")

    report = pull(site, dbb, "d.detector = 0")
    assert report.ok, report.lines()
    assert len(report.copied) == 5
    assert report.notes == [
        "datasets: defaulted column correction to null (not in the other site's)",
        "datasets: dropped column legacy_note (not in this site's catalog schema)",
    ]
    site.refresh()
    assert site.sql("SELECT count(*) FROM files WHERE correction IS NULL").fetchall() == [(5,)]

    metadata = sync_metadata(site, dbb)
    assert metadata.remote == 15 and len(metadata.notes) == 2


def test_a_missing_required_column_stops_cataloguing_in_one_line(
    site: Site, dbb: Site, night: Path
) -> None:
    assert ingest(dbb, [night]).summary()["failed"] == 0
    _rewrite_datasets(dbb, drop="data_id")

    report = pull(site, dbb, "d.detector = 0")
    assert not report.ok and report.copied == [] and len(report.failed) == 5
    line = report.lines()[0]
    assert "has no column data_id" in line and "\n" not in line
    site.refresh()
    assert site.sql("SELECT count(*) FROM datasets").fetchall() == [(0,)]


_OLDER = "the other site's table is at schema version 1, this site's at 2"


def test_pull_from_a_site_at_an_older_schema_version_upgrades_and_says_so(
    site: Site, dbb: Site, night: Path
) -> None:
    assert ingest(dbb, [night]).summary()["failed"] == 0
    wanted = dbb.sql(
        "SELECT d.dataset_id, d.dataset_filter, e.band FROM datasets d "
        "JOIN exposures e USING (instrument, exposure) WHERE d.detector = 0 ORDER BY 1"
    ).fetchall()
    make_version_1(dbb)  # the DBB not migrated yet: physical_filter in datasets, no band

    report = pull(site, dbb, "d.detector = 0")
    assert report.ok, report.lines()
    notes = [
        f"datasets: rename physical_filter to dataset_filter ({_OLDER})",
        f"exposures: add band, derived from physical_filter ({_OLDER})",
    ]
    assert report.notes == notes and report.to_dict()["notes"] == notes  # and --json
    site.refresh()
    got = site.sql(
        "SELECT dataset_id, dataset_filter, band FROM datasets "
        "JOIN exposures USING (instrument, exposure) ORDER BY 1"
    ).fetchall()
    assert got == wanted and len(got) == 5
    # The locations made here take the dataset's values from the DBB's datasets (the
    # DBB's own location rows, at version 1 without them, are not read).
    assert assert_locations_copy_datasets(site, {"present"}) == 5
    metadata = sync_metadata(site, dbb)
    assert metadata.remote == 15 and notes[0] in metadata.notes  # exposures: none new
    assert assert_locations_copy_datasets(site, {"present", "remote"}) == 20


def test_push_to_a_site_at_an_older_schema_version_is_refused_before_copying(
    site: Site, dbb: Site, night: Path, tmp_path: Path
) -> None:
    assert ingest(dbb, [night]).summary()["failed"] == 0
    make_version_1(dbb)
    other = simulate_night(
        tmp_path / "o", detectors=2, exposures=1, seed=9, size=4, day_obs=20250610
    )
    assert not ingest(site, other.files).failed

    report = push(site, dbb)
    assert not report.ok and report.copied == [] and len(report.failed) == 2
    for line in report.lines():
        assert line.endswith(
            "not copied: catalog table datasets is at schema version 1, this oods needs 2: "
            "run `oods catalog migrate`"
        )
    keys = {t.key for t, _ in report.failed}
    listed = dbb.s3.list_objects_v2(Bucket=dbb.bucket, Prefix="LSSTCam/raw")
    assert not keys & {o["Key"] for o in listed.get("Contents", [])}  # no byte moved
