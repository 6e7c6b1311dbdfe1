"""The main job, `make demo`, end to end on a small night: the real recipe (MinIO,
`oods serve` in the background, the paced camera, the wait, SIGTERM, the query and the
latency summary), with only its size made smaller and its prerequisite `minio` (the
build, already done by the test run's own MinIO) left out."""

from __future__ import annotations

import os
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.conftest import OODS_VARIABLES

REPO = Path(__file__).resolve().parents[1]
SMALL = ("DEMO_DETECTORS=4", "DEMO_EXPOSURES=3", "DEMO_PACE=0.5")


@pytest.fixture
def home(tmp_path: Path) -> Iterator[Path]:
    """An OODS_HOME of the test's own; its MinIO is stopped whatever happens."""
    home = tmp_path / "home"
    yield home
    subprocess.run(
        [str(REPO / ".venv" / "bin" / "oods"), "down"],
        env=demo_env(home),
        capture_output=True,
        timeout=60,
    )


def demo_env(home: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in OODS_VARIABLES}
    env["OODS_HOME"] = str(home)
    return env


def make_demo(home: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        ["make", "--no-print-directory", "-C", str(REPO), "-o", "minio", "demo", *SMALL],
        env=demo_env(home),
        capture_output=True,
        text=True,
        timeout=300,
    )


@pytest.mark.timeout(600)
def test_make_demo_ingests_a_paced_night_live_and_prints_its_latency(home: Path) -> None:
    first = make_demo(home)
    assert first.returncode == 0, f"{first.stdout}\n{first.stderr}"
    out = first.stdout
    assert "wrote 12 files" in out and "one every 0.5s" in out
    assert "stopped: " in out and "12 ingested" in out  # serve's last line: it exited 0
    for kind in ("bias", "flat", "science"):  # one exposure each, 4 raws each
        assert any(
            line.split()[:1] == [kind] and line.split()[-2:] == ["1", "4"]
            for line in out.splitlines()
        ), (kind, out)
    assert "arrivals: 12 files (12 ingested)" in out
    assert "arrival -> queryable (12 ingested): p50 " in out
    landing = home / "landing"
    assert landing.is_dir() and not [p for p in landing.rglob("*") if p.is_file()]
    assert "Traceback" not in first.stderr + (home / "serve.log").read_text()

    # Again: the same night lands, every file is already there; the summary is this
    # run's alone (--since), not the first run's latency.
    again = make_demo(home)
    assert again.returncode == 0, f"{again.stdout}\n{again.stderr}"
    assert "arrivals: 12 files (12 skipped)" in again.stdout
    assert "arrival -> queryable: no file was ingested" in again.stdout
