"""The ``oods`` command line, run with click's CliRunner against the live MinIO fixture."""

from __future__ import annotations

import csv
import hashlib
import io
import json
import os
import stat
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import click
import pytest
from click.testing import CliRunner, Result

from infra.minio_server import MinioServer
from oods import Night, Site, simulate_night
from oods.cli import main
from tests.cli_invoke import ok, run

DAY_OBS = 20250601
DETECTORS = 3
EXPOSURES = 5
pytestmark = pytest.mark.usefixtures("clean_env")


@pytest.fixture
def sim(tmp_path: Path) -> tuple[Path, Night]:
    """A small night and what was written into it."""
    out = tmp_path / "night"
    return out, simulate_night(
        out, detectors=DETECTORS, exposures=EXPOSURES, seed=3, size=16, day_obs=DAY_OBS
    )


def csv_rows(result: Result) -> list[list[str]]:
    return list(csv.reader(io.StringIO(result.stdout)))


def count(config: Path, sql: str, *extra: str) -> int:
    rows = csv_rows(ok(config, "query", sql, "--format", "csv", *extra))
    assert len(rows) == 2, rows
    return int(rows[1][0])


def _command_paths(group: click.Group, prefix: tuple[str, ...] = ()) -> Iterator[tuple[str, ...]]:
    ctx = click.Context(group)
    for name in group.list_commands(ctx):
        command = group.get_command(ctx, name)
        assert command is not None
        yield (*prefix, name)
        if isinstance(command, click.Group):
            yield from _command_paths(command, (*prefix, name))


@pytest.mark.parametrize("path", [(), *_command_paths(main)], ids=lambda p: " ".join(p) or "oods")
def test_help_has_example(path: tuple[str, ...]) -> None:
    result = CliRunner().invoke(main, [*path, "--help"])
    assert result.exit_code == 0, result.output
    assert "Example" in result.output


def test_ingest_then_query_formats(config: Path, sim: tuple[Path, Night]) -> None:
    folder, night = sim
    result = ok(config, "ingest", str(folder))
    assert f"ingested {len(night.files)}, skipped 0" in result.stdout
    assert "failed 0" in result.stdout

    sql = "SELECT observation_type, count(*) AS n FROM exposures GROUP BY 1 ORDER BY 1"
    # IMGTYPE as the camera writes it; observation_type as the Butler names it.
    expected = {
        ("science" if t == "OBJECT" else t.lower()): len(ids) for t, ids in night.exposures.items()
    }

    rows = csv_rows(ok(config, "query", sql, "--format", "csv"))
    assert rows[0] == ["observation_type", "n"]
    assert {r[0]: int(r[1]) for r in rows[1:]} == expected

    records = json.loads(ok(config, "query", sql, "--format", "json").stdout)
    assert {r["observation_type"]: r["n"] for r in records} == expected

    table = ok(config, "query", sql).stdout.splitlines()
    assert table[0].split() == ["observation_type", "n"]
    assert set(table[1]) <= {"-", " "}
    assert table[-1] == f"({len(expected)} row{'s' if len(expected) != 1 else ''})"
    assert len(table) == len(expected) + 3

    assert count(config, "SELECT count(*) FROM datasets") == len(night.files)
    assert count(config, "SELECT count(DISTINCT detector) FROM datasets") == DETECTORS


def test_ingest_json_summary_and_reingest(config: Path, sim: tuple[Path, Night]) -> None:
    folder, night = sim
    report = json.loads(ok(config, "ingest", str(folder), "--json").stdout)
    assert report["ingested"] == len(night.files)
    assert report["skipped"] == report["failed"] == 0
    assert report["metadata_failures"] == report["ingest_failures"] == 0
    assert report["bytes"] == sum(p.stat().st_size for p in night.files)
    assert report["seconds"] >= 0
    assert len(report["files"]) == len(night.files)
    assert {f["status"] for f in report["files"]} == {"ingested"}
    assert {f["path"] for f in report["files"]} == {str(p) for p in night.files}

    again = json.loads(ok(config, "ingest", str(folder), "--json").stdout)
    assert again["skipped"] == len(night.files)
    assert again["ingested"] == again["failed"] == 0


