"""Schema versions and migrations of the catalog tables, on a real MinIO site."""

from __future__ import annotations

from pathlib import Path

import pyarrow as pa
import pytest
from deltalake import DeltaTable, write_deltalake

from catalog import SchemaVersionError, Snapshot
from catalog.schema_versions import SCHEMA_VERSION_KEY, stored_version
from oods import Site, ingest, simulate_night, update_records
from tests.cli_invoke import ok, run, site_config_file
from tests.old_schema import make_version_1, set_version

_JOIN = "SELECT * FROM datasets JOIN exposures USING (instrument, exposure)"
_NEEDS_MIGRATE = (
    "catalog table datasets is at schema version 1, this oods needs 2: run `oods catalog migrate`"
)


def _night(tmp_path: Path, name: str, day_obs: int) -> list[Path]:
    night = simulate_night(
        tmp_path / name, detectors=3, exposures=3, seed=4, size=4, day_obs=day_obs
    )
    return list(night.files)


def _versions(site: Site) -> dict[str, int]:
    found = {}
    for table in ("datasets", "exposures", "locations"):
        delta = site.store.open(table)
        assert delta is not None
        found[table] = stored_version(delta)
    return found


def test_a_table_without_a_recorded_version_is_at_version_1(tmp_path: Path) -> None:
    write_deltalake(str(tmp_path / "t"), pa.table({"a": [1]}))
    assert stored_version(DeltaTable(str(tmp_path / "t"))) == 1


def test_new_tables_record_their_version_and_fast_appends_keep_it(
    site: Site, tmp_path: Path
) -> None:
    for day in range(3):  # several commits through the blind-append path
        assert not ingest(site, _night(tmp_path, f"n{day}", 20250601 + day)).failed
    site.store.maintain("datasets")  # compaction and checkpoint keep it too
    assert _versions(site) == {"datasets": 2, "exposures": 2, "locations": 2}
    delta = site.store.open("datasets")
    assert delta is not None and delta.metadata().configuration[SCHEMA_VERSION_KEY] == "2"


def test_band_and_physical_filter_join_without_ambiguity(site: Site, tmp_path: Path) -> None:
    assert not ingest(site, _night(tmp_path, "n", 20250601)).failed
    rows = site.sql(
        "SELECT exposure, detector, dataset_filter, physical_filter, band "
        "FROM datasets JOIN exposures USING (instrument, exposure) ORDER BY 1, 2"
    ).fetchall()
    assert len(rows) == 9
    assert all(r[2] == r[3] for r in rows)  # no correction: the raw's filter is its exposure's
    assert {(r[3], r[4]) for r in rows} <= {
        ("r_57", "r"),
        ("i_39", "i"),
        ("g_6", "g"),
        ("z_20", "z"),
        ("y_10", "y"),
        ("u_24", "u"),
        ("empty", "white"),
    }
    assert len(site.sql(_JOIN).fetchall()) == 9


def test_band_follows_a_corrected_filter_and_is_not_corrected_itself(
    site: Site, tmp_path: Path
) -> None:
    assert not ingest(site, _night(tmp_path, "n", 20250601)).failed
    ((exposure, old),) = site.sql(
        "SELECT exposure, physical_filter FROM exposures ORDER BY 1 LIMIT 1"
    ).fetchall()
    new = "g_6" if old != "g_6" else "r_57"
    table = tmp_path / "fixes.csv"
    table.write_text(
        "instrument,exposure,field,value\n"
        f"LSSTCam,{exposure},physical_filter,{new}\nLSSTCam,{exposure},band,z\n"
    )
    report = update_records(site, table=table)
    assert [r.reason for r in report.rejected] == [
        "field 'band' is derived from physical_filter: correct physical_filter"
    ]
    site.refresh()
    rows = site.sql(
        "SELECT DISTINCT physical_filter, band, dataset_filter FROM datasets "
        f"JOIN exposures USING (instrument, exposure) WHERE exposure = {exposure}"
    ).fetchall()
    assert rows == [(new, new[0], new)]


