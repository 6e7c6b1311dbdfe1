"""A synthetic LSSTCam night: realistic raw FITS files written with astropy.

Headers follow the real camera's conventions (OBSID, DAYOBS, SEQNUM, RAFTBAY/CCDSLOT,
TAI dates, HIERARCH cards) and its detector layout, so simulated files go through the
same translator as real ones. Output is deterministic for a given seed.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from collections.abc import Callable
from pathlib import Path

import numpy as np
from astropy.io import fits
from astropy.time import Time

from catalog.records import DetectorRecord
from catalog.translators.focalplane import LSSTCAM_DETECTORS

DEFAULT_DAY_OBS = 20250601
#: Fractions of the night's exposures of each type, in the order they are taken.
_SCHEDULE = (("BIAS", 0.2), ("DARK", 0.3), ("FLAT", 0.4), ("OBJECT", 1.0))
#: IMGTYPE -> the observation type the catalog records (``exposures.observation_type``).
OBSERVATION_TYPES = {"BIAS": "bias", "DARK": "dark", "FLAT": "flat", "OBJECT": "science"}
_EXPTIME = {"BIAS": 0.0, "DARK": 30.0, "FLAT": 5.0, "OBJECT": 30.0}
FILTERS = (("r_57", "r"), ("i_39", "i"), ("g_6", "g"), ("z_20", "z"))
_TARGETS = ("Vela_SNR", "47_Tuc", "Rubin_SV_95_-25", "ECDFS")


@dataclasses.dataclass(frozen=True)
class Night:
    """What ``simulate_night`` wrote: the files, and the exposures by IMGTYPE."""

    files: list[Path]
    exposures: dict[str, list[int]]

    def observation_types(self) -> dict[str, int]:
        """Exposures per observation type, named as the catalog names them."""
        return {OBSERVATION_TYPES[t]: len(ids) for t, ids in self.exposures.items()}


@dataclasses.dataclass(frozen=True)
class PlannedExposure:
    """One exposure of a simulated night: its number, IMGTYPE and primary header."""

    seq_num: int
    exposure: int
    img_type: str
    header: fits.Header


def simulate_night(
    out: Path,
    detectors: int = 9,
    exposures: int = 10,
    seed: int = 1,
    size: int = 64,
    day_obs: int = DEFAULT_DAY_OBS,
    progress: Callable[[int], None] | None = None,
) -> Night:
    """Write ``exposures`` x ``detectors`` raw files under ``out/<day_obs>/<obs_id>/``.

    Each file's bytes depend only on (seed, day_obs, exposures, size, its exposure and
    detector), not on how many detectors are simulated: a smaller night of the same
    seed is a byte-identical subset of a bigger one, so ingesting both is no conflict.

    Args:
        detectors: how many of the 205 LSSTCam detectors, in Butler order.
        exposures: exposures in the night: biases, darks, flats, then science.
        seed: the same seed gives byte-identical files.
        size: image side in pixels (int32), e.g. 2900 for ~32 MB files.
        progress: called with 1 after each file.
    """
    if not 1 <= detectors <= len(LSSTCAM_DETECTORS):
        raise ValueError(f"detectors must be 1 to {len(LSSTCAM_DETECTORS)}, got {detectors}")
    if exposures < 1 or size < 1:
        raise ValueError("exposures and size must be at least 1")
    files: list[Path] = []
    by_type: dict[str, list[int]] = {}
    for planned in plan_night(exposures, seed, day_obs):
        by_type.setdefault(planned.img_type, []).append(planned.exposure)
        folder = out / str(day_obs) / planned.header["OBSID"]
        folder.mkdir(parents=True, exist_ok=True)
        for detector in LSSTCAM_DETECTORS[:detectors]:
            path = folder / raw_file_name(planned, detector)
            raw_hdus(planned, detector, size, seed, day_obs).writeto(
                path, overwrite=True, checksum=False
            )
            files.append(path)
            if progress is not None:
                progress(1)
    return Night(files, by_type)


def plan_night(exposures: int, seed: int, day_obs: int) -> list[PlannedExposure]:
    """The night's exposures in order, each header drawn from its own random stream."""
    night_start = dt.datetime.strptime(str(day_obs), "%Y%m%d").replace(tzinfo=dt.UTC)
    night_start += dt.timedelta(days=1, minutes=30)
    planned = []
    for index in range(exposures):
        seq_num = index + 1
        img_type = next(t for t, f in _SCHEDULE if index < exposures * f)
        begin = night_start + dt.timedelta(seconds=90 * index)
        rng = np.random.default_rng([seed, day_obs, seq_num])
        header = _exposure_header(day_obs, seq_num, img_type, begin, index, rng)
        planned.append(PlannedExposure(seq_num, day_obs * 100_000 + seq_num, img_type, header))
    return planned


def raw_file_name(planned: PlannedExposure, detector: DetectorRecord) -> str:
    return f"{planned.header['OBSID']}_{detector.name}.fits"


