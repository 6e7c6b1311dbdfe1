"""What the calibration and correction walk-throughs need, for a simulated night.

``oods simulate --calibs`` writes it, so that every command of the README runs as
written: master darks and flats whose headers carry their data id the way the
calibration pipelines write it (INSTRUME, DETECTOR, DETNAME, OBSTYPE, FILTER, and no
exposure cards), a bias and a candidate bias whose headers do not (their data id is
given as options), the archive's validity file, corrected copies of some raws, a
corrections table and an obs_lsst-style header correction. Give the night's own options
(seed, exposures, size, day): the corrected raws are that night's raws with one card
changed, and the CSV files name its exposures.
"""

from __future__ import annotations

import csv
import dataclasses
import datetime as dt
from pathlib import Path

import numpy as np
import yaml
from astropy.io import fits

from catalog.records import DetectorRecord
from catalog.translators.focalplane import LSSTCAM_DETECTORS

from .simulate import FILTERS, PlannedExposure, plan_night, raw_file_name, raw_hdus

#: The calibration collection the archive's validity file certifies the darks into.
CALIB_COLLECTION = "LSSTCam/calib"
INSTRUMENT = "LSSTCam"


@dataclasses.dataclass(frozen=True)
class CalibInputs:
    """What ``simulate_calibs`` wrote, and the detector the single files are for."""

    featured: DetectorRecord
    files: list[Path]


