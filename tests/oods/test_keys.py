"""Object keys come from the data: whatever the names given, no key escapes its place."""

from __future__ import annotations

import datetime as dt

from hypothesis import example, given
from hypothesis import strategies as st

from catalog import DetectorRecord, ExposureRecord, Translation
from oods.keys import calibration_key, raw_key

_MOMENT = dt.datetime(2025, 6, 2, tzinfo=dt.UTC)
_TRANSLATION = Translation(
    ExposureRecord(
        instrument="LSSTCam",
        exposure=2025060100001,
        obs_id="MC_O_20250601_000001",
        day_obs=20250601,
        seq_num=1,
        group="g",
        physical_filter="r_57",
        observation_type="science",
        observation_reason="science",
        science_program="p",
        target_name="t",
        exposure_time=30.0,
        dark_time=31.0,
        datetime_begin=_MOMENT,
        datetime_end=_MOMENT,
    ),
    DetectorRecord(94, "R22_S11", "R22", "S11"),
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
