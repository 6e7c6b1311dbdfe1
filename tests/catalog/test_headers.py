"""Reading headers: structure checks that keep bad files out, pixels never loaded."""

from __future__ import annotations

import io
import warnings
from pathlib import Path

import numpy as np
import pytest
from astropy.io import fits
from hypothesis import example, given, settings
from hypothesis import strategies as st

from catalog import HeaderError, NotFitsError, read_header
from catalog._cards import parse_cards


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
def test_truncation_inside_an_hdu_is_refused(cut: int, tmp_path: Path) -> None:
    data = _fits_bytes(extensions=2, side=40)
    with pytest.raises(NotFitsError, match="truncated") as info:
        read_header(data[:cut], "cut.fits")
    assert info.value.source == "cut.fits"
    (tmp_path / "cut.fits").write_bytes(data[:cut])
    with open(tmp_path / "cut.fits", "rb") as file, pytest.raises(NotFitsError, match="truncated"):
        read_header(file, "cut.fits")  # a file object is read at its header blocks only


def test_file_objects_read_as_bytes_do(tmp_path: Path) -> None:
    path = tmp_path / "x.fits"
    path.write_bytes(_fits_bytes(extensions=3, side=30))
    with open(path, "rb") as file:
        assert read_header(file, "x.fits") == read_header(path.read_bytes(), "x.fits")


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
            assert exc.reason.isprintable(), exc.reason  # one line, whatever the bytes


def _astropy_values(header: fits.Header) -> dict[str, object]:
    return {
        key: (None if isinstance(value, type(fits.card.UNDEFINED)) else value)
        for key, value in header.items()
        if key not in ("COMMENT", "HISTORY", "")
    }


def _header_bytes(cards: list[fits.Card]) -> bytes:
    return fits.Header(cards).tostring().encode("ascii")


def test_fast_cards_equal_astropy_on_simulated_and_corpus_headers(tmp_path: Path) -> None:
    from oods.simulate import simulate_night
    from tests.catalog.corpus import corpus_files, write_corpus_fits

    paths = simulate_night(tmp_path, detectors=2, exposures=4, seed=1, size=4).files
    paths += [write_corpus_fits(f, tmp_path / f"{f.stem}.fits") for f in corpus_files()]
    for path in paths:
        header = fits.getheader(path)
        fast = parse_cards(header.tostring().encode("ascii"))
        assert fast is not None, path.name  # raws stay on the fast path
        assert fast == _astropy_values(header), path.name


_keywords = st.text(alphabet="ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_", min_size=1, max_size=8)
_values = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(10**15), max_value=10**15),
    st.floats(allow_nan=False, allow_infinity=False, width=64),
    st.text(alphabet=st.characters(min_codepoint=32, max_codepoint=126), max_size=60),
)


@settings(max_examples=300, deadline=None)
@given(st.lists(st.tuples(_keywords, _values, st.booleans()), max_size=12))
@example([("0", "'/", False)])  # astropy reads '''/' as a lone quote
def test_fast_cards_agree_with_astropy_or_defer(cards: list[tuple[str, object, bool]]) -> None:
    built = []
    for keyword, value, hierarch in cards:
        name = f"HIERARCH {keyword} X" if hierarch else keyword
        if keyword in ("COMMENT", "HISTORY", "END", "CONTINUE"):
            continue
        built.append(fits.Card(name, fits.card.UNDEFINED if value is None else value))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        header = fits.Header(built)
        data = header.tostring().encode("ascii")
        fast = parse_cards(data)
        if fast is not None:  # None means: astropy reads this one
            assert fast == _astropy_values(fits.Header.fromstring(data.decode()))


def test_fast_cards_defer_what_they_do_not_know() -> None:
    long_string = fits.Card("LONGSTR", "x" * 100)  # written with CONTINUE cards
    assert parse_cards(_header_bytes([long_string])) is None
    assert parse_cards(_header_bytes([fits.Card("CPLX", complex(1, 2))])) is None
    assert parse_cards(b"NOEND   = 1" + b" " * 69) is None
    end = b"END".ljust(80)
    # Bytes FITS forbids in a header, which astropy refuses: never read past.
    assert parse_cards(b"X       = 'a\x01b'".ljust(80) + end) is None
    assert parse_cards(b"X       = 1\t/ tab".ljust(80) + end) is None
    assert parse_cards(b"X       = 'caf\xc3\xa9'".ljust(80) + end) is None
    # An END card with something after it, a cut card, a non-standard keyword.
    assert parse_cards(b"X       = 1".ljust(80) + b"END     = 5".ljust(80)) is None
    assert parse_cards(b"X       = 1".ljust(80) + end[:20]) is None
    assert parse_cards(b"a.b     = 1".ljust(80) + end) is None
    assert parse_cards(b"X       = 1".ljust(80) + end) == {"X": 1}
