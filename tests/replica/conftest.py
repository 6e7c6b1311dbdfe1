"""The second site of the replica tests: a DBB on its own real MinIO server.

The DBB runs on a second server (another port, other keys), as it would be another
host; a server that cannot start fails the run loudly.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterator
from pathlib import Path

import pytest

from infra.minio_server import MinioServer
from oods import Site
from tests.conftest import site_config

_buckets = itertools.count()


@pytest.fixture(scope="session")
def dbb_minio(tmp_path_factory: pytest.TempPathFactory) -> Iterator[MinioServer]:
    server = MinioServer(tmp_path_factory.mktemp("dbb-minio") / "data").start()
    yield server
    server.stop()


@pytest.fixture
def dbb(dbb_minio: MinioServer) -> Site:
    """A new, empty DBB site (its own bucket on the second server) for each test."""
    return Site.open(site_config(dbb_minio, f"dbb-{next(_buckets):03d}"))


@pytest.fixture
def own_dbb_server(tmp_path: Path) -> Iterator[MinioServer]:
    """A DBB server of this test's own, for tests that kill it (stopped at the end)."""
    server = MinioServer(tmp_path / "dbb-data").start()
    yield server
    server.stop()
