"""Real servers for the tests: MinIO started once per session on 127.0.0.1.

A server that cannot start fails the run loudly; nothing is skipped.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterator
from pathlib import Path

import pytest

from infra.minio_server import MinioServer
from oods import Site, SiteConfig

_buckets = itertools.count()


@pytest.fixture(scope="session")
def minio(tmp_path_factory: pytest.TempPathFactory) -> Iterator[MinioServer]:
    server = MinioServer(tmp_path_factory.mktemp("minio") / "data").start()
    yield server
    server.stop()


@pytest.fixture(scope="module")
def fast_scanner(tmp_path_factory: pytest.TempPathFactory) -> Iterator[MinioServer]:
    """A server whose lifecycle scanner cycles in about a second (its own drive)."""
    server = MinioServer(
        tmp_path_factory.mktemp("scanner") / "data", extra_env={"MINIO_SCANNER_SPEED": "fastest"}
    ).start()
    yield server
    server.stop()


def on_drive(server: MinioServer, bucket: str, key: str) -> bool:
    """Whether the object is still on the server's drive: no S3 read, which would expire
    an overdue object itself and hide whether the scanner did."""
    return (server.data_dir / bucket / key / "xl.meta").exists()


def site_config(server: MinioServer, bucket: str, **fields: object) -> SiteConfig:
    return SiteConfig(
        endpoint=server.endpoint,
        access_key=server.access_key,
        secret_key=server.secret_key,
        bucket=bucket,
        **fields,
    )  # type: ignore[arg-type]


@pytest.fixture
def site(minio: MinioServer, request: pytest.FixtureRequest) -> Site:
    """A new, empty site (its own bucket) for each test."""
    name = request.node.name.lower().replace("_", "-")[:40].strip("-[]")
    bucket = f"t{next(_buckets):03d}-" + "".join(c for c in name if c.isalnum() or c == "-")
    return Site.open(site_config(minio, bucket.strip("-")[:60]))


#: Environment a test must not pick up from the developer's shell.
OODS_VARIABLES = (
    "OODS_CONFIG",
    "OODS_ENDPOINT",
    "OODS_BUCKET",
    "OODS_ACCESS_KEY",
    "OODS_SECRET_KEY",
    "OODS_REGION",
    "OODS_HOME",
    "AWS_ACCESS_KEY_ID",
    "AWS_SECRET_ACCESS_KEY",
)


@pytest.fixture
def clean_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Path:
    """Only what each test sets: no OODS_* or AWS key variables, no ./oods.toml, no
    `oods up` state (OODS_HOME is a new folder). Returns the working directory."""
    for name in OODS_VARIABLES:
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("OODS_HOME", str(tmp_path / "home"))
    workdir = tmp_path / "cwd"
    workdir.mkdir()
    monkeypatch.chdir(workdir)
    return workdir


@pytest.fixture
def night(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A small simulated night, written once per test that asks."""
    from oods.simulate import simulate_night

    out = tmp_path_factory.mktemp("night")
    simulate_night(out, detectors=4, exposures=5, seed=7, size=16)
    return out
