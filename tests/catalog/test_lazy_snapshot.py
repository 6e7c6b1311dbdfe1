"""Lazy snapshots answer exactly as in-memory ones, on one real catalog in MinIO.

The catalog has several states: raws of two nights, a corrected filter, calibrations
certified then partly decertified, a location that changed state, provenance, and
compacted tables. Every
view, the calibration lookups and time travel (by version and by time) are compared.
"""

from __future__ import annotations

import datetime as dt
import json
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import duckdb
import numpy as np
import pytest
from astropy.io import fits

from catalog import (
    TABLES,
    LocationRecord,
    Snapshot,
    certify,
    decertify,
    find_calibration,
    find_calibrations,
    list_certifications,
    record_provenance,
    to_arrow,
)
from catalog.errors import ReadOnlyQueryError
from catalog.lazy_tables import choose_mode
from infra.minio_server import MinioServer
from oods import Site, ingest, ingest_calibrations, simulate_night, update_records
from tests.conftest import site_config

COLLECTION = "LSSTCam/calib"
VIEWS = (
    *TABLES,
    *(f"{name}_history" for name in TABLES),
    "files",
    "all_files",
    "obscore",
)


#: Another Delta reader, in its own process: plain ``deltalake``, no OODS code; the
#: current rows found by hand from the storage options a README reader would use.
_SECOND_READER = """
import json, os, sys
from deltalake import DeltaTable

spec = json.load(sys.stdin)


def current(table):
    uri = spec["root"] + "/" + table
    rows = DeltaTable(uri, storage_options=spec["options"]).to_pyarrow_table().to_pylist()
    latest = {}
    for row in rows:
        seen = latest.get(row["dataset_id"])
        if seen is None or row["recorded_at"] > seen["recorded_at"]:
            latest[row["dataset_id"]] = row
    return latest


datasets, locations = current("datasets"), current("locations")
print(json.dumps(sorted(
    [i, row["key"], row["checksum"]] for i, row in locations.items()
    if row["state"] == "present" and i in datasets
)))
sys.stdout.flush()
os._exit(0)  # not through interpreter teardown, which can abort under deltalake's threads
"""


def _master(path: Path, seed: int) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    data = np.random.default_rng(seed).normal(size=(4, 4)).astype(np.float32)
    fits.PrimaryHDU(data).writeto(path)
    return path


