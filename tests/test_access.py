"""Least privilege on the real MinIO: the reader reads and queries, and nothing more;
the writer ingests but cannot delete, retag or change lifecycle; presigned URLs expire."""

from __future__ import annotations

import hashlib
import json
import time
import urllib.error
import urllib.request
from collections.abc import Callable
from pathlib import Path

import botocore.exceptions
import pytest

from infra.access import create_users, policy_document
from infra.access import main as access_main
from infra.minio_server import MinioServer
from oods import Site, SiteConfig, ingest
from oods.fsck import fsck
from oods.simulate import simulate_night

LIFECYCLE = {
    "Rules": [{"ID": "expire-all", "Status": "Enabled", "Filter": {"Prefix": ""},
               "Expiration": {"Days": 1}}]
}  # fmt: skip


def _site_as(server: MinioServer, bucket: str, user: tuple[str, str]) -> Site:
    """The site as ``user`` sees it (opened for reading: the bucket already exists)."""
    access_key, secret_key = user
    config = SiteConfig(
        endpoint=server.endpoint, access_key=access_key, secret_key=secret_key, bucket=bucket
    )
    return Site.open(config)


def _denied(call: Callable[[], object]) -> None:
    with pytest.raises(botocore.exceptions.ClientError) as caught:
        call()
    assert caught.value.response["Error"]["Code"] == "AccessDenied"


@pytest.fixture
def users(minio: MinioServer, site: Site) -> dict[str, tuple[str, str]]:
    """Reader and writer users limited to this test's (already created) bucket."""
    return create_users(minio, bucket=site.bucket)


@pytest.fixture
def ingested(minio: MinioServer, site: Site, users: dict[str, tuple[str, str]], night: Path):
    """The test night, ingested by the writer user."""
    writer = _site_as(minio, site.bucket, users["writer"])
    report = ingest(writer, [night])
    assert not report.failed, [r.line() for r in report.failed]
    assert len(report.ingested) == 20
    return report


def test_policies_name_only_the_site_bucket() -> None:
    text = str(policy_document("reader", "summit"))
    assert "arn:aws:s3:::summit" in text and "BUCKET" not in text
    assert "s3:PutObject" not in text and "s3:DeleteObject" not in text
    writer = str(policy_document("writer", "summit"))
    assert "s3:PutObject'" in writer
    assert "s3:DeleteObject" not in writer and "s3:PutObjectTagging" not in writer
    with pytest.raises(ValueError, match="unknown role"):
        policy_document("admin")


def test_reader_lists_reads_and_queries(
    minio: MinioServer, site: Site, users: dict[str, tuple[str, str]], ingested: object
) -> None:
    reader = _site_as(minio, site.bucket, users["reader"])
    rows = reader.sql("SELECT key, checksum FROM files ORDER BY key").fetchall()
    assert len(rows) == 20
    listed = reader.s3.list_objects_v2(Bucket=site.bucket, Prefix=rows[0][0])["Contents"]
    assert [o["Key"] for o in listed] == [rows[0][0]]
    body = reader.s3.get_object(Bucket=site.bucket, Key=rows[0][0])["Body"].read()
    assert hashlib.sha256(body).hexdigest() == rows[0][1]
    assert fsck(reader, full=True).ok  # a reader can audit the site


def test_reader_cannot_write_delete_retag_or_change_lifecycle(
    minio: MinioServer, site: Site, users: dict[str, tuple[str, str]], ingested: object
) -> None:
    reader = _site_as(minio, site.bucket, users["reader"])
    key = reader.sql("SELECT key FROM files LIMIT 1").fetchall()[0][0]
    s3, bucket = reader.s3, site.bucket
    _denied(lambda: s3.put_object(Bucket=bucket, Key="new.fits", Body=b"x"))
    _denied(lambda: s3.put_object(Bucket=bucket, Key=key, Body=b"overwrite"))
    _denied(lambda: s3.delete_object(Bucket=bucket, Key=key))
    _denied(lambda: s3.put_object_tagging(
        Bucket=bucket, Key=key, Tagging={"TagSet": [{"Key": "oods-retention", "Value": "x"}]}
    ))  # fmt: skip
    _denied(lambda: s3.delete_object_tagging(Bucket=bucket, Key=key))
    _denied(lambda: s3.put_bucket_lifecycle_configuration(
        Bucket=bucket, LifecycleConfiguration=LIFECYCLE
    ))  # fmt: skip
    _denied(lambda: s3.delete_bucket_lifecycle(Bucket=bucket))
    # Nothing changed: the object, its tag and the catalog are as the writer left them.
    tags = site.s3.get_object_tagging(Bucket=bucket, Key=key)["TagSet"]
    assert tags == [{"Key": "oods-retention", "Value": "hold"}]
    assert fsck(site, full=True).ok