def raw_hdus(
    planned: PlannedExposure, detector: DetectorRecord, size: int, seed: int, day_obs: int
) -> fits.HDUList:
    """One detector's raw: the exposure's header with the detector's cards, and pixels."""
    rng = np.random.default_rng([seed, day_obs, planned.seq_num, detector.detector])
    primary = fits.PrimaryHDU(header=planned.header.copy())
    primary.header["RAFTBAY"] = detector.group
    primary.header["CCDSLOT"] = detector.sensor
    primary.header["DETSIZE"] = f"[1:{size},1:{size}]"
    primary.header["LSST_NUM"] = f"ITL-3800C-{100 + detector.detector:03d}"
    primary.header["FILENAME"] = raw_file_name(planned, detector)
    level = {"BIAS": 20_000, "DARK": 20_010, "FLAT": 40_000, "OBJECT": 21_000}[planned.img_type]
    pixels = rng.normal(level, 8.0, size=(size, size)).astype(np.int32)
    return fits.HDUList([primary, fits.ImageHDU(pixels, name="Segment10")])


def _tai(moment: dt.datetime) -> Time:
    return Time(moment, scale="utc").tai


def _exposure_header(
    day_obs: int,
    seq_num: int,
    img_type: str,
    begin: dt.datetime,
    index: int,
    rng: np.random.Generator,
) -> fits.Header:
    exptime = _EXPTIME[img_type]
    end = begin + dt.timedelta(seconds=exptime + 0.95)
    obs_id = f"MC_O_{day_obs}_{seq_num:06d}"
    filt, band = FILTERS[index % len(FILTERS)] if img_type in ("FLAT", "OBJECT") else ("empty", "")
    science = img_type == "OBJECT"
    ra, dec = (float(rng.uniform(0, 360)), float(rng.uniform(-80, 10))) if science else (None, None)
    header = fits.Header()
    cards: list[tuple[str, object, str]] = [
        ("DATE", _tai(end).isot, "file creation date (TAI)"),
        ("IMGTYPE", img_type, "BIAS, DARK, FLAT, OBJECT"),
        ("DATE-OBS", _tai(begin).isot, "start of exposure (TAI)"),
        ("MJD-OBS", _tai(begin).mjd, ""),
        ("OBSID", obs_id, "observation id"),
        ("DATE-BEG", _tai(begin).isot, ""),
        ("MJD-BEG", _tai(begin).mjd, ""),
        ("DATE-END", _tai(end).isot, ""),
        ("MJD-END", _tai(end).mjd, ""),
        ("TIMESYS", "TAI", ""),
        ("GROUPID", _tai(begin - dt.timedelta(seconds=3)).isot, "exposure group"),
        ("INSTRUME", "LSSTCam", ""),
        ("TELESCOP", "Simonyi Survey Telescope", ""),
        ("OBS-LONG", -70.749417, ""),
        ("OBS-LAT", -30.244639, ""),
        ("OBS-ELEV", 2663.0, ""),
        ("RA", ra, "tracking RA (deg)"),
        ("DEC", dec, "tracking Dec (deg)"),
        ("ROTPA", float(rng.uniform(-90, 90)) if science else None, ""),
        ("ROTCOORD", "sky" if science else "unknown", ""),
        ("AMSTART", float(rng.uniform(1.0, 2.0)) if science else None, "airmass at start"),
        ("ELSTART", float(rng.uniform(30, 89)) if science else None, ""),
        ("AZSTART", float(rng.uniform(0, 360)) if science else None, ""),
        ("TRACKSYS", "RADEC" if science else "LOCAL", ""),
        ("VIGN_MIN", "NO" if science else "FULLY", "dome vignetting"),
        ("FOCUSZ", float(rng.normal(0, 0.5)), ""),
        ("OBJECT", _TARGETS[index % len(_TARGETS)] if science else "UNKNOWN", ""),
        ("CAMCODE", "MC", ""),
        ("CONTRLLR", "O", ""),
        ("DAYOBS", str(day_obs), ""),
        ("SEQNUM", seq_num, ""),
        ("PROGRAM", "BLOCK-365" if science else "BLOCK-T0", ""),
        ("REASON", "science" if science else img_type.lower(), ""),
        ("FILTBAND", band, ""),
        ("FILTER", filt, ""),
        ("EXPTIME", exptime, "requested exposure time (s)"),
        ("DARKTIME", exptime + 0.95, "dark time (s)"),
        ("SHUTTIME", exptime if exptime else None, ""),
        ("AIRTEMP", 10.5, ""),
        ("PRESSURE", 74390.0, "Pa"),
        ("HUMIDITY", 33.4, ""),
        ("HEADVER", 2, ""),
    ]
    for key, value, comment in cards:
        header[key] = (value, comment)
    header["HIERARCH STUTTER ROWS"] = 0
    header["HIERARCH STUTTER DELAY"] = 0.0
    return header
