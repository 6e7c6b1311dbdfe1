"""The current-files state gives a lazy snapshot the answers of the history join.

One real catalog in MinIO (simulated raws of a night and a bias, ingested): its lazy
``files`` and ``all_files``, read through the state (``catalog.current_files``), are
compared with an in-memory snapshot of the same catalog after a refresh, with a tail
(a new night, a changed location and a corrected record of an old night, a compaction),
for time travel, and with the manifest gone or garbage.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import json
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.dataset as ds
import pyarrow.fs as pa_fs
import pyarrow.parquet as pq
import pytest

from catalog import LocationRecord, Snapshot, current_files, to_arrow
from catalog.current_files import (
    FOOTER_READ,
    MANIFEST,
    NO_NIGHT,
    ROW_GROUP,
    _location,
    night_writer,
    open_current_files,
    read_manifest,
    refresh_current_files,
)
from infra.minio_server import MinioServer
from oods import Site, ingest, simulate_night, update_records
from tests.cli_invoke import ok, site_config_file
from tests.conftest import site_config
from tests.small_catalog import ingest_bias_master, ingest_night

FIRST = 20250601


@pytest.fixture(scope="module")
def catalog(minio: MinioServer, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Site]:
    """A site with a night of raws (3 exposures x 3 detectors) and a bias."""
    work = tmp_path_factory.mktemp("current-files")
    site = Site.open(site_config(minio, "current-files"))
    ingest_night(site, work / "n1", FIRST, detectors=3, exposures=3, seed=8, size=8)
    ingest_bias_master(site, work)
    yield site
    site.close()


def _rows(snapshot: Snapshot, query: str) -> tuple[list[str], list[str], list[tuple[object, ...]]]:
    relation = snapshot.sql(query)
    return relation.columns, [str(t) for t in relation.types], sorted(relation.fetchall(), key=repr)


def _same_answers(site: Site, as_of: dt.datetime | None = None) -> Snapshot:
    """Compare lazy and memory answers (whole views, one exposure, each night); the lazy
    snapshot, still open, for the caller's checks (close it)."""
    lazy = Snapshot(site.store, as_of, mode="lazy")
    with Snapshot(site.store, as_of, mode="memory") as memory:
        queries = ["SELECT * FROM files", "SELECT * FROM all_files"]
        exposures = memory.sql("SELECT DISTINCT exposure FROM all_files").fetchall()
        nights = memory.sql("SELECT DISTINCT day_obs FROM all_files").fetchall()
        assert len(nights) >= 2  # raws and the bias
        for view in ("files", "all_files"):
            for (exposure,) in exposures:
                test = "IS NULL" if exposure is None else f"= {exposure}"
                queries.append(f"SELECT * FROM {view} WHERE exposure {test}")
            for (night,) in nights:
                test = "IS NULL" if night is None else f"= {night}"
                queries.append(f"SELECT * FROM {view} WHERE day_obs {test}")
        for query in queries:
            assert _rows(lazy, query) == _rows(memory, query), (query, as_of)
        for view in ("files", "all_files"):  # the same rows in the same order
            in_order = f"SELECT dataset_id FROM {view}"
            assert lazy.sql(in_order).fetchall() == memory.sql(in_order).fetchall(), view
            for (night,) in nights:
                one = f"{in_order} WHERE day_obs {'IS NULL' if night is None else f'= {night}'}"
                assert lazy.sql(one).fetchall() == memory.sql(one).fetchall(), one
    return lazy


def _sorts(snapshot: Snapshot) -> bool:
    """Whether the snapshot's ``files`` view sorts its rows (else: stored order)."""
    ((text,),) = snapshot.connection.execute(
        "SELECT sql FROM duckdb_views() WHERE view_name = 'files'"
    ).fetchall()
    return "ORDER BY" in text


def _reads_history(snapshot: Snapshot) -> bool:
    """Whether the snapshot's ``files`` view joins the location history."""
    ((text,),) = snapshot.connection.execute(
        "SELECT sql FROM duckdb_views() WHERE view_name = 'files'"
    ).fetchall()
    return "locations_history" in text


def _fresh(site: Site) -> None:
    refresh_current_files(site.store)
    with Snapshot(site.store, mode="lazy") as lazy:
        assert lazy.current_files is not None and lazy.current_files.tail.empty


