"""Concurrent writers, a killed ingest, a server that goes away: nothing is lost."""

from __future__ import annotations

import dataclasses
import hashlib
import json
import multiprocessing
import subprocess
import sys
import time
from collections.abc import Iterator
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

import pytest

from infra.minio_server import MinioServer
from oods import Site, SiteConfig, ingest
from oods.simulate import simulate_night

from ._workers import ingest_in_child


def _fields(config: SiteConfig) -> dict[str, object]:
    fields = dataclasses.asdict(config)
    fields.pop("source")
    return fields


def _assert_catalog_matches_bucket(site: Site) -> None:
    """Every present location points at an object with the recorded bytes."""
    rows = site.sql("SELECT key, checksum, size FROM locations WHERE state = 'present'")
    for key, checksum, size in rows.fetchall():
        body = site.s3.get_object(Bucket=site.bucket, Key=key)["Body"].read()
        assert len(body) == size
        assert hashlib.sha256(body).hexdigest() == checksum


def test_two_concurrent_ingesters_lose_no_row(site: Site, tmp_path: Path) -> None:
    night = simulate_night(tmp_path, detectors=10, exposures=6, seed=5, size=16)
    files = [str(p) for p in night.files]
    halves = [files[0::2], files[1::2]]
    # Small batches make many commits, so the two processes really race for versions.
    fields = {**_fields(site.config), "batch_size": 5}
    spawn = multiprocessing.get_context("spawn")
    with ProcessPoolExecutor(2, mp_context=spawn) as pool:
        summaries = list(pool.map(ingest_in_child, [fields, fields], halves))
    assert [s["ingested"] for s in summaries] == [30, 30]
    assert site.sql("SELECT count(*), count(DISTINCT dataset_id) FROM datasets").fetchall() == [
        (60, 60)
    ]
    assert site.sql("SELECT count(*) FROM locations").fetchall() == [(60,)]
    assert site.sql("SELECT count(*) FROM exposures").fetchall() == [(6,)]
    assert site.store.open("datasets").version() >= 12  # one commit per batch of 5
    _assert_catalog_matches_bucket(site)


def test_two_ingesters_of_the_same_files_store_each_once(site: Site, tmp_path: Path) -> None:
    night = simulate_night(tmp_path, detectors=8, exposures=3, seed=6, size=16)
    files = [str(p) for p in night.files]
    fields = {**_fields(site.config), "batch_size": 4}
    spawn = multiprocessing.get_context("spawn")
    with ProcessPoolExecutor(2, mp_context=spawn) as pool:
        summaries = list(pool.map(ingest_in_child, [fields, fields], [files, files[::-1]]))
    assert all(s["failed"] == 0 for s in summaries)
    assert sum(s["ingested"] + s["skipped"] for s in summaries) == 48
    assert site.sql("SELECT count(*) FROM datasets").fetchall() == [(24,)]
    assert site.sql("SELECT count(*) FROM locations WHERE state = 'present'").fetchall() == [(24,)]
    _assert_catalog_matches_bucket(site)


def test_killed_ingest_is_completed_by_the_next_run(site: Site, tmp_path: Path) -> None:
    simulate_night(tmp_path, detectors=20, exposures=10, seed=8, size=16)
    fields = {**_fields(site.config), "batch_size": 10, "workers": 2}
    child = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "tests.oods._workers",
            json.dumps(fields, default=str),
            str(tmp_path),
        ],
        stdout=subprocess.PIPE,
        cwd=Path(__file__).parents[2],
    )
    # Kill it once some (not all) of its work is committed.
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        delta = site.store.open("locations")
        if delta is not None and delta.version() >= 3:
            break
        time.sleep(0.05)
    child.kill()
    child.wait()
    site.refresh()
    done = site.sql("SELECT count(*) FROM locations").fetchall()[0][0]
    assert 0 < done < 200, "the kill should land mid-ingest"
    _assert_catalog_matches_bucket(site)

    report = ingest(site, [tmp_path])
    assert not report.failed
    assert len(report.ingested) + len(report.skipped) == 200
    site.refresh()
    assert site.sql("SELECT count(*) FROM datasets").fetchall() == [(200,)]
    assert site.sql("SELECT count(*) FROM locations").fetchall() == [(200,)]
    _assert_catalog_matches_bucket(site)


@pytest.fixture
def own_server(tmp_path: Path) -> Iterator[MinioServer]:
    server = MinioServer(tmp_path / "own").start()
    yield server
    server.stop()


def test_server_gone_mid_batch_fails_each_file_and_keeps_them(
    own_server: MinioServer, tmp_path: Path
) -> None:
    site = Site.open(
        SiteConfig(
            endpoint=own_server.endpoint,
            access_key=own_server.access_key,
            secret_key=own_server.secret_key,
            bucket="gone",
        )
    )
    night = simulate_night(tmp_path / "night", detectors=3, exposures=2, seed=4, size=16)
    own_server.kill()
    report = ingest(site, night.files)
    assert len(report.failed) == 6 and not report.ingested
    assert {r.failure for r in report.failed} == {"ingest"}
    assert all(Path(r.path).exists() for r in report.failed)  # sources untouched

    # Back up on the same data: the same call now ingests everything.
    own_server.start()
    report = ingest(site, night.files)
    assert len(report.ingested) == 6
    _assert_catalog_matches_bucket(site)
