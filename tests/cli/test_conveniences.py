"""The everyday commands: status, credentials, get, verify, fsck, and --json / --dry-run /
--workers on the commands that change things; CliRunner against the live MinIO fixture."""

from __future__ import annotations

import configparser
import json
import shlex
import subprocess
import sys
from pathlib import Path

import boto3
import pytest
from click.testing import CliRunner

from infra.minio_server import MinioServer
from oods import Site
from oods.cli import main
from tests.cli_invoke import ok, run
from tests.oods.test_calibrations import write_master

pytestmark = pytest.mark.usefixtures("clean_env")
RUN = "LSSTCam/calib/v1"


def count(config: Path, sql: str) -> int:
    return int(ok(config, "query", sql, "--format", "csv").stdout.splitlines()[1])


# --- status and credentials ---------------------------------------------------------------


def test_status_text_and_json(config: Path, site: Site, night: Path) -> None:
    ok(config, "ingest", str(night))
    text = ok(config, "status").stdout
    assert f"endpoint  {site.config.endpoint}" in text
    assert f"bucket    {site.bucket}" in text
    assert "server    answering" in text
    assert "datasets  20 present" in text and "5 exposures" in text
    assert "catalog   version 1" in text
    report = json.loads(ok(config, "status", "--json").stdout)
    assert report["ok"] is True
    assert report["by_type"]["raw"]["datasets"] == 20
    assert site.config.secret_key not in text + json.dumps(report)


def test_status_of_a_stopped_server_says_so_and_exits_1(tmp_path: Path) -> None:
    server = MinioServer(tmp_path / "data").start()
    path = tmp_path / "oods.toml"
    path.write_text(
        f'[site]\nendpoint = "{server.endpoint}"\nbucket = "gone"\n'
        f'access_key = "{server.access_key}"\nsecret_key = "{server.secret_key}"\n'
    )
    server.stop()
    result = run(path, "status")
    assert result.exit_code == 1, result.output
    assert "not answering" in result.stdout
    assert f"endpoint  {server.endpoint}" in result.stdout
    assert "Traceback" not in result.output


def test_credentials_only_print_the_secret_when_asked(config: Path, site: Site) -> None:
    secret = site.config.secret_key
    plain = ok(config, "credentials").stdout
    assert site.config.endpoint in plain and site.config.access_key in plain
    assert secret not in plain
    for flag in ("--mc", "--rclone", "--env"):
        assert secret in ok(config, "credentials", flag).stdout


def _list_keys(endpoint: str, access: str, secret: str, bucket: str) -> set[str]:
    s3 = boto3.client(
        "s3",
        endpoint_url=endpoint,
        aws_access_key_id=access,
        aws_secret_access_key=secret,
        region_name="us-east-1",
    )
    return {o["Key"] for o in s3.list_objects_v2(Bucket=bucket).get("Contents", [])}


def test_credential_lines_give_other_clients_access(
    config: Path, site: Site, tmp_path: Path
) -> None:
    site.s3.put_object(Bucket=site.bucket, Key="hello.txt", Body=b"hi")

    mc = shlex.split(ok(config, "credentials", "--mc", "--alias", "summit").stdout)
    assert mc[:4] == ["mc", "alias", "set", "summit"]
    assert "hello.txt" in _list_keys(mc[4], mc[5], mc[6], site.bucket)

    stanza = configparser.ConfigParser()
    stanza.read_string(ok(config, "credentials", "--rclone").stdout)
    remote = stanza["oods"]
    assert (remote["type"], remote["provider"], remote["env_auth"]) == ("s3", "Minio", "false")
    keys = _list_keys(
        remote["endpoint"], remote["access_key_id"], remote["secret_access_key"], site.bucket
    )
    assert "hello.txt" in keys

    # The export line, evaluated by a real shell, configures a fresh boto3 by itself.
    exports = ok(config, "credentials", "--env").stdout
    probe = (
        "import boto3; print(boto3.client('s3').get_object("
        f"Bucket='{site.bucket}', Key='hello.txt')['Body'].read().decode())"
    )
    shell = subprocess.run(
        ["bash", "-c", f'{exports}\n"$0" -c "$1"', sys.executable, probe],
        capture_output=True,
        text=True,
        timeout=60,
        env={"PATH": "/usr/bin:/bin", "HOME": str(tmp_path)},
    )
    assert shell.returncode == 0, shell.stderr
    assert shell.stdout.strip() == "hi"


# --- get, verify, fsck ----------------------------------------------------------------------


