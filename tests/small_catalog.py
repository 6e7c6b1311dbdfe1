"""A small real catalog for tests of the lazy layouts: simulated nights of raws, ingested
from FITS files, and a bias master, certified."""

from __future__ import annotations

from pathlib import Path

import numpy as np
from astropy.io import fits

from oods import Site, ingest, ingest_calibrations, simulate_night

CALIB_COLLECTION = "LSSTCam/calib/1"


def ingest_night(
    site: Site,
    folder: Path,
    day_obs: int,
    *,
    detectors: int = 2,
    exposures: int = 2,
    seed: int = 1,
    size: int = 4,
) -> None:
    """One simulated night of tiny raws, ingested (none may fail)."""
    night = simulate_night(
        folder, detectors=detectors, exposures=exposures, seed=seed, size=size, day_obs=day_obs
    )
    report = ingest(site, night.files)
    assert not report.failed, [failure.line() for failure in report.failed]


def ingest_bias_master(site: Site, folder: Path, detector: int = 0) -> None:
    """A 4x4 bias master for ``detector``, ingested into ``CALIB_COLLECTION``."""
    folder.mkdir(parents=True, exist_ok=True)
    master = folder / f"bias-{detector}.fits"
    fits.PrimaryHDU(np.zeros((4, 4), np.float32)).writeto(master)
    report = ingest_calibrations(
        site, [master], "bias", CALIB_COLLECTION, detector=detector, instrument="LSSTCam"
    )
    assert report.ingested, report.failed
