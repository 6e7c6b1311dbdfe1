"""Fault: a server that accepts connections but never answers (a real MinIO, SIGSTOPped).

Invariant: every command against the hung server fails within a bounded time (the
site's ``timeout``, here 1 s: a few seconds, where it used to be minutes) with one
line naming the endpoint; with only the DBB hung, ingest and reads at this site carry
on, and ``oods replica status`` still shows the backlog.
"""

from __future__ import annotations

import contextlib
import dataclasses
import os
import signal
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from click.testing import CliRunner, Result

from catalog.errors import CatalogReadError
from infra.minio_server import MinioServer
from oods import Site, ingest
from oods.cli import main
from oods.simulate import simulate_night
from oods.sites import site_secret_variables
from replica import push, push_plan, replica_status
from tests.cli_invoke import write_config

from .conftest import open_site

#: The tests' request timeout (seconds) and the most a failing command may take with it:
#: two tries of a request with backoff, deltalake's whole-request bound, and the start
#: of a loaded machine's process, well below what one 10 s default try would cost.
TIMEOUT = 1
BOUND = 15.0


@contextlib.contextmanager
def hung(server: MinioServer) -> Iterator[None]:
    """The server stopped (SIGSTOP): its socket still accepts, nothing answers."""
    assert server.pid is not None
    os.kill(server.pid, signal.SIGSTOP)
    try:
        yield
    finally:
        os.kill(server.pid, signal.SIGCONT)


def _config(folder: Path, site: Site, dbb: Site) -> Path:
    path = write_config(
        folder / "oods.toml",
        site.config.endpoint,
        site.bucket,
        site.config.access_key,
        site.config.secret_key,
    )
    with path.open("a") as file:
        file.write(f"timeout = {TIMEOUT}\n")
        file.write(
            f'\n[sites.dbb]\nendpoint = "{dbb.config.endpoint}"\nbucket = "{dbb.bucket}"\n'
            f"timeout = {TIMEOUT}\n"
        )
    return path


def _oods(config: Path, dbb: Site, *args: str) -> tuple[Result, float]:
    access, secret = site_secret_variables("dbb")
    env = {access: dbb.config.access_key, secret: dbb.config.secret_key}
    started = time.monotonic()
    result = CliRunner(env=env).invoke(main, ["--config", str(config), *args])
    return result, time.monotonic() - started


def _fails_in_one_line(result: Result, seconds: float, endpoint: str) -> None:
    assert seconds < BOUND, (seconds, result.output)
    assert result.exit_code != 0, result.output
    errors = [line for line in result.output.splitlines() if line.startswith("Error:")]
    assert len(errors) == 1 and endpoint in errors[0], result.output
    assert "Traceback" not in result.output


@pytest.fixture
def sites(tmp_path: Path, own_server: MinioServer) -> tuple[Site, Site, MinioServer]:
    """This site (a server of its own) with a night ingested, and a DBB on another."""
    dbb_server = MinioServer(tmp_path / "dbb").start()
    local = open_site(own_server, "summit", timeout=TIMEOUT)
    dbb = open_site(dbb_server, "dbb", timeout=TIMEOUT)
    simulate_night(tmp_path / "night", detectors=2, exposures=3, seed=3, size=16)
    assert ingest(local, [tmp_path / "night"]).summary()["failed"] == 0
    yield local, dbb, dbb_server  # type: ignore[misc]
    dbb_server.stop()


def test_hung_dbb_fails_replica_commands_fast_while_this_site_carries_on(
    sites: tuple[Site, Site, MinioServer], tmp_path: Path
) -> None:
    local, dbb, dbb_server = sites
    config = _config(tmp_path, local, dbb)
    later = simulate_night(
        tmp_path / "later", detectors=2, exposures=2, seed=3, size=16, day_obs=20250602
    )
    with hung(dbb_server):
        for command in (("replica", "push", "--to", "dbb"), ("replica", "sync", "--with", "dbb")):
            result, seconds = _oods(config, dbb, *command)
            _fails_in_one_line(result, seconds, dbb.config.endpoint)

        status, seconds = _oods(config, dbb, "replica", "status", "--with", "dbb")
        _fails_in_one_line(status, seconds, dbb.config.endpoint)
        assert "at most 6 datasets pending" in status.output  # the backlog, from here alone

        # This site is not held up by the hung DBB: ingest, query, ls and status work.
        ingested, seconds = _oods(config, dbb, "ingest", str(tmp_path / "later"))
        assert ingested.exit_code == 0 and seconds < BOUND, ingested.output
        query, _ = _oods(config, dbb, "query", "SELECT count(*) AS n FROM files")
        assert query.exit_code == 0 and "10" in query.output, query.output
        listing, _ = _oods(config, dbb, "ls")
        assert listing.exit_code == 0 and "(10 rows)" in listing.output, listing.output
        assert all(path.name in listing.output for path in later.files)
        shown, _ = _oods(config, dbb, "status")
        assert shown.exit_code == 0 and "10 present" in shown.output, shown.output


def test_dbb_hung_mid_push_stops_the_push_within_the_bound(
    sites: tuple[Site, Site, MinioServer],
) -> None:
    """The DBB answers the plan, then hangs: the push stops with one line, nothing lost."""
    local, dbb, dbb_server = sites
    local = Site.open(dataclasses.replace(local.config, workers=1))
    plan = push_plan(local, dbb)
    assert plan.count == 6
    with hung(dbb_server):
        started = time.monotonic()
        report = push(local, dbb, release=False, plan=plan)
        assert time.monotonic() - started < BOUND
    assert not report.ok and not report.copied
    lines = report.lines()
    assert len(lines) <= 2 and all("\n" not in line for line in lines), lines
    # Resumed once the DBB answers again: everything goes, once.
    again = push(local, Site.open(dbb.config, create=False), release=False)
    assert again.ok and len(again.copied) == 6, again.lines()
    assert replica_status(local, dbb).push.count == 0


def test_hung_site_fails_each_command_within_the_bound(
    sites: tuple[Site, Site, MinioServer], own_server: MinioServer, tmp_path: Path
) -> None:
    local, dbb, _ = sites
    config = _config(tmp_path, local, dbb)
    simulate_night(tmp_path / "later", detectors=1, exposures=1, seed=3, size=16, day_obs=20250603)
    with hung(own_server):
        for command in (
            ("query", "SELECT count(*) FROM files"),
            ("ls",),
            ("ingest", str(tmp_path / "later")),
        ):
            result, seconds = _oods(config, dbb, *command)
            _fails_in_one_line(result, seconds, local.config.endpoint)
        status, seconds = _oods(config, dbb, "status")
        assert seconds < BOUND and local.config.endpoint in status.output, status.output
        assert "Traceback" not in status.output

        # A site opened before the server hung: a new snapshot fails within the bound
        # (deltalake's reads are bounded too), naming the table it could not read.
        started = time.monotonic()
        with pytest.raises(CatalogReadError) as failure:
            local.snapshot().close()
        assert time.monotonic() - started < BOUND
        assert "\n" not in str(failure.value), failure.value
