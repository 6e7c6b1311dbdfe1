"""Object keys, derived from the data and never from unchecked input."""

from __future__ import annotations

import re

from catalog import Translation

_SAFE_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._+-]{0,199}$")
_SAFE_TYPE = re.compile(r"^[A-Za-z][A-Za-z0-9_]{0,63}$")


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
    if not _SAFE_TYPE.match(dataset_type):
        raise ValueError(f"invalid dataset type {dataset_type!r}")
    exposure = translation.exposure
    if not safe_file_name(file_name):
        file_name = (
            f"{exposure.instrument}_{exposure.exposure}_{translation.detector.detector:03d}.fits"
        )
    return (
        f"{exposure.instrument}/{dataset_type}/{exposure.day_obs}/{exposure.exposure}/{file_name}"
    )
