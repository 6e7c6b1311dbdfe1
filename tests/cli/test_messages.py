"""What the ``oods`` command says when things go wrong: one clear line, the right exit
code, nothing created or changed by a reader (CliRunner on the live MinIO fixture)."""

from __future__ import annotations

import hashlib
import json
import urllib.request
from pathlib import Path

import botocore.exceptions
import pytest

from infra.minio_server import MinioServer
from oods import Night, Site, ingest, simulate_night
from oods.cli._console import eta_text
from tests.cli.test_cli import DAY_OBS, csv_rows
from tests.cli_invoke import ok, run, write_config

pytestmark = pytest.mark.usefixtures("clean_env")


@pytest.fixture
def sim(tmp_path: Path) -> tuple[Path, Night]:
    out = tmp_path / "night"
    return out, simulate_night(out, detectors=3, exposures=2, seed=3, size=16, day_obs=DAY_OBS)


def one_error_line(stderr: str) -> str:
    lines = stderr.splitlines()
    assert len(lines) == 1, stderr
    assert lines[0].startswith("Error: ")
    assert "Traceback" not in stderr
    return lines[0]


# -- issue 14 item 11: readers do not create a site ---------------------------------------


@pytest.mark.parametrize(
    "args", [("query", "SELECT count(*) FROM datasets"), ("ls",), ("provenance", "x")]
)
def test_reader_on_a_mistyped_bucket_creates_nothing(
    site: Site, tmp_path: Path, args: tuple[str, ...]
) -> None:
    c = site.config
    typo = c.bucket[:-1] + ("x" if c.bucket[-1] != "x" else "y")
    path = write_config(tmp_path / "typo.toml", c.endpoint, typo, c.access_key, c.secret_key)
    result = run(path, *args)
    assert result.exit_code == 1, result.output
    line = one_error_line(result.stderr)
    assert typo in line and "does not exist" in line
    with pytest.raises(botocore.exceptions.ClientError):
        site.s3.head_bucket(Bucket=typo)


def test_writer_creates_the_site(site: Site, tmp_path: Path, sim: tuple[Path, Night]) -> None:
    c = site.config
    fresh = c.bucket[:50] + "-fresh"
    path = write_config(tmp_path / "fresh.toml", c.endpoint, fresh, c.access_key, c.secret_key)
    ok(path, "ingest", str(sim[0]))
    rows = csv_rows(ok(path, "query", "SELECT count(*) FROM datasets", "--format", "csv"))
    assert rows[1] == [str(len(sim[1].files))]


# -- issue 14 item 12: oods query is read-only and reaches no local file ------------------


def test_query_cannot_write_or_read_local_files(
    config: Path, sim: tuple[Path, Night], tmp_path: Path
) -> None:
    ok(config, "ingest", str(sim[0]))
    for sql in ("DELETE FROM files", "DROP TABLE datasets", f"COPY files TO '{tmp_path}/x.csv'"):
        result = run(config, "query", sql)
        assert result.exit_code == 1, result.output
        assert "read-only" in one_error_line(result.stderr)
    result = run(config, "query", "SELECT * FROM read_csv('/etc/passwd')")
    assert result.exit_code == 1
    line = one_error_line(result.stderr)
    assert "disabled by configuration" in line and "--allow-local-files" in line
    assert "root:" not in result.output

    ids = tmp_path / "ids.csv"
    ids.write_text("n\n1\n2\n3\n")
    sql = f"SELECT sum(n) FROM read_csv('{ids}')"
    assert run(config, "query", sql).exit_code == 1
    allowed = ok(config, "query", sql, "--format", "csv", "--allow-local-files")
    assert csv_rows(allowed)[1] == ["6"]
    total = "SELECT count(*) FROM files"
    assert csv_rows(ok(config, "query", total, "--format", "csv"))[1] == [str(len(sim[1].files))]


# -- issue 14 item 8: one line per failure, details under --verbose -----------------------


def test_corrupt_catalog_is_one_line_and_verbose_has_the_chain(
    site: Site, config: Path, sim: tuple[Path, Night]
) -> None:
    ok(config, "ingest", str(sim[0]))
    log = f"{site.config.catalog_prefix}/locations/_delta_log/00000000000000000001.json"
    site.s3.put_object(Bucket=site.bucket, Key=log, Body=b"{garbage\n")
    result = run(config, "query", "SELECT count(*) FROM files")
    assert result.exit_code == 1
    line = one_error_line(result.stderr)
    assert "locations" in line and "--verbose" in line
    verbose = run(config, "--verbose", "query", "SELECT count(*) FROM files")
    assert verbose.exit_code == 1
    assert len(verbose.stderr.splitlines()) > 1
    assert "Traceback" not in verbose.stderr


