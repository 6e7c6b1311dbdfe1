"""``oods retention``: the commands over a real MinIO, the archive a second bucket by name."""

from __future__ import annotations

import itertools
import json
from pathlib import Path

import pytest

from infra.minio_server import MinioServer
from oods import Site, ingest
from oods.retention_tags import object_tags
from tests.cli_invoke import ok, run
from tests.conftest import site_config

_archives = itertools.count()


@pytest.fixture
def archive(minio: MinioServer) -> Site:
    return Site.open(site_config(minio, f"cli-archive-{next(_archives):03d}"))


@pytest.fixture
def retention_config(config: Path, archive: Site, monkeypatch: pytest.MonkeyPatch) -> Path:
    """The test's oods.toml with classes, a capacity, and the archive as [sites.dbb]."""
    with config.open("a") as file:
        file.write(
            "\n[retention]\n"
            "classes = { cache = 30, scratch = 2020-01-01 }\n"
            'capacity = "1TB"\n'
            f'\n[sites.dbb]\nendpoint = "{archive.config.endpoint}"\n'
            f'bucket = "{archive.bucket}"\n'
        )
    monkeypatch.setenv("OODS_SITE_DBB_ACCESS_KEY", archive.config.access_key)
    monkeypatch.setenv("OODS_SITE_DBB_SECRET_KEY", archive.config.secret_key)
    return config


def tag(site: Site, key: str) -> str:
    return object_tags(site.s3, site.bucket, key)["oods-retention"]


def test_apply_prints_the_rules_and_is_idempotent(retention_config: Path, site: Site) -> None:
    first = ok(retention_config, "retention", "apply")
    assert "installed oods-cache, oods-scratch" in first.output
    assert "oods-cache  tag oods-retention=cache  expire after 30 days" in first.output
    assert "oods-scratch  tag oods-retention=scratch  expire from 2020-01-01" in first.output
    assert "rules already up to date" in ok(retention_config, "retention", "apply").output


def test_release_by_where_checks_the_named_site_and_says_why_it_refused(
    retention_config: Path, site: Site, archive: Site, night: Path
) -> None:
    ingest(site, [night])
    first_exposure = sorted(night.rglob("*.fits"))[:4]
    ingest(archive, first_exposure)
    result = run(
        retention_config,
        "retention",
        "release",
        "--verified-at",
        "dbb",
        "--where",
        "exposure IS NOT NULL",
    )
    assert result.exit_code == 4, result.output
    assert "released 4, unchanged 0, refused 16" in result.stdout
    refusals = [line for line in result.stderr.splitlines() if line.startswith("not released")]
    assert len(refusals) == 16 and all("has no copy" in line for line in refusals)
    site.refresh()
    tags = [tag(site, k) for (k,) in site.sql("SELECT key FROM files ORDER BY key").fetchall()]
    assert sorted(tags) == ["cache"] * 4 + ["hold"] * 16

    status = json.loads(ok(retention_config, "retention", "status", "--json").output)
    counts = {c["name"]: c["objects"] for c in status["classes"]}
    assert counts["hold"] == 16 and counts["cache"] == 4 and counts["scratch"] == 0
    table = ok(retention_config, "retention", "status").output
    assert table.splitlines()[0].split()[:3] == ["class", "objects", "bytes"]


def test_pin_unpin_and_evict_from_the_command_line(
    retention_config: Path, site: Site, night: Path
) -> None:
    ingest(site, [night])
    site.refresh()
    (dataset_id, key), *_ = site.sql("SELECT dataset_id, key FROM files ORDER BY key").fetchall()
    assert (
        "pinned 1, unchanged 0, refused 0"
        in ok(retention_config, "retention", "pin", dataset_id).output
    )
    assert tag(site, key) == "pinned"
    assert "unpinned 1" in ok(retention_config, "retention", "unpin", dataset_id).output
    assert tag(site, key) == "hold"

    # Nothing expiring: the mark is out of reach, nothing removed, exit 4.
    result = run(retention_config, "retention", "evict", "--to", "0%")
    assert result.exit_code == 2 and "between 0% and 100%" in result.output
    result = run(retention_config, "retention", "evict", "--to", "0.00001%", "--json")
    assert result.exit_code == 4
    report = json.loads(result.stdout)
    assert report["removed"] == [] and report["shortfall"] > 0
    assert report["capacity"] == 10**12


def test_bad_retention_config_is_one_line_naming_the_file(config: Path) -> None:
    with config.open("a") as file:
        file.write("\n[retention]\nclasses = { hold = 3 }\n")
    result = run(config, "retention", "status")
    assert result.exit_code == 3
    assert result.output.strip() == (
        f"Error: {config} [retention]: 'hold' is a fixed class that never expires"
    )
