"""Reading headers: structure checks that keep bad files out, pixels never loaded."""

from __future__ import annotations

import io

import numpy as np
import pytest
from astropy.io import fits
from hypothesis import given, settings
from hypothesis import strategies as st

from catalog import HeaderError, NotFitsError, read_header


def _fits_bytes(extensions: int = 1, side: int = 8) -> bytes:
    primary = fits.PrimaryHDU()
    primary.header["INSTRUME"] = "LSSTCam"
    primary.header["HIERARCH STUTTER ROWS"] = 3
    primary.header["SEEING"] = None
    hdus = [primary] + [fits.ImageHDU(np.zeros((side, side), np.int32)) for _ in range(extensions)]
    buffer = io.BytesIO()
    fits.HDUList(hdus).writeto(buffer)
    return buffer.getvalue()


def test_primary_header_values() -> None:
    header = read_header(_fits_bytes(), "x.fits")
    assert header["INSTRUME"] == "LSSTCam"
    assert header["STUTTER ROWS"] == 3
    assert header["SEEING"] is None  # an undefined card reads as None


# A cut exactly at an HDU boundary leaves a valid, shorter FITS file: only a count of
# extensions declared in the header could tell, and raw headers do not all carry one.
@pytest.mark.parametrize("cut", [100, 2880 + 100, 2880 * 2 + 10, -1])
def test_truncation_inside_an_hdu_is_refused(cut: int) -> None:
    data = _fits_bytes(extensions=2, side=40)
    with pytest.raises(NotFitsError, match="truncated") as info:
        read_header(data[:cut], "cut.fits")
    assert info.value.source == "cut.fits"


def test_not_fits_and_empty() -> None:
    with pytest.raises(NotFitsError, match="empty file"):
        read_header(b"", "e.fits")
    with pytest.raises(NotFitsError, match="not a FITS file"):
        read_header(b"PK\x03\x04 zip" * 400, "z.fits")


@settings(max_examples=200, deadline=None)
@given(st.binary(max_size=6000), st.integers(min_value=0, max_value=8000))
def test_garbage_gives_a_header_or_a_header_error(noise: bytes, cut: int) -> None:
    data = _fits_bytes()
    for candidate in (noise, b"SIMPLE  =" + noise, data[:cut] + noise):
        try:
            read_header(candidate, "fuzz.fits")
        except HeaderError as exc:
            assert exc.source == "fuzz.fits"
