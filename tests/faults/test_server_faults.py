"""Fault: the MinIO server goes away (stopped, or killed) while an ingest runs.

Invariant: every file is either ingested or reported with a reason and left in place;
once the server is back, the next ingest completes the work exactly once and
fsck --full finds nothing.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path

import pytest

from infra.minio_server import MinioServer
from oods import ingest
from oods.simulate import simulate_night

from ._ingest_process import IngestProcess, config_fields
from ._invariants import assert_each_input_once_or_reported, catalog_commits
from .conftest import open_site

Spawn = Callable[[dict[str, object], Sequence[Path]], IngestProcess]


@pytest.mark.parametrize("how", ["stop", "kill"])
def test_server_restarted_mid_ingest(
    how: str, own_server: MinioServer, tmp_path: Path, spawn_ingest: Spawn
) -> None:
    """Fault: MinIO stopped (SIGTERM) or killed (SIGKILL) mid-ingest, then restarted."""
    site = open_site(own_server, "restarted")
    files = simulate_night(tmp_path / "night", detectors=8, exposures=8, seed=21, size=16).files
    before = catalog_commits(site, "locations")
    child = spawn_ingest(config_fields(site.config, batch_size=8, workers=2), files)

    def some_batches_committed() -> bool:
        return catalog_commits(site, "locations") >= before + 2

    assert child.wait_until(some_batches_committed, freeze=True), "the ingest ended first"
    own_server.stop() if how == "stop" else own_server.kill()
    # It meets a server that is gone, and is still at work when the server returns.
    assert child.run_for(0.5), "the ingest ended during the outage"
    own_server.start()
    child.resume()

    report = child.report()
    files_by_path = {str(p) for p in files}
    results = report["files"]
    assert isinstance(results, list)
    assert {r["path"] for r in results} == files_by_path  # every file accounted for
    failed = [r for r in results if r["status"] == "failed"]
    # Files met while the server was away are reported, or went in on a retry once it
    # was back; the batches committed before the fault stay ingested.
    assert len(failed) < len(files)
    for result in failed:
        assert result["reason"] and "\n" not in result["reason"], result
        assert Path(result["path"]).exists()

    site = open_site(own_server, "restarted")
    again = ingest(site, files)
    assert not again.failed, [r.line() for r in again.failed]
    assert_each_input_once_or_reported(site, files)


def test_server_gone_before_the_batch_fails_each_file_and_keeps_them(
    own_server: MinioServer, tmp_path: Path
) -> None:
    """Fault: the server is killed before the ingest starts; it comes back later."""
    site = open_site(own_server, "gone")
    files = simulate_night(tmp_path / "night", detectors=3, exposures=2, seed=4, size=16).files
    own_server.kill()
    report = ingest(site, files)
    assert len(report.failed) == 6 and not report.ingested
    assert {r.failure for r in report.failed} == {"ingest"}
    assert all(r.reason and "\n" not in r.reason for r in report.failed)
    assert all(Path(r.path).exists() for r in report.failed)  # sources untouched

    own_server.start()  # back up on the same data: the same call now ingests everything
    report = ingest(site, files)
    assert len(report.ingested) == 6
    assert_each_input_once_or_reported(site, files)