def test_get_verify_and_fsck_from_the_command_line(
    config: Path, site: Site, night: Path, tmp_path: Path
) -> None:
    ok(config, "ingest", str(night))
    to = tmp_path / "raws"

    result = run(config, "get", "--to", str(to))
    assert result.exit_code == 2  # nothing selected: --all must be said
    assert "--all" in result.output

    got = ok(config, "get", "--where", "detector = 2", "--to", str(to))
    assert "downloaded 5" in got.stdout
    assert len([p for p in to.rglob("*.fits")]) == 5
    assert "skipped 5" in ok(config, "get", "--where", "detector = 2", "--to", str(to)).stdout

    assert "no problems" in ok(config, "fsck").stdout
    assert "verified 20 objects: no problems" in ok(config, "verify").stdout

    key = site.sql("SELECT key FROM files WHERE detector = 3 ORDER BY key").fetchall()[0][0]
    data = site.s3.get_object(Bucket=site.bucket, Key=key)["Body"].read()
    site.s3.put_object(Bucket=site.bucket, Key=key, Body=bytes([data[0] ^ 1]) + data[1:])
    site.s3.put_object(Bucket=site.bucket, Key="LSSTCam/raw/stray.fits", Body=b"x")

    quick = run(config, "fsck")
    assert quick.exit_code == 1
    assert quick.stdout.splitlines()[0] == (
        "LSSTCam/raw/stray.fits: orphan: no present dataset in the catalog"
    )
    full = run(config, "fsck", "--full", "--json")
    assert full.exit_code == 1
    report = json.loads(full.stdout)
    assert (report["corrupt"], report["orphan"], report["verified"]) == (1, 1, 20)

    checked = run(config, "verify", "--where", "detector = 3")
    assert checked.exit_code == 1
    assert checked.stdout.startswith(f"{key} (dataset ")
    assert ": corrupt: sha256" in checked.stdout
    assert "verified 5 objects: 1 problems (1 corrupt)" in checked.stdout
    assert ok(config, "verify", "--where", "detector = 2").exit_code == 0

    refused = run(config, "get", "--where", "detector = 3", "--to", str(tmp_path / "d3"))
    assert refused.exit_code == 4
    assert "checksum mismatch" in refused.stderr
    assert "downloaded 4" in refused.stdout
    assert not (tmp_path / "d3" / key).exists()

    bad = run(config, "verify", "--where", "nonsense ==")
    assert bad.exit_code == 1
    assert bad.stderr.startswith("Error: --where 'nonsense =='")
    assert len(bad.stderr.strip().splitlines()) == 1


def test_get_dry_run_and_json(config: Path, night: Path, tmp_path: Path) -> None:
    ok(config, "ingest", str(night))
    to = tmp_path / "raws"
    dry = ok(config, "get", "--all", "--to", str(to), "--dry-run")
    assert "would download 20" in dry.stdout
    assert not to.exists()
    report = json.loads(ok(config, "get", "--all", "--to", str(to), "--json").stdout)
    assert report["downloaded"] == 20 and report["failed"] == 0
    assert {Path(f["path"]).is_file() for f in report["files"]} == {True}


# --- ingest --dry-run and --workers ---------------------------------------------------------


def test_ingest_dry_run_changes_nothing_and_predicts_the_ingest(
    config: Path, site: Site, night: Path
) -> None:
    bad = night / "notes.fits"
    bad.write_text("not FITS\n")
    dry = run(config, "ingest", str(night), "--dry-run")
    assert dry.exit_code == 4, dry.output
    assert "would ingest 20" in dry.stdout and "reject 1 (1 metadata" in dry.stdout
    assert str(bad) in dry.stderr
    assert count(config, "SELECT count(*) FROM datasets") == 0
    listed = site.s3.list_objects_v2(Bucket=site.bucket, Prefix="LSSTCam/")
    assert listed.get("KeyCount", 0) == 0  # nothing uploaded

    real = json.loads(run(config, "ingest", str(night), "--json", "--workers", "2").stdout)
    assert real["ingested"] == 20 and real["failed"] == 1

    again = json.loads(run(config, "ingest", str(night), "--dry-run", "--json").stdout)
    assert again["dry_run"] is True
    assert (again["ingested"], again["skipped"], again["failed"]) == (0, 20, 1)


def test_ingest_dry_run_sees_a_conflicting_object(config: Path, site: Site, night: Path) -> None:
    plan = json.loads(run(config, "ingest", str(night), "--dry-run", "--json").stdout)
    first = plan["files"][0]
    site.s3.put_object(Bucket=site.bucket, Key=first["key"], Body=b"someone else's bytes")
    result = run(config, "ingest", str(night), "--dry-run")
    assert result.exit_code == 4
    assert f"{first['path']}: ingest failure: {first['key']} already holds" in result.stderr


def test_workers_must_be_positive(config: Path, night: Path) -> None:
    result = run(config, "ingest", str(night), "--workers", "0")
    assert result.exit_code == 2
    assert "--workers" in result.output


# --- calib: --json and --dry-run --------------------------------------------------------------


def _master(config: Path, tmp_path: Path, detector: int) -> str:
    path = write_master(tmp_path / f"d{detector}" / "bias.fits", seed=detector)
    report = json.loads(
        ok(
            config,
            "put",
            str(path),
            "--type",
            "bias",
            "--run",
            RUN,
            "--instrument",
            "LSSTCam",
            "--detector",
            str(detector),
            "--json",
        ).stdout
    )
    assert report["status"] == "ingested"
    assert report["key"].startswith(f"LSSTCam/calib/bias/{RUN}/{detector:03d}/")
    return str(report["dataset_id"])