def test_partial_ingest_exits_4(config: Path, sim: tuple[Path, Night]) -> None:
    folder, night = sim
    bad = folder / str(DAY_OBS) / "notes.fits"
    bad.write_text("this is not a FITS file\n")
    result = run(config, "ingest", str(folder))
    assert result.exit_code == 4, result.output
    assert str(bad) in result.stderr
    assert "metadata" in result.stderr
    assert f"ingested {len(night.files)}" in result.stdout
    assert "failed 1 (1 metadata, 0 ingest)" in result.stdout
    assert count(config, "SELECT count(*) FROM datasets") == len(night.files)

    report = json.loads(run(config, "ingest", str(folder), "--json").stdout)
    (failed,) = [f for f in report["files"] if f["status"] == "failed"]
    assert failed["path"] == str(bad)
    assert failed["failure"] == "metadata"


def test_ls_filters(config: Path, sim: tuple[Path, Night]) -> None:
    folder, night = sim
    ok(config, "ingest", str(folder))
    exposures = sorted(e for ids in night.exposures.values() for e in ids)
    detectors = sorted({int(r[5]) for r in csv_rows(ok(config, "ls", "--format", "csv"))[1:]})
    assert len(detectors) == DETECTORS

    def ls(*args: str) -> list[dict[str, object]]:
        return json.loads(ok(config, "ls", "--format", "json", *args).stdout)

    assert len(ls()) == len(night.files)
    by_exposure = ls("--exposure", str(exposures[1]))
    assert len(by_exposure) == DETECTORS
    assert {r["exposure"] for r in by_exposure} == {exposures[1]}
    by_detector = ls("--detector", str(detectors[-1]))
    assert len(by_detector) == EXPOSURES
    assert {r["detector"] for r in by_detector} == {detectors[-1]}
    (one,) = ls("--exposure", str(exposures[0]), "--detector", str(detectors[0]))
    assert one["key"].endswith(".fits")
    assert len(ls("--day-obs", str(DAY_OBS))) == len(night.files)
    assert ls("--day-obs", str(DAY_OBS + 1)) == []
    assert len(ls("--type", "raw")) == len(night.files)
    assert ls("--type", "bias") == []
    assert len(ls("--limit", "2")) == 2

    csv_out = csv_rows(ok(config, "ls", "--format", "csv", "--detector", str(detectors[0])))
    assert csv_out[0][:3] == ["dataset_id", "dataset_type", "instrument"]
    assert len(csv_out) == EXPOSURES + 1


def _fetch_sha256(url: str) -> str:
    with urllib.request.urlopen(url, timeout=10) as response:
        return hashlib.sha256(response.read()).hexdigest()


def test_url_by_data_id_and_by_dataset_id(config: Path, sim: tuple[Path, Night]) -> None:
    folder, night = sim
    ok(config, "ingest", str(folder))
    original = night.files[-1]
    (row,) = json.loads(
        ok(
            config,
            "query",
            "SELECT d.dataset_id, d.exposure, d.detector FROM datasets d "
            f"JOIN locations l USING (dataset_id) "
            f"WHERE l.file_name = '{original.name}'",
            "--format",
            "json",
        ).stdout
    )
    expected = hashlib.sha256(original.read_bytes()).hexdigest()

    by_data_id = ok(
        config, "url", "--exposure", str(row["exposure"]), "--detector", str(row["detector"])
    ).stdout.strip()
    assert by_data_id.startswith("http://127.0.0.1:")
    assert _fetch_sha256(by_data_id) == expected

    by_id = ok(config, "url", row["dataset_id"], "--expires", "60").stdout.strip()
    assert _fetch_sha256(by_id) == expected


def test_url_needs_an_identifier(config: Path) -> None:
    result = run(config, "url")
    assert result.exit_code == 2
    assert "DATASET_ID" in result.output
    result = run(config, "url", "--exposure", "2025060100001")
    assert result.exit_code == 2


