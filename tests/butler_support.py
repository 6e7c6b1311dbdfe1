"""What a test Butler repository needs to hold OODS's FITS files (obs_lsst is not on PyPI).

The real instruments' formatters live in obs_lsst, which is not installable from PyPI, so
a test repository declares its own storage class (an astropy ``HDUList``) and reads the
files with ``FitsBytesFormatter``. Import and ``butler.get`` import the formatter by its
dotted name, so it lives in an importable module (this one), not in a test function.
"""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path
from typing import Any

import numpy as np
from astropy.io import fits
from lsst.daf.butler import Butler, Config, FormatterV2
from lsst.resources import ResourcePath

from catalog import certify
from oods import Site, ingest, ingest_calibrations
from oods.simulate import simulate_night
from tests.cli_invoke import run

#: The storage class a test repository declares for raws and calibrations.
STORAGE_CLASS = "FitsHDUList"
#: The formatter's dotted name, as an export names it (``oods export --formatter``).
FORMATTER = f"{__name__}.FitsBytesFormatter"


class FitsBytesFormatter(FormatterV2):
    """Reads a FITS file into an ``HDUList`` with every byte loaded (the file may be a
    temporary copy that goes away), and writes one back."""

    default_extension = ".fits"
    supported_extensions = frozenset({".fits", ".fz"})
    can_read_from_local_file = True

    def read_from_local_file(
        self, path: str, component: str | None = None, expected_size: int = -1
    ) -> Any:
        with fits.open(path, lazy_load_hdus=False) as opened:
            for hdu in opened:
                _ = hdu.data  # load now: the file is closed on return
            return fits.HDUList([hdu.copy() for hdu in opened])

    def write_local_file(self, in_memory_dataset: Any, uri: ResourcePath) -> None:
        in_memory_dataset.writeto(uri.ospath, overwrite=True)


def make_test_repo(root: Path) -> Butler:
    """A fresh Butler repository (SQLite registry, local datastore) that knows FITS files
    as ``FitsHDUList``; returned writeable."""
    config = Config()
    config["storageClasses"] = {STORAGE_CLASS: {"pytype": "astropy.io.fits.HDUList"}}
    Butler.makeRepo(str(root), config=config)
    return Butler.from_config(str(root), writeable=True)


def make_s3_test_repo(root: Path, datastore_root: str) -> Butler:
    """As ``make_test_repo``, with the datastore at ``datastore_root`` (``s3://bucket/x``:
    lsst-resources reaches it through ``S3_ENDPOINT_URL`` and the AWS keys in the
    environment); the registry stays a SQLite file in ``root``."""
    config = Config()
    config["storageClasses"] = {STORAGE_CLASS: {"pytype": "astropy.io.fits.HDUList"}}
    config["datastore", "root"] = datastore_root
    Butler.makeRepo(str(root), config=config, forceConfigRoot=False)
    return Butler.from_config(str(root), writeable=True)


def assert_butler_finds_what_oods_finds(
    config: Path, butler: Butler, exposure: int, timespan: Any, detectors: int, collection: str
) -> set[str]:
    """For each detector, the bias ``oods calib find`` chooses for ``exposure`` is the one
    the Butler's ``find_dataset`` finds over its timespan; returns the ids chosen."""
    chosen_ids: set[str] = set()
    for detector in range(detectors):
        chosen = run(
            config,
            *("calib", "find", "--exposure", str(exposure), "--detector", str(detector)),
            *("--collections", collection, "--type", "bias", "--format", "json"),
        )
        assert chosen.exit_code == 0, chosen.output
        (match,) = json.loads(chosen.output)
        ref = butler.find_dataset(
            "bias",
            instrument="LSSTCam",
            detector=detector,
            collections=collection,
            timespan=timespan,
        )
        assert ref is not None and str(ref.id) == match["calibration_id"]
        chosen_ids.add(match["calibration_id"])
    return chosen_ids


#: Where ``fill_night_and_biases`` certifies its biases, and their run.
CALIB_RUN = "LSSTCam/calib/20250601"
CALIB_COLLECTION = "LSSTCam/calib"


def fill_night_and_biases(
    site: Site, tmp_path: Path, detectors: int, exposures: int = 4, seed: int = 3
) -> list[str]:
    """A night of raws and a certified bias per detector in ``site``; the bias ids."""
    night = simulate_night(
        tmp_path / f"night{seed}", detectors=detectors, exposures=exposures, seed=seed, size=16
    )
    assert not ingest(site, night.files).failed
    ids = []
    for detector in range(detectors):
        path = tmp_path / "bias" / f"bias_{detector}.fits"
        path.parent.mkdir(parents=True, exist_ok=True)
        data = np.random.default_rng(detector).normal(size=(8, 8)).astype(np.float32)
        fits.PrimaryHDU(data).writeto(path)
        report = ingest_calibrations(
            site, [path], "bias", CALIB_RUN, instrument="LSSTCam", detector=detector
        )
        ids.extend(r.dataset_id for r in report.ingested)
    certify(site.store, CALIB_COLLECTION, ids, dt.datetime(2025, 6, 1, tzinfo=dt.UTC), None)
    site.refresh()
    return ids


#: The options ``oods export`` and a push to ``butler:`` take to use this module's
#: formatter and storage class for raws and biases.
BUTLER_OPTIONS = (
    "--formatter",
    FORMATTER,
    "--calibration-formatter",
    FORMATTER,
    "--storage-class",
    f"raw={STORAGE_CLASS}",
    "--storage-class",
    f"bias={STORAGE_CLASS}",
)
