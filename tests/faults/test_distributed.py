"""Fault: one node of a distributed, erasure-coded MinIO (4 nodes x 2 drives) is killed.

Invariant: reads, queries and ingests carry on through the other nodes; once the node
is back, fsck --full finds nothing, and the objects written while it was down are
healed onto its drives.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path

import pytest

from infra.cluster import MinioCluster
from oods import Site, ingest
from oods.fsck import fsck
from oods.simulate import simulate_night

from ._invariants import assert_each_input_once_or_reported
from .conftest import open_site

KILLED = 3  # the site talks to node 0; node 3 dies


def _ingest_all(site: Site, files: list[Path]) -> list[str]:
    report = ingest(site, files)
    assert not report.failed, [r.line() for r in report.failed]
    assert len(report.ingested) == len(files)
    return [r.key for r in report.ingested if r.key]


def _missing_on(cluster: MinioCluster, node: int, bucket: str, keys: list[str]) -> list[str]:
    """Keys whose erasure shard (``xl.meta``) is absent from a drive of ``node``."""
    return [
        key
        for key in keys
        for drive in cluster.drive_dirs(node)
        if not (drive / bucket / key / "xl.meta").exists()
    ]


def _wait_until(condition: Callable[[], bool], timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return
        time.sleep(1.0)
    raise AssertionError(f"{what} did not happen within {timeout:.0f}s")


def test_cluster_survives_a_dead_node_and_heals_it(cluster: MinioCluster, tmp_path: Path) -> None:
    site = open_site(cluster, "erasure", workers=4)
    assert site.config.endpoint == cluster.endpoints[0]
    before = simulate_night(tmp_path / "before", detectors=4, exposures=4, seed=31, size=64)
    early_keys = _ingest_all(site, before.files)
    assert not _missing_on(cluster, KILLED, site.bucket, early_keys)  # spread on all 8 drives

    cluster.kill_node(KILLED)
    _wait_until(lambda: cluster.drives_online() == 6, 30, "node 0 seeing 2 drives offline")
    assert cluster.healthy(0), "6 of 8 drives left: the cluster keeps write quorum"
    # Reading and querying carry on.
    site.refresh()
    assert site.sql("SELECT count(*) FROM files").fetchall() == [(16,)]
    assert fsck(site, full=True).ok
    # So does ingesting: a night written while the node is down.
    during = simulate_night(
        tmp_path / "during", detectors=4, exposures=4, seed=32, size=64, day_obs=20250602
    )
    late_keys = _ingest_all(site, during.files)
    assert set(_missing_on(cluster, KILLED, site.bucket, late_keys)) == set(late_keys)
    assert_each_input_once_or_reported(site, [*before.files, *during.files])

    cluster.restart_node(KILLED)
    _wait_until(lambda: cluster.drives_online() == 8, 60, "the peers reconnecting to the node")

    # fsck --full reads every object; a read that finds shards missing on a drive its
    # node sees online queues their heal (reads made before the peers reconnect do not).
    def fsck_then_healed() -> bool:
        assert fsck(site, full=True).ok
        return not _missing_on(cluster, KILLED, site.bucket, late_keys)

    _wait_until(fsck_then_healed, 90, "healing the objects written while the node was down")
    assert_each_input_once_or_reported(site, [*before.files, *during.files])


def test_a_cluster_needs_two_nodes_and_four_drives(tmp_path: Path) -> None:
    for nodes, drives in ((1, 4), (2, 1)):
        with pytest.raises(ValueError, match="at least 2 nodes and 4 drives"):
            MinioCluster(tmp_path, nodes=nodes, drives=drives)
    assert not any(tmp_path.iterdir())  # refused before anything was started or made