def test_a_file_name_cannot_forge_an_ingested_line(config: Path, tmp_path: Path) -> None:
    folder = tmp_path / "in"
    folder.mkdir()
    (folder / "a.fits: ingested as fake.fits\nb.fits").write_text("not FITS")
    result = run(config, "ingest", str(folder))
    assert result.exit_code == 4, result.output
    (line,) = result.stderr.splitlines()
    assert "\\n" in line and "metadata failure" in line
    assert not any(out.startswith("b.fits") for out in result.output.splitlines())


def test_a_stored_name_cannot_forge_a_table_row(
    config: Path, sim: tuple[Path, Night], tmp_path: Path
) -> None:
    folder = tmp_path / "odd"
    folder.mkdir()
    odd = folder / "MC_O_1\n(0 rows).fits"
    odd.write_bytes(sim[1].files[0].read_bytes())
    result = ok(config, "ingest", str(folder))
    assert "ingested 1" in result.stdout
    for fmt in ("table", "plain"):
        shown = ok(config, "query", "SELECT file_name FROM locations", "--format", fmt)
        assert "MC_O_1\\n(0 rows).fits" in shown.stdout
        assert len(shown.stdout.splitlines()) == (4 if fmt == "table" else 1)


# -- issue 14 item 9: bad input is an error, not a traceback -------------------------------


def test_non_utf8_config_is_a_config_error(tmp_path: Path) -> None:
    path = tmp_path / "oods.toml"
    path.write_bytes(b'[site]\nendpoint = "http://h\xe9:9000"\n')
    result = run(path, "ls")
    assert result.exit_code == 3, result.output
    line = one_error_line(result.stderr)
    assert str(path) in line and "UTF-8" in line


@pytest.mark.parametrize("endpoint", ["http://[::1", "http://", "http://h:99999", "ftp://h"])
def test_bad_endpoint_is_a_config_error(tmp_path: Path, endpoint: str) -> None:
    path = write_config(tmp_path / "oods.toml", endpoint, "summit", "key", "secret-value")
    result = run(path, "ls")
    assert result.exit_code == 3, result.output
    line = one_error_line(result.stderr)
    assert "endpoint" in line and "secret-value" not in result.output


@pytest.mark.parametrize("bad_run", ["{0}", "../../x", "u/alice\nraw", "{instrument:>9}"])
def test_ingest_run_is_validated(config: Path, sim: tuple[Path, Night], bad_run: str) -> None:
    result = run(config, "ingest", str(sim[0]), "--run", bad_run)
    assert result.exit_code == 2, result.output
    assert "invalid run" in one_error_line(result.stderr)
    rows = csv_rows(ok(config, "query", "SELECT count(*) FROM datasets", "--format", "csv"))
    assert rows[1] == ["0"]


def test_records_update_run_is_validated(config: Path, tmp_path: Path) -> None:
    fixed = tmp_path / "fixed.fits"
    fixed.write_text("x")
    result = run(config, "records", "update", str(fixed), "--run", "{0}")
    assert result.exit_code == 2, result.output
    assert "invalid run" in result.output and "Traceback" not in result.output


def test_put_checks_detector_and_instrument(config: Path, tmp_path: Path) -> None:
    master = tmp_path / "bias.fits"
    master.write_bytes(b"")
    base = ["put", str(master), "--type", "bias", "--run", "u/alice/bias"]
    negative = run(config, *base, "--instrument", "LSSTCam", "--detector", "-5")
    assert negative.exit_code == 2
    assert "--detector" in negative.output
    unknown = run(config, *base, "--instrument", "NoSuchCam", "--detector", "5")
    assert unknown.exit_code == 2
    assert "NoSuchCam" in unknown.output and "LSSTCam" in unknown.output


# -- issue 8 item 7: messages that say what to do ----------------------------------------


def test_ls_day_obs_accepts_a_date(config: Path, sim: tuple[Path, Night]) -> None:
    ok(config, "ingest", str(sim[0]))
    as_int = csv_rows(ok(config, "ls", "--day-obs", str(DAY_OBS), "--format", "csv"))
    as_date = csv_rows(ok(config, "ls", "--day-obs", "2025-06-01", "--format", "csv"))
    assert as_date == as_int and len(as_int) == len(sim[1].files) + 1
    bad = run(config, "ls", "--day-obs", "June 1st")
    assert bad.exit_code == 2
    assert "YYYYMMDD" in bad.output


def test_as_of_unknown_version_names_the_newest(config: Path, sim: tuple[Path, Night]) -> None:
    ok(config, "ingest", str(sim[0]))
    result = run(config, "query", "SELECT 1", "--as-of", "999")
    assert result.exit_code == 2
    assert "999" in result.output and "the newest is 1" in result.output


