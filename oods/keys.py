"""Object keys, derived from the data and never from unchecked input."""

from __future__ import annotations

import re
from collections.abc import Mapping

from catalog import Translation

_SAFE_TYPE = re.compile(r"^[A-Za-z][A-Za-z0-9_]{0,63}$")
#: One part of a key (run part, obs_id, filter...): LATISS filters hold "~" ("SDSSr~empty").
_SAFE_SEGMENT = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._+~-]{0,99}$")


def raw_key(translation: Translation, dataset_type: str) -> str:
    """``instrument/type/day_obs/obs_id/obs_id_detector.fits``: the data id, spelled out.

    One data id has exactly one key, whatever the file was called or whoever writes
    it, so the create-only PUT on it is the lock that lets one byte stream in per raw
    (the original file name is kept in the catalog and the object's metadata). The
    name is the camera's own, so a downloaded object still says what it is.

    Raises:
        ValueError: a part of the key is not safe (named in the message).

    Example:
        >>> raw_key(t, "raw")
        'LSSTCam/raw/20250415/MC_O_20250415_000060/MC_O_20250415_000060_R01_S01.fits'
    """
    check_dataset_type(dataset_type)
    exposure = translation.exposure
    instrument = check_segment(exposure.instrument, "instrument")
    obs_id = check_segment(exposure.obs_id, "obs_id")
    detector = check_segment(translation.detector.name, "detector name")
    day_obs = check_segment(str(int(exposure.day_obs)), "day_obs")
    return f"{instrument}/{dataset_type}/{day_obs}/{obs_id}/{obs_id}_{detector}.fits"


def check_dataset_type(dataset_type: str) -> str:
    """``dataset_type`` if it can stand in a key, else ValueError naming it."""
    if not _SAFE_TYPE.fullmatch(dataset_type):
        raise ValueError(
            f"invalid dataset type {dataset_type!r}: a letter, then letters, digits or _"
        )
    return dataset_type


def check_segment(value: str, what: str) -> str:
    """``value`` if it can be one part of a key (no ``/``, no ``..``), else ValueError."""
    if not _SAFE_SEGMENT.fullmatch(value) or ".." in value:
        raise ValueError(
            f"invalid {what} {value!r}: letters, digits and . _ + ~ - only, "
            "starting with a letter or digit, no '..'"
        )
    return value


def check_run(run: str) -> str:
    """``run`` if each of its ``/``-separated parts is a safe key part, else ValueError."""
    for part in run.split("/"):
        check_segment(part, f"run {run!r}: part")
    return run


def calibration_key(dataset_type: str, run: str, data_id: Mapping[str, object]) -> str:
    """``instrument/calib/type/run/detector[/physical_filter]/type_instrument_detector[_filter].fits``.

    Every part comes from the dataset id's own parts (type, run, data id), so one
    dataset id has exactly one key whatever the file was called: the create-only PUT
    on it lets one byte stream in per dataset. The run keeps its ``/`` (each part
    checked); the original file name is kept in the catalog.

    Raises:
        ValueError: a part of the key is not safe (named in the message).

    Example:
        >>> calibration_key("bias", "LSSTCam/calib/v1", {"instrument": "LSSTCam", "detector": 94})
        'LSSTCam/calib/bias/LSSTCam/calib/v1/094/bias_LSSTCam_094.fits'
    """
    check_dataset_type(dataset_type)
    check_run(run)
    instrument = check_segment(str(data_id["instrument"]), "instrument")
    folders = [instrument, "calib", dataset_type, run]
    names = [dataset_type, instrument]
    if data_id.get("detector") is not None:
        detector = f"{int(data_id['detector']):03d}"  # type: ignore[call-overload]
        folders.append(detector)
        names.append(detector)
    if data_id.get("physical_filter") is not None:
        physical_filter = check_segment(str(data_id["physical_filter"]), "physical filter")
        folders.append(physical_filter)
        names.append(physical_filter)
    return "/".join([*folders, "_".join(names) + ".fits"])
