"""Reading raw headers without loading pixels, and translating them into records."""

from __future__ import annotations

import math
import os
from collections.abc import Mapping
from typing import Any, BinaryIO

from astropy.io import fits

from ._cards import parse_cards
from .errors import NotFitsError, UnknownInstrumentError
from .records import Translation
from .translators import TRANSLATORS

BLOCK = 2880
CARD = 80
_NOT_VALUES = ("COMMENT", "HISTORY", "")


def read_header(data: bytes | BinaryIO, source: str) -> dict[str, Any]:
    """The primary header of a FITS file, as a plain dict.

    Only headers are read (a file object is read at the header blocks alone, however
    large its pixels); every HDU's declared data size is checked against the bytes
    present, so a truncated file is refused here rather than served later.

    Args:
        data: the file's bytes, or the file opened in binary mode (seekable).
        source: the name to give in errors.

    Raises:
        NotFitsError: empty, not FITS, or shorter than its headers declare.
    """
    reader = _Reader(data)
    if reader.size == 0:
        raise NotFitsError(source, "empty file (0 bytes)")
    if not reader.read_at(0, 9) == b"SIMPLE  =":
        raise NotFitsError(source, "not a FITS file (no SIMPLE card at the start)")
    primary_end, primary_data = _scan_header(reader, 0, source)
    raw = reader.read_at(0, primary_end)
    header = parse_cards(raw)
    if header is None:  # beyond the plain cards of raws: astropy reads it
        header = _read_with_astropy(raw, source)
    offset = primary_end + _padded(primary_data)
    _check_size(reader, offset, source, "primary HDU")
    index = 1
    while reader.read_at(offset, 8) == b"XTENSION":
        end, size = _scan_header(reader, offset, source)
        offset = end + _padded(size)
        _check_size(reader, offset, source, f"HDU {index}")
        index += 1
    return header


def read_primary_header(data: bytes, source: str) -> dict[str, Any]:
    """The primary header from a file's leading bytes (its header blocks at least).

    For files already checked at ingest (re-read from the bucket with a ranged GET):
    the sizes of the data and of later HDUs are not checked.

    Raises:
        NotFitsError: not FITS, or no END card within ``data`` (read more bytes).
    """
    reader = _Reader(data)
    if not reader.read_at(0, 9) == b"SIMPLE  =":
        raise NotFitsError(source, "not a FITS file (no SIMPLE card at the start)")
    end, _ = _scan_header(reader, 0, source)
    raw = reader.read_at(0, end)
    header = parse_cards(raw)
    return header if header is not None else _read_with_astropy(raw, source)


class _Reader:
    """Reads byte ranges from bytes or from a seekable binary file."""

    def __init__(self, data: bytes | BinaryIO) -> None:
        self.data = data
        if isinstance(data, bytes | bytearray | memoryview):
            self.size = len(data)
        else:
            self.size = os.fstat(data.fileno()).st_size

    def read_at(self, offset: int, length: int) -> bytes:
        if isinstance(self.data, bytes | bytearray | memoryview):
            return bytes(self.data[offset : offset + length])
        self.data.seek(offset)
        return self.data.read(length)


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


def _check_size(reader: _Reader, offset: int, source: str, what: str) -> None:
    if offset > reader.size:
        raise NotFitsError(
            source, f"truncated: {what} needs {offset} bytes, the file has {reader.size}"
        )


def _scan_header(reader: _Reader, start: int, source: str) -> tuple[int, int]:
    """Find the END card of the header at ``start``; return (end offset, data size)."""
    values: dict[str, int] = {}
    pos = start
    while True:
        if pos + BLOCK > reader.size:
            raise NotFitsError(source, f"truncated: header at byte {start} has no END card")
        block = reader.read_at(pos, BLOCK)
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
