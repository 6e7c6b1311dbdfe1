"""The dataset index finds a dataset by id as a scan would: fresh, stale, or time-travelled.

One real catalog in MinIO: a night of raws and a bias (no exposure) indexed, then a
second night, a correction to an indexed raw and a compaction that the index has not
seen. Every id, and one the catalog never held, is looked up in lazy snapshots with
the index's condition and compared with the plain condition in memory.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from pathlib import Path

import pyarrow.fs as pa_fs
import pytest

from catalog import Snapshot
from catalog.dataset_index import INDEX_FOLDER, MANIFEST, _location, refresh_dataset_index
from infra.minio_server import MinioServer
from oods import Site, ingest, simulate_night, update_records
from tests.conftest import site_config
from tests.small_catalog import ingest_bias_master, ingest_night

UNKNOWN = "00000000-0000-5000-8000-000000000000"
VIEWS = ("datasets", "files", "all_files")


@pytest.fixture(scope="module")
def catalog(
    minio: MinioServer, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[tuple[Site, dt.datetime, dt.datetime]]:
    """A site, the time its index was built, and a time before that."""
    work = tmp_path_factory.mktemp("dataset-index")
    site = Site.open(site_config(minio, "dataset-index"))
    ingest_night(site, work / "n1", 20250601, detectors=3, exposures=3, seed=8, size=8)
    ingest_bias_master(site, work)
    before_index = dt.datetime.now(dt.UTC)
    assert refresh_dataset_index(site.store, force=True).built
    indexed = dt.datetime.now(dt.UTC)
    second = simulate_night(work / "n2", detectors=3, exposures=2, seed=9, size=8, day_obs=20250602)
    assert not ingest(site, second.files).failed
    exposure = site.sql("SELECT min(exposure) FROM exposures").fetchall()[0][0]
    fixed = work / "fix.csv"
    fixed.write_text(
        "instrument,exposure,detector,field,value,reason\n"
        f"LSSTCam,{exposure},1,physical_filter,g_6,filter wheel log\n"
    )
    assert not update_records(site, table=fixed).rejected
    assert site.store.compact("datasets")["numFilesRemoved"] > 1  # indexed files rewritten
    yield site, before_index, indexed
    site.close()


def _ids(site: Site) -> list[str]:
    with Snapshot(site.store, mode="memory") as memory:
        ids = [
            i for (i,) in memory.sql("SELECT DISTINCT dataset_id FROM datasets_history").fetchall()
        ]
    return [*ids, UNKNOWN]


def _same_answers(site: Site, as_of: dt.datetime | None) -> list[str]:
    """Compare every id's rows; the conditions the lazy snapshot used."""
    conditions = []
    with (
        Snapshot(site.store, as_of, mode="memory") as memory,
        Snapshot(site.store, as_of, mode="lazy") as lazy,
    ):
        for dataset_id in _ids(site):
            condition, params = lazy.dataset_id_condition(dataset_id)
            conditions.append(condition)
            for view in VIEWS:
                plain = memory.sql(f"SELECT * FROM {view} WHERE dataset_id = $i", {"i": dataset_id})
                indexed = lazy.sql(f"SELECT * FROM {view} WHERE {condition}", params)
                assert sorted(indexed.fetchall(), key=repr) == sorted(plain.fetchall(), key=repr), (
                    view,
                    dataset_id,
                    as_of,
                )
    return conditions


def test_a_stale_index_and_its_tail_find_every_id_as_a_scan(
    catalog: tuple[Site, dt.datetime, dt.datetime],
) -> None:
    site, _, _ = catalog
    conditions = _same_answers(site, None)
    # The index was used: raws are looked up by their exposure (indexed or in the tail),
    # the bias by its missing one, and an unknown id matches nothing.
    assert sum("exposure = $id_exposure0" in c for c in conditions) == 3 * 3 + 3 * 2
    assert sum("exposure IS NULL" in c for c in conditions) == 1
    assert conditions[-1].endswith("(FALSE)")


