"""A simulated night ingested live by the real ``oods serve``, and the real status page
served by uvicorn over it.

The night has 4 LSSTCam exposures x 205 detectors. In the last exposure two files never
arrive (deleted before landing: *missing*), two are not FITS (*failed*, a metadata
failure that serve records with its reason), and one raw's filter is corrected
afterwards (*corrected*).
"""

from __future__ import annotations

import dataclasses
import shutil
import subprocess
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import uvicorn

from catalog import RecordCorrection, correct_records
from infra.minio_server import MinioServer
from oods import Site
from oods.cli.web import bind
from oods.service import ServiceConfig, serve
from oods.simulate import simulate_night
from oods.web.app import create_app
from tests.cli_invoke import site_config_file
from tests.conftest import site_config

EXPOSURES = 4
LAST = 20250601_00000 + EXPOSURES
MISSING = ("R01_S00", "R22_S11")
FAILED = ("R10_S01", "R44_SG0")
CORRECTED = 5  # detector number (R01_S12) whose physical_filter is corrected


@dataclasses.dataclass(frozen=True)
class Night:
    site: Site
    config: Path


@pytest.fixture(scope="module")
def night_site(minio: MinioServer, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Night]:
    root = tmp_path_factory.mktemp("web-night")
    written = simulate_night(root / "night", detectors=205, exposures=EXPOSURES, seed=3, size=8)
    last_obs = f"_{EXPOSURES:06d}_"  # the last exposure's files: MC_O_20250601_000004_*
    for path in written.files:
        if last_obs in path.name and path.stem.endswith(MISSING):
            path.unlink()
        elif last_obs in path.name and path.stem.endswith(FAILED):
            path.write_bytes(b"not a FITS file\n" * 10)
    site = Site.open(site_config(minio, "web-status-night"))
    landing = root / "landing"
    landing.mkdir()
    stop, ready = threading.Event(), threading.Event()
    config = ServiceConfig(
        landing=landing, poll_interval=0.05, settle=0.1, max_wait=1.0, metrics_port=None
    )
    service = threading.Thread(
        target=serve, args=(site, config, stop), kwargs={"on_ready": lambda _: ready.set()}
    )
    service.start()
    try:
        assert ready.wait(30), "oods serve did not start"
        for folder in sorted((root / "night" / "20250601").iterdir()):  # exposure by exposure
            shutil.move(folder, landing / folder.name)
        deadline = time.monotonic() + 240
        while any(p.is_file() for p in landing.rglob("*")):
            assert time.monotonic() < deadline, "serve did not empty the landing folder"
            time.sleep(0.2)
    finally:
        stop.set()
        service.join(120)
    correction = RecordCorrection(
        "LSSTCam", LAST, "physical_filter", "i_39", detector=CORRECTED, reason="filter wheel log"
    )
    assert not correct_records(site.store, [correction]).rejected
    site.refresh()
    config_path = site_config_file(site, root)
    with config_path.open("a") as file:
        file.write('\n[retention]\ncapacity = "2GB"\n')
    yield Night(site, config_path)
    site.close()


@pytest.fixture(scope="module")
def page(night_site: Night) -> Iterator[str]:
    """The status app on a free loopback port, run by uvicorn in a thread; its base URL."""
    app = create_app(night_site.site, night_site.config, refresh_seconds=0.5)
    sock = bind("127.0.0.1", 0)
    server = uvicorn.Server(uvicorn.Config(app, log_level="warning"))
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    deadline = time.monotonic() + 30
    while not server.started:
        assert time.monotonic() < deadline, "uvicorn did not start"
        time.sleep(0.05)
    yield f"http://127.0.0.1:{sock.getsockname()[1]}"
    server.should_exit = True
    thread.join(30)


@pytest.fixture(scope="session")
def chromium() -> str:
    """Debian's chromium (``make test`` installs it); missing is a failure, not a skip."""
    found = shutil.which("chromium") or shutil.which("chromium-browser")
    if found is None:
        pytest.fail("chromium is not installed: apt-get install -y chromium (make test does)")
    version = subprocess.run([found, "--version"], capture_output=True, text=True, timeout=60)
    assert version.returncode == 0, version.stderr
    return found