def test_url_unknown_dataset(config: Path, sim: tuple[Path, Night]) -> None:
    ok(config, "ingest", str(sim[0]))
    unknown = "00000000-0000-5000-8000-000000000000"
    result = run(config, "url", unknown)
    assert result.exit_code == 1
    assert result.stderr.startswith("Error: ")
    assert unknown in result.stderr
    assert "Traceback" not in result.output
    result = run(config, "url", "--exposure", "1", "--detector", "0")
    assert result.exit_code == 1
    assert "exposure 1 detector 0" in result.stderr


def test_as_of_version_shows_earlier_state(config: Path, tmp_path: Path) -> None:
    first = simulate_night(
        tmp_path / "a", detectors=2, exposures=3, seed=1, size=16, day_obs=DAY_OBS
    )
    second = simulate_night(
        tmp_path / "b", detectors=2, exposures=4, seed=2, size=16, day_obs=DAY_OBS + 1
    )
    ok(config, "ingest", str(tmp_path / "a"))
    ok(config, "ingest", str(tmp_path / "b"))
    total = "SELECT count(*) FROM datasets"
    both = len(first.files) + len(second.files)
    assert count(config, total) == both
    # Version 0 is the empty catalog; each ingest of one batch is one more version. The
    # same answers must come back after compaction (it keeps history, writes checkpoints).
    for _ in range(2):
        assert count(config, total, "--as-of", "0") == 0
        assert count(config, total, "--as-of", "1") == len(first.files)
        assert count(config, total, "--as-of", "2") == both
        assert count(config, "SELECT count(*) FROM exposures", "--as-of", "1") == 3
        assert count(config, "SELECT count(*) FROM locations", "--as-of", "1") == len(first.files)
        ok(config, "catalog", "compact")


def test_catalog_versions_lists_what_as_of_takes(config: Path, tmp_path: Path) -> None:
    simulate_night(tmp_path / "a", detectors=2, exposures=2, seed=1, size=16, day_obs=DAY_OBS)
    ok(config, "ingest", str(tmp_path / "a"))
    rows = csv_rows(ok(config, "catalog", "versions", "--format", "csv"))
    assert rows[0] == ["version", "committed_at", "operation"]
    assert [r[0] for r in rows[1:]] == ["1", "0"]  # newest first: the ingest, the creation
    newest = rows[1][1]
    assert count(config, "SELECT count(*) FROM datasets", "--as-of", newest) == 4


@pytest.mark.parametrize("text", ["yesterday", "2025-13-45", "-1", "1.5"])
def test_bad_as_of_is_a_usage_error(config: Path, text: str) -> None:
    result = run(config, "query", "SELECT 1", "--as-of", text)
    assert result.exit_code == 2, result.output
    assert "--as-of" in result.output


def test_as_of_unknown_version_is_a_usage_error(config: Path) -> None:
    result = run(config, "query", "SELECT 1", "--as-of", "999")
    assert result.exit_code == 2, (result.output, result.exception)
    assert "999" in result.output
    assert "Traceback" not in result.output


def test_as_of_iso_time(config: Path, sim: tuple[Path, Night]) -> None:
    ok(config, "ingest", str(sim[0]))
    total = "SELECT count(*) FROM datasets"
    for _ in range(2):  # before and after compaction
        assert count(config, total, "--as-of", "2000-01-01T00:00:00") == 0
        assert count(config, total, "--as-of", "2999-01-01T00:00:00+00:00") == len(sim[1].files)
        ok(config, "catalog", "compact")


def test_missing_config_exits_3(tmp_path: Path) -> None:
    missing = tmp_path / "nowhere" / "oods.toml"
    result = run(missing, "ls")
    assert result.exit_code == 3, result.output
    assert str(missing) in result.stderr
    assert "not found" in result.stderr


