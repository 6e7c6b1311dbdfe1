"""The fast header reader against astropy, on real, generated and hostile files.

The plain-card reader is worth keeping only if it is as strict as astropy: on every
file, ``read_header`` either refuses it or gives what astropy gives, card for card and
type for type; and ``parse_cards`` on its own either defers (None) or agrees with
astropy reading the same header bytes without a warning.
"""

from __future__ import annotations

import io
import warnings
from pathlib import Path

import numpy as np
import pytest
from astropy.io import fits
from hypothesis import given, settings
from hypothesis import strategies as st

from catalog import NotFitsError, read_header
from catalog._cards import parse_cards
from tests.catalog.hostile_corpus import cases
from tests.catalog.reference import (
    astropy_file_header,
    astropy_header,
    first_header_bytes,
    typed,
)


def assert_agrees_or_refuses(data: bytes, name: str) -> str:
    """Check one file both ways; return "agreed" or "refused" (for the counts)."""
    raw = first_header_bytes(data)
    if raw is not None:
        fast = parse_cards(raw)
        if fast is not None:
            reference, warned = astropy_header(raw)
            assert reference is not None and not warned, (name, warned)
            assert typed(fast) == typed(reference), name
    try:
        ours = read_header(data, name)
    except NotFitsError as exc:
        assert exc.source == name
        return "refused"
    reference, warned = astropy_file_header(data)
    assert reference is not None, f"{name}: accepted here, astropy cannot read it"
    assert not warned, (name, warned)
    assert typed(ours) == typed(reference), name
    return "agreed"


def test_real_headers_agree(tmp_path: Path) -> None:
    from oods.simulate import simulate_night
    from tests.catalog.corpus import corpus_files, write_corpus_fits

    paths = simulate_night(tmp_path, detectors=2, exposures=4, seed=1, size=4).files
    corpus = [write_corpus_fits(f, tmp_path / f"{f.stem}.fits") for f in corpus_files()]
    assert corpus, "the real-header corpus is missing"
    paths += corpus
    for path in paths:
        data = path.read_bytes()
        assert assert_agrees_or_refuses(data, path.name) == "agreed", path.name
        assert parse_cards(first_header_bytes(data) or b"") is not None  # the fast path


def _astropy_written() -> dict[str, bytes]:
    """Files of kinds astropy writes that raws seldom are: tables, compressed images,
    long strings (CONTINUE), HIERARCH keys, odd values."""
    primary = fits.PrimaryHDU()
    primary.header["LONGSTR"] = "a long value " * 20
    primary.header["HIERARCH ESO DET CHIP NAME"] = "CCD-1"
    primary.header["CPLX"] = complex(1, -2)
    primary.header["NEGZERO"] = -0.0
    primary.header["BIG"] = 10**17
    primary.header["QUOTE"] = "it's"
    primary.header["BLANKS"] = "   "
    table = fits.BinTableHDU.from_columns(
        [fits.Column("x", "E", array=np.arange(5, dtype=np.float32)), fits.Column("s", "5A")]
    )
    variable = fits.BinTableHDU.from_columns(
        [fits.Column("v", "PJ()", array=np.array([[1, 2], [3]], dtype=object))]
    )
    compressed = fits.CompImageHDU(np.arange(400, dtype=np.int32).reshape(20, 20))
    files = {}
    for name, hdus in {
        "odd_primary.fits": [primary],
        "tables.fits": [fits.PrimaryHDU(), table, variable],
        "compressed.fits.fz": [fits.PrimaryHDU(), compressed],
        "image_primary.fits": [fits.PrimaryHDU(np.ones((3, 5), np.float64))],
    }.items():
        buffer = io.BytesIO()
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # astropy notes the card it shortened
            fits.HDUList(hdus).writeto(buffer)
        files[name] = buffer.getvalue()
    return files


@pytest.mark.parametrize("name", sorted(_astropy_written()))
def test_astropy_written_files_agree(name: str) -> None:
    assert assert_agrees_or_refuses(_astropy_written()[name], name) == "agreed"


def test_hostile_files_agree_or_are_refused() -> None:
    outcomes = {"agreed": 0, "refused": 0}
    for case in cases():
        outcomes[assert_agrees_or_refuses(case.data, case.name)] += 1
    assert outcomes["agreed"] >= 40 and outcomes["refused"] >= 300, outcomes


_printable_card = st.text(
    alphabet=st.characters(min_codepoint=32, max_codepoint=126), min_size=80, max_size=80
)
_value_text = st.sampled_from(
    ["1", "-1", "+1", "1.", ".5", "1E5", "1e5", "1D-3", "T", "F", "'x'", "''", "'a''b'",
     "'  '", "", "/ c", "1 / c", "'x' / c", "1 2", "abc", "'open", "(1, 2)", "NaN", "0x1"]
)  # fmt: skip


@settings(max_examples=300, deadline=None)
@given(
    position=st.integers(min_value=0, max_value=20),
    keyword=st.sampled_from(["X", "AB-C_9", "HIERARCH A B", "x", "A.B", "COMMENT", "END"]),
    value=_value_text,
    raw=_printable_card,
    use_raw=st.booleans(),
)
def test_one_card_changed_agrees_or_is_refused(
    position: int, keyword: str, value: str, raw: str, use_raw: bool
) -> None:
    base = _astropy_written()["image_primary.fits"]
    if use_raw:
        new = raw.encode()
    elif keyword.startswith("HIERARCH"):
        new = f"{keyword} = {value}".encode().ljust(80)[:80]
    else:
        new = f"{keyword:<8}= {value}".encode().ljust(80)[:80]
    at = position * 80
    assert_agrees_or_refuses(base[:at] + new + base[at + 80 :], "card.fits")