def test_after_a_refresh_the_state_alone_answers(catalog: Site) -> None:
    calls: list[tuple[int, int]] = []
    built = refresh_current_files(
        catalog.store, force=True, progress=lambda done, total: calls.append((done, total))
    )
    assert built.nights_built >= 2  # at least the first night and the calibrations
    total = calls[-1][1]
    assert calls == [(done, total) for done in range(1, total + 1)]  # one call a night
    assert total >= built.nights_built
    assert built.rows_built == catalog.sql("SELECT count(*) FROM all_files").fetchall()[0][0]
    again = refresh_current_files(catalog.store)
    assert again.nights_built == 0  # nothing new: nothing rebuilt
    lazy = _same_answers(catalog)
    with lazy:
        assert lazy.current_files is not None and lazy.current_files.tail.empty
        assert not _reads_history(lazy)  # no history scan at all
        assert lazy.current_files.in_order and not _sorts(lazy)  # one instrument: as stored
    with Snapshot(catalog.store, mode="lazy", current_files=False) as plain:
        assert plain.current_files is None and _reads_history(plain)
    filesystem, folder = _location(catalog.store)
    manifest = read_manifest(filesystem, folder)
    assert manifest is not None
    assert str(FIRST) in manifest["nights"] and NO_NIGHT in manifest["nights"]
    low, high = manifest["nights"][str(FIRST)]["exposure"]
    assert low < high and manifest["nights"][str(FIRST)]["rows"] == 9
    assert {tuple(e["instruments"]) for e in manifest["nights"].values()} == {("LSSTCam",)}
    assert {tuple(e["states"]) for e in manifest["nights"].values()} == {("present",)}


def _full_night(schema: pa.Schema) -> pa.Table:
    """A full LSSTCam night (1000 exposures x 205 detectors) of rows of ``schema``."""
    exposures, detectors = 1000, 205
    count = exposures * detectors
    exposure = np.repeat(FIRST * 100_000 + np.arange(1, exposures + 1), detectors)
    detector = np.tile(np.arange(detectors), exposures)
    given: dict[str, pa.Array] = {
        "instrument": pa.array(["LSSTCam"] * count),
        "dataset_type": pa.array(["raw"] * count),
        "day_obs": pa.array(np.full(count, FIRST)),
        "exposure": pa.array(exposure),
        "detector": pa.array(detector),
        "state": pa.array(["present"] * count),
    }
    columns = []
    for f in schema:
        if f.name in given:
            columns.append(given[f.name].cast(f.type))
        elif pa.types.is_string(f.type):  # as long as the ids, keys and checksums
            columns.append(pa.array([f"{f.name}-{i:058d}" for i in range(count)]))
        elif pa.types.is_timestamp(f.type):
            columns.append(pa.array(np.arange(count) + 1_750_000_000_000_000).cast(f.type))
        else:
            columns.append(pa.array(np.arange(count)).cast(f.type))
    return pa.Table.from_arrays(columns, schema=schema)


