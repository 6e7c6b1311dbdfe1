"""Object keys come from the data: whatever the names given, no key escapes its place."""

from __future__ import annotations

from hypothesis import example, given
from hypothesis import strategies as st

from catalog import DetectorRecord, Translation
from oods.keys import calibration_key, raw_key
from tests.catalog_rows import NIGHT_START, exposure_record

_TRANSLATION = Translation(
    exposure_record(20250601, 1, NIGHT_START), DetectorRecord(94, "R22_S11", "R22", "S11")
)


def _assert_contained(key: str, prefix: str) -> None:
    assert key.startswith(prefix)
    parts = key.split("/")
    assert all(parts), key  # no empty part: no leading '/', no '//'
    assert not any(p in (".", "..") or ".." in p for p in parts), key
    assert key.isascii() and not any(c.isspace() for c in key), key


@given(st.text(max_size=300))
@example("../../etc/passwd")
@example("/abs/path.fits")
@example("a/../../b.fits")
@example(" spaced name.fits")
@example("..hidden.fits")
def test_raw_keys_stay_under_their_exposure(name: str) -> None:
    key = raw_key(_TRANSLATION, "raw", name)
    _assert_contained(key, "LSSTCam/raw/20250601/2025060100001/")
    assert key.count("/") == 4


@given(st.text(max_size=300))
@example("../flat.fits")
def test_calibration_keys_stay_under_their_run(name: str) -> None:
    data_id = {"instrument": "LSSTCam", "detector": 94, "physical_filter": "r_57"}
    key = calibration_key("flat", "LSSTCam/calib/v1", data_id, name)
    _assert_contained(key, "LSSTCam/calib/flat/LSSTCam/calib/v1/094/r_57/")
    assert key.count("/") == 8