def simulate_calibs(
    out: Path,
    detectors: int = 9,
    exposures: int = 10,
    seed: int = 1,
    size: int = 64,
    day_obs: int = 20250601,
) -> CalibInputs:
    """Write the walk-through inputs for the night of these options into ``out``.

    Written (``<det>`` a detector name such as R01_S11; the *featured* detector is the
    middle one of those simulated, e.g. R01_S11 of 9):

    - ``masters/dark/dark_<det>.fits`` and ``masters/flat_<band>/flat_<filter>_<det>.fits``
      for every detector (and band): headers with their data id;
    - ``bias_<featured>.fits`` and the candidate ``bias_try.fits``: no data id cards;
    - ``dbb_validity.csv``: the darks' validity in ``LSSTCam/calib``, by file name;
    - ``fixed/``: raws of the featured detector and its neighbours, with the filter the
      filter wheel log says (the third science exposure);
    - ``fixes.csv``: a whole-exposure and a one-detector correction;
    - ``corrections/LSSTCam-<obs_id>.yaml``: a header correction of one exposure.

    Raises:
        ValueError: bad counts, or a night without science exposures.
    """
    if not 1 <= detectors <= len(LSSTCAM_DETECTORS) or exposures < 1 or size < 1:
        raise ValueError("detectors must be 1 to 205, exposures and size at least 1")
    night = plan_night(exposures, seed, day_obs)
    science = [p for p in night if p.img_type == "OBJECT"]
    if not science:
        raise ValueError("the night has no science exposure to correct: give --exposures 2+")
    chosen = LSSTCAM_DETECTORS[:detectors]
    featured = chosen[(detectors - 1) // 2]
    made = dt.datetime.strptime(str(day_obs), "%Y%m%d").replace(tzinfo=dt.UTC)
    files: list[Path] = []
    for detector in chosen:
        stream = [seed, day_obs, detector.detector]
        dark = _master(out / "masters" / "dark", "dark", detector, None, size, made, stream)
        files.append(dark)
        for number, (physical_filter, band) in enumerate(FILTERS, start=1):
            folder = out / "masters" / f"flat_{band}"
            flat = _master(folder, "flat", detector, physical_filter, size, made, [*stream, number])
            files.append(flat)
    for number, name in enumerate((f"bias_{featured.name}.fits", "bias_try.fits")):
        files.append(_bare_master(out / name, size, [seed, day_obs, 1000 + number]))
    files.append(_validity(out / "dbb_validity.csv", chosen, made))
    files += _fixed_raws(out / "fixed", science[2 % len(science)], chosen, featured, size, seed)
    files.append(_fixes(out / "fixes.csv", science, featured))
    files.append(_header_correction(out / "corrections", science[4 % len(science)]))
    return CalibInputs(featured, files)


def _master(
    folder: Path,
    calibration_type: str,
    detector: DetectorRecord,
    physical_filter: str | None,
    size: int,
    made: dt.datetime,
    stream: list[int],
) -> Path:
    """A master as the calibration pipeline writes one: its data id in its own cards."""
    rng = np.random.default_rng(stream)
    level = {"dark": 0.02, "flat": 1.0}[calibration_type]
    hdu = fits.PrimaryHDU(rng.normal(level, 0.01, size=(size, size)).astype(np.float32))
    hdu.header["INSTRUME"] = INSTRUMENT
    hdu.header["DETECTOR"] = detector.detector
    hdu.header["DETNAME"] = detector.name
    hdu.header["OBSTYPE"] = calibration_type
    if physical_filter is not None:
        hdu.header["FILTER"] = physical_filter
    hdu.header["HIERARCH CALIBDATE"] = made.date().isoformat()
    name = "_".join(x for x in (calibration_type, physical_filter, detector.name) if x)
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{name}.fits"
    hdu.writeto(path, overwrite=True)
    return path


def _bare_master(path: Path, size: int, stream: list[int]) -> Path:
    """A bias made elsewhere: its header says what it is, not which detector it is for."""
    rng = np.random.default_rng(stream)
    hdu = fits.PrimaryHDU(rng.normal(0.0, 3.0, size=(size, size)).astype(np.float32))
    hdu.header["OBSTYPE"] = "bias"
    path.parent.mkdir(parents=True, exist_ok=True)
    hdu.writeto(path, overwrite=True)
    return path


def _validity(path: Path, detectors: tuple[DetectorRecord, ...], made: dt.datetime) -> Path:
    """The archive's validity file: the darks, by file name, from the night's day on."""
    with open(path, "w", newline="") as file:
        writer = csv.writer(file)
        writer.writerow(["file_name", "collection", "type", "begin", "end"])
        for detector in detectors:
            name = f"dark_{detector.name}.fits"
            writer.writerow([name, CALIB_COLLECTION, "dark", made.date().isoformat(), ""])
    return path


def _fixed_raws(
    folder: Path,
    planned: PlannedExposure,
    detectors: tuple[DetectorRecord, ...],
    featured: DetectorRecord,
    size: int,
    seed: int,
) -> list[Path]:
    """The night's raws of ``planned`` near the featured detector, with the right filter."""
    index = detectors.index(featured)
    physical_filter, band = _other_filter(str(planned.header["FILTER"]))
    folder.mkdir(parents=True, exist_ok=True)
    paths = []
    day_obs = int(planned.header["DAYOBS"])
    for detector in detectors[max(0, index - 1) : index + 2]:
        hdus = raw_hdus(planned, detector, size, seed, day_obs)
        hdus[0].header["FILTER"] = physical_filter
        hdus[0].header["FILTBAND"] = band
        path = folder / raw_file_name(planned, detector)
        hdus.writeto(path, overwrite=True, checksum=False)
        paths.append(path)
    return paths


def _fixes(path: Path, science: list[PlannedExposure], featured: DetectorRecord) -> Path:
    """One whole-exposure and one one-detector correction, as a table."""
    closed = science[1 % len(science)]
    wrong = science[3 % len(science)]
    physical_filter, _ = _other_filter(str(wrong.header["FILTER"]))
    with open(path, "w", newline="") as file:
        writer = csv.writer(file)
        writer.writerow(["instrument", "exposure", "detector", "field", "value", "reason"])
        writer.writerow(
            [INSTRUMENT, closed.exposure, "", "can_see_sky", "false", "dome was closed"]
        )
        writer.writerow(
            [
                INSTRUMENT,
                wrong.exposure,
                featured.detector,
                "physical_filter",
                physical_filter,
                "filter wheel log",
            ]
        )
    return path


def _header_correction(folder: Path, planned: PlannedExposure) -> Path:
    """An obs_lsst-style correction: the target name the observer meant."""
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{INSTRUMENT}-{planned.header['OBSID']}.yaml"
    path.write_text(yaml.safe_dump({"OBJECT": f"{planned.header['OBJECT']}_field"}))
    return path


def _other_filter(physical_filter: str) -> tuple[str, str]:
    """The filter after ``physical_filter`` in the wheel: what a log would say it was."""
    names = [name for name, _ in FILTERS]
    return FILTERS[(names.index(physical_filter) + 1) % len(FILTERS)]