def test_reader_ingest_is_refused_file_by_file(
    minio: MinioServer,
    site: Site,
    users: dict[str, tuple[str, str]],
    ingested: object,
    tmp_path: Path,
) -> None:
    reader = _site_as(minio, site.bucket, users["reader"])
    more = simulate_night(tmp_path / "more", detectors=2, exposures=2, day_obs=20250602).files
    report = ingest(reader, more)
    assert len(report.failed) == 4 and not report.ingested
    assert all("AccessDenied" in (r.reason or "") for r in report.failed), report.failed
    assert all(Path(r.path).exists() for r in report.failed)
    site.refresh()
    assert site.sql("SELECT count(*) FROM files").fetchall() == [(20,)]


def test_users_of_one_bucket_cannot_touch_another(
    minio: MinioServer, site: Site, users: dict[str, tuple[str, str]]
) -> None:
    other = Site.open(
        SiteConfig(
            endpoint=minio.endpoint,
            access_key=minio.access_key,
            secret_key=minio.secret_key,
            bucket=site.bucket + "-other",
        ),
        create=True,
    )
    other.s3.put_object(Bucket=other.bucket, Key="a.fits", Body=b"a")
    for role in ("reader", "writer"):
        access_key, secret_key = users[role]
        config = SiteConfig(
            endpoint=minio.endpoint,
            access_key=access_key,
            secret_key=secret_key,
            bucket=other.bucket,
        )
        s3 = Site(config).s3
        _denied(lambda s3=s3: s3.get_object(Bucket=other.bucket, Key="a.fits"))
        _denied(lambda s3=s3: s3.put_object(Bucket=other.bucket, Key="b.fits", Body=b"b"))


def test_writer_cannot_delete_retag_or_change_lifecycle(
    minio: MinioServer, site: Site, users: dict[str, tuple[str, str]], ingested: object
) -> None:
    writer = _site_as(minio, site.bucket, users["writer"])
    key = writer.sql("SELECT key FROM files LIMIT 1").fetchall()[0][0]
    _denied(lambda: writer.s3.delete_object(Bucket=site.bucket, Key=key))
    _denied(lambda: writer.s3.put_object_tagging(
        Bucket=site.bucket, Key=key, Tagging={"TagSet": [{"Key": "oods-retention", "Value": "x"}]}
    ))  # fmt: skip
    _denied(lambda: writer.s3.delete_object_tagging(Bucket=site.bucket, Key=key))
    _denied(lambda: writer.s3.put_bucket_lifecycle_configuration(
        Bucket=site.bucket, LifecycleConfiguration=LIFECYCLE
    ))  # fmt: skip
    _denied(lambda: writer.s3.delete_bucket(Bucket=site.bucket))
    assert fsck(site, full=True).ok


def test_presigned_urls_work_then_expire(
    minio: MinioServer, site: Site, users: dict[str, tuple[str, str]], ingested: object
) -> None:
    reader = _site_as(minio, site.bucket, users["reader"])
    key, checksum = reader.sql("SELECT key, checksum FROM files LIMIT 1").fetchall()[0]
    url = reader.presigned_url(key, expires=2)
    with urllib.request.urlopen(url, timeout=10) as response:
        assert hashlib.sha256(response.read()).hexdigest() == checksum
    time.sleep(3.5)
    with pytest.raises(urllib.error.HTTPError) as caught:
        urllib.request.urlopen(url, timeout=10)
    assert caught.value.code == 403
    assert b"expired" in caught.value.read().lower()

    # A reader's URL cannot be turned into an upload either.
    put_url = reader.s3.generate_presigned_url(
        "put_object", Params={"Bucket": site.bucket, "Key": "sneaky.fits"}, ExpiresIn=60
    )
    request = urllib.request.Request(put_url, data=b"x", method="PUT")
    with pytest.raises(urllib.error.HTTPError) as caught:
        urllib.request.urlopen(request, timeout=10)
    assert caught.value.code == 403


def test_access_command_writes_secrets_to_a_private_file_only(
    minio: MinioServer,
    site: Site,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    out = tmp_path / "users.json"
    monkeypatch.setenv("MINIO_ROOT_USER", minio.access_key)
    monkeypatch.setenv("MINIO_ROOT_PASSWORD", minio.secret_key)
    args = ["--endpoint", minio.endpoint, "--bucket", site.bucket, "--out", str(out)]
    assert access_main(args) == 0
    users = json.loads(out.read_text())
    assert out.stat().st_mode & 0o777 == 0o600
    printed = capsys.readouterr().out
    assert users["reader"]["access_key"] in printed
    assert users["reader"]["secret_key"] not in printed
    reader = _site_as(
        minio, site.bucket, (users["reader"]["access_key"], users["reader"]["secret_key"])
    )
    assert reader.sql("SELECT count(*) FROM files").fetchall() == [(0,)]

    monkeypatch.setenv("MINIO_ROOT_PASSWORD", "wrong-" + minio.secret_key)
    assert access_main([*args[:-1], str(tmp_path / "no.json")]) == 1
    error = capsys.readouterr().err
    assert error.startswith(f"error: {minio.endpoint}: ") and error.count("\n") == 1
    assert not (tmp_path / "no.json").exists()
