"""The HDU layout of a FITS file: where each header ends and how much data follows it.

This walk is what stands between a hostile file and the rest of ingest, so it is
strict where astropy is lenient and bounded where a naive reader is not:

- a header is printable ASCII, at most ``MAX_HEADER_BLOCKS`` blocks, and ends in an
  END card before any other HDU starts (a primary header without END followed by an
  extension is refused, not merged with it);
- the structural cards (BITPIX, NAXIS, NAXISn, PCOUNT, GCOUNT) are present once each,
  plain integers, and in range: the data size is never negative, so the walk always
  moves forward and ends, however the file was crafted;
- every declared data size is checked against the bytes present.
"""

from __future__ import annotations

import dataclasses
import os
import re
from typing import BinaryIO

from .errors import NotFitsError

BLOCK = 2880
CARD = 80
CARDS_PER_BLOCK = BLOCK // CARD
#: A header longer than this is refused: camera raws use a few blocks, and a reader
#: must not spend seconds and gigabytes on a crafted 100 MB header.
MAX_HEADER_BLOCKS = 1000
MAX_HEADER_CARDS = MAX_HEADER_BLOCKS * CARDS_PER_BLOCK
BITPIX_VALUES = (8, 16, 32, 64, -32, -64)
MAX_NAXIS = 999  # the FITS standard's limit
#: No size, count or axis length in a real file comes near a signed 64-bit integer.
MAX_INTEGER = 2**63 - 1

_PRINTABLE = bytes(range(32, 127))
_INTEGER = re.compile(rb"[+-]?[0-9]+")
_NAXIS_N = re.compile(rb"NAXIS[1-9][0-9]{0,2}")
_SIZE_CARDS = (b"BITPIX", b"NAXIS", b"PCOUNT", b"GCOUNT")
_HDU_STARTS = (b"SIMPLE", b"XTENSION")


class Reader:
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


@dataclasses.dataclass(frozen=True)
class HeaderSpan:
    """One header: its first byte, the byte after its last block, its data's size."""

    start: int
    end: int
    data_size: int

    @property
    def next_hdu(self) -> int:
        """Where the next HDU starts: after the data, padded to whole blocks."""
        return self.end + padded(self.data_size)


