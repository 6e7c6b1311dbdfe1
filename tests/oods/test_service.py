"""``oods.service.serve`` in a thread against the live MinIO: micro-batching, arrival
rows, incomplete exposures, background tasks that fail, the landing folder's rules,
and the ``arrivals`` table added to a catalog made before it existed."""

from __future__ import annotations

import datetime as dt
import os
import shutil
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from catalog import TABLES, CatalogStore
from catalog.records import ArrivalRecord, to_arrow
from infra.minio_server import MinioServer
from oods import ConfigError, Site, simulate_night
from oods.config import load_serve_settings
from oods.landing import LandingWatcher, move_beside
from oods.metrics import ServiceMetrics
from oods.service import ArrivalSequencer, BackgroundTask, ServiceConfig, ServiceReport, serve
from oods.staging import landing_name
from tests.conftest import site_config


@pytest.fixture
def files(tmp_path: Path) -> list[Path]:
    return simulate_night(tmp_path / "night", detectors=4, exposures=2, seed=9, size=16).files


class Running:
    """``serve`` in a thread; ``stop()`` sets the event and returns its report."""

    def __init__(self, site: Site, config: ServiceConfig) -> None:
        self.metrics = ServiceMetrics()
        self.event = threading.Event()
        self.ready = threading.Event()
        self.report: ServiceReport | None = None
        self.thread = threading.Thread(target=self._run, args=(site, config), daemon=True)
        self.thread.start()
        assert self.ready.wait(30)

    def _run(self, site: Site, config: ServiceConfig) -> None:
        self.report = serve(
            site, config, self.event, self.metrics, on_ready=lambda port: self.ready.set()
        )

    def value(self, name: str, labels: dict[str, str] | None = None) -> float:
        return self.metrics.registry.get_sample_value(name, labels) or 0.0

    def stop(self) -> ServiceReport:
        self.event.set()
        self.thread.join(60)
        assert not self.thread.is_alive() and self.report is not None
        return self.report


@pytest.fixture
def running() -> Iterator[list[Running]]:
    started: list[Running] = []
    yield started
    for service in started:
        service.event.set()
        service.thread.join(60)


def wait_for(condition: Callable[[], bool], timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.05)


def quick(landing: Path, **changes: object) -> ServiceConfig:
    fields: dict[str, object] = {
        "landing": landing,
        "poll_interval": 0.05,
        "settle": 0.1,
        "metrics_port": None,
        "max_wait": 2.0,
    }
    fields.update(changes)
    return ServiceConfig(**fields)  # type: ignore[arg-type]


def test_files_arriving_together_are_one_commit(
    site: Site, files: list[Path], tmp_path: Path, running: list[Running]
) -> None:
    landing = tmp_path / "landing"
    landing.mkdir()
    staged = tmp_path / "staged"
    staged.mkdir()
    for file in files:  # written elsewhere, then renamed in: all complete at once
        shutil.copyfile(file, staged / file.name)
    service = Running(site, quick(landing, settle=0.0))
    running.append(service)
    for file in files:
        os.rename(staged / file.name, landing / file.name)
    wait_for(lambda: not any(landing.iterdir()))
    report = service.stop()
    assert report.batches == 1
    assert report.files == {"ingested": len(files)}
    site.refresh()
    rows = site.sql("SELECT count(DISTINCT recorded_at), count(*) FROM arrivals").fetchall()
    assert rows == [(1, len(files))]
    assert site.store.latest_version("locations") == 1  # created at 0, one ingest commit


def test_incomplete_exposure_is_reported(
    site: Site, files: list[Path], tmp_path: Path, running: list[Running]
) -> None:
    landing = tmp_path / "landing"
    landing.mkdir()
    service = Running(site, quick(landing, expected_detectors=4, incomplete_after=0.3))
    running.append(service)
    for file in files[:7]:  # the first exposure whole, the second short of one detector
        shutil.copyfile(file, landing / file.name)
    wait_for(lambda: service.value("oods_serve_incomplete_exposures_total") == 1)
    time.sleep(0.5)
    report = service.stop()
    assert len(report.incomplete) == 1
    assert report.incomplete[0].split("/")[1] == files[6].parent.name  # its obs_id


