"""``oods serve`` as a real subprocess against the live MinIO: files dropped into landing
become queryable, a file still being written waits, SIGTERM finishes the batch in flight
and a restart ingests the rest exactly once, and /metrics says what happened."""

from __future__ import annotations

import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from oods import Site, simulate_night
from oods.fsck import fsck

pytestmark = pytest.mark.usefixtures("clean_env")
OODS = str(Path(sys.executable).with_name("oods"))


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


class Serve:
    """One ``oods serve`` child; its stderr goes to a file (never a pipe that can fill)."""

    def __init__(self, config: Path, landing: Path, *options: str) -> None:
        self.port = free_port()
        self.log = tempfile.NamedTemporaryFile(suffix=".log", delete=False)  # noqa: SIM115
        self.process = subprocess.Popen(
            [
                OODS,
                "--config",
                str(config),
                "serve",
                "--landing",
                str(landing),
                "--metrics-port",
                str(self.port),
                "--poll-interval",
                "0.05",
                "--settle",
                "0.2",
                *options,
            ],
            stdout=subprocess.PIPE,
            stderr=self.log,
            env={**os.environ, "PYTHONUNBUFFERED": "1"},
        )
        wait_for(lambda: self.get("/healthz")[0] == 200, 30, self.stderr)

    def get(self, path: str) -> tuple[int, str]:
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{self.port}{path}", timeout=2) as r:
                return r.status, r.read().decode()
        except urllib.error.HTTPError as exc:
            return exc.code, exc.read().decode()
        except OSError:
            return 0, ""

    def metric(self, name: str) -> float:
        """The value of one sample line of /metrics (0 if absent)."""
        for line in self.get("/metrics")[1].splitlines():
            if line.startswith(name + " "):
                return float(line.split()[-1])
        return 0.0

    def stderr(self) -> str:
        return Path(self.log.name).read_text()

    def stop(self, timeout: float = 60) -> tuple[int, str]:
        self.process.send_signal(signal.SIGTERM)
        out, _ = self.process.communicate(timeout=timeout)
        return self.process.returncode, out.decode()

    def kill(self) -> None:
        if self.process.poll() is None:
            self.process.kill()
            self.process.wait()
        Path(self.log.name).unlink(missing_ok=True)


def wait_for(condition: Callable[[], bool], timeout: float, why: Callable[[], str]) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout}s; service log:\n{why()}")
        time.sleep(0.05)


@pytest.fixture
def config(site: Site, tmp_path: Path) -> Path:
    path = tmp_path / "oods.toml"
    c = site.config
    path.write_text(
        "[site]\n"
        f'endpoint = "{c.endpoint}"\n'
        f'bucket = "{c.bucket}"\n'
        f'access_key = "{c.access_key}"\n'
        f'secret_key = "{c.secret_key}"\n'
        "[serve]\n"
        "compact_interval = 3600\n"
    )
    return path


@pytest.fixture
def night(tmp_path: Path) -> list[Path]:
    return simulate_night(tmp_path / "night", detectors=4, exposures=3, seed=5, size=16).files


@pytest.fixture
def services() -> Iterator[list[Serve]]:
    started: list[Serve] = []
    yield started
    for service in started:
        service.kill()


def count(site: Site, sql: str) -> int:
    site.refresh()
    return int(site.sql(sql).fetchall()[0][0])


def drop(files: list[Path], landing: Path) -> None:
    """Copy files into landing as a camera's writer does: a temporary name, then rename."""
    landing.mkdir(parents=True, exist_ok=True)
    for file in files:
        part = landing / (file.name + ".part")
        shutil.copyfile(file, part)
        part.rename(landing / file.name)


def test_dropped_files_become_queryable_and_metrics_say_so(
    site: Site, config: Path, night: list[Path], tmp_path: Path, services: list[Serve]
) -> None:
    landing = tmp_path / "landing"
    drop(night[:2], landing)  # already waiting when the service starts
    service = Serve(config, landing, "--on-success", "move")
    services.append(service)
    drop(night[2:], landing)
    wait_for(lambda: not any(landing.iterdir()), 30, service.stderr)

    site.refresh()
    assert count(site, "SELECT count(*) FROM files") == len(night)
    statuses = site.sql("SELECT status, count(*) FROM arrivals GROUP BY 1").fetchall()
    assert statuses == [("ingested", len(night))]
    seqs = [
        row[0] for row in site.sql("SELECT seq FROM arrivals ORDER BY recorded_at, seq").fetchall()
    ]
    assert seqs == sorted(set(seqs))  # strictly increasing in commit order
    assert sorted(p.name for p in (tmp_path / "done").iterdir()) == sorted(f.name for f in night)

    size = sum(f.stat().st_size for f in night)
    assert service.metric('oods_serve_files_total{status="ingested"}') == len(night)
    assert service.metric("oods_serve_bytes_ingested_total") == size
    assert service.metric("oods_serve_arrival_latency_seconds_count") == len(night)
    assert service.metric("oods_serve_commit_seconds_count") >= 1
    assert service.metric("oods_serve_backlog") == 0
    code, body = service.get("/healthz")
    assert code == 200 and json.loads(body)["status"] == "ok"
    assert service.get("/nothing")[0] == 404

    # A bad file is reported, moved to failed/, counted; the service carries on.
    (landing / "junk.fits").write_bytes(b"not a FITS file at all")
    wait_for(lambda: (tmp_path / "failed" / "junk.fits").exists(), 30, service.stderr)
    assert service.metric('oods_serve_failures_total{reason="metadata"}') == 1
    failed = site.sql("SELECT status, reason FROM arrivals WHERE path LIKE '%junk.fits'")
    site.refresh()
    rows = site.sql("SELECT status FROM arrivals WHERE path LIKE '%junk.fits'").fetchall()
    assert rows == [("metadata_failure",)], failed

    code, out = service.stop()
    assert code == 0, service.stderr()
    assert "stopped:" in out


