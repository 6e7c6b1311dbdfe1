"""Migrating ``locations`` to schema version 2: each row gets its dataset's instrument,
night and exposure, on a real site in MinIO put back to version 1 (tests.old_schema)."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

from catalog import LocationRecord, Snapshot, to_arrow
from catalog.lazy_tables import MODES
from catalog.schema_versions import stored_version
from oods import Site
from oods.simulate import DEFAULT_DAY_OBS
from tests.cli_invoke import ok, site_config_file
from tests.old_schema import make_version_1
from tests.small_catalog import ingest_bias_master, ingest_night

_ORPHAN = "no-such-dataset"
#: Every location row's copied columns (history included), in a stable order.
_COPIED = (
    "SELECT dataset_id, instrument, day_obs, exposure, state FROM locations_history "
    "ORDER BY dataset_id, recorded_at"
)
_DATASETS = "SELECT dataset_id, instrument, day_obs, exposure FROM datasets"


def _expected(site: Site) -> list[tuple[object, ...]]:
    """What ``_COPIED`` must give: each location with its dataset's values, the orphan
    (whose dataset has no row) with nulls, instrument included."""
    datasets = {row[0]: row[1:] for row in site.sql(_DATASETS).fetchall()}
    rows = site.sql("SELECT dataset_id, state FROM locations_history ORDER BY 1, recorded_at")
    return [(i, *datasets.get(i, (None, None, None)), state) for i, state in rows.fetchall()]


def _old_site(site: Site, tmp_path: Path) -> tuple[list[tuple[object, ...]], list[object]]:
    """Raws, a calibration and an orphan location, then put back to version 1; returns
    the expected copied columns and the ``files`` rows."""
    ingest_night(site, tmp_path / "n", DEFAULT_DAY_OBS, seed=4)
    ingest_bias_master(site, tmp_path)
    now = dt.datetime.now(dt.UTC)
    orphan = LocationRecord(
        _ORPHAN, "LSSTCam", 1, 2, "k/orphan", 1, "0" * 64, "o.fits", "present", now
    )
    site.store.append("locations", to_arrow([orphan], LocationRecord))
    site.refresh()
    expected = _expected(site)
    files = sorted(site.sql("SELECT * FROM files").fetchall(), key=repr)
    assert len(files) == 5 and _ORPHAN not in {row[0] for row in files}
    make_version_1(site)
    return expected, files


def test_migrate_copies_each_datasets_values_and_time_travel_still_reads(
    site: Site, tmp_path: Path
) -> None:
    expected, files = _old_site(site, tmp_path)
    old = Site.open(site.config)
    locations = old.store.open("locations")
    assert locations is not None and stored_version(locations) == 1
    assert "exposure" not in locations.schema().to_arrow().names
    # Before migrating, a snapshot derives the columns from its own datasets.
    for mode in MODES:
        with Snapshot(old.store, mode=mode) as snapshot:
            assert snapshot.sql(_COPIED).fetchall() == expected, mode
            assert sorted(snapshot.sql("SELECT * FROM files").fetchall(), key=repr) == files

    before = old.store.latest_version("locations")
    assert before is not None
    config = site_config_file(site, tmp_path)
    ok(config, "catalog", "migrate")
    migrated = Site.open(site.config)
    # The stored rows themselves now hold the values (read without any snapshot).
    stored = migrated.store.load("locations").sort_by([("dataset_id", "ascending")])
    assert stored_version(migrated.store.open("locations")) == 2  # type: ignore[arg-type]
    columns = ["dataset_id", "instrument", "day_obs", "exposure", "state"]
    assert [tuple(r.values()) for r in stored.select(columns).to_pylist()] == expected
    assert sum(1 for e in expected if e[3] is None) == 2  # the calibration and the orphan
    for mode in MODES:
        with Snapshot(migrated.store, mode=mode) as snapshot:
            assert snapshot.sql(_COPIED).fetchall() == expected, mode
            assert sorted(snapshot.sql("SELECT * FROM files").fetchall(), key=repr) == files

    # Time travel to before the migration, by catalog version and by time.
    when = migrated.store.version_time("locations", before)
    for as_of in (before, when):
        for mode in MODES:
            with Snapshot(migrated.store, as_of, mode=mode) as snapshot:
                assert snapshot.sql(_COPIED).fetchall() == expected, (as_of, mode)
                found = sorted(snapshot.sql("SELECT * FROM files").fetchall(), key=repr)
                assert found == files, (as_of, mode)
    query = "SELECT count(*), count(exposure) FROM files"
    for as_of in (str(before), when.isoformat()):
        line = ok(config, "query", query, "--as-of", as_of, "--format", "csv").output
        assert line.splitlines()[1] == "5,4"  # four raws and a bias


def test_a_new_catalog_is_made_at_this_version_one_commit_per_table(site: Site) -> None:
    """Recording the version costs no commit: catalog version 0 is the empty catalog
    and each ingest one more, as before locations had a version to record."""
    for table in ("datasets", "exposures", "locations"):
        delta = site.store.open(table)
        assert delta is not None and delta.version() == 0, table
        assert stored_version(delta) == 2, table
        assert delta.to_pyarrow_table().num_rows == 0
    assert [operation for _, _, operation in site.store.versions("locations")] == ["CREATE TABLE"]
