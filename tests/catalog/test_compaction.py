"""Compaction committed through the table's own log (``catalog.compaction``), on real
MinIO: it must land however many versions appends take meanwhile, readers following the
log must see every row once, and ``deltalake`` must read the table and its history."""

from __future__ import annotations

import datetime as dt
import json
import threading
from collections import Counter

import pyarrow as pa
from deltalake import DeltaTable

from catalog import CatalogStore
from catalog.append_log import TableLog
from catalog.compaction import compact_small_files, small_files
from catalog.index import TableTail
from catalog.records import LocationRecord, to_arrow
from catalog.tables import AUTO_COMPACT_TARGET, TABLES
from oods import Site

SCHEMA = TABLES["locations"].schema


def _locations(n: int, start: int = 0) -> pa.Table:
    now = dt.datetime.now(dt.UTC)
    rows = [
        LocationRecord(
            f"id-{i:05d}", "LSSTCam", None, None, f"k/{i}", i, f"{i:064x}", f"f{i}", "present", now
        )
        for i in range(start, start + n)
    ]
    return to_arrow(rows, LocationRecord)


def _store(site: Site) -> CatalogStore:
    """A writer of the site's catalog that compacts only when told to."""
    return CatalogStore(
        site.store.root,
        site.store.storage_options,
        auto_compact_files=None,
        objects=site.store.objects,
    )


def _delta(store: CatalogStore, version: int | None = None) -> DeltaTable:
    return DeltaTable(
        store.uri("locations"), version=version, storage_options=dict(store.storage_options)
    )


def _ids(rows: pa.Table) -> list[str]:
    return sorted(rows.column("dataset_id").to_pylist())


def _expected(*ranges: range) -> list[str]:
    return sorted(f"id-{i:05d}" for r in ranges for i in r)


def _entry(store: CatalogStore, version: int) -> list[dict[str, object]]:
    assert store.objects is not None
    data = store.objects.get(f"{store._key('locations')}/_delta_log/{version:020d}.json")
    assert data is not None
    return [json.loads(line) for line in data.decode().splitlines() if line.strip()]


def test_small_files_merge_fresh_files_and_outputs_of_their_size_only() -> None:
    fresh = {f"f{i}": 1_000 for i in range(4)}
    assert small_files({"big": 4_000, **fresh}, 10_000) == {"big": 4_000, **fresh}
    assert small_files({"huge": 9_000, **fresh}, 10_000) == fresh  # 9,000 > 2 x 4,000
    assert small_files({"done": 20_000, **fresh}, 10_000) == fresh  # above the target
    assert small_files({"alone": 10, "huge": 9_000}, 10_000) == {}  # nothing worth merging


def test_readers_see_every_row_once_and_deltalake_reads_the_history(site: Site) -> None:
    writer = _store(site)
    here = TableTail(writer, "locations", ["dataset_id"])  # follows the writer's own log
    there = TableTail(_store(site), "locations", ["dataset_id"])  # another process's
    for i in range(5):
        writer.append("locations", _locations(1, i))
    assert _ids(here.new_rows()) == _ids(there.new_rows()) == _expected(range(5))
    for i in range(5, 8):  # not read yet by either reader when compacted
        writer.append("locations", _locations(1, i))
    there_before = _ids(there.new_rows())
    before = _delta(writer).version()
    writer.maintain("locations")

    entry = _entry(writer, before + 1)
    assert entry[0]["commitInfo"]["operation"] == "OPTIMIZE"  # type: ignore[index]
    removes = [a["remove"] for a in entry if "remove" in a]
    [add] = [a["add"] for a in entry if "add" in a]
    assert len(removes) >= 8 and not any(r["dataChange"] for r in removes)  # type: ignore[index]
    assert add["dataChange"] is False  # type: ignore[index]
    assert _ids(here.new_rows()) == _expected(range(5, 8))  # held in memory: not re-read
    assert there_before == _expected(range(5, 8)) and there.new_rows().num_rows == 0
    writer.append("locations", _locations(1, 8))
    assert _ids(here.new_rows()) == _ids(there.new_rows()) == ["id-00008"]

    assert writer.objects is not None
    pointer = writer.objects.get(f"{writer._key('locations')}/_delta_log/_last_checkpoint")
    assert pointer is not None and json.loads(pointer)["version"] == before + 1
    fresh = _delta(writer)  # from the checkpoint written after the compaction
    assert len(fresh.file_uris()) == 2  # the compacted file and the last append
    assert _ids(fresh.to_pyarrow_table()) == _expected(range(9))
    assert _ids(_delta(writer, before).to_pyarrow_table()) == _expected(range(8))  # time travel
    assert len(_delta(writer, before).file_uris()) >= 8
    assert site.sql("SELECT count(*), count(DISTINCT dataset_id) FROM locations").fetchall() == [
        (9, 9)
    ]


