"""``oods records update`` with CliRunner on the live MinIO: output and exit codes."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from oods import Site, ingest, simulate_night
from tests.cli.test_calib_cli import rows
from tests.cli_invoke import ok, run

EXPOSURE = 2025060100001
pytestmark = pytest.mark.usefixtures("clean_env")


def _ingested(site: Site, tmp_path: Path) -> list[Path]:
    files = simulate_night(tmp_path / "night", detectors=3, exposures=1, seed=5, size=4).files
    ingest(site, files)
    return files


def test_update_from_a_table_then_as_of_shows_the_old_value(
    site: Site, config: Path, tmp_path: Path
) -> None:
    _ingested(site, tmp_path)
    table = tmp_path / "fixes.csv"
    table.write_text(
        f"instrument,exposure,detector,field,value\nLSSTCam,{EXPOSURE},1,physical_filter,i_39\n"
    )
    result = ok(config, "records", "update", "--table", str(table), "--reason", "filter log")
    assert "physical_filter 'empty' -> 'i_39'" in result.stdout
    assert "superseded 0 exposure and 1 dataset records (1 fields)" in result.stdout
    sql = "SELECT dataset_filter, correction FROM datasets WHERE detector = 1"
    assert rows(ok(config, "query", sql, "--format", "csv")) == [
        {"dataset_filter": "i_39", "correction": f"{table} line 2: filter log"}
    ]
    versions = rows(ok(config, "catalog", "versions", "--format", "csv"))
    before = versions[1]["version"]  # the update is the newest catalog version
    old = rows(ok(config, "query", sql, "--format", "csv", "--as-of", before))
    assert old == [{"dataset_filter": "empty", "correction": ""}]


def test_rejected_rows_exit_4_with_their_line(site: Site, config: Path, tmp_path: Path) -> None:
    _ingested(site, tmp_path)
    table = tmp_path / "fixes.csv"
    table.write_text(
        "instrument,exposure,field,value\n"
        f"LSSTCam,{EXPOSURE},target_name,flat field screen\n"
        "LSSTCam,1234,target_name,nothing\n"
    )
    result = run(config, "records", "update", "--table", str(table), "--json")
    assert result.exit_code == 4, result.output
    report = json.loads(result.stdout)
    assert (report["exposures"], report["rejected"]) == (1, 1)
    assert report["rejections"] == [
        {"source": f"{table} line 3", "reason": "LSSTCam 1234: no such exposure in the catalog"}
    ]
    plain = run(config, "records", "update", "--table", str(table))
    assert plain.exit_code == 4
    assert f"{table} line 3: LSSTCam 1234: no such exposure in the catalog" in plain.stderr


def test_usage_errors_exit_2(config: Path, tmp_path: Path) -> None:
    assert run(config, "records", "update").exit_code == 2  # nothing to correct from
    missing = run(config, "records", "update", "--corrections", str(tmp_path / "none"))
    assert missing.exit_code == 2
