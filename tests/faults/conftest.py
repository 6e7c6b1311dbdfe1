"""Fixtures of the fault suite: servers a test may kill, a disk that fills up, a cluster.

Each server here belongs to one test, so a test that kills or stops it harms no other.
"""

from __future__ import annotations

import subprocess
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path

import pytest

from infra.cluster import MinioCluster
from infra.minio_server import MinioServer
from oods import Site, SiteConfig

from ._ingest_process import IngestProcess


@pytest.fixture
def own_server(tmp_path: Path) -> Iterator[MinioServer]:
    """A MinIO server of this test alone."""
    server = MinioServer(tmp_path / "own").start()
    yield server
    server.stop()


def open_site(server: MinioServer | MinioCluster, bucket: str, **fields: object) -> Site:
    config = SiteConfig(
        endpoint=server.endpoint,
        access_key=server.access_key,
        secret_key=server.secret_key,
        bucket=bucket,
        **fields,  # type: ignore[arg-type]
    )
    return Site.open(config, create=True)


@pytest.fixture
def spawn_ingest() -> Iterator[Callable[[dict[str, object], Sequence[Path]], IngestProcess]]:
    """Start ingest children; any still alive (or frozen) at the end is killed."""
    children: list[IngestProcess] = []

    def spawn(fields: dict[str, object], paths: Sequence[Path]) -> IngestProcess:
        child = IngestProcess(fields, paths)
        children.append(child)
        return child

    yield spawn
    for child in children:
        child.kill()


#: Small enough to fill with a few dozen 1 MiB files, big enough for MinIO's own state.
SMALL_DISK = "24m"


@pytest.fixture
def small_disk(tmp_path: Path) -> Iterator[Path]:
    """A tmpfs of ``SMALL_DISK`` mounted for this test (the suite runs as root, as CI)."""
    mount_point = tmp_path / "small-disk"
    mount_point.mkdir()
    subprocess.run(
        ["mount", "-t", "tmpfs", "-o", f"size={SMALL_DISK}", "tmpfs", str(mount_point)],
        check=True,
        capture_output=True,
        timeout=30,
    )
    yield mount_point
    subprocess.run(["umount", "--lazy", str(mount_point)], check=False, timeout=30)


@pytest.fixture
def cluster(tmp_path: Path) -> Iterator[MinioCluster]:
    """A distributed MinIO of 4 nodes x 2 drives (one erasure set of 8) for this test."""
    nodes = MinioCluster(tmp_path / "cluster", nodes=4, drives=2).start()
    yield nodes
    nodes.stop()