def test_a_failing_background_task_is_retried_and_never_stops_the_service(
    site: Site, files: list[Path], tmp_path: Path, running: list[Running]
) -> None:
    calls: list[float] = []

    def broken(site: Site) -> None:
        calls.append(time.monotonic())
        raise RuntimeError("the replica is unreachable")

    landing = tmp_path / "landing"
    landing.mkdir()
    task = BackgroundTask("replica", 0.05, broken)
    service = Running(site, quick(landing, tasks=(task,), compact_interval=0.2))
    running.append(service)
    wait_for(lambda: len(calls) >= 3)
    shutil.copyfile(files[0], landing / files[0].name)
    wait_for(lambda: not any(landing.iterdir()))
    wait_for(lambda: service.value("oods_serve_files_total", {"status": "ingested"}) == 1)
    assert service.value("oods_serve_loop_failures_total", {"loop": "replica"}) >= 3
    assert service.value("oods_serve_loop_failures_total", {"loop": "compaction"}) == 0
    assert service.stop().files == {"ingested": 1}


def test_server_down_keeps_files_in_landing_until_it_is_back(
    tmp_path: Path, files: list[Path], running: list[Running]
) -> None:
    """Fault: the MinIO process is stopped while the service runs, then restarted."""
    server = MinioServer(tmp_path / "own").start()
    try:
        site = Site.open(site_config(server, "outage"))
        landing = tmp_path / "landing"
        landing.mkdir()
        service = Running(site, quick(landing))
        running.append(service)
        server.stop()
        target = landing / files[0].name
        shutil.copyfile(files[0], target)
        wait_for(
            lambda: service.value("oods_serve_loop_failures_total", {"loop": "ingest"}) >= 1, 120
        )
        assert target.exists()  # kept for the next try: not lost, not in failed/
        assert not (tmp_path / "failed").exists()
        server.start()
        wait_for(lambda: not target.exists(), 120)
        assert service.stop().files == {"ingested": 1}
        site.refresh()
        assert site.sql("SELECT status FROM arrivals").fetchall() == [("ingested",)]
    finally:
        server.stop()


def test_landing_ignores_partial_names_and_waits_for_stable_files(tmp_path: Path) -> None:
    landing = tmp_path / "landing"
    (landing / "sub").mkdir(parents=True)
    done = landing / "done"
    done.mkdir()
    watcher = LandingWatcher(landing, settle=0.0, exclude=(done,))
    (landing / "a.fits.part").write_bytes(b"x")
    (landing / ".hidden.fits").write_bytes(b"x")
    (done / "old.fits").write_bytes(b"x")
    (landing / "sub" / "b.fits").write_bytes(b"x")
    assert watcher.poll() == []  # seen once: not yet known to be stable
    ready = watcher.poll()
    assert [landed.path.name for landed in ready] == ["b.fits"]
    assert watcher.poll() == []  # handed out once
    (landing / "sub" / "b.fits").write_bytes(b"xy")  # still growing? then not ready
    watcher.release(landing / "sub" / "b.fits")
    assert watcher.poll() == []
    assert [landed.size for landed in watcher.poll()] == [2]


def test_move_beside_never_overwrites(tmp_path: Path) -> None:
    landing, done = tmp_path / "landing", tmp_path / "done"
    (landing / "x").mkdir(parents=True)
    (done / "x").mkdir(parents=True)
    (done / "x" / "a.fits").write_bytes(b"first")
    (landing / "x" / "a.fits").write_bytes(b"second")
    moved = move_beside(landing / "x" / "a.fits", landing, done)
    assert moved == done / "x" / "a.fits.1"
    assert (done / "x" / "a.fits").read_bytes() == b"first"
    assert moved.read_bytes() == b"second"


def test_an_old_catalog_gets_the_arrivals_table_on_the_next_writer_open(site: Site) -> None:
    root = site.store.root + "-old"
    old = CatalogStore(root, site.store.storage_options)
    for name, spec in TABLES.items():
        if name != "arrivals":
            old.append(name, spec.schema.empty_table())
    assert old.open("arrivals") is None
    fields = {"catalog_prefix": site.config.catalog_prefix + "-old"}
    reopened = Site.open(type(site.config)(**{**_fields(site), **fields}))
    assert reopened.store.root == root
    assert reopened.store.open("arrivals") is not None
    assert reopened.sql("SELECT count(*) FROM arrivals").fetchall() == [(0,)]


