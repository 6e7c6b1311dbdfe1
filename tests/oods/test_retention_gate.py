"""The gate out of hold, and pins: against a second real MinIO standing in for the archive."""

from __future__ import annotations

import itertools
from collections.abc import Iterator
from pathlib import Path

import pytest

from infra.minio_server import MinioServer
from oods import Site, ingest
from oods.retention import pin, release, unpin
from oods.retention_tags import object_tags
from tests.conftest import site_config

_archives = itertools.count()


@pytest.fixture(scope="module")
def archive_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[MinioServer]:
    server = MinioServer(tmp_path_factory.mktemp("archive") / "data").start()
    yield server
    server.stop()


@pytest.fixture
def archive(archive_server: MinioServer) -> Iterator[Site]:
    with Site.open(site_config(archive_server, f"dbb-{next(_archives):03d}")) as opened:
        yield opened


def files(site: Site) -> list[tuple[str, str]]:
    site.refresh()
    return [
        tuple(row) for row in site.sql("SELECT dataset_id, key FROM files ORDER BY key").fetchall()
    ]


def tag(site: Site, key: str) -> str | None:
    return object_tags(site.s3, site.bucket, key).get("oods-retention")


def test_release_refuses_what_the_archive_lacks_and_releases_what_it_holds(
    site: Site, archive: Site, night: Path, tmp_path: Path
) -> None:
    ingest(site, [night])
    held = files(site)
    # The archive holds the first exposure only.
    first = sorted(p for p in night.rglob("*.fits"))[:4]
    ingest(archive, first)
    at_archive = {dataset_id for dataset_id, _ in files(archive)}
    assert len(at_archive) == 4

    report = release(site, [d for d, _ in held], archive)

    assert sorted(report.changed) == sorted(at_archive)
    assert set(report.refused) == {d for d, _ in held} - at_archive
    assert all("has no copy" in reason for reason in report.refused.values())
    for dataset_id, key in held:
        assert tag(site, key) == ("cache" if dataset_id in at_archive else "hold")
    again = release(site, sorted(at_archive), archive)
    assert sorted(again.unchanged) == sorted(at_archive) and not again.changed


def test_release_refuses_when_the_archive_has_other_bytes(
    site: Site, archive: Site, night: Path
) -> None:
    ingest(site, [night])
    ingest(archive, [night])
    (short_id, short_key), (other_id, other_key), (gone_id, gone_key) = files(archive)[:3]
    body = archive.s3.get_object(Bucket=archive.bucket, Key=other_key)["Body"].read()
    # Behind the archive catalog's back: one object shorter, one with another sha256
    # (same length), one gone.
    archive.s3.put_object(Bucket=archive.bucket, Key=short_key, Body=b"short")
    archive.s3.put_object(
        Bucket=archive.bucket,
        Key=other_key,
        Body=bytes([body[0] ^ 1]) + body[1:],
        Metadata={"sha256": "0" * 64},
    )
    archive.s3.delete_object(Bucket=archive.bucket, Key=gone_key)

    report = release(site, [short_id, other_id, gone_id], archive)

    assert not report.changed
    assert "bytes, not" in report.refused[short_id]
    assert "another sha256" in report.refused[other_id]
    assert "missing" in report.refused[gone_id]
    for key in (short_key, other_key, gone_key):
        assert tag(site, key) == "hold"


def test_release_refuses_unknown_ids_and_moves_to_the_class_asked(
    site: Site, archive: Site, night: Path
) -> None:
    ingest(site, [night])
    ingest(archive, [night])
    (dataset_id, key) = files(site)[0]
    report = release(site, [dataset_id, "no-such-dataset"], archive, to_class="scratch")
    assert report.changed == [dataset_id]
    assert report.refused == {"no-such-dataset": "unknown dataset here"}
    assert tag(site, key) == "scratch"
    with pytest.raises(ValueError, match="expiring class"):
        release(site, [dataset_id], archive, to_class="hold")


def test_retag_keeps_the_modification_time_lifecycle_counts_from(
    site: Site, archive: Site, night: Path
) -> None:
    ingest(site, [night])
    ingest(archive, [night])
    (dataset_id, key) = files(site)[0]
    before = site.s3.head_object(Bucket=site.bucket, Key=key)["LastModified"]
    assert release(site, [dataset_id], archive).changed == [dataset_id]
    after = site.s3.head_object(Bucket=site.bucket, Key=key)
    assert after["LastModified"] == before
    assert tag(site, key) == "cache"


def test_pin_keeps_a_dataset_out_of_release_and_unpin_restores_its_class(
    site: Site, archive: Site, night: Path
) -> None:
    ingest(site, [night])
    ingest(archive, [night])
    (held_id, held_key), (cached_id, cached_key) = files(site)[:2]
    release(site, [cached_id], archive)

    pinned = pin(site, [held_id, cached_id])
    assert sorted(pinned.changed) == sorted([held_id, cached_id])
    assert tag(site, held_key) == tag(site, cached_key) == "pinned"
    assert release(site, [held_id], archive).refused == {held_id: "in pinned, not in hold"}

    unpinned = unpin(site, [held_id, cached_id])
    assert sorted(unpinned.changed) == sorted([held_id, cached_id])
    assert tag(site, held_key) == "hold"
    assert tag(site, cached_key) == "cache"
    assert "oods-retention-before-pin" not in object_tags(site.s3, site.bucket, cached_key)
