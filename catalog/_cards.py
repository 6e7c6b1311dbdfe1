"""A fast reader for the plain header cards that camera raws carry.

astropy parses a card lazily through several layers of verification, which costs about
a millisecond per raw header — as much as uploading a small file. Raw headers use a
small subset of FITS: strings, logicals, integers, reals, undefined values and
HIERARCH keys. This reader handles exactly that subset and returns None for anything
else (CONTINUE, complex values, malformed cards), so that astropy, the reference, reads
those headers instead.
"""

from __future__ import annotations

import re
from typing import Any

_CARD = 80
_END = "END".ljust(_CARD)
_COMMENTARY = {"COMMENT", "HISTORY", ""}
_KEYWORD = re.compile(r"[A-Z0-9_-]{1,8}")  # the FITS standard's keyword characters
_PRINTABLE = bytes(range(32, 127))
_INTEGER = re.compile(r"[+-]?\d+")
_REAL = re.compile(r"[+-]?(\d+\.?\d*|\.\d+)([EeDd][+-]?\d+)?")


def parse_cards(header: bytes) -> dict[str, Any] | None:
    """Card -> value for a header ending in an END card, or None if astropy must read it.

    Values follow astropy's reading: strings lose trailing blanks, T/F are bools,
    undefined values are None; a later duplicate card wins, as in ``dict(header.items())``.
    """
    if len(header) % _CARD or header.translate(None, _PRINTABLE):
        return None  # a cut card, or a byte FITS does not allow: astropy says what
    text = header.decode("ascii")
    values: dict[str, Any] = {}
    for start in range(0, len(text), _CARD):
        card = text[start : start + _CARD]
        keyword = card[:8].rstrip()
        if keyword == "END":
            return values if card == _END else None  # "END = 5" is no END card
        if keyword in _COMMENTARY:
            continue
        if keyword == "HIERARCH":
            name, sep, field = card[9:].partition("=")
            name = name.strip()
            if not sep or not name:
                return None
        elif card[8:10] == "= " and _KEYWORD.fullmatch(keyword):
            name, field = keyword, card[10:]
        else:
            return None  # CONTINUE, a value card without '= ', a non-standard keyword
        value = _parse_value(field)
        if value is _UNPARSED:
            return None
        values[name] = value
    return None


_UNPARSED = object()


def _parse_value(field: str) -> Any:
    field = field.lstrip()
    if field.startswith("'"):
        return _parse_string(field)
    token = field.split("/", 1)[0].strip()
    if not token:
        return None
    if token == "T":
        return True
    if token == "F":
        return False
    if _INTEGER.fullmatch(token):
        return int(token)
    if _REAL.fullmatch(token):
        return float(token.replace("D", "E").replace("d", "e"))
    return _UNPARSED


def _parse_string(field: str) -> Any:
    """A plain quoted string. One holding an escaped quote goes to astropy: its reading
    of a doubled quote next to a slash or a blank is its own (astropy is the reference)."""
    end = field.find("'", 1)
    if end < 0 or field.startswith("''", end):
        return _UNPARSED  # no closing quote, or an escaped one
    rest = field[end + 1 :].strip()
    if rest and not rest.startswith("/"):
        return _UNPARSED
    return field[1:end].rstrip()