def test_invalid_config_exits_3_without_secret(tmp_path: Path, site: Site) -> None:
    secret = site.config.secret_key
    path = tmp_path / "bad.toml"
    path.write_text(
        "[site]\n"
        f'endpoint = "{site.config.endpoint}"\n'
        f'access_key = "{site.config.access_key}"\n'
        f'secret_key = "{secret}"\n'
        'bucket = "b"\n'
        'colour = "blue"\n'
    )
    result = run(path, "query", "SELECT 1")
    assert result.exit_code == 3, result.output
    assert "colour" in result.stderr
    assert secret not in result.output

    path.write_text(
        f'[site]\nendpoint = "127.0.0.1:9000"\nsecret_key = "{secret}"\naccess_key = "k"\n'
    )
    result = run(path, "query", "SELECT 1")
    assert result.exit_code == 3
    assert "http://" in result.stderr
    assert secret not in result.output

    path.write_text("[site\nendpoint = \n")
    result = run(path, "query", "SELECT 1")
    assert result.exit_code == 3
    assert str(path) in result.stderr


def test_no_config_at_all_exits_3(tmp_path: Path) -> None:
    result = run(None, "ls", env={"OODS_HOME": str(tmp_path / "home")})
    assert result.exit_code == 3
    assert "oods up" in result.stderr


def test_compact_keeps_counts(config: Path, tmp_path: Path) -> None:
    total = 0
    for night_index in range(3):
        written = simulate_night(
            tmp_path / f"n{night_index}",
            detectors=2,
            exposures=3,
            seed=night_index,
            size=16,
            day_obs=DAY_OBS + night_index,
        )
        ok(config, "ingest", str(tmp_path / f"n{night_index}"))
        total += len(written.files)
    sql = "SELECT count(*), count(DISTINCT day_obs) FROM datasets"
    before = csv_rows(ok(config, "query", sql, "--format", "csv"))
    result = ok(config, "catalog", "compact")
    assert "datasets:" in result.stdout
    assert "locations:" in result.stdout
    assert csv_rows(ok(config, "query", sql, "--format", "csv")) == before
    assert before[1] == [str(total), "3"]
    assert len(json.loads(ok(config, "ls", "--format", "json").stdout)) == total


def _answers(url: str) -> bool:
    try:
        with urllib.request.urlopen(url, timeout=2) as response:
            return bool(response.status == 200)
    except (urllib.error.URLError, OSError):
        return False


def test_up_and_down_embedded(tmp_path: Path) -> None:
    home = tmp_path / "home"
    env: dict[str, str | None] = {"OODS_HOME": str(home)}
    state_file = home / "server.json"
    try:
        result = run(None, "up", env=env)
        assert result.exit_code == 0, (result.output, result.exception)
        assert "started at http://127.0.0.1:" in result.stdout
        state = json.loads(state_file.read_text())
        endpoint = f"http://127.0.0.1:{state['port']}"
        assert endpoint in result.stdout
        assert state["secret_key"] not in result.output
        assert stat.S_IMODE(os.stat(state_file).st_mode) == 0o600
        health = f"{endpoint}/minio/health/live"
        assert _answers(health)

        query = run(None, "query", "SELECT 1 AS one", "--format", "csv", env=env)
        assert query.exit_code == 0, (query.output, query.exception)
        assert query.stdout.splitlines() == ["one", "1"]

        again = run(None, "up", env=env)
        assert again.exit_code == 0
        assert "already running" in again.stdout
        assert endpoint in again.stdout

        down = run(None, "down", env=env)
        assert down.exit_code == 0, down.output
        assert f"stopped MinIO at {endpoint}" in down.stdout
        assert not _answers(health)
        # The record stays (pid cleared): later commands say "not answering, oods up".
        assert json.loads(state_file.read_text())["pid"] is None
        assert "no embedded server running" in run(None, "down", env=env).stdout
        identity = home / "data.server.json"
        assert stat.S_IMODE(os.stat(identity).st_mode) == 0o600
        assert json.loads(identity.read_text())["port"] == state["port"]
    finally:
        if state_file.exists():
            MinioServer.from_json(state_file.read_text()).stop()
