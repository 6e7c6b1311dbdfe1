"""astropy's reading of a header: the reference the fast reader is held to.

Values are compared with their types (``1``, ``1.0`` and ``True`` are equal in Python,
not in a header) and in card order; a later duplicate keyword wins, at the place of
its first card, as in ``dict(header.items())``.
"""

from __future__ import annotations

import io
import warnings
from typing import Any

from astropy.io import fits

_COMMENTARY = ("COMMENT", "HISTORY", "")
Typed = list[tuple[str, str, Any]]


def typed(values: dict[str, Any]) -> Typed:
    """Card by card: (keyword, type name, value)."""
    return [(key, type(value).__name__, value) for key, value in values.items()]


def header_values(header: fits.Header) -> dict[str, Any]:
    """The value cards of an astropy header, undefined values as None."""
    return {
        key: (None if isinstance(value, type(fits.card.UNDEFINED)) else value)
        for key, value in header.items()
        if key not in _COMMENTARY
    }


def astropy_file_header(data: bytes) -> tuple[dict[str, Any] | None, list[str]]:
    """The primary header astropy reads from a file's bytes (None if it cannot), and
    the warnings it gave while reading."""
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        try:
            values = header_values(fits.getheader(io.BytesIO(data)))
        except Exception:  # any failure of the reference is "astropy refuses"
            values = None
    return values, [str(w.message) for w in caught]


def astropy_header(raw: bytes) -> tuple[dict[str, Any] | None, list[str]]:
    """What astropy reads from header bytes alone (None if it cannot), with warnings."""
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        try:
            values = header_values(fits.Header.fromstring(raw.decode("ascii")))
        except Exception:
            values = None
    return values, [str(w.message) for w in caught]


def first_header_bytes(data: bytes, limit_blocks: int = 1000) -> bytes | None:
    """The leading blocks of ``data`` up to the block holding the first END card,
    found naively (card by card); None if there is none."""
    for start in range(0, min(len(data), limit_blocks * 2880), 80):
        if data[start : start + 80].rstrip(b" ") == b"END":
            end = start + 80
            return data[: end + (-end % 2880)]
    return None
