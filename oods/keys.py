"""Object keys, derived from the data and never from unchecked input."""

from __future__ import annotations

import re
from collections.abc import Mapping

from catalog import Translation

_SAFE_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._+-]{0,199}$")
_SAFE_TYPE = re.compile(r"^[A-Za-z][A-Za-z0-9_]{0,63}$")
#: One part of a run or a filter name: LATISS filters hold "~" (e.g. "SDSSr_65mm~empty").
_SAFE_SEGMENT = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._+~-]{0,99}$")


def safe_file_name(name: str) -> bool:
    """True if ``name`` can stand in a key as it is: no ``/``, no ``..``, no oddities."""
    return bool(_SAFE_NAME.match(name)) and ".." not in name


def raw_key(translation: Translation, dataset_type: str, file_name: str) -> str:
    """``instrument/type/day_obs/exposure/file name``; unsafe names are replaced.

    The original name is kept when it is safe, so a file looks in the bucket as it
    looked on the camera's disk; otherwise the name is built from the data id.

    Example:
        >>> raw_key(t, "raw", "MC_O_20250415_000060_R01_S01.fits")
        'LSSTCam/raw/20250415/2025041500060/MC_O_20250415_000060_R01_S01.fits'
    """
    check_dataset_type(dataset_type)
    exposure = translation.exposure
    if not safe_file_name(file_name):
        file_name = (
            f"{exposure.instrument}_{exposure.exposure}_{translation.detector.detector:03d}.fits"
        )
    return (
        f"{exposure.instrument}/{dataset_type}/{exposure.day_obs}/{exposure.exposure}/{file_name}"
    )


def check_dataset_type(dataset_type: str) -> str:
    """``dataset_type`` if it can stand in a key, else ValueError naming it."""
    if not _SAFE_TYPE.match(dataset_type):
        raise ValueError(
            f"invalid dataset type {dataset_type!r}: a letter, then letters, digits or _"
        )
    return dataset_type


def check_segment(value: str, what: str) -> str:
    """``value`` if it can be one part of a key (no ``/``, no ``..``), else ValueError."""
    if not _SAFE_SEGMENT.match(value) or ".." in value:
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


def calibration_key(
    dataset_type: str, run: str, data_id: Mapping[str, object], file_name: str
) -> str:
    """``instrument/calib/type/run/detector[/physical_filter]/file name``.

    The run keeps its ``/`` (each part checked); the data id is in the key so that two
    detectors' files of the same name cannot collide. Unsafe names are replaced by one
    built from the data id.

    Raises:
        ValueError: a part of the key is not safe (named in the message).

    Example:
        >>> calibration_key("bias", "LSSTCam/calib/v1",
        ...     {"instrument": "LSSTCam", "detector": 94}, "bias_R22_S11.fits")
        'LSSTCam/calib/bias/LSSTCam/calib/v1/094/bias_R22_S11.fits'
    """
    check_dataset_type(dataset_type)
    check_run(run)
    instrument = check_segment(str(data_id["instrument"]), "instrument")
    parts = [instrument, "calib", dataset_type, run]
    if data_id.get("detector") is not None:
        parts.append(f"{int(data_id['detector']):03d}")  # type: ignore[call-overload]
    if data_id.get("physical_filter") is not None:
        parts.append(check_segment(str(data_id["physical_filter"]), "physical filter"))
    if not safe_file_name(file_name):
        file_name = "_".join([dataset_type, *parts[4:]]).replace("/", "_") + ".fits"
    return "/".join([*parts, file_name])
