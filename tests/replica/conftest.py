"""The second site of the replica tests: a DBB on its own real MinIO server.

The DBB runs on a second server (another port, other keys), as it would be another
host; a server that cannot start fails the run loudly.
"""

from __future__ import annotations

import itertools
import uuid
from collections.abc import Iterator
from pathlib import Path

import boto3
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


@pytest.fixture
def s3_repo(dbb_minio: MinioServer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A Butler repository: SQLite registry here, datastore in a bucket of the DBB server."""
    from tests.butler_support import make_s3_test_repo  # the Butler only where it is used

    monkeypatch.setenv("S3_ENDPOINT_URL", dbb_minio.endpoint)
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", dbb_minio.access_key)
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", dbb_minio.secret_key)
    bucket = f"butler-{uuid.uuid4().hex[:12]}"
    boto3.client(
        "s3",
        endpoint_url=dbb_minio.endpoint,
        aws_access_key_id=dbb_minio.access_key,
        aws_secret_access_key=dbb_minio.secret_key,
    ).create_bucket(Bucket=bucket)
    make_s3_test_repo(tmp_path / "repo", f"s3://{bucket}/repo")
    return tmp_path / "repo"