def test_a_compaction_commits_after_versions_taken_during_its_rewrite(site: Site) -> None:
    writer, other = _store(site), _store(site)
    for i in range(4):
        writer.append("locations", _locations(1, i))
    log, other_log = writer.log("locations"), other.log("locations")
    assert log is not None and other_log is not None
    chosen = small_files(log.live_files(), AUTO_COMPACT_TARGET)
    assert len(chosen) >= 4
    rows = pa.concat_tables([_delta(writer).to_pyarrow_table().select(SCHEMA.names).cast(SCHEMA)])
    staged = log.stage(rows)
    for i in range(4, 24):  # more versions than deltalake's 15 attempts, by another log
        other_log.append(_locations(1, i).cast(SCHEMA))
    read_version = log.version
    version = log.replace(chosen, staged, AUTO_COMPACT_TARGET, read_version)
    assert version == _delta(writer).version() == read_version + 21
    assert _entry(writer, version)[0]["commitInfo"]["readVersion"] == read_version  # type: ignore[index]
    assert _ids(_delta(writer).to_pyarrow_table()) == _expected(range(24))
    assert staged.name in log.files and not set(chosen) & set(log.files)


def test_a_second_compaction_of_the_same_files_gives_up(site: Site) -> None:
    first, second = _store(site), _store(site)
    for i in range(4):
        first.append("locations", _locations(1, i))
    log = second.log("locations")
    assert log is not None
    log.follow()
    chosen = small_files(log.live_files(), AUTO_COMPACT_TARGET)
    staged = log.stage(_delta(first).to_pyarrow_table().select(SCHEMA.names).cast(SCHEMA))
    first_log = first.log("locations")
    assert first_log is not None
    assert compact_small_files(first_log, SCHEMA, AUTO_COMPACT_TARGET) is not None
    version = _delta(first).version()
    assert log.replace(chosen, staged, AUTO_COMPACT_TARGET) is None  # nothing committed
    assert _delta(first).version() == version
    assert _ids(_delta(first).to_pyarrow_table()) == _expected(range(4))


def test_compactions_during_concurrent_appends_lose_and_duplicate_nothing(site: Site) -> None:
    compactor, appenders = _store(site), [_store(site), _store(site)]
    done = threading.Event()

    def append(store: CatalogStore, offset: int) -> None:
        for i in range(40):
            store.append("locations", _locations(1, offset + i))

    threads = [
        threading.Thread(target=append, args=(store, offset))
        for store, offset in zip(appenders, (0, 100), strict=True)
    ]
    for thread in threads:
        thread.start()
    committed: list[int] = []
    while not done.is_set():
        log = compactor.log("locations")
        assert log is not None
        version = compact_small_files(log, SCHEMA, AUTO_COMPACT_TARGET)
        if version is not None:
            committed.append(version)
        if not any(thread.is_alive() for thread in threads):
            done.set()
    for thread in threads:
        thread.join()
    compactor.maintain("locations")  # and a last one, with its checkpoint
    assert len(committed) >= 2
    rows = _delta(compactor).to_pyarrow_table()
    counts = Counter(rows.column("dataset_id").to_pylist())
    assert set(counts) == set(_expected(range(40), range(100, 140)))
    assert set(counts.values()) == {1}
    assert len(_delta(compactor).file_uris()) <= 10  # size tiers: O(log n) files
    history = [op for _, _, op in compactor.versions("locations")]
    assert history.count("OPTIMIZE") >= len(committed)


def test_a_table_log_started_after_compaction_knows_only_live_files(site: Site) -> None:
    writer = _store(site)
    for i in range(4):
        writer.append("locations", _locations(1, i))
    writer.maintain("locations")
    assert writer.objects is not None
    started = TableLog.start(writer.objects, writer._key("locations"), _delta(writer))
    log = writer.log("locations")
    assert started is not None and log is not None
    assert started.files == log.files and len(started.files) == 1