def test_a_full_nights_footer_comes_with_the_first_read(catalog: Site) -> None:
    """Arrow reads an object's last ``FOOTER_READ`` bytes first: a longer footer (more
    columns after a migration, smaller row groups) costs every first query of a night
    another request. This guards the layout's choice of ``ROW_GROUP``."""
    with Snapshot(catalog.store, mode="lazy") as lazy:
        schema = lazy.sql("SELECT * FROM all_files LIMIT 0").to_arrow_table().schema
    night = _full_night(schema)
    sink = pa.BufferOutputStream()
    writer = night_writer(sink, schema)
    for batch in night.to_batches(ROW_GROUP * 10):
        writer.write_batch(batch, row_group_size=ROW_GROUP)
    writer.close()
    footer = pq.ParquetFile(pa.BufferReader(sink.getvalue())).metadata
    assert footer.num_row_groups == -(-night.num_rows // ROW_GROUP)
    assert footer.serialized_size + 8 <= FOOTER_READ  # with its length and magic bytes


def test_groups_of_nights_give_the_same_answers_in_order(
    catalog: Site, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Objects are grouped by consecutive nights under one guarantee each; one night a
    group here, so that the answers come from several groups (the default is 32)."""
    second = simulate_night(
        tmp_path / "n", detectors=2, exposures=2, seed=13, size=8, day_obs=20250603
    )
    assert not ingest(catalog, second.files).failed
    _fresh(catalog)
    monkeypatch.setattr(current_files, "GROUP", 1)
    with _same_answers(catalog) as lazy:
        assert lazy.current_files is not None and lazy.current_files.in_order
        groups = lazy.current_files.dataset
        assert isinstance(groups, ds.UnionDataset)
        nights = lazy.sql("SELECT count(DISTINCT coalesce(day_obs, 0)) FROM all_files")
        assert len(groups.children) == nights.fetchall()[0][0] >= 3
        # each group's guarantee prunes: one night's query reads that night's object only
        fragments = list(groups.get_fragments(filter=ds.field("day_obs") == 20250603))
        assert [f.path.split("/")[-1].split("-")[1] for f in fragments] == ["20250603"]


def test_objects_of_several_instruments_are_sorted_again(catalog: Site) -> None:
    """Stored order is the views' order only for one instrument (it sorts first); a
    manifest naming two, or none (written before the order was kept), means a sort."""
    _fresh(catalog)
    filesystem, folder = _location(catalog.store)
    manifest = read_manifest(filesystem, folder)
    assert manifest is not None
    for instruments in (["LATISS", "LSSTCam"], None):
        changed = json.loads(json.dumps(manifest))
        entry = changed["nights"][str(FIRST)]
        if instruments is None:
            del entry["instruments"]
        else:
            entry["instruments"] = instruments
        with filesystem.open_output_stream(f"{folder}/{MANIFEST}") as stream:
            stream.write(json.dumps(changed).encode())
        with _same_answers(catalog) as lazy:
            assert lazy.current_files is not None and not _reads_history(lazy)
            assert not lazy.current_files.in_order and _sorts(lazy), instruments
    refresh_current_files(catalog.store, force=True)


def test_a_new_night_is_joined_until_the_next_refresh(catalog: Site, tmp_path: Path) -> None:
    _fresh(catalog)
    night = 20250611
    second = simulate_night(tmp_path / "n", detectors=3, exposures=2, seed=9, size=8, day_obs=night)
    assert not ingest(catalog, second.files).failed
    with _same_answers(catalog) as lazy:
        assert lazy.current_files is not None
        tail = lazy.current_files.tail
        assert tail.touches(night) and not tail.touches(FIRST) and not tail.touches(None)
        assert _reads_history(lazy)
        assert lazy.sql(f"SELECT count(*) FROM files WHERE day_obs = {night}").fetchall() == [(6,)]
    report = refresh_current_files(catalog.store)
    assert report.nights_built == 1 and report.rows_built == 6
    with _same_answers(catalog) as lazy:
        assert lazy.current_files is not None and lazy.current_files.tail.empty


def test_an_expired_file_and_a_correction_of_an_old_night(catalog: Site, tmp_path: Path) -> None:
    _fresh(catalog)
    catalog.refresh()
    (row,) = catalog.sql(
        f"SELECT * FROM locations WHERE day_obs = {FIRST} ORDER BY key LIMIT 1"
    ).fetchall()
    gone = LocationRecord(*row[:8], "expired", dt.datetime.now(dt.UTC))  # type: ignore[arg-type]
    catalog.store.append("locations", to_arrow([gone], LocationRecord))
    exposure = catalog.sql(f"SELECT min(exposure) FROM exposures WHERE day_obs = {FIRST}")
    fixed = tmp_path / "fix.csv"
    fixed.write_text(
        "instrument,exposure,detector,field,value,reason\n"
        f"LSSTCam,{exposure.fetchall()[0][0]},2,physical_filter,g_6,filter wheel log\n"
    )
    assert not update_records(catalog, table=fixed).rejected
    with _same_answers(catalog) as lazy:
        assert lazy.current_files is not None and lazy.current_files.tail.touches(FIRST)
        states = lazy.sql(f"SELECT state FROM all_files WHERE key = '{row[4]}'").fetchall()
        assert states == [("expired",)]
    assert refresh_current_files(catalog.store).nights_built == 1
    with _same_answers(catalog) as lazy:
        assert lazy.current_files is not None and lazy.current_files.tail.empty
        assert lazy.sql(f"SELECT count(*) FROM files WHERE key = '{row[4]}'").fetchall() == [(0,)]
        filters = lazy.sql("SELECT DISTINCT dataset_filter FROM files").fetchall()
        assert ("g_6",) in filters  # the corrected raw's, from the rebuilt night
    manifest = read_manifest(*_location(catalog.store))
    assert manifest is not None  # two states in the night: `files` filters it row by row
    assert manifest["nights"][str(FIRST)]["states"] == ["expired", "present"]


def test_compaction_rewrites_covered_files(catalog: Site, tmp_path: Path) -> None:
    _fresh(catalog)
    third = simulate_night(
        tmp_path / "n", detectors=3, exposures=1, seed=10, size=8, day_obs=20250621
    )
    assert not ingest(catalog, third.files).failed
    for table in ("datasets", "locations"):
        assert catalog.store.compact(table)["numFilesRemoved"] > 1
    with _same_answers(catalog) as lazy:
        assert lazy.current_files is not None and lazy.current_files.tail.touches(FIRST)
    refresh_current_files(catalog.store)
    with _same_answers(catalog) as lazy:
        assert lazy.current_files is not None and lazy.current_files.tail.empty


def test_a_manifest_newer_than_the_snapshot_is_not_used(catalog: Site, tmp_path: Path) -> None:
    before = dt.datetime.now(dt.UTC)
    fourth = simulate_night(
        tmp_path / "n", detectors=2, exposures=1, seed=11, size=8, day_obs=20250625
    )
    assert not ingest(catalog, fourth.files).failed
    _fresh(catalog)
    with _same_answers(catalog, as_of=before) as old:
        assert old.current_files is None and _reads_history(old)
        assert old.sql("SELECT count(*) FROM files WHERE day_obs = 20250625").fetchall() == [(0,)]
        older = {
            t: catalog.store.open(t, version=old.versions[t]) for t in ("datasets", "locations")
        }
        columns = old.sql("SELECT * FROM all_files").columns
        assert open_current_files(catalog.store, older, columns) is None
        latest = {t: catalog.store.open(t) for t in ("datasets", "locations")}
        assert open_current_files(catalog.store, latest, columns) is not None


def test_a_missing_or_garbage_manifest_is_not_used(catalog: Site) -> None:
    _fresh(catalog)
    filesystem, folder = _location(catalog.store)
    manifest = f"{folder}/{MANIFEST}"
    for garbage in (None, b"{not json", b'{"format": 1, "columns": 3}'):
        with contextlib.suppress(FileNotFoundError):
            filesystem.delete_file(manifest)
        if garbage is not None:
            with filesystem.open_output_stream(manifest) as stream:
                stream.write(garbage)
        with _same_answers(catalog) as lazy:
            assert lazy.current_files is None and _reads_history(lazy)
    rebuilt = refresh_current_files(catalog.store)  # over garbage: every night again
    catalog.refresh()
    nights = catalog.sql("SELECT count(DISTINCT coalesce(day_obs, 0)) FROM all_files")
    assert rebuilt.nights_built == nights.fetchall()[0][0]
    with _same_answers(catalog) as lazy:
        assert lazy.current_files is not None and not _reads_history(lazy)
    # A replaced object is deleted by a later refresh (at once here: no grace period).
    first = _keys(filesystem, folder)
    refresh_current_files(catalog.store, force=True, keep_replaced=0)
    second = _keys(filesystem, folder)
    refresh_current_files(catalog.store, force=True, keep_replaced=0)
    present = {info.base_name for info in filesystem.get_file_info(pa_fs.FileSelector(folder))}
    assert second <= present and _keys(filesystem, folder) <= present
    assert not first & present


def _keys(filesystem: pa_fs.FileSystem, folder: str) -> set[str]:
    manifest = read_manifest(filesystem, folder)
    assert manifest is not None
    return {entry["key"] for entry in manifest["nights"].values()}


def test_catalog_compact_brings_the_state_up_to_date(catalog: Site, tmp_path: Path) -> None:
    _fresh(catalog)
    night = simulate_night(
        tmp_path / "n", detectors=2, exposures=1, seed=12, size=8, day_obs=20250629
    )
    assert not ingest(catalog, night.files).failed
    result = ok(site_config_file(catalog, tmp_path), "catalog", "compact")
    assert "current files: " in result.output, result.output
    with _same_answers(catalog) as lazy:
        assert lazy.current_files is not None and lazy.current_files.tail.empty


def _listed(filesystem: pa_fs.FileSystem, folder: str) -> set[str]:
    return {i.base_name for i in filesystem.get_file_info(pa_fs.FileSelector(folder))}


def test_a_stopped_refreshs_objects_are_deleted_once_old(catalog: Site) -> None:
    """A refresh that stopped between its objects and its manifest leaves objects no
    manifest names; a later refresh deletes them once as old as a replaced object."""
    _fresh(catalog)
    filesystem, folder = _location(catalog.store)
    stray, foreign = f"night-{FIRST}-stopped.parquet", "notes.txt"
    for name in (stray, foreign):
        with filesystem.open_output_stream(f"{folder}/{name}") as out:
            out.write(b"PAR1")
    refresh_current_files(catalog.store)  # an hour's grace: it may be a running refresh's
    assert stray in _listed(filesystem, folder)
    refresh_current_files(catalog.store, keep_replaced=0)
    listed = _listed(filesystem, folder)
    assert stray not in listed
    assert foreign in listed and MANIFEST in listed  # only the state's own objects
    assert _keys(filesystem, folder) <= listed  # what the manifest names stays
    with _same_answers(catalog) as lazy:
        assert lazy.current_files is not None and lazy.current_files.tail.empty
    filesystem.delete_file(f"{folder}/{foreign}")
