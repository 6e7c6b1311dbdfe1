"""Reading raw headers without loading pixels, and translating them into records.

The layout of every HDU is checked first (``_layout``: strict, bounded); the primary
header's cards are then read by the fast plain-card reader (``_cards``), or by astropy
when they go beyond the plain cards of camera raws. Both give the same values; a header
that astropy reads only with a warning is refused rather than half-read.
"""

from __future__ import annotations

import warnings
from collections.abc import Mapping
from typing import Any, BinaryIO

from astropy.io import fits
from astropy.utils.exceptions import AstropyWarning

from ._cards import parse_cards
from ._layout import BLOCK, CARD, Reader, check_layout, scan_header
from .errors import NotFitsError, UnknownInstrumentError
from .records import Translation
from .translators import TRANSLATORS

__all__ = ["BLOCK", "CARD", "read_header", "read_primary_header", "translate_header"]

_NOT_VALUES = ("COMMENT", "HISTORY", "")
_MAX_REASON = 200


def read_header(data: bytes | BinaryIO, source: str) -> dict[str, Any]:
    """The primary header of a FITS file, as a plain dict.

    Only headers are read (a file object is read at the header blocks alone, however
    large its pixels); every HDU's declared data size is checked against the bytes
    present, so a truncated file is refused here rather than served later.

    Args:
        data: the file's bytes, or the file opened in binary mode (seekable).
        source: the name to give in errors.

    Raises:
        NotFitsError: empty, not FITS, malformed or shorter than its headers declare.
    """
    reader = Reader(data)
    if reader.size == 0:
        raise NotFitsError(source, "empty file (0 bytes)")
    if not reader.read_at(0, 9) == b"SIMPLE  =":
        raise NotFitsError(source, "not a FITS file (no SIMPLE card at the start)")
    primary = check_layout(reader, source)
    return _header_values(reader.read_at(0, primary.end), source)


def read_primary_header(data: bytes, source: str) -> dict[str, Any]:
    """The primary header from a file's leading bytes (its header blocks at least).

    For files already checked at ingest (re-read from the bucket with a ranged GET):
    the sizes of the data and of later HDUs are not checked.

    Raises:
        NotFitsError: not FITS, or no END card within ``data`` (read more bytes).
    """
    reader = Reader(data)
    if not reader.read_at(0, 9) == b"SIMPLE  =":
        raise NotFitsError(source, "not a FITS file (no SIMPLE card at the start)")
    span = scan_header(reader, 0, source)
    return _header_values(reader.read_at(0, span.end), source)


def _header_values(raw: bytes, source: str) -> dict[str, Any]:
    """Card -> value of a header whose layout is checked (bounded, printable, END)."""
    header = parse_cards(raw)
    return header if header is not None else _read_with_astropy(raw, source)


def _read_with_astropy(header: bytes, source: str) -> dict[str, Any]:
    """What astropy reads, or NotFitsError: a warning is a refusal, not a guess."""
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        try:
            parsed = fits.Header.fromstring(header.decode("ascii"))
            values = {
                key: (None if isinstance(value, type(fits.card.UNDEFINED)) else value)
                for key, value in parsed.items()
                if key not in _NOT_VALUES
            }
        # astropy raises many kinds (ValueError, VerifyError, IndexError...) on
        # malformed cards; each is one more way for a file to be unreadable.
        except Exception as exc:
            raise NotFitsError(
                source, f"unreadable primary header: {_one_line(str(exc))}"
            ) from None
    for warning in caught:
        if issubclass(warning.category, AstropyWarning):
            reason = _one_line(str(warning.message))
            raise NotFitsError(source, f"primary header is not valid FITS: {reason}")
    return values


def _one_line(message: str) -> str:
    """astropy's multi-line messages as one line, without its advice to call .verify."""
    message = message.split(", fix it first with")[0]
    text = " ".join(message.split())
    return text if len(text) <= _MAX_REASON else text[: _MAX_REASON - 1] + "…"


def translate_header(header: Mapping[str, Any], source: str) -> Translation:
    """Translate a raw header with the first translator that claims it.

    Raises:
        UnknownInstrumentError: no translator recognises the header.
        HeaderError: the translator found a key missing or malformed.
    """
    for translator in TRANSLATORS:
        if translator.can_translate(header):
            return translator(header, source).translate()
    instrument = header.get("INSTRUME")
    raise UnknownInstrumentError(source, None if instrument is None else str(instrument))
