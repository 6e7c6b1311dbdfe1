"""``site_status``: what a site holds, and what is known when its server is gone."""

from __future__ import annotations

import dataclasses
from pathlib import Path

from infra.minio_server import MinioServer
from oods import Site, ingest
from oods.status import site_status
from tests.conftest import site_config


def test_counts_bytes_and_catalog_version(site: Site, night: Path) -> None:
    ingest(site, [night])
    status = site_status(site.config)

    assert status.ok and status.answering and status.problem is None
    assert (status.endpoint, status.bucket) == (site.config.endpoint, site.bucket)
    assert not status.embedded and status.live is None
    assert status.datasets == 20
    assert status.exposures == 5
    assert status.bytes == sum(p.stat().st_size for p in night.rglob("*.fits"))
    assert status.by_type == {"raw": {"datasets": 20, "bytes": status.bytes}}
    (latest, when, _) = site.store.versions("locations")[0]
    assert status.catalog_version == latest >= 1
    assert status.last_commit == when
    assert site.config.secret_key not in str(status.to_dict())


def test_missing_bucket_is_reported_and_not_created(site: Site) -> None:
    config = dataclasses.replace(site.config, bucket=site.bucket + "-absent")
    status = site_status(config)
    assert status.ok
    assert status.datasets == 0
    assert "does not exist" in str(status.note)
    site.s3.head_bucket(Bucket=site.bucket)  # the real one answers ...
    buckets = {b["Name"] for b in site.s3.list_buckets()["Buckets"]}
    assert config.bucket not in buckets  # ... and status created nothing


def test_wrong_secret_is_a_problem(site: Site) -> None:
    config = dataclasses.replace(site.config, secret_key="not-the-secret")
    status = site_status(config)
    assert status.answering and not status.ok
    assert "denied" in str(status.problem) or "Signature" in str(status.problem)


def test_stopped_server_is_not_answering_but_the_rest_is_known(tmp_path: Path) -> None:
    server = MinioServer(tmp_path / "data").start()
    config = site_config(server, "gone")
    server.stop()

    status = site_status(config)

    assert not status.answering and not status.ok
    assert str(status.problem).startswith("not answering")
    assert status.endpoint == config.endpoint and status.bucket == "gone"
    assert status.datasets is None and status.catalog_version is None
