"""`oods import butler:REPO`: an OODS learns what a real Butler repository holds.

The repository (SQLite registry, datastore on the second real MinIO) is filled by a
push from one OODS site; a second, empty site imports its registry, metadata only.
"""

from __future__ import annotations

import hashlib
import json
import uuid
from pathlib import Path

from lsst.daf.butler import Butler

from infra.minio_server import MinioServer
from oods import Site
from tests.butler_support import assert_butler_finds_what_oods_finds
from tests.cli_invoke import run, site_config_file
from tests.conftest import site_config

from .test_butler_target import BUTLER_OPTIONS, CALIB_COLLECTION, DETECTORS, fill


def _filled_repo(site: Site, repo: Path, tmp_path: Path) -> list[str]:
    bias_ids = fill(site, tmp_path)
    pushed = run(
        site_config_file(site, tmp_path),
        "replica",
        "push",
        "--to",
        f"butler:{repo}",
        *BUTLER_OPTIONS,
    )
    assert pushed.exit_code == 0, pushed.output
    return bias_ids


def _empty_site(minio: MinioServer, tmp_path: Path) -> tuple[Site, Path]:
    folder = tmp_path / "importer"
    folder.mkdir()
    fresh = Site.open(site_config(minio, f"imported-{uuid.uuid4().hex[:12]}"))
    return fresh, site_config_file(fresh, folder)


def test_import_learns_datasets_exposures_and_certifications(
    site: Site, minio: MinioServer, s3_repo: Path, tmp_path: Path
) -> None:
    bias_ids = _filled_repo(site, s3_repo, tmp_path)
    fresh, config = _empty_site(minio, tmp_path)
    args = (
        "import",
        f"butler:{s3_repo}",
        "--collections",
        "LSSTCam/raw/all",
        "--collections",
        CALIB_COLLECTION,
        "--json",
    )
    result = run(config, *args)
    assert result.exit_code == 0, (result.output, result.exception)
    report = json.loads(result.output)
    ids = set(site.sql("SELECT dataset_id FROM files").to_arrow_table().column(0).to_pylist())
    assert report["found"] == report["datasets"] == report["remote"] == len(ids)
    assert report["certifications"] == DETECTORS

    fresh.refresh()
    rows = fresh.sql("SELECT dataset_id, state, key, size FROM all_files").fetchall()
    assert {r[0] for r in rows} == ids
    assert {r[1] for r in rows} == {"remote"}
    sizes = dict(site.sql("SELECT dataset_id, size FROM files").fetchall())
    assert all(key.startswith("s3://") and size == sizes[i] for i, _, key, size in rows)
    # Same identity (data id, run) as the site the repository was filled from.
    theirs = site.sql("SELECT dataset_id, dataset_type, run, data_id FROM datasets ORDER BY 1")
    ours = fresh.sql("SELECT dataset_id, dataset_type, run, data_id FROM datasets ORDER BY 1")
    assert [(a, b, c, json.loads(d)) for a, b, c, d in ours.fetchall()] == [
        (a, b, c, json.loads(d)) for a, b, c, d in theirs.fetchall()
    ]
    query = "SELECT exposure, obs_id, physical_filter, datetime_begin FROM exposures ORDER BY 1"
    expected, got = site.sql(query).fetchall(), fresh.sql(query).fetchall()
    assert [r[:3] for r in got] == [r[:3] for r in expected]
    assert all(
        abs((a[3] - b[3]).total_seconds()) < 1e-3 for a, b in zip(got, expected, strict=True)
    )

    # The calibration `oods calib find` chooses here is the one the Butler finds.
    butler = Butler.from_config(str(s3_repo))
    exposure = got[-1][0]
    (record,) = butler.query_dimension_records("exposure", instrument="LSSTCam", exposure=exposure)
    chosen = assert_butler_finds_what_oods_finds(
        config, butler, exposure, record.timespan, DETECTORS, CALIB_COLLECTION
    )
    assert chosen <= set(bias_ids)

    again = json.loads(run(config, *args).output)
    assert (again["datasets"], again["exposures"], again["remote"], again["certifications"]) == (
        0,
        0,
        0,
        0,
    )


def test_where_selects_with_the_butlers_expression(
    site: Site, minio: MinioServer, s3_repo: Path, tmp_path: Path
) -> None:
    _filled_repo(site, s3_repo, tmp_path)
    fresh, config = _empty_site(minio, tmp_path)
    exposure = site.sql("SELECT max(exposure) FROM exposures").fetchall()[0][0]
    result = run(
        config,
        "import",
        f"butler:{s3_repo}",
        "--collections",
        "LSSTCam/raw/all",
        "--where",
        f"instrument = 'LSSTCam' AND exposure = {exposure}",
    )
    assert result.exit_code == 0, (result.output, result.exception)
    assert f"imported {DETECTORS} datasets of {DETECTORS} found" in result.output
    fresh.refresh()
    assert fresh.sql("SELECT DISTINCT exposure FROM datasets").fetchall() == [(exposure,)]


def test_errors_are_one_line(site: Site, minio: MinioServer, s3_repo: Path, tmp_path: Path) -> None:
    _filled_repo(site, s3_repo, tmp_path)
    _, config = _empty_site(minio, tmp_path)
    for args, words in (
        ((f"butler:{tmp_path / 'nowhere'}", "--collections", "x"), "not a Butler repository"),
        ((f"butler:{s3_repo}", "--collections", "nosuch"), "--collections: "),
        (
            (f"butler:{s3_repo}", "--collections", "LSSTCam/raw/all", "--where", "exposure = = 3"),
            "--where 'exposure = = 3': ",
        ),
    ):
        result = run(config, "import", *args)
        assert result.exit_code == 1, result.output
        (line,) = result.output.strip().splitlines()
        assert line.startswith("Error: ") and words in line and "internal" not in line, line


def test_with_bytes_copies_the_files_to_the_keys_an_ingest_gives(
    site: Site, minio: MinioServer, s3_repo: Path, tmp_path: Path
) -> None:
    _filled_repo(site, s3_repo, tmp_path)
    fresh, config = _empty_site(minio, tmp_path)
    metadata_only = run(config, "import", f"butler:{s3_repo}", "--collections", "LSSTCam/raw/all")
    assert metadata_only.exit_code == 0, metadata_only.output
    args = ("import", f"butler:{s3_repo}", "--collections", "LSSTCam/raw/all", "--collections")
    result = run(config, *args, CALIB_COLLECTION, "--with-bytes", "--json")
    assert result.exit_code == 0, (result.output, result.exception)
    report = json.loads(result.output)
    query = "SELECT dataset_id, key, size, checksum FROM files ORDER BY dataset_id"
    expected = site.sql(query).fetchall()
    assert report["copied"] == len(expected) and report["bytes"] == sum(r[2] for r in expected)
    fresh.refresh()
    assert fresh.sql(query).fetchall() == expected  # same keys, sizes and checksums
    (key, checksum) = expected[0][1], expected[0][3]
    body = fresh.s3.get_object(Bucket=fresh.bucket, Key=key)["Body"].read()
    assert hashlib.sha256(body).hexdigest() == checksum

    again = json.loads(run(config, *args, CALIB_COLLECTION, "--with-bytes", "--json").output)
    assert (again["datasets"], again["copied"]) == (0, 0)