def padded(size: int) -> int:
    """``size`` rounded up to whole blocks (integers only: sizes can be huge)."""
    return -(-size // BLOCK) * BLOCK


def check_layout(reader: Reader, source: str) -> HeaderSpan:
    """Walk every HDU of a file; return the primary header's span.

    Raises:
        NotFitsError: the first problem found, in one line.
    """
    primary = scan_header(reader, 0, source)
    _check_size(reader, primary.next_hdu, source, "primary HDU")
    offset, index = primary.next_hdu, 1
    while (lead := reader.read_at(offset, 8)) == b"XTENSION":
        span = scan_header(reader, offset, source)
        offset = span.next_hdu
        _check_size(reader, offset, source, f"HDU {index}")
        index += 1
    if lead and b"XTENSION".startswith(lead):  # what is left of a cut extension header
        raise NotFitsError(
            source, f"truncated: HDU {index} at byte {offset} stops after {len(lead)} bytes"
        )
    return primary


def scan_header(reader: Reader, start: int, source: str) -> HeaderSpan:
    """Find the END card of the header at ``start`` and the size of the data after it.

    The header must begin with SIMPLE (at byte 0) or XTENSION (elsewhere).
    """
    primary = start == 0
    values: dict[bytes, int] = {}
    groups = False
    for block_index in range(MAX_HEADER_BLOCKS):
        pos = start + block_index * BLOCK
        if pos + BLOCK > reader.size:
            raise NotFitsError(
                source, f"truncated: header at byte {start} has no END card before the file ends"
            )
        block = reader.read_at(pos, BLOCK)
        if block.translate(None, _PRINTABLE):
            raise NotFitsError(source, _unprintable(block, start, pos, block_index))
        for i in range(0, BLOCK, CARD):
            card = block[i : i + CARD]
            keyword = card[:8].rstrip(b" ")
            number = block_index * CARDS_PER_BLOCK + i // CARD + 1
            if number == 1:
                _check_first_card(card, primary, source)
                continue
            if keyword == b"END":
                if card[3:].strip(b" ") or block[i + CARD :].strip(b" "):
                    raise NotFitsError(
                        source, f"header at byte {start}: its END card is not followed by blanks"
                    )
                size = _data_size(values, groups, primary, start, source)
                return HeaderSpan(start, pos + BLOCK, size)
            if keyword in _HDU_STARTS:
                raise NotFitsError(
                    source,
                    f"header at byte {start} has no END card before the "
                    f"{keyword.decode()} card at byte {pos + i}",
                )
            if keyword in _SIZE_CARDS or _NAXIS_N.fullmatch(keyword):
                if keyword in values:
                    raise NotFitsError(
                        source, f"header at byte {start} has {keyword.decode()} twice"
                    )
                values[keyword] = _integer(card, keyword, start, source)
            elif primary and keyword == b"GROUPS":
                groups = _value(card) == b"T"
    raise NotFitsError(
        source,
        f"header at byte {start} has no END card within {MAX_HEADER_BLOCKS} blocks "
        f"({MAX_HEADER_CARDS} cards), the most a header may have",
    )


def _check_first_card(card: bytes, primary: bool, source: str) -> None:
    if primary:
        if card[:10] != b"SIMPLE  = " or _value(card) != b"T":
            raise NotFitsError(source, "not a standard FITS file (SIMPLE is not T)")
    elif card[:10] != b"XTENSION= ":
        raise NotFitsError(source, "extension header does not start with XTENSION")


def _unprintable(block: bytes, start: int, pos: int, block_index: int) -> str:
    i = next(i for i, b in enumerate(block) if not 32 <= b <= 126)
    number = block_index * CARDS_PER_BLOCK + i // CARD + 1
    return (
        f"header at byte {start}: byte 0x{block[i]:02x} at byte {pos + i} (card {number}) "
        "is not printable ASCII, as FITS headers must be"
    )


def _value(card: bytes) -> bytes:
    """The value field of a card, without its comment."""
    return card[10:].split(b"/", 1)[0].strip(b" ")


def _integer(card: bytes, keyword: bytes, start: int, source: str) -> int:
    name = keyword.decode()
    if card[8:10] != b"= ":
        raise NotFitsError(source, f"header at byte {start}: {name} card has no value")
    raw = _value(card)
    if not _INTEGER.fullmatch(raw):
        raise NotFitsError(source, f"header at byte {start}: {name} is not an integer")
    value = int(raw)
    if keyword == b"BITPIX":
        if value not in BITPIX_VALUES:
            raise NotFitsError(
                source,
                f"header at byte {start}: BITPIX {value} is not one of "
                f"{', '.join(map(str, BITPIX_VALUES))}",
            )
    elif keyword == b"NAXIS":
        if not 0 <= value <= MAX_NAXIS:
            raise NotFitsError(
                source, f"header at byte {start}: NAXIS {value} is not between 0 and {MAX_NAXIS}"
            )
    elif not 0 <= value <= MAX_INTEGER:
        raise NotFitsError(
            source, f"header at byte {start}: {name} {value} is negative or absurdly large"
        )
    return value


def _data_size(
    values: dict[bytes, int], groups: bool, primary: bool, start: int, source: str
) -> int:
    """Bytes of data after a header: |BITPIX|/8 x GCOUNT x (PCOUNT + NAXIS1 x ... x NAXISn)."""
    required = (b"BITPIX", b"NAXIS") if primary else _SIZE_CARDS
    for keyword in required:
        if keyword not in values:
            raise NotFitsError(source, f"header at byte {start} lacks {keyword.decode()}")
    naxis = values[b"NAXIS"]
    axes = []
    for n in range(1, naxis + 1):
        length = values.get(b"NAXIS%d" % n)
        if length is None:
            raise NotFitsError(source, f"header at byte {start} lacks NAXIS{n}")
        axes.append(length)
    if not axes:
        return 0
    counted = not primary or groups  # a primary image has no PCOUNT or GCOUNT to heed
    if primary and groups and axes[0] == 0:  # random groups: NAXIS1 = 0 is a marker
        axes = axes[1:]
    elements = 1
    for length in axes:
        elements *= length
    pcount = values.get(b"PCOUNT", 0) if counted else 0
    gcount = values.get(b"GCOUNT", 1) if counted else 1
    return abs(values[b"BITPIX"]) // 8 * gcount * (pcount + elements)


def _check_size(reader: Reader, offset: int, source: str, what: str) -> None:
    if offset <= reader.size:
        return
    needs = f"{offset} bytes" if offset <= MAX_INTEGER else "more than 2**63 bytes"
    raise NotFitsError(source, f"truncated: {what} needs {needs}, the file has {reader.size}")
