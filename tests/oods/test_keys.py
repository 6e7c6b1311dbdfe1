"""Object keys come from the data id alone: one data id, one key; no key escapes its place."""

from __future__ import annotations

import dataclasses

import pytest
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


def _with_obs_id(obs_id: str) -> Translation:
    return dataclasses.replace(
        _TRANSLATION, exposure=dataclasses.replace(_TRANSLATION.exposure, obs_id=obs_id)
    )


def test_raw_key_is_the_cameras_own_name() -> None:
    assert raw_key(_TRANSLATION, "raw") == (
        "LSSTCam/raw/20250601/MC_O_20250601_000001/MC_O_20250601_000001_R22_S11.fits"
    )


def test_detectors_of_one_exposure_never_share_a_key() -> None:
    # Issue 14 item 2: two detectors' files both named raw.fits once mapped to one key.
    other = dataclasses.replace(_TRANSLATION, detector=DetectorRecord(0, "R00_S00", "R00", "S00"))
    assert raw_key(other, "raw") != raw_key(_TRANSLATION, "raw")
    assert raw_key(other, "raw").endswith("/MC_O_20250601_000001_R00_S00.fits")


@given(st.text(max_size=300))
@example("../../etc/passwd")
@example("/abs/path")
@example("a/../../b")
@example(" spaced obs")
@example("..hidden")
@example("MC_O_20250601_000001")
def test_raw_keys_stay_under_their_day_or_are_refused(obs_id: str) -> None:
    try:
        key = raw_key(_with_obs_id(obs_id), "raw")
    except ValueError as exc:
        assert "obs_id" in str(exc)
        return
    _assert_contained(key, f"LSSTCam/raw/20250601/{obs_id}/{obs_id}_R22_S11.fits")
    assert key.count("/") == 4


@given(st.text(max_size=300))
@example("../r_57")
@example("r_57")
def test_calibration_keys_stay_under_their_run_or_are_refused(physical_filter: str) -> None:
    data_id = {"instrument": "LSSTCam", "detector": 94, "physical_filter": physical_filter}
    try:
        key = calibration_key("flat", "LSSTCam/calib/v1", data_id)
    except ValueError as exc:
        assert "physical filter" in str(exc)
        return
    _assert_contained(key, f"LSSTCam/calib/flat/LSSTCam/calib/v1/094/{physical_filter}/")
    assert key.endswith(f"/flat_LSSTCam_094_{physical_filter}.fits")
    assert key.count("/") == 8


def test_calibration_key_depends_on_the_dataset_id_parts_only() -> None:
    data_id = {"instrument": "LSSTCam", "detector": 94}
    key = calibration_key("bias", "LSSTCam/calib/v1", data_id)
    assert key == "LSSTCam/calib/bias/LSSTCam/calib/v1/094/bias_LSSTCam_094.fits"
    assert calibration_key("bias", "LSSTCam/calib/v2", data_id) != key


@pytest.mark.parametrize("run", ["../x", "a//b", "a/./b", "/abs"])
def test_unsafe_runs_are_refused(run: str) -> None:
    with pytest.raises(ValueError, match="run"):
        calibration_key("bias", run, {"instrument": "LSSTCam", "detector": 94})


@pytest.mark.parametrize("obs_id", ["MC_O_20250601_000001\n", "MC_O_20250601_000001\r"])
def test_a_trailing_line_break_never_reaches_a_key(obs_id: str) -> None:
    # A regex anchored with `$` accepts a final "\n"; keys must match in full.
    with pytest.raises(ValueError, match="obs_id"):
        raw_key(_with_obs_id(obs_id), "raw")
    with pytest.raises(ValueError, match="run"):
        calibration_key("bias", "LSSTCam/calib/v1\n", {"instrument": "LSSTCam", "detector": 94})