@pytest.fixture(scope="module")
def catalog(
    minio: MinioServer, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[tuple[Site, list[dt.datetime]]]:
    """A site whose catalog went through several states; the times between them."""
    work = tmp_path_factory.mktemp("lazy")
    site = Site.open(site_config(minio, "lazy-snapshot"))
    moments: list[dt.datetime] = []

    def mark() -> None:
        moments.append(dt.datetime.now(dt.UTC))

    first = simulate_night(work / "n1", detectors=3, exposures=4, seed=5, size=8, day_obs=20250601)
    assert not ingest(site, first.files).failed
    mark()
    biases = ingest_calibrations(
        site,
        [_master(work / "b0.fits", 0)],
        "bias",
        "LSSTCam/calib/1",
        detector=0,
        instrument="LSSTCam",
    ).ingested
    flats = ingest_calibrations(
        site,
        [_master(work / "f.fits", 1)],
        "flat",
        "LSSTCam/calib/1",
        instrument="LSSTCam",
        physical_filter="r_57",
    ).ingested
    ids = [d.dataset_id for d in (*biases, *flats)]
    certify(site.store, COLLECTION, ids)
    mark()
    raw = site.sql("SELECT dataset_id FROM files WHERE detector = 1 LIMIT 1").fetchall()[0]
    record_provenance(site.store, ids[0], [raw[0]])  # type: ignore[index]
    decertify(
        site.store,
        COLLECTION,
        "bias",
        dt.datetime(2025, 6, 2, 0, 31, tzinfo=dt.UTC),
        dt.datetime(2025, 6, 2, 0, 40, tzinfo=dt.UTC),
    )
    mark()
    fixed = work / "fix.csv"
    exposure = site.sql("SELECT min(exposure) FROM exposures").fetchall()[0][0]
    fixed.write_text(
        "instrument,exposure,detector,field,value,reason\n"
        f"LSSTCam,{exposure},2,physical_filter,g_6,filter wheel log\n"
    )
    assert not update_records(site, table=fixed).rejected
    site.refresh()
    (row,) = site.sql("SELECT * FROM locations WHERE key LIKE '%S01%' LIMIT 1").fetchall()
    gone = LocationRecord(*row[:8], "expired", dt.datetime.now(dt.UTC))  # type: ignore[arg-type]
    site.store.append("locations", to_arrow([gone], LocationRecord))
    mark()
    second = simulate_night(work / "n2", detectors=3, exposures=2, seed=6, size=8, day_obs=20250602)
    assert not ingest(site, second.files).failed
    mark()
    # Compaction rewrites the files (history kept, nothing vacuumed): earlier states must
    # still be read from the files they had, lazily as in memory.
    for table in ("datasets", "locations", "calibrations"):
        assert site.store.compact(table)["numFilesRemoved"] > 1
    mark()
    yield site, moments
    site.close()


def _rows(snapshot: Snapshot, query: str) -> tuple[list[str], list[str], list[tuple[object, ...]]]:
    relation = snapshot.sql(query)
    rows = relation.fetchall()
    return relation.columns, [str(t) for t in relation.types], sorted(rows, key=repr)


def _same_everywhere(memory: Snapshot, lazy: Snapshot, at: dt.datetime | None) -> None:
    assert (memory.mode, lazy.mode) == ("memory", "lazy")
    for view in VIEWS:
        query = f"SELECT * FROM {view}"
        assert _rows(lazy, query) == _rows(memory, query), view
    # files keeps its exposure order without an ORDER BY in both modes.
    in_order = "SELECT dataset_id FROM files"
    assert lazy.sql(in_order).fetchall() == memory.sql(in_order).fetchall()
    for as_of in (None, at):
        found = [
            find_calibrations(s, COLLECTION, ("bias", "flat"), as_of=as_of).fetchall()
            for s in (memory, lazy)
        ]
        assert found[0] == found[1], as_of
        listed = [
            list_certifications(s, as_of=as_of, history=as_of is None).fetchall()
            for s in (memory, lazy)
        ]
        assert listed[0] == listed[1]
        raws = memory.sql("SELECT dataset_id FROM datasets WHERE dataset_type = 'raw'").fetchall()
        for (raw,) in raws:
            answers = []
            for snap in (memory, lazy):
                try:
                    answers.append(find_calibration(snap, COLLECTION, "bias", raw=raw, as_of=as_of))
                except LookupError as exc:  # CalibrationNotFound is a LookupError
                    answers.append(str(exc))
            assert answers[0] == answers[1], raw


def test_every_view_and_lookup_is_the_same_lazy_and_in_memory(
    catalog: tuple[Site, list[dt.datetime]],
) -> None:
    site, moments = catalog
    versions = sorted(v for v, _, _ in site.store.versions("locations"))
    assert len(versions) >= 5
    states: list[dt.datetime | int | None] = [None, *versions, *moments]
    for as_of in states:
        at = as_of if isinstance(as_of, dt.datetime) else moments[1]
        with (
            Snapshot(site.store, as_of, mode="memory") as memory,
            Snapshot(site.store, as_of, mode="lazy") as lazy,
        ):
            _same_everywhere(memory, lazy, at)
    # The states differ: the comparison above was not between empty or equal catalogs.
    counts = set()
    for moment in moments:
        with Snapshot(site.store, moment, mode="lazy") as lazy:
            counts.add(lazy.sql("SELECT count(*) FROM datasets_history").fetchall()[0])
    assert len(counts) >= 3
    with Snapshot(site.store, mode="lazy") as lazy:  # the lookups compared found some
        assert find_calibrations(lazy, COLLECTION, ("bias", "flat")).fetchall()
        assert find_calibration(lazy, COLLECTION, "bias", exposure=2025060200001, detector=0)


def test_a_lazy_snapshot_loads_no_rows_and_follows_new_commits(
    catalog: tuple[Site, list[dt.datetime]], tmp_path: Path
) -> None:
    site, _ = catalog
    with Snapshot(site.store, mode="lazy") as lazy:
        # Nothing copied into DuckDB: every name is a view over the Delta files.
        assert lazy.sql("SELECT count(*) FROM duckdb_tables()").fetchall()[0] == (0,)
        before = lazy.sql("SELECT count(*) FROM files").fetchall()[0][0]
        third = simulate_night(
            tmp_path / "n3", detectors=3, exposures=1, seed=7, size=8, day_obs=20250603
        )
        assert not ingest(site, third.files).failed
        assert lazy.sql("SELECT count(*) FROM files").fetchall()[0] == (before,)  # a snapshot
        lazy.refresh()
        assert lazy.mode == "lazy"
        assert lazy.sql("SELECT count(*) FROM files").fetchall()[0] == (before + 3,)
        with Snapshot(site.store, mode="memory") as memory:
            _same_everywhere(memory, lazy, dt.datetime.now(dt.UTC))


def test_a_lazy_snapshot_stays_read_only_and_locked(
    catalog: tuple[Site, list[dt.datetime]], tmp_path: Path
) -> None:
    site, _ = catalog
    secret = tmp_path / "secret.csv"
    secret.write_text("a\n1\n")
    with Snapshot(site.store, mode="lazy") as lazy:
        with pytest.raises(duckdb.Error, match=r"disabled|[Pp]ermission"):
            lazy.sql(f"SELECT * FROM read_csv('{secret}')").fetchall()
        with pytest.raises(ReadOnlyQueryError):
            lazy.sql("DROP VIEW files")
        with pytest.raises(duckdb.Error):
            lazy.connection.execute("SET enable_external_access = true")
        # ...while its lazy views still scan the catalog's files through pyarrow.
        assert lazy.sql("SELECT count(*) FROM datasets_history").fetchall()[0][0] > 0  # type: ignore[index]


def test_the_catalogs_size_chooses_the_mode(catalog: tuple[Site, list[dt.datetime]]) -> None:
    site, _ = catalog
    with Snapshot(site.store) as chosen:
        assert chosen.mode == "memory"  # a few dozen rows: loading is fastest
    assert choose_mode({name: site.store.open(name) for name in TABLES}) == "memory"
    assert choose_mode({name: None for name in TABLES}) == "memory"
    with pytest.raises(ValueError, match="lazy"):
        Snapshot(site.store, mode="eager")  # type: ignore[arg-type]


def test_a_second_delta_reader_in_another_process_sees_the_same_files(
    catalog: tuple[Site, list[dt.datetime]],
) -> None:
    site, _ = catalog
    spec = {"root": site.store.root, "options": dict(site.store.storage_options)}
    done = subprocess.run(
        [sys.executable, "-c", _SECOND_READER],
        input=json.dumps(spec),
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    with Snapshot(site.store, mode="lazy") as lazy:
        files = lazy.sql("SELECT dataset_id, key, checksum FROM files ORDER BY ALL").fetchall()
    assert json.loads(done.stdout) == [list(row) for row in files]
    assert len(files) > 20