def _ranges(config: Path) -> int:
    return count(config, "SELECT count(*) FROM calibrations WHERE state = 'certified'")


def test_certify_decertify_import_dry_run_and_json(config: Path, tmp_path: Path) -> None:
    first, second = _master(config, tmp_path, 0), _master(config, tmp_path, 1)
    certify = ["calib", "certify", first, "--collection", "LSSTCam/calib", "--begin", "2025-06-01"]

    dry = json.loads(ok(config, *certify, "--dry-run", "--json").stdout)
    assert dry["dry_run"] is True
    assert [r["dataset_id"] for r in dry["certified"]] == [first]
    assert _ranges(config) == 0
    assert "would certify bias" in ok(config, *certify, "--dry-run").stdout

    done = json.loads(ok(config, *certify, "--json").stdout)
    assert done["dry_run"] is False and len(done["certified"]) == 1
    assert _ranges(config) == 1

    decertify = [
        "calib",
        "decertify",
        "--collection",
        "LSSTCam/calib",
        "--type",
        "bias",
        "--begin",
        "2025-06-03",
        "--end",
        "2025-06-04",
    ]
    preview = json.loads(ok(config, *decertify, "--dry-run", "--json").stdout)
    assert len(preview["removed"]) == 1 and len(preview["kept"]) == 2
    assert _ranges(config) == 1
    assert "would decertify bias" in ok(config, *decertify, "--dry-run").stdout
    ok(config, *decertify)
    assert _ranges(config) == 2  # the range split around the cleared span

    table = tmp_path / "validity.csv"
    table.write_text(
        "dataset_id,collection,type,begin,end\n"
        f"{second},LSSTCam/calib,bias,2025-06-01,\n"
        "00000000-0000-5000-8000-000000000000,LSSTCam/calib,bias,2025-06-01,\n"
    )
    trial = run(config, "calib", "import", str(table), "--dry-run", "--json")
    assert trial.exit_code == 4, trial.output
    report = json.loads(trial.stdout)
    assert (report["certified"], report["rejected"]) == (1, 1)
    assert report["certified_ranges"][0]["dataset_id"] == second
    assert report["rejected_rows"][0]["line"] == 3
    assert _ranges(config) == 2
    assert (
        "dry run: would certify 1" in run(config, "calib", "import", str(table), "--dry-run").stdout
    )
    assert run(config, "calib", "import", str(table)).exit_code == 4
    assert _ranges(config) == 3


def test_status_of_the_embedded_default_probes_its_health(tmp_path: Path) -> None:
    home = tmp_path / "home"  # OODS_HOME, set by clean_env
    server = MinioServer(tmp_path / "embedded").start()
    try:
        home.mkdir()
        (home / "server.json").write_text(server.to_json())
        result = CliRunner().invoke(main, ["status", "--json"])
        assert result.exit_code == 0, result.output
        report = json.loads(result.stdout)
        assert (report["embedded"], report["live"], report["ok"]) == (True, True, True)
        assert report["endpoint"] == server.endpoint
    finally:
        server.stop()
    after = CliRunner().invoke(main, ["status"])
    assert after.exit_code == 1
    assert "not answering, health probe failed" in after.stdout
    assert "embedded default" in after.stdout


def test_records_update_dry_run_commits_nothing(config: Path, night: Path, tmp_path: Path) -> None:
    ok(config, "ingest", str(night))
    exposure = count(config, "SELECT min(exposure) FROM exposures")
    table = tmp_path / "fixes.csv"
    table.write_text(f"instrument,exposure,field,value\nLSSTCam,{exposure},target_name,dome flat\n")
    versions = ok(config, "catalog", "versions", "--format", "csv").stdout
    target = "SELECT count(*) FROM exposures WHERE target_name = 'dome flat'"

    dry = ok(config, "records", "update", "--table", str(table), "--dry-run")
    assert "dry run: would supersede 1 exposure" in dry.stdout
    assert count(config, target) == 0
    assert ok(config, "catalog", "versions", "--format", "csv").stdout == versions

    assert "superseded 1 exposure" in ok(config, "records", "update", "--table", str(table)).stdout
    assert count(config, target) == 1


def test_ingest_dry_run_does_not_create_a_missing_site(
    config: Path, site: Site, night: Path
) -> None:
    absent = config.parent / "absent.toml"
    absent.write_text(config.read_text().replace(site.bucket, site.bucket + "-absent"))
    dry = run(absent, "ingest", str(night), "--dry-run")
    assert dry.exit_code == 0, dry.output
    assert "would ingest 20" in dry.stdout
    buckets = {b["Name"] for b in site.s3.list_buckets()["Buckets"]}
    assert site.bucket + "-absent" not in buckets
