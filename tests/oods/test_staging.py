"""The staging bucket's two arrival paths against a real MinIO: bucket notifications
(with the rescan pushed out to 600 s, only they can bring an object) and the listing
that catches what notifications lose; the two racing on the same keys; a MinIO
outage under the listener.

The pinned MinIO build holds its notification stream back until ~4 KB of events
(four or five objects) are pending (see ``oods.bucket_notifications``), so the
notification tests stage bursts, as a camera's detectors do, and expect at least
part of each burst to arrive by notification.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from infra.minio_server import MinioServer
from oods import Site, StorageError, simulate_night
from oods.bucket_notifications import NotificationStream
from oods.staging import StagingWatcher
from tests.conftest import site_config
from tests.oods.test_service import Running, quick, wait_for

#: Of a burst of 16 objects (~16 KB of events) the pinned build holds back at most ~6.
BURST_FLOOR = 6


@pytest.fixture
def burst(tmp_path: Path) -> list[Path]:
    """Two exposures of eight detectors: 16 real FITS files."""
    night = simulate_night(tmp_path / "night", detectors=8, exposures=2, seed=16, size=16)
    return night.files


@pytest.fixture
def staging(site: Site) -> str:
    bucket = site.bucket[:50] + "-stage"
    site.s3.create_bucket(Bucket=bucket)
    return bucket


@pytest.fixture
def running() -> Iterator[list[Running]]:
    started: list[Running] = []
    yield started
    for service in started:
        service.event.set()
        service.thread.join(60)


@pytest.fixture
def stop() -> Iterator[threading.Event]:
    event = threading.Event()
    yield event
    event.set()


def staged(site: Site, bucket: str) -> list[str]:
    listing = site.s3.list_objects_v2(Bucket=bucket)
    return sorted(item["Key"] for item in listing.get("Contents", []))


def landed(landing: Path) -> dict[str, bytes]:
    """Relative path -> bytes of every whole file brought into landing/staging."""
    folder = landing / "staging"
    return {
        str(path.relative_to(folder)): path.read_bytes()
        for path in folder.rglob("*")
        if path.is_file() and not path.name.startswith(".")
    }


def stage(site: Site, bucket: str, files: list[Path], keys: list[str]) -> None:
    for file, key in zip(files, keys, strict=True):
        site.s3.upload_file(str(file), bucket, key)


def test_announced_objects_are_brought_without_any_listing(
    site: Site, staging: str, burst: list[Path], tmp_path: Path, stop: threading.Event
) -> None:
    landing = tmp_path / "landing"
    watcher = StagingWatcher(site, staging, "camera/", landing, rescan=600.0, stop=stop)
    threads = watcher.start()
    wait_for(lambda: watcher.listening and watcher.scans == 1)
    # The first key has a space and a plus: listeners get keys unescaped.
    keys = ["camera/night one+1.fits"] + [f"camera/{file.name}" for file in burst[1:]]
    stage(site, staging, burst, keys)
    site.s3.put_object(Bucket=staging, Key="elsewhere/not-mine.fits", Body=b"x")

    wait_for(lambda: watcher.brought["notification"] >= BURST_FLOOR, 30)
    assert watcher.brought["listing"] == 0  # the start-up listing found nothing
    files = landed(landing)
    sources = {key: file.read_bytes() for key, file in zip(keys, burst, strict=True)}
    assert files["camera/night one+1.fits"] == sources["camera/night one+1.fits"]
    assert all(data == sources[name] for name, data in files.items())
    assert "elsewhere/not-mine.fits" in staged(site, staging)  # outside the prefix
    assert not set(staged(site, staging)) & set(files)  # brought ones are deleted
    started = time.monotonic()
    stop.set()  # the listener is blocked reading: closing its stream wakes it
    for thread in threads:
        thread.join(10)
        assert not thread.is_alive()
    assert time.monotonic() - started < 5


def test_objects_staged_while_serving_are_ingested_and_queryable(
    site: Site,
    staging: str,
    burst: list[Path],
    tmp_path: Path,
    running: list[Running],
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.INFO, logger="oods.serve.staging")

    def brought_by(path: str) -> int:
        return sum(r.getMessage().endswith(f"({path})") for r in caplog.records)

    landing = tmp_path / "landing"
    # Staged before the start: the start-up listing brings it, and then lists no more.
    stage(site, staging, burst[:1], [f"camera/{burst[0].name}"])
    service = Running(site, quick(landing, staging_bucket=staging, staging_rescan=600.0))
    running.append(service)
    wait_for(lambda: brought_by("listing") == 1)
    stage(site, staging, burst[1:], [f"camera/{file.name}" for file in burst[1:]])
    wait_for(lambda: brought_by("notification") >= BURST_FLOOR, 30)
    wait_for(
        lambda: service.value("oods_serve_files_total", {"status": "ingested"}) > BURST_FLOOR,
        60,
    )
    report = service.stop()
    assert brought_by("listing") == 1
    site.refresh()
    rows = site.sql("SELECT count(*), count(DISTINCT path) FROM arrivals").fetchall()
    assert rows[0][0] == rows[0][1] == report.files["ingested"] > BURST_FLOOR
    names = {row[0] for row in site.sql("SELECT file_name FROM files").fetchall()}
    assert burst[0].name in names and names <= {file.name for file in burst}
    assert len(names) == rows[0][0]


def test_lost_notifications_are_caught_by_the_listing(
    site: Site, staging: str, burst: list[Path], tmp_path: Path, stop: threading.Event
) -> None:
    landing = tmp_path / "landing"
    # Staged while no service ran: no listener heard of them.
    stage(site, staging, burst[:2], ["camera/early-1.fits", "camera/early-2.fits"])
    watcher = StagingWatcher(site, staging, "", landing, rescan=0.3, stop=stop)
    watcher.start()
    wait_for(lambda: watcher.brought["listing"] == 2)
    wait_for(lambda: watcher.listening)
    # One object alone: its notification stays in the pinned server's buffer (lost,
    # for all the listener knows); the rescan brings it within a listing or two.
    site.s3.upload_file(str(burst[2]), staging, "camera/alone.fits")
    wait_for(lambda: "alone.fits" in {Path(name).name for name in landed(landing)}, 10)
    wait_for(lambda: staged(site, staging) == [])
    assert landed(landing) == {
        "camera/early-1.fits": burst[0].read_bytes(),
        "camera/early-2.fits": burst[1].read_bytes(),
        "camera/alone.fits": burst[2].read_bytes(),
    }
    assert sum(watcher.brought.values()) == 3


def test_both_paths_racing_bring_each_object_once(
    site: Site, staging: str, burst: list[Path], tmp_path: Path, stop: threading.Event
) -> None:
    landing = tmp_path / "landing"
    watcher = StagingWatcher(site, staging, "", landing, rescan=0.05, stop=stop)
    watcher.start()
    wait_for(lambda: watcher.listening)
    keys = [f"camera/{file.name}" for file in burst]
    # A third bringer on the same keys, as a second listing would be.
    extra = threading.Thread(target=lambda: [watcher.bring(key) for key in keys * 3])
    stage(site, staging, burst, keys)
    extra.start()
    wait_for(lambda: staged(site, staging) == [], 30)
    extra.join(30)
    time.sleep(1.0)  # late notifications of brought objects: found gone, not re-brought
    assert landed(landing) == {
        key: file.read_bytes() for key, file in zip(keys, burst, strict=True)
    }
    assert sum(watcher.brought.values()) == len(burst)
    assert watcher.failures == 0


def test_a_restaged_object_of_the_same_size_is_kept_beside_the_landed_one(
    site: Site, staging: str, tmp_path: Path, stop: threading.Event
) -> None:
    """Regression: a same-size file already in landing was taken for the object, which
    was then deleted from staging without being brought: its bytes were lost."""
    landing = tmp_path / "landing"
    waiting = landing / "staging" / "camera" / "a.fits"
    waiting.parent.mkdir(parents=True)
    waiting.write_bytes(b"first exposure")  # landed, not yet ingested
    site.s3.put_object(Bucket=staging, Key="camera/a.fits", Body=b"second exposur")
    watcher = StagingWatcher(site, staging, "", landing, rescan=600.0, stop=stop, listen=False)
    assert watcher.bring("camera/a.fits") == 1
    assert waiting.read_bytes() == b"first exposure"
    assert waiting.with_name("a.fits.1").read_bytes() == b"second exposur"
    assert staged(site, staging) == []


def test_an_object_already_landed_whole_is_only_deleted(
    site: Site, staging: str, tmp_path: Path, stop: threading.Event
) -> None:
    """A crash between landing and deleting left it in both places: no second copy."""
    landing = tmp_path / "landing"
    waiting = landing / "staging" / "camera" / "a.fits"
    waiting.parent.mkdir(parents=True)
    waiting.write_bytes(b"same bytes")
    site.s3.put_object(Bucket=staging, Key="camera/a.fits", Body=b"same bytes")
    watcher = StagingWatcher(site, staging, "", landing, rescan=600.0, stop=stop, listen=False)
    assert watcher.bring("camera/a.fits") == 1
    assert landed(landing) == {"camera/a.fits": b"same bytes"}
    assert staged(site, staging) == []


def test_the_listener_survives_a_minio_outage(
    tmp_path: Path, burst: list[Path], stop: threading.Event
) -> None:
    """Fault: the MinIO process is stopped under a connected listener, then restarted;
    the listener reconnects (with backoff) and notifications flow again."""
    server = MinioServer(tmp_path / "own").start()
    try:
        site = Site.open(site_config(server, "outage"))
        site.s3.create_bucket(Bucket="outage-stage")
        landing = tmp_path / "landing"
        watcher = StagingWatcher(site, "outage-stage", "", landing, rescan=600.0, stop=stop)
        threads = watcher.start()
        wait_for(lambda: watcher.listening)
        before = watcher.listens
        server.stop()
        wait_for(lambda: not watcher.listening, 30)
        server.start()
        wait_for(lambda: watcher.listens > before and watcher.listening, 60)
        stage(site, "outage-stage", burst, [f"camera/{file.name}" for file in burst])
        wait_for(lambda: watcher.brought["notification"] >= BURST_FLOOR, 30)
        assert all(thread.is_alive() for thread in threads)  # never killed by the outage
        site.close()
    finally:
        stop.set()
        server.stop()


def test_a_refused_listen_is_one_clear_line(site: Site) -> None:
    stream = NotificationStream(site.config, site.bucket + "-nowhere")
    with pytest.raises(StorageError) as caught:
        next(iter(stream.created()))
    message = str(caught.value)
    assert "NoSuchBucket" in message and site.bucket + "-nowhere" in message
    assert "\n" not in message