def test_several_ids_at_once_as_a_scan(
    catalog: tuple[Site, dt.datetime, dt.datetime],
) -> None:
    site, _, _ = catalog
    some = [*_ids(site)[::3], UNKNOWN]
    with (
        Snapshot(site.store, mode="memory") as memory,
        Snapshot(site.store, mode="lazy") as lazy,
    ):
        condition, params = lazy.dataset_ids_condition(some)
        assert "exposure = $id_exposure0" in condition
        assert lazy.dataset_ids_condition([]) == ("FALSE", {})
        for view in VIEWS:
            plain = memory.sql(
                f"SELECT * FROM {view} WHERE list_contains($i, dataset_id)", {"i": some}
            )
            indexed = lazy.sql(f"SELECT * FROM {view} WHERE {condition}", params)
            expected = sorted(plain.fetchall(), key=repr)
            assert len(expected) >= len(some) - 1
            assert sorted(indexed.fetchall(), key=repr) == expected, view


def test_time_travel_before_and_after_the_index_is_built(
    catalog: tuple[Site, dt.datetime, dt.datetime],
) -> None:
    site, before_index, indexed = catalog
    for as_of in (before_index, indexed):
        conditions = _same_answers(site, as_of)
        assert conditions[-1].endswith("(FALSE)")


def test_memory_snapshots_and_a_missing_index_keep_the_plain_condition(
    catalog: tuple[Site, dt.datetime, dt.datetime],
) -> None:
    site, _, _ = catalog
    some = _ids(site)[0]
    with Snapshot(site.store, mode="memory") as memory:
        assert memory.dataset_id_condition(some) == (
            "dataset_id = $id_dataset",
            {"id_dataset": some},
        )
    filesystem, folder = _location(site.store)
    manifest = f"{folder}/{MANIFEST}"
    with filesystem.open_input_stream(manifest) as stream:
        saved = stream.read()
    filesystem.delete_file(manifest)
    try:
        with Snapshot(site.store, mode="lazy") as lazy:
            assert lazy.dataset_id_condition(some)[0] == "dataset_id = $id_dataset"
    finally:
        with filesystem.open_output_stream(manifest) as stream:
            stream.write(saved)


def test_an_index_object_removed_under_a_snapshot_falls_back_to_the_scan(
    catalog: tuple[Site, dt.datetime, dt.datetime],
) -> None:
    site, _, _ = catalog
    some = _ids(site)[0]
    with Snapshot(site.store, mode="lazy") as lazy:
        assert "exposure" in lazy.dataset_id_condition(some)[0]
        rebuilt = refresh_dataset_index(site.store, force=True)  # deletes the old object
        assert rebuilt.built
        condition, params = lazy.dataset_id_condition(some)
        assert lazy.sql(f"SELECT count(*) FROM datasets WHERE {condition}", params).fetchall() == [
            (1,)
        ]


def test_an_index_in_many_shards_finds_every_id(
    catalog: tuple[Site, dt.datetime, dt.datetime],
) -> None:
    site, _, _ = catalog
    assert refresh_dataset_index(site.store, force=True, shard_rows=3).built
    filesystem, folder = _location(site.store)
    assert len(filesystem.get_file_info(pa_fs.FileSelector(folder))) > 5
    conditions = _same_answers(site, None)
    assert sum("exposure = $id_exposure0" in c for c in conditions) == 3 * 3 + 3 * 2


def test_maintenance_rebuilds_only_a_stale_index(
    catalog: tuple[Site, dt.datetime, dt.datetime], tmp_path: Path
) -> None:
    site, _, _ = catalog
    assert refresh_dataset_index(site.store, force=True).built
    fresh = refresh_dataset_index(site.store)
    assert (fresh.built, fresh.tail_rows) == (False, 0)
    third = simulate_night(
        tmp_path / "n3", detectors=3, exposures=1, seed=10, size=8, day_obs=20250603
    )
    assert not ingest(site, third.files).failed
    stale = refresh_dataset_index(site.store)  # 3 new rows of ~25: over STALE_SHARE
    assert stale.built and stale.tail_rows == 3
    filesystem, folder = _location(site.store)
    objects = filesystem.get_file_info(pa_fs.FileSelector(folder))
    assert len(objects) == 2  # the manifest and one index: replaced ones are deleted
    assert folder.endswith(INDEX_FOLDER)
