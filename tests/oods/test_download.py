"""``get``: bulk download, verified against the catalog's checksums, on a real MinIO."""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from pathlib import Path

import boto3
import botocore.config
import pytest

from infra.minio_server import MinioServer
from oods import Site, ingest
from oods.download import get
from oods.selection import SelectionError
from tests.conftest import site_config


def _originals(night: Path) -> dict[str, bytes]:
    """The night's files by name: the bytes every download must reproduce."""
    return {p.name: p.read_bytes() for p in night.rglob("*.fits")}


def _written(folder: Path) -> list[Path]:
    return sorted(p for p in folder.rglob("*") if p.is_file())


def _first_exposure(site: Site) -> int:
    ((exposure,),) = site.sql("SELECT min(exposure) FROM files").fetchall()
    assert exposure is not None
    return int(exposure)


def test_get_by_where_writes_the_same_bytes_at_their_keys(
    site: Site, night: Path, tmp_path: Path
) -> None:
    ingest(site, [night])
    exposure = _first_exposure(site)
    to = tmp_path / "out"

    report = get(site, to, f"exposure = {exposure}")

    assert report.summary()["downloaded"] == 4  # the night has 4 detectors per exposure
    assert report.failed == []
    keys = [k for (k,) in site.sql(f"SELECT key FROM files WHERE exposure = {exposure}").fetchall()]
    assert _written(to) == sorted(to / k for k in keys)  # mirrors the keys, nothing else
    originals = _originals(night)
    for path in _written(to):
        assert path.read_bytes() == originals[path.name]
    assert report.summary()["bytes"] == sum(len(originals[Path(k).name]) for k in keys)


def test_rerun_skips_same_bytes_and_keeps_a_different_file_unless_forced(
    site: Site, night: Path, tmp_path: Path
) -> None:
    ingest(site, [night])
    to = tmp_path / "out"
    first = get(site, to)
    assert len(first.downloaded) == 20

    again = get(site, to)
    assert len(again.skipped) == 20
    assert again.downloaded == again.failed == []

    edited = _written(to)[3]
    edited.write_bytes(b"my own notes, not a raw")
    kept = get(site, to)
    (failed,) = kept.failed
    assert failed.path == str(edited)
    assert "not overwritten" in str(failed.reason)
    assert edited.read_bytes() == b"my own notes, not a raw"
    assert len(kept.skipped) == 19

    forced = get(site, to, force=True)
    assert [r.path for r in forced.downloaded] == [str(edited)]
    assert edited.read_bytes() == _originals(night)[edited.name]


def test_corrupt_object_is_refused_and_nothing_partial_is_left(
    site: Site, night: Path, tmp_path: Path
) -> None:
    ingest(site, [night])
    keys = [k for (k,) in site.sql("SELECT key FROM files ORDER BY key").fetchall()]
    bad = keys[5]
    data = site.s3.get_object(Bucket=site.bucket, Key=bad)["Body"].read()
    site.s3.put_object(Bucket=site.bucket, Key=bad, Body=bytes([data[0] ^ 1]) + data[1:])
    to = tmp_path / "out"

    report = get(site, to, workers=3)

    (failed,) = report.failed
    assert failed.key == bad
    assert "checksum mismatch" in str(failed.reason)
    assert not (to / bad).exists()
    assert len(report.downloaded) == 19
    assert [p for p in to.rglob("*") if p.name.endswith(".part")] == []


def test_unknown_ids_fail_alone(site: Site, night: Path, tmp_path: Path) -> None:
    ingest(site, [night])
    known = [i for (i,) in site.sql("SELECT dataset_id FROM files LIMIT 2").fetchall()]
    unknown = "00000000-0000-5000-8000-000000000000"

    report = get(site, tmp_path / "out", dataset_ids=[known[0], unknown, known[1]])

    assert {r.dataset_id for r in report.downloaded} == set(known)
    (failed,) = report.failed
    assert failed.key == unknown
    assert "no present dataset" in failed.line()


def test_dry_run_writes_nothing(site: Site, night: Path, tmp_path: Path) -> None:
    ingest(site, [night])
    to = tmp_path / "out"
    report = get(site, to, "detector = 0", dry_run=True)
    assert len(report.planned) == 5
    ((size,),) = site.sql("SELECT sum(size) FROM files WHERE detector = 0").fetchall()
    assert report.bytes == size > 0
    assert report.downloaded == []
    assert not to.exists()


def test_bad_predicate_is_one_line_naming_it(site: Site, night: Path, tmp_path: Path) -> None:
    ingest(site, [night])
    with pytest.raises(SelectionError) as caught:
        get(site, tmp_path / "out", "no_such_column = 1")
    message = str(caught.value)
    assert "no_such_column" in message
    assert "\n" not in message


@pytest.fixture
def own_server(tmp_path: Path) -> Iterator[MinioServer]:
    """A server of this test's own, so that the test can kill it."""
    server = MinioServer(tmp_path / "minio-data").start()
    yield server
    server.stop()


def test_server_killed_mid_download_leaves_only_whole_verified_files(
    own_server: MinioServer, night: Path, tmp_path: Path
) -> None:
    site = Site.open(site_config(own_server, "dead"))
    ingest(site, [night])
    # One attempt per request, so that each refused connection fails at once.
    site.s3 = boto3.client(
        "s3",
        endpoint_url=own_server.endpoint,
        aws_access_key_id=own_server.access_key,
        aws_secret_access_key=own_server.secret_key,
        region_name="us-east-1",
        config=botocore.config.Config(retries={"total_max_attempts": 1}, connect_timeout=2),
    )
    to = tmp_path / "out"

    def kill_after_first(_: int) -> None:
        if own_server.pid is not None:
            own_server.kill()

    report = get(site, to, workers=1, progress=kill_after_first)

    assert len(report.downloaded) + len(report.failed) == 20
    assert len(report.downloaded) >= 1
    assert len(report.failed) >= 1  # the files after the kill (all but a few in flight)
    assert all(str(r.reason).startswith("storage:") for r in report.failed)
    originals = _originals(night)
    written = _written(to)
    assert sorted(map(str, written)) == sorted(str(r.path) for r in report.downloaded)
    assert all(p.read_bytes() == originals[p.name] for p in written)  # no partial file


def test_get_checksums_what_it_wrote(site: Site, night: Path, tmp_path: Path) -> None:
    """Each written file hashes to the catalog's checksum (the check is end to end)."""
    ingest(site, [night])
    to = tmp_path / "out"
    get(site, to, "detector = 1")
    expected = dict(site.sql("SELECT key, checksum FROM files WHERE detector = 1").fetchall())
    assert {
        str(p.relative_to(to)): hashlib.sha256(p.read_bytes()).hexdigest() for p in _written(to)
    } == expected