def _fields(site: Site) -> dict[str, object]:
    c = site.config
    return {
        "endpoint": c.endpoint,
        "access_key": c.access_key,
        "secret_key": c.secret_key,
        "bucket": c.bucket,
    }


def test_service_settings_are_checked(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="on_success"):
        ServiceConfig(landing=tmp_path, on_success="archive")
    with pytest.raises(ConfigError, match="max_wait"):
        ServiceConfig(landing=tmp_path, max_wait=0)
    toml = tmp_path / "oods.toml"
    toml.write_text('[serve]\nlanding = "in"\nmax_wait = 0.2\n')
    assert load_serve_settings(toml) == {"landing": "in", "max_wait": 0.2}
    toml.write_text("[serve]\nmax_wiat = 0.2\n")
    with pytest.raises(ConfigError, match="max_wiat"):
        load_serve_settings(toml)
    toml.write_text('[serve]\nmax_batch = "many"\n')
    with pytest.raises(ConfigError, match="max_batch"):
        load_serve_settings(toml)


def test_staging_objects_are_brought_in_ingested_and_removed(
    site: Site, files: list[Path], tmp_path: Path, running: list[Running]
) -> None:
    staging = site.bucket[:50] + "-stage"
    site.s3.create_bucket(Bucket=staging)
    # Staged while no service ran: the listing on start finds it.
    site.s3.upload_file(str(files[0]), staging, "camera/early.fits")
    landing = tmp_path / "landing"
    (landing / "staging" / "camera").mkdir(parents=True)
    waiting = landing / "staging" / "camera" / "late.fits"
    waiting.write_bytes(b"x" * 7)  # a landed file of the same name, still being written
    config = quick(landing, staging_bucket=staging, staging_rescan=0.2, settle=5.0)
    service = Running(site, config)
    running.append(service)

    def staged() -> list[str]:
        listing = site.s3.list_objects_v2(Bucket=staging)
        return [item["Key"] for item in listing.get("Contents", [])]

    # Staged while it runs: the next listing brings it, beside the file already there.
    site.s3.upload_file(str(files[1]), staging, "camera/late.fits")
    wait_for(lambda: staged() == [])
    assert waiting.read_bytes() == b"x" * 7  # not overwritten
    assert waiting.with_name("late.fits.1").read_bytes() == files[1].read_bytes()
    waiting.unlink()
    wait_for(lambda: service.value("oods_serve_files_total", {"status": "ingested"}) == 2, 60)
    assert service.stop().files == {"ingested": 2}
    site.refresh()
    paths = sorted(row[0] for row in site.sql("SELECT path FROM arrivals").fetchall())
    assert paths == [
        str(landing / "staging" / "camera" / "early.fits"),
        str(landing / "staging" / "camera" / "late.fits.1"),
    ]
    assert site.sql("SELECT count(*) FROM files").fetchall() == [(2,)]


def test_staging_bucket_must_not_be_the_site_bucket(site: Site, tmp_path: Path) -> None:
    config = quick(tmp_path / "landing", staging_bucket=site.bucket)
    with pytest.raises(ConfigError, match="staging_bucket"):
        serve(site, config, threading.Event())


def test_staged_keys_never_leave_the_landing_folder() -> None:
    assert landing_name("a/../../etc/passwd") == Path("a/etc/passwd")
    assert landing_name("/abs//x.fits") == Path("abs/x.fits")
    assert landing_name("..") == Path("unnamed")


def test_arrival_numbers_never_go_below_what_is_stored(site: Site) -> None:
    now = dt.datetime.now(dt.UTC)
    ahead = time.time_ns() // 1000 + 10**12  # a row numbered by a clock far ahead
    row = ArrivalRecord(seq=ahead, path="x", status="ingested", arrived_at=now, recorded_at=now)
    site.store.append("arrivals", to_arrow([row], ArrivalRecord))
    sequencer = ArrivalSequencer(site)
    first = sequencer.take(3)
    assert first == ahead + 1
    assert sequencer.take(1) == ahead + 4
