"""``oods replica``: reached through the oods.commands entry point, two real servers."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner, Result

from infra.minio_server import free_port
from oods import Site, ingest
from oods.background import plugin_task
from oods.cli import main
from oods.errors import ConfigError
from oods.simulate import simulate_night
from oods.sites import site_secret_variables
from replica import sync_task
from tests.cli_invoke import site_config_file


def _config(site: Site, dbb: Site, folder: Path, endpoint: str | None = None) -> Path:
    path = site_config_file(site, folder)
    with path.open("a") as file:
        file.write(
            f'\n[sites.dbb]\nendpoint = "{endpoint or dbb.config.endpoint}"\n'
            f'bucket = "{dbb.bucket}"\n'
        )
    return path


def _oods(config: Path, dbb: Site, *args: str) -> Result:
    access, secret = site_secret_variables("dbb")
    env = {access: dbb.config.access_key, secret: dbb.config.secret_key}
    return CliRunner(env=env).invoke(main, ["--config", str(config), "replica", *args])


def test_status_dry_run_push_and_repush(site: Site, dbb: Site, night: Path, tmp_path: Path) -> None:
    assert ingest(site, [night]).summary()["failed"] == 0
    config = _config(site, dbb, tmp_path)

    status = _oods(config, dbb, "status", "--with", "dbb", "--json")
    assert status.exit_code == 0, status.output
    assert json.loads(status.output)["push"]["datasets"] == 20

    dry = _oods(config, dbb, "push", "--to", "dbb", "--dry-run")
    assert dry.exit_code == 0, dry.output
    assert dry.output.strip().splitlines()[-1].startswith("would copy 20 datasets")
    dbb.refresh()
    assert dbb.sql("SELECT count(*) FROM files").fetchall() == [(0,)]  # nothing moved

    pushed = _oods(config, dbb, "push", "--to", "dbb", "--json")
    assert pushed.exit_code == 0, pushed.output
    report = json.loads(pushed.output)
    assert (report["copied"], report["failed"]) == (20, 0)
    again = _oods(config, dbb, "push", "--to", "dbb")
    assert again.exit_code == 0 and "pushed 0 datasets" in again.output

    plain = _oods(config, dbb, "status")
    assert "push  " in plain.output and ": 0 datasets pending" in plain.output


def test_pull_through_the_command(site: Site, dbb: Site, night: Path, tmp_path: Path) -> None:
    assert ingest(dbb, [night]).summary()["failed"] == 0
    config = _config(site, dbb, tmp_path)
    where = "e.observation_type = 'science' AND d.detector = 1"
    result = _oods(config, dbb, "pull", "--from", "dbb", "--where", where)
    assert result.exit_code == 0, result.output
    site.refresh()
    detectors = site.sql("SELECT DISTINCT detector FROM files").fetchall()
    assert detectors == [(1,)]
    bad = _oods(config, dbb, "pull", "--where", "TRUE", "--retention", "Bad Class")
    assert bad.exit_code == 2 and "invalid retention class" in bad.output


def test_an_unreachable_dbb_fails_fast_in_one_line(site: Site, dbb: Site, tmp_path: Path) -> None:
    config = _config(site, dbb, tmp_path, endpoint=f"http://127.0.0.1:{free_port()}")
    result = _oods(config, dbb, "push", "--to", "dbb")
    assert result.exit_code == 1
    lines = result.output.strip().splitlines()
    assert len(lines) == 1 and "not answering" in lines[0] and "Traceback" not in result.output


def test_a_missing_site_section_is_a_config_error(site: Site, dbb: Site, tmp_path: Path) -> None:
    config = _config(site, dbb, tmp_path)
    result = _oods(config, dbb, "push", "--to", "usdf")
    assert result.exit_code == 3
    assert "no [sites.usdf] section (named sites: dbb)" in result.output


def test_sync_pushes_refreshes_and_pulls_standing_subsets(
    site: Site, dbb: Site, night: Path, tmp_path: Path
) -> None:
    assert ingest(site, [night]).summary()["failed"] == 0
    simulate_night(tmp_path / "other", detectors=2, exposures=5, seed=8, size=16, day_obs=20250602)
    assert ingest(dbb, [tmp_path / "other"]).summary()["failed"] == 0
    config = _config(site, dbb, tmp_path)
    with config.open("a") as file:
        file.write("standing = [\"e.observation_type = 'bias' AND d.day_obs = 20250602\"]\n")

    dry = _oods(config, dbb, "sync", "--dry-run", "--json")
    assert dry.exit_code == 0, dry.output
    assert [p["datasets"] for p in json.loads(dry.output)] == [20, 2]

    result = _oods(config, dbb, "sync", "--with", "dbb", "--json", "--no-release")
    assert result.exit_code == 0, result.output
    report = json.loads(result.output)
    assert report["push"]["copied"] == 20
    assert report["metadata"]["remote"] == 10  # the DBB's own night, known here now
    assert report["pulls"][0]["copied"] == 2
    site.refresh()
    states = dict(
        site.sql(
            "SELECT state, count(*) FROM locations GROUP BY state",
        ).fetchall()
    )
    assert states == {"present": 22, "remote": 8}

    again = json.loads(_oods(config, dbb, "sync", "--json").output)
    assert again["push"]["planned"] == 0 and again["pulls"][0]["planned"] == 0
    assert (again["metadata"]["rows"], again["metadata"]["remote"]) == (0, 0)


def test_status_while_the_dbb_is_down_shows_the_backlog_bound(
    site: Site, dbb: Site, night: Path, tmp_path: Path
) -> None:
    assert ingest(site, [night]).summary()["failed"] == 0
    config = _config(site, dbb, tmp_path, endpoint=f"http://127.0.0.1:{free_port()}")
    result = _oods(config, dbb, "status", "--with", "dbb")
    assert result.exit_code == 1
    first, error = result.output.strip().splitlines()
    assert "at most 20 datasets pending" in first and "dbb is not answering" in first
    assert error.startswith("Error: ") and "not answering" in error


def test_sync_as_a_serve_background_task(site: Site, dbb: Site, night: Path) -> None:
    assert ingest(site, [night]).summary()["failed"] == 0
    task = sync_task(dbb.config, interval=60.0)
    assert task.interval == 60.0 and "dbb" in task.name
    report = task.action(site)
    assert report.ok and len(report.push.copied) == 20
    assert task.action(site).push.plan.count == 0


def test_sync_metadata_then_fetch_through_the_command(
    site: Site, dbb: Site, night: Path, tmp_path: Path
) -> None:
    assert ingest(dbb, [night]).summary()["failed"] == 0
    config = _config(site, dbb, tmp_path)
    synced = _oods(config, dbb, "sync-metadata", "--from", "dbb")
    assert synced.exit_code == 0, synced.output
    assert "20 datasets newly known as remote" in synced.output
    again = _oods(config, dbb, "sync-metadata", "--from", "dbb")
    assert again.exit_code == 0 and "nothing new at" in again.output, again.output

    missing = _oods(config, dbb, "fetch")
    assert missing.exit_code == 2 and "give dataset ids or --where" in missing.output
    unknown = "00000000-0000-5000-8000-000000000000"
    fetched = _oods(config, dbb, "fetch", unknown, "--where", "d.detector = 2", "--json")
    assert fetched.exit_code == 4, fetched.output  # partial: one id is not at the DBB
    report = json.loads(fetched.stdout)
    assert (report["copied"], report["unavailable"]) == (5, [unknown])
    site.refresh()
    assert site.sql("SELECT DISTINCT detector FROM files").fetchall() == [(2,)]


def test_serve_finds_the_sync_task_through_its_entry_point(
    site: Site, dbb: Site, night: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """``oods serve --sync-with dbb`` gets the task from the installed replica plug-in
    (oods cannot import replica)."""
    assert ingest(site, [night]).summary()["failed"] == 0
    config = _config(site, dbb, tmp_path)
    access, secret = site_secret_variables("dbb")
    monkeypatch.setenv(access, dbb.config.access_key)
    monkeypatch.setenv(secret, dbb.config.secret_key)
    task = plugin_task("replica", "dbb", config, 30.0)
    assert task.interval == 30.0 and dbb.bucket in task.name
    assert len(task.action(site).push.copied) == 20
    with pytest.raises(ConfigError, match="no 'nothing' task is installed"):
        plugin_task("nothing", "dbb", config, 30.0)