def test_file_still_being_written_is_not_ingested_early(
    site: Site, config: Path, night: list[Path], tmp_path: Path, services: list[Serve]
) -> None:
    landing = tmp_path / "landing"
    landing.mkdir()
    service = Serve(config, landing, "--settle", "3.0")
    services.append(service)
    data = night[0].read_bytes()
    target = landing / night[0].name
    with target.open("wb") as out:
        out.write(data[: len(data) // 2])
        out.flush()
        time.sleep(0.6)  # many polls (0.05 s), well under --settle
        assert count(site, "SELECT count(*) FROM arrivals") == 0
        assert service.metric("oods_serve_backlog") == 1
        out.write(data[len(data) // 2 :])
    wait_for(lambda: not target.exists(), 30, service.stderr)
    assert count(site, "SELECT count(*) FROM arrivals WHERE status = 'ingested'") == 1
    assert count(site, "SELECT count(*) FROM files") == 1
    assert service.stop()[0] == 0


def test_a_closed_or_renamed_file_is_taken_at_once_without_waiting_to_settle(
    site: Site, config: Path, night: list[Path], tmp_path: Path, services: list[Serve]
) -> None:
    landing = tmp_path / "landing"
    landing.mkdir()
    service = Serve(config, landing, "--settle", "120")  # polling alone would wait 2 min
    services.append(service)
    started = time.monotonic()
    (landing / night[0].name).write_bytes(night[0].read_bytes())  # written, then closed
    drop(night[1:2], landing)  # written under a temporary name, then renamed into place
    wait_for(lambda: not any(landing.iterdir()), 60, service.stderr)
    assert time.monotonic() - started < 60  # not the 120 s settle
    assert count(site, "SELECT count(*) FROM arrivals WHERE status = 'ingested'") == 2
    assert service.stop()[0] == 0


def test_sigterm_mid_batch_then_restart_ingests_everything_exactly_once(
    site: Site, config: Path, night: list[Path], tmp_path: Path, services: list[Serve]
) -> None:
    landing = tmp_path / "landing"
    first = Serve(config, landing, "--max-batch", "3")
    services.append(first)
    drop(night, landing)
    wait_for(lambda: "ingesting a batch" in first.stderr(), 30, first.stderr)
    code, _ = first.stop()
    log = first.stderr()
    assert code == 0, log
    stopping = log.index("finishing the batch in flight")
    assert "batch of 3 files in" in log[stopping:], log  # the batch in flight completed
    left = list(landing.iterdir())
    assert 0 < len(left) < len(night), log  # stopped early, nothing lost
    assert count(site, "SELECT count(*) FROM files") == len(night) - len(left)

    second = Serve(config, landing)
    services.append(second)
    wait_for(lambda: not any(landing.iterdir()), 30, second.stderr)
    assert second.stop()[0] == 0
    assert fsck(site, full=True).ok
    assert count(site, "SELECT count(*) FROM files") == len(night)
    assert count(
        site, "SELECT count(DISTINCT dataset_id) FROM arrivals WHERE status = 'ingested'"
    ) == len(night)
    assert count(site, "SELECT count(*) FROM arrivals") == len(night)
    # Numbers keep growing across a restart: a client polling seq > last misses nothing.
    seqs = [
        row[0] for row in site.sql("SELECT seq FROM arrivals ORDER BY recorded_at, seq").fetchall()
    ]
    assert seqs == sorted(set(seqs))


def test_serve_needs_a_landing_folder(config: Path) -> None:
    result = subprocess.run(
        [OODS, "--config", str(config), "serve", "--no-metrics"],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 2
    assert "landing" in result.stderr


def test_a_bad_serve_setting_is_a_one_line_config_error(config: Path) -> None:
    with config.open("a") as toml:
        toml.write("max_wiat = 1\n")
    result = subprocess.run(
        [OODS, "--config", str(config), "serve", "--landing", "in", "--no-metrics"],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 3
    assert result.stderr.strip().splitlines() == [
        f"Error: {config}: unknown setting(s) in [serve]: max_wiat"
    ]