def test_provenance_of_an_unknown_id_fails(config: Path, sim: tuple[Path, Night]) -> None:
    ok(config, "ingest", str(sim[0]))
    unknown = "00000000-0000-5000-8000-000000000000"
    result = run(config, "provenance", unknown)
    assert result.exit_code == 1, result.output
    assert unknown in one_error_line(result.stderr)
    known = csv_rows(ok(config, "query", "SELECT dataset_id FROM datasets", "--format", "csv"))
    raw = ok(config, "provenance", known[1][0], "--format", "csv")
    assert csv_rows(raw)[1:] == []  # a raw: known, made from nothing


def test_records_update_summarises_an_exposure(site: Site, config: Path, tmp_path: Path) -> None:
    night = simulate_night(tmp_path / "n", detectors=6, exposures=1, seed=5, size=4)
    ingest(site, night.files)
    exposure = next(iter(night.exposures.values()))[0]
    table = tmp_path / "fixes.csv"
    table.write_text(
        "instrument,exposure,detector,field,value,reason\n"
        f"LSSTCam,{exposure},,physical_filter,i_39,filter wheel log\n"
    )
    result = ok(config, "records", "update", "--table", str(table))
    lines = result.stdout.splitlines()
    assert len(lines) == 3, result.stdout  # the exposure, its raws, the summary
    assert f"6 raws of exposure LSSTCam {exposure}" in lines[1]
    assert "-> 'i_39'" in lines[1]
    assert "superseded 1 exposure and 6 dataset records" in lines[2]


def test_records_update_verbose_lists_every_record(
    site: Site, config: Path, tmp_path: Path
) -> None:
    night = simulate_night(tmp_path / "n", detectors=3, exposures=1, seed=5, size=4)
    ingest(site, night.files)
    exposure = next(iter(night.exposures.values()))[0]
    table = tmp_path / "fixes.csv"
    table.write_text(f"instrument,exposure,field,value\nLSSTCam,{exposure},physical_filter,i_39\n")
    result = ok(config, "--verbose", "records", "update", "--table", str(table))
    assert len(result.stdout.splitlines()) == 1 + 3 + 1


@pytest.mark.parametrize(
    ("done", "total", "elapsed", "expected"),
    [
        (0, 100, 5.0, ""),  # nothing done: no guess (was 1:34:37 at 0 %)
        (3, 100, 0.2, ""),  # too early to trust
        (10, 100, 2.0, "eta 0:18"),
        (1, 3, 3600.0, "eta 2:00:00"),
        (100, 100, 17.0, ""),
    ],
)
def test_eta_waits_for_progress(done: int, total: int, elapsed: float, expected: str) -> None:
    assert eta_text(done, total, elapsed) == expected


def test_stopped_site_says_start_it_not_unconfigured(tmp_path: Path) -> None:
    server = MinioServer(tmp_path / "data").start()
    server.stop()
    path = write_config(
        tmp_path / "oods.toml", server.endpoint, "summit", server.access_key, server.secret_key
    )
    result = run(path, "ls")
    assert result.exit_code == 1
    line = one_error_line(result.stderr)
    assert "not answering" in line and server.endpoint in line


def _sha256(url: str) -> str:
    with urllib.request.urlopen(url, timeout=10) as response:
        return hashlib.sha256(response.read()).hexdigest()


def test_embedded_site_from_any_directory_and_across_restarts(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, sim: tuple[Path, Night]
) -> None:
    """`oods up` is found from any directory (per-user state), a stopped server is
    "not answering", and a restart keeps port and keys: an earlier URL still works."""
    monkeypatch.delenv("OODS_HOME")
    monkeypatch.setenv("XDG_STATE_HOME", str(tmp_path / "state"))
    state_file = tmp_path / "state" / "oods" / "server.json"
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    try:
        ok(None, "up", "--data", str(tmp_path / "custom"))
        first = json.loads(state_file.read_text())
        monkeypatch.chdir(elsewhere)
        empty = ok(None, "query", "SELECT count(*) FROM datasets", "--format", "csv")
        assert csv_rows(empty)[1] == ["0"]  # `oods up` created the default site
        ok(None, "ingest", str(sim[0]))
        (row,) = csv_rows(ok(None, "ls", "--format", "csv", "--limit", "1"))[1:]
        url = ok(None, "url", row[0]).stdout.strip()
        expected = _sha256(url)

        ok(None, "down")
        stopped = run(None, "ls")
        assert stopped.exit_code == 1, stopped.output
        line = one_error_line(stopped.stderr)
        assert "not answering" in line and "oods up" in line
        assert "no site configured" not in line

        restarted = ok(None, "up")
        assert "started" in restarted.stdout
        second = json.loads(state_file.read_text())
        assert second["data_dir"] == str(tmp_path / "custom")  # the last site, not a new one
        assert second["port"] == first["port"]
        assert (second["access_key"], second["secret_key"]) == (
            first["access_key"],
            first["secret_key"],
        )
        assert first["secret_key"] not in restarted.output
        assert _sha256(url) == expected
    finally:
        if state_file.exists():
            MinioServer.from_json(state_file.read_text()).stop()