def test_an_old_catalog_is_read_refused_for_writes_then_migrated(
    site: Site, tmp_path: Path
) -> None:
    assert not ingest(site, _night(tmp_path, "n1", 20250601)).failed
    filters = site.sql(
        "SELECT exposure, physical_filter, band FROM exposures ORDER BY 1"
    ).fetchall()
    make_version_1(site)
    old = Site.open(site.config)
    assert _versions(old) == {"datasets": 1, "exposures": 1, "locations": 1}

    # Reads: the rows are upgraded as they load (same names, band derived).
    assert old.sql("SELECT count(*) FROM files").fetchall() == [(9,)]
    assert old.sql(
        "SELECT exposure, physical_filter, band FROM exposures ORDER BY 1"
    ).fetchall() == (filters)
    assert len(old.sql(_JOIN).fetchall()) == 9
    with Snapshot(old.store, mode="lazy") as lazy:
        query = "SELECT count(*), count(band) FROM files JOIN exposures USING (exposure)"
        assert lazy.sql(query).fetchall() == [(9, 9)]

    # Writes: refused in one line, before any file is uploaded.
    with pytest.raises(SchemaVersionError) as refused:
        ingest(old, _night(tmp_path, "n2", 20250602))
    assert str(refused.value) == _NEEDS_MIGRATE
    config = site_config_file(site, tmp_path)
    result = run(config, "ingest", str(tmp_path / "n2"))
    assert result.exit_code == 1 and _NEEDS_MIGRATE in result.output
    assert "Traceback" not in result.output and len(result.output.strip().splitlines()) == 1

    before = old.store.latest_version("datasets")
    preview = ok(config, "catalog", "migrate", "--dry-run").output.splitlines()
    assert preview == [
        "datasets: schema version 1 -> 2: rename physical_filter to dataset_filter "
        "(would rewrite 9 rows; history kept)",
        "exposures: schema version 1 -> 2: add band, derived from physical_filter "
        "(would rewrite 3 rows; history kept)",
        "locations: schema version 1 -> 2: add instrument, day_obs, exposure, copied from "
        "the datasets (would rewrite 9 rows; history kept)",
    ]
    assert old.store.latest_version("datasets") == before  # a dry run changes nothing

    done = ok(config, "catalog", "migrate").output.splitlines()
    assert [line.replace("would rewrite", "rewrote") for line in preview] == done
    assert ok(config, "catalog", "migrate").output.strip() == (
        "every catalog table is at this oods's schema version"
    )
    migrated = Site.open(site.config)
    assert _versions(migrated) == {"datasets": 2, "exposures": 2, "locations": 2}
    assert migrated.sql(
        "SELECT exposure, physical_filter, band FROM exposures ORDER BY 1"
    ).fetchall() == (filters)
    # History kept: the version-1 table is still readable by time travel, upgraded.
    old_rows = migrated.store.load("datasets", version=before)
    assert "dataset_filter" in old_rows.column_names and old_rows.num_rows == 9
    assert migrated.store.versions("datasets")[0][2] == "SET TBLPROPERTIES"

    assert not ingest(migrated, _night(tmp_path, "n2", 20250602)).failed
    migrated.refresh()
    assert migrated.sql("SELECT count(*) FROM files").fetchall() == [(18,)]


def test_a_newer_catalog_is_read_but_not_written(site: Site, tmp_path: Path) -> None:
    assert not ingest(site, _night(tmp_path, "n1", 20250601)).failed
    set_version(site, "exposures", 3)
    newer = Site.open(site.config)
    assert newer.sql("SELECT count(*) FROM files").fetchall() == [(9,)]
    with pytest.raises(SchemaVersionError, match="exposures is at schema version 3, this oods"):
        ingest(newer, _night(tmp_path, "n2", 20250602))
    config = site_config_file(site, tmp_path)
    line = ok(config, "catalog", "migrate").output.strip()
    assert line == "exposures: at schema version 3, newer than this oods (2): left alone"
