"""The calibration view: which flat each detector of an exposure gets, and a detector
left on an older flat shows a later generation - checked against the lookup's SQL."""

from __future__ import annotations

import datetime as dt
import json
import time
import urllib.request
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from astropy.io import fits

from catalog import certify
from catalog.translators.focalplane import LSSTCAM_DETECTORS
from oods.calibrations import ingest_calibrations

from .conftest import LAST, Night

RAFT = LSSTCAM_DETECTORS[:9]  # R01, detectors 0..8
LEFT_BEHIND = 8  # R01_S22 never got the new flat
OLD, NEW = dt.datetime(2025, 5, 1, tzinfo=dt.UTC), dt.datetime(2025, 6, 1, tzinfo=dt.UTC)


def flat(folder: Path, detector: int, name: str, physical_filter: str) -> Path:
    """A master flat as the calibration pipeline writes one: its data id in its cards."""
    hdu = fits.PrimaryHDU(np.ones((8, 8), dtype=np.float32))
    for card, value in (
        ("INSTRUME", "LSSTCam"),
        ("DETECTOR", detector),
        ("DETNAME", name),
        ("OBSTYPE", "flat"),
        ("FILTER", physical_filter),
    ):
        hdu.header[card] = value
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"flat_{physical_filter}_{name}.fits"
    hdu.writeto(path)
    return path


@pytest.fixture(scope="module")
def flats(night_site: Night, tmp_path_factory: pytest.TempPathFactory) -> str:
    """Old flats for the whole raft, new ones for all but one detector; certified."""
    site = night_site.site
    physical_filter = site.sql(
        f"SELECT physical_filter FROM exposures WHERE exposure = {LAST}"
    ).fetchall()[0][0]
    root = tmp_path_factory.mktemp("flats")
    ids: dict[str, list[str]] = {}
    for generation, detectors in (("old", RAFT), ("new", RAFT[:LEFT_BEHIND])):
        paths = [flat(root / generation, d.detector, d.name, physical_filter) for d in detectors]
        report = ingest_calibrations(site, paths, "flat", f"LSSTCam/calib/{generation}")
        assert not report.failed, [r.line() for r in report.failed]
        ids[generation] = [r.dataset_id for r in report.ingested if r.dataset_id]
    old_ids = dict(zip([d.detector for d in RAFT], ids["old"], strict=True))
    for detector, dataset in old_ids.items():
        end = None if detector == LEFT_BEHIND else NEW
        assert not certify(site.store, "LSSTCam/calib", [dataset], OLD, end).rejected
    assert not certify(site.store, "LSSTCam/calib", ids["new"], NEW).rejected
    site.refresh()
    return physical_filter


def get(url: str) -> Any:
    with urllib.request.urlopen(url, timeout=30) as response:
        return json.load(response)


def test_a_detector_left_on_an_old_flat_is_a_later_generation(
    night_site: Night, flats: str, page: str
) -> None:
    time.sleep(0.6)  # the app refreshes its snapshot every 0.5 s in the tests
    answer = get(f"{page}/api/calib?instrument=LSSTCam&exposure={LAST}&collections=LSSTCam/calib")
    assert answer["collections"] == ["LSSTCam/calib"]
    assert "LSSTCam/calib" in answer["known_collections"]
    by_detector = {d["detector"]: d["calibrations"] for d in answer["detectors"]}
    expected = dict(
        night_site.site.sql(
            "SELECT d.detector, c.dataset_id FROM datasets d JOIN exposures e USING "
            "(instrument, exposure) JOIN calibrations c ON c.detector = d.detector AND "
            "c.physical_filter = e.physical_filter AND c.state = 'certified' AND "
            "c.valid_begin <= e.datetime_begin AND (c.valid_end IS NULL OR "
            "e.datetime_begin < c.valid_end) WHERE d.dataset_type = 'raw' AND d.exposure = ?",
            [LAST],
        ).fetchall()
    )
    got = {d: c["flat"]["calibration_id"] for d, c in by_detector.items() if "flat" in c}
    # detector 5's filter was corrected to another filter: no flat of this one for it
    assert got == {d: i for d, i in expected.items() if d != 5}
    generations = {d: by_detector[d]["flat"]["generation"] for d in got}
    assert generations == {d: (1 if d == LEFT_BEHIND else 0) for d in got}
    assert answer["generations"] == {"flat": 2}
    assert by_detector[100] == {}  # outside the raft: nothing certified
