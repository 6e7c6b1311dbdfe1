"""Fault: the ingest process is killed with SIGKILL (kill -9) at a chosen stage.

Invariant after each: the next ingest of the same files completes the work, every file
is catalogued exactly once with its own bytes, and fsck --full finds nothing.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable, Sequence
from pathlib import Path

import pytest

from infra.minio_server import MinioServer
from oods import Site, ingest
from oods.fsck import fsck
from oods.simulate import simulate_night
from tests.conftest import site_config

from ._ingest_process import IngestProcess, config_fields
from ._invariants import assert_each_input_once_or_reported, catalog_commits, data_objects

Spawn = Callable[[dict[str, object], Sequence[Path]], IngestProcess]
#: Tries at landing a kill inside a window of a millisecond or two.
TRIES = 5
_sites = itertools.count()


def _rerun_and_check(site: Site, files: Sequence[Path]) -> None:
    report = ingest(site, files)
    assert not report.failed, [r.line() for r in report.failed]
    assert len(report.ingested) + len(report.skipped) == len(files)
    assert_each_input_once_or_reported(site, files)


def test_kill_between_upload_and_commit(site: Site, tmp_path: Path, spawn_ingest: Spawn) -> None:
    """Fault: SIGKILL once half the objects are uploaded, before any catalog commit."""
    files = simulate_night(tmp_path, detectors=8, exposures=6, seed=11, size=16).files
    before = catalog_commits(site, "datasets")
    # One batch: no catalog commit can happen before every upload of the batch is done.
    child = spawn_ingest(config_fields(site.config, batch_size=1000, workers=2), files)

    def half_uploaded() -> bool:
        return len(data_objects(site)) >= len(files) // 2

    assert child.step_until(half_uploaded), "the ingest ended before the fault"
    child.kill()

    assert catalog_commits(site, "datasets") == before, "the kill landed after a commit"
    stranded = fsck(site)
    assert stranded.datasets == 0
    assert len(stranded.of_kind("orphan")) >= len(files) // 2  # bytes without a catalog row
    _rerun_and_check(site, files)


def test_kill_between_the_catalog_commits(
    minio: MinioServer, tmp_path: Path, spawn_ingest: Spawn
) -> None:
    """Fault: SIGKILL during the commit: datasets are committed, locations are not.

    The window is one commit's round trip (a millisecond or two), so the child is run in
    1 ms steps; a try whose step spans the whole window is made again on a new site.
    """
    for attempt in range(TRIES):
        site = Site.open(site_config(minio, f"kill-between-commits-{next(_sites)}"))
        night = simulate_night(tmp_path / str(attempt), detectors=8, exposures=6, seed=12, size=16)
        files = night.files
        datasets_before = catalog_commits(site, "datasets")
        locations_before = catalog_commits(site, "locations")
        child = spawn_ingest(config_fields(site.config, batch_size=1000, workers=2), files)

        def datasets_committed(site: Site = site, before: int = datasets_before) -> bool:
            return catalog_commits(site, "datasets") > before

        assert child.step_until(datasets_committed, step=0.001), "the ingest ended first"
        child.kill()
        if catalog_commits(site, "locations") == locations_before:
            break
    else:
        pytest.fail(f"the kill never landed between the two commits in {TRIES} tries")
    site.refresh()
    assert site.sql("SELECT count(*) FROM datasets").fetchall() == [(len(files),)]
    assert site.sql("SELECT count(*) FROM files").fetchall() == [(0,)]  # none visible yet
    _rerun_and_check(site, files)


def test_kill_after_some_batches_committed(site: Site, tmp_path: Path, spawn_ingest: Spawn) -> None:
    """Fault: SIGKILL mid-run, after some batches are committed and others not."""
    files = simulate_night(tmp_path, detectors=20, exposures=10, seed=8, size=16).files
    before = catalog_commits(site, "locations")
    child = spawn_ingest(config_fields(site.config, batch_size=10, workers=2), files)

    def some_batches_committed() -> bool:
        return catalog_commits(site, "locations") >= before + 3

    assert child.wait_until(some_batches_committed, freeze=True), "the ingest ended first"
    child.kill()

    site.refresh()
    done = site.sql("SELECT count(*) FROM files").fetchall()[0][0]
    assert 0 < done < len(files), "the kill should land mid-ingest"
    _rerun_and_check(site, files)
