"""Reading raw headers without loading pixels, and translating them into records."""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

from astropy.io import fits

from ._cards import parse_cards
from .errors import NotFitsError, UnknownInstrumentError
from .records import Translation
from .translators import TRANSLATORS

BLOCK = 2880
CARD = 80
_NOT_VALUES = ("COMMENT", "HISTORY", "")


def read_header(data: bytes, source: str) -> dict[str, Any]:
    """The primary header of a FITS file held in ``data``, as a plain dict.

    Only headers are parsed; every HDU's declared data size is checked against the
    bytes present, so a truncated file is refused here rather than served later.

    Raises:
        NotFitsError: empty, not FITS, or shorter than its headers declare.
    """
    if not data:
        raise NotFitsError(source, "empty file (0 bytes)")
    if not data.startswith(b"SIMPLE  ="):
        raise NotFitsError(source, "not a FITS file (no SIMPLE card at the start)")
    primary_end, primary_data = _scan_header(data, 0, source)
    header = parse_cards(data[:primary_end])
    if header is None:  # beyond the plain cards of raws: astropy reads it
        header = _read_with_astropy(data[:primary_end], source)
    offset = primary_end + _padded(primary_data)
    _check_size(data, offset, source, "primary HDU")
    index = 1
    while data.startswith(b"XTENSION", offset):
        end, size = _scan_header(data, offset, source)
        offset = end + _padded(size)
        _check_size(data, offset, source, f"HDU {index}")
        index += 1
    return header


def _read_with_astropy(header: bytes, source: str) -> dict[str, Any]:
    try:
        parsed = fits.Header.fromstring(header.decode("ascii"))
        return {
            key: (None if isinstance(value, type(fits.card.UNDEFINED)) else value)
            for key, value in parsed.items()
            if key not in _NOT_VALUES
        }
    except (UnicodeDecodeError, ValueError) as exc:
        raise NotFitsError(source, f"unreadable primary header: {exc}") from None


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


def _padded(size: int) -> int:
    return math.ceil(size / BLOCK) * BLOCK


def _check_size(data: bytes, offset: int, source: str, what: str) -> None:
    if offset > len(data):
        raise NotFitsError(
            source, f"truncated: {what} needs {offset} bytes, the file has {len(data)}"
        )


def _scan_header(data: bytes, start: int, source: str) -> tuple[int, int]:
    """Find the END card of the header at ``start``; return (end offset, data size)."""
    values: dict[str, int] = {}
    pos = start
    while True:
        if pos + BLOCK > len(data):
            raise NotFitsError(source, f"truncated: header at byte {start} has no END card")
        block = data[pos : pos + BLOCK]
        pos += BLOCK
        for i in range(0, BLOCK, CARD):
            card = block[i : i + CARD]
            keyword = card[:8].rstrip()
            if keyword == b"END":
                return pos, _data_size(values, source)
            if card[8:10] == b"= " and (
                keyword in (b"BITPIX", b"NAXIS", b"PCOUNT", b"GCOUNT")
                or keyword.startswith(b"NAXIS")
            ):
                raw = card[10:].split(b"/", 1)[0].strip()
                try:
                    values[keyword.decode()] = int(raw)
                except ValueError:
                    raise NotFitsError(
                        source, f"header card {keyword.decode()} is not an integer"
                    ) from None


def _data_size(values: dict[str, int], source: str) -> int:
    naxis = values.get("NAXIS", 0)
    if naxis == 0:
        return 0
    try:
        axes = [values[f"NAXIS{i}"] for i in range(1, naxis + 1)]
    except KeyError as exc:
        raise NotFitsError(source, f"header lacks {exc.args[0]}") from None
    bitpix = abs(values.get("BITPIX", 8))
    return bitpix // 8 * values.get("GCOUNT", 1) * (values.get("PCOUNT", 0) + math.prod(axes))
