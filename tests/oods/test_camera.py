"""The paced camera: the night's own bytes, written exposure by exposure at a pace, each
file whole under its name (a temporary name first), and a stop that ends the night."""

from __future__ import annotations

import os
import threading
import time
from pathlib import Path

import pytest
from click.testing import CliRunner

from oods.camera import prepare_night, render_exposures, write_paced
from oods.cli import main
from oods.landing import LandingWatcher
from oods.simulate import simulate_night


def test_a_paced_night_is_the_simulated_night_byte_for_byte(tmp_path: Path) -> None:
    """So the demo's live night and the tour's `oods simulate` night are one night: the
    tour's ingests skip, never conflict."""
    night = simulate_night(tmp_path / "night", detectors=3, exposures=4, seed=3, size=8)
    paced = write_paced(
        tmp_path / "landing", render_exposures(3, 4, seed=3, size=8), pace=0.0, spread=0.0
    )
    assert len(paced.files) == len(night.files) == 12
    for path in night.files:
        twin = tmp_path / "landing" / path.relative_to(tmp_path / "night")
        assert twin.read_bytes() == path.read_bytes(), path.name
    assert paced.exposures == [20250601_00001 + n for n in range(4)]
    assert not list((tmp_path / "landing").rglob("*.part"))


def test_a_slice_of_the_night_is_that_part_of_the_whole(tmp_path: Path) -> None:
    whole = list(render_exposures(2, 6, seed=4, size=8))
    part = list(render_exposures(2, 6, seed=4, size=8, first=2, count=3))
    assert [e.exposure for e in part] == [e.exposure for e in whole[2:5]]
    assert [e.files for e in part] == [e.files for e in whole[2:5]]


def test_a_night_that_fits_is_rendered_before_the_camera_starts() -> None:
    counted: list[int] = []
    whole = prepare_night(2, 3, size=8, progress=counted.append)
    assert isinstance(whole, list) and counted == [1, 1, 1]
    lazy = prepare_night(2, 3, size=8, budget=0)  # too big: one exposure at a time
    assert not isinstance(lazy, list)
    assert [e.files for e in lazy] == [e.files for e in whole]


def test_exposures_are_written_one_per_pace_not_before_their_slot(tmp_path: Path) -> None:
    pace = 0.4
    report = write_paced(
        tmp_path / "landing", render_exposures(2, 3, size=8), pace=pace, spread=0.1
    )
    firsts = {}
    for path in report.files:
        exposure = path.parent.name
        mtime = path.stat().st_mtime
        firsts[exposure] = min(firsts.get(exposure, mtime), mtime)
    starts = sorted(firsts.values())
    assert len(starts) == 3
    for n, start in enumerate(starts):
        # A lower bound only: exposure n never starts before n paces (1 ms for mtime).
        assert start - starts[0] >= n * pace - 0.001, (n, start - starts[0])
    assert report.seconds >= 2 * pace


def test_a_watcher_never_takes_a_file_the_camera_is_still_writing(tmp_path: Path) -> None:
    """Every name the watcher hands out holds the whole file: the camera writes under
    ``.part`` and renames, and the watcher leaves ``.part`` names alone."""
    landing = tmp_path / "landing"
    landing.mkdir()
    expected = {
        str(landing / relative): data
        for exposure in render_exposures(3, 3, size=8)
        for relative, data in exposure.files
    }
    watcher = LandingWatcher(landing, settle=0.0)
    seen: dict[str, bytes] = {}
    deadline = time.monotonic() + 30

    def watch() -> None:
        while len(seen) < len(expected) and time.monotonic() < deadline:
            for landed in watcher.poll():
                seen[str(landed.path)] = landed.path.read_bytes()
            time.sleep(0.002)

    thread = threading.Thread(target=watch)
    thread.start()
    write_paced(landing, render_exposures(3, 3, size=8), pace=0.05, spread=0.05)
    thread.join()
    assert seen == expected


def test_stop_ends_the_night_after_the_exposure_being_written(tmp_path: Path) -> None:
    stop = threading.Event()
    timer = threading.Timer(0.3, stop.set)
    timer.start()
    report = write_paced(
        tmp_path / "landing", render_exposures(2, 5, size=8), pace=1.0, spread=0.0, stop=stop
    )
    timer.cancel()
    assert report.stopped
    assert len(report.exposures) == 1 and len(report.files) == 2


def test_bad_pace_or_detectors_are_refused(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="pace"):
        write_paced(tmp_path, [], pace=-1.0)
    with pytest.raises(ValueError, match="detectors"):
        next(render_exposures(detectors=206))


def test_simulate_pace_writes_into_landing_and_says_so(tmp_path: Path) -> None:
    out = tmp_path / "landing"
    result = CliRunner().invoke(
        main,
        [
            "simulate",
            "--out",
            str(out),
            "--pace",
            "0.1",
            "--detectors",
            "2",
            "--exposures",
            "2",
            "--size",
            "8",
        ],
    )
    assert result.exit_code == 0, result.output
    assert "wrote 4 files" in result.output and "one every 0.1s" in result.output
    names = sorted(p.name for p in out.rglob("*") if p.is_file())
    assert len(names) == 4 and all(n.endswith(".fits") for n in names)
    assert all(os.path.getsize(p) > 0 for p in out.rglob("*.fits"))


def test_simulate_pace_with_calibs_is_a_usage_error(tmp_path: Path) -> None:
    result = CliRunner().invoke(
        main, ["simulate", "--out", str(tmp_path / "x"), "--pace", "1", "--calibs"]
    )
    assert result.exit_code == 2
    assert "--pace" in result.output and "--calibs" in result.output
    assert not (tmp_path / "x").exists()
