"""What a test Butler repository needs to hold OODS's FITS files (obs_lsst is not on PyPI).

The real instruments' formatters live in obs_lsst, which is not installable from PyPI, so
a test repository declares its own storage class (an astropy ``HDUList``) and reads the
files with ``FitsBytesFormatter``. Import and ``butler.get`` import the formatter by its
dotted name, so it lives in an importable module (this one), not in a test function.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from astropy.io import fits
from lsst.daf.butler import Butler, Config, FormatterV2
from lsst.resources import ResourcePath

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
