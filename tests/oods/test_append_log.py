"""Blind appends written by the catalog itself (``catalog.append_log``), on real MinIO.

The commits must be ordinary Delta commits that ``deltalake`` and DuckDB read, racing
writers must both land, and followers must see every row exactly once, through
compaction as well.
"""

from __future__ import annotations

import datetime as dt
import json
import threading
from pathlib import Path

import pyarrow as pa
import pyarrow.dataset as ds
from deltalake import DeltaTable, write_deltalake

from catalog import CatalogStore
from catalog.append_log import TableLog
from catalog.index import CatalogIndex, TableTail
from catalog.records import LocationRecord, to_arrow
from oods import Site, ingest
from oods.simulate import simulate_night


def _locations(n: int, start: int = 0) -> pa.Table:
    now = dt.datetime.now(dt.UTC)
    return to_arrow(
        [
            LocationRecord(
                f"id-{i:05d}",
                "LSSTCam",
                None,
                None,
                f"k/{i}",
                i,
                f"{i:064x}",
                f"f{i}",
                "present",
                now,
            )
            for i in range(start, start + n)
        ],
        LocationRecord,
    )


def _log_entry(site: Site, table: str, version: int) -> list[dict[str, object]]:
    key = f"{site.store._key(table)}/_delta_log/{version:020d}.json"
    body = site.s3.get_object(Bucket=site.bucket, Key=key)["Body"].read().decode()
    return [json.loads(line) for line in body.splitlines() if line.strip()]


def test_ingest_commits_are_blind_appends_that_deltalake_and_duckdb_read(
    site: Site, tmp_path: Path
) -> None:
    files = simulate_night(tmp_path, detectors=3, exposures=1, seed=11, size=16).files
    for path in files:
        assert len(ingest(site, [path]).ingested) == 1
    version = site.store.latest_version("locations")
    assert version is not None
    entry = _log_entry(site, "locations", version)
    assert entry[0]["commitInfo"]["clientVersion"] == "oods"  # written by append_log
    [add] = [action["add"] for action in entry if "add" in action]
    stats = json.loads(add["stats"])
    assert stats["numRecords"] == 1 and "dataset_id" in stats["minValues"]

    fresh = DeltaTable(
        site.store.uri("locations"), storage_options=dict(site.store.storage_options)
    )
    ids = fresh.to_pyarrow_table().column("dataset_id").to_pylist()
    assert len(ids) == len(set(ids)) == 3
    # The statistics let a filter skip files, and must never skip the right one.
    one = fresh.to_pyarrow_dataset().to_table(filter=ds.field("dataset_id") == ids[1])
    assert one.column("dataset_id").to_pylist() == [ids[1]]
    assert site.sql("SELECT count(*) FROM files").fetchall() == [(3,)]


def test_two_writers_racing_for_versions_both_land(site: Site) -> None:
    first = site.store
    second = CatalogStore(first.root, first.storage_options, objects=first.objects)
    start = first.latest_version("locations")
    assert start is not None

    def write(store: CatalogStore, offset: int) -> None:
        for i in range(10):
            store.append("locations", _locations(1, offset + i))

    threads = [
        threading.Thread(target=write, args=(store, offset))
        for store, offset in ((first, 0), (second, 100))
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    rows = first.load("locations")
    assert sorted(rows.column("dataset_id").to_pylist()) == sorted(
        [f"id-{i:05d}" for i in range(10)] + [f"id-{i:05d}" for i in range(100, 110)]
    )
    assert first.latest_version("locations") == start + 20  # one version per append


def test_a_log_that_lost_the_race_commits_at_the_next_version(site: Site) -> None:
    delta = site.store.open("locations")
    assert delta is not None and site.store.objects is not None
    key = site.store._key("locations")
    behind = TableLog.start(site.store.objects, key, delta)
    ahead = TableLog.start(site.store.objects, key, delta)
    assert behind is not None and ahead is not None
    v1 = ahead.append(_locations(1, 0))
    v2 = behind.append(_locations(1, 1))  # its version was taken: it follows and retries
    assert (v1, v2) == (delta.version() + 1, delta.version() + 2)
    assert behind.files == ahead.files | behind.files and len(behind.files) == len(ahead.files) + 1


def test_a_follower_sees_rows_of_files_compacted_before_it_read_them(site: Site) -> None:
    store = CatalogStore(
        site.store.root,
        site.store.storage_options,
        auto_compact_files=None,
        objects=site.store.objects,
    )
    tail = TableTail(store, "locations", ["dataset_id"])
    assert tail.new_rows().num_rows == 0
    for i in range(5):
        store.append("locations", _locations(1, i))
    store.maintain("locations")  # the five small files become one before the tail looks
    assert len(store.open("locations").file_uris()) == 1  # type: ignore[union-attr]
    assert sorted(tail.new_rows().column("dataset_id").to_pylist()) == [
        f"id-{i:05d}" for i in range(5)
    ]
    store.append("locations", _locations(1, 5))
    assert tail.new_rows().column("dataset_id").to_pylist() == ["id-00005"]
    store.maintain("locations")  # compacts files the tail has read: not read again
    assert len(store.open("locations").file_uris()) == 1  # type: ignore[union-attr]
    assert tail.new_rows().num_rows == 0


def test_background_compaction_bounds_files_without_losing_rows(site: Site, tmp_path: Path) -> None:
    store = CatalogStore(
        site.store.root,
        site.store.storage_options,
        auto_compact_files=4,
        objects=site.store.objects,
    )
    site.store, site.index = store, CatalogIndex(store)
    files = simulate_night(tmp_path, detectors=10, exposures=1, seed=12, size=16).files
    for path in files:
        assert len(ingest(site, [path]).ingested) == 1
    assert store.wait_for_maintenance()
    locations = store.open("locations")
    assert locations is not None
    assert len(locations.file_uris()) < 10
    assert "OPTIMIZE" in [operation for _, _, operation in store.versions("locations")]
    again = ingest(site, files)  # the index merged compacted files: all skipped
    assert len(again.skipped) == len(files) and not again.failed
    assert store.load("locations").num_rows == len(files)


def test_a_table_with_a_newer_protocol_is_left_to_deltalake(tmp_path: Path, site: Site) -> None:
    rows = pa.table({"a": [1]})
    write_deltalake(str(tmp_path / "t"), rows, configuration={"delta.enableChangeDataFeed": "true"})
    delta = DeltaTable(str(tmp_path / "t"))
    assert delta.protocol().min_writer_version > 2
    assert site.store.objects is not None
    assert TableLog.start(site.store.objects, "t", delta) is None
