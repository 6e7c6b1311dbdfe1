"""Fault: two ingest processes race for the same catalog (and for the same files).

Invariant: no row is lost to a lost commit race, and each file is stored once.
"""

from __future__ import annotations

import multiprocessing
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

from oods import Site
from oods.simulate import simulate_night

from ._ingest_process import config_fields
from ._invariants import assert_each_input_once_or_reported
from ._workers import ingest_in_child


def test_two_concurrent_ingesters_lose_no_row(site: Site, tmp_path: Path) -> None:
    night = simulate_night(tmp_path, detectors=10, exposures=6, seed=5, size=16)
    files = [str(p) for p in night.files]
    halves = [files[0::2], files[1::2]]
    # Small batches make many commits, so the two processes really race for versions.
    fields = config_fields(site.config, batch_size=5)
    spawn = multiprocessing.get_context("spawn")  # a process that used deltalake must not fork
    with ProcessPoolExecutor(2, mp_context=spawn) as pool:
        reports = list(pool.map(ingest_in_child, [fields, fields], halves))
    assert [r["ingested"] for r in reports] == [30, 30]
    assert site.sql("SELECT count(*), count(DISTINCT dataset_id) FROM datasets").fetchall() == [
        (60, 60)
    ]
    assert site.sql("SELECT count(*) FROM exposures").fetchall() == [(6,)]
    assert site.store.open("datasets").version() >= 12  # one commit per batch of 5
    assert_each_input_once_or_reported(site, night.files)


def test_two_ingesters_of_the_same_files_store_each_once(site: Site, tmp_path: Path) -> None:
    night = simulate_night(tmp_path, detectors=8, exposures=3, seed=6, size=16)
    files = [str(p) for p in night.files]
    fields = config_fields(site.config, batch_size=4)
    spawn = multiprocessing.get_context("spawn")
    with ProcessPoolExecutor(2, mp_context=spawn) as pool:
        reports = list(pool.map(ingest_in_child, [fields, fields], [files, files[::-1]]))
    assert all(r["failed"] == 0 for r in reports)
    assert sum(int(r["ingested"]) + int(r["skipped"]) for r in reports) == 48  # type: ignore[call-overload]
    assert site.sql("SELECT count(*) FROM datasets").fetchall() == [(24,)]
    assert_each_input_once_or_reported(site, night.files)
