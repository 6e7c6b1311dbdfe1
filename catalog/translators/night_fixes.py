"""obs_lsst's header fixes for given nights and sequence ranges, read from data.

obs_lsst keeps adding rules of the form "on night N, exposures a..b, card K should have
been V". They live in ``night_fixes.toml`` beside this module, so that following a new
obs_lsst commit means editing that file; this module only reads and checks it, and
says which fixes match a header.
"""

from __future__ import annotations

import dataclasses
import functools
import tomllib
from collections.abc import Mapping
from importlib import resources
from typing import Any

_DATA_FILE = "night_fixes.toml"
_FIELDS = {"nights", "seq_num", "when", "set", "ticket", "why"}


@dataclasses.dataclass(frozen=True)
class NightFix:
    """Cards to correct on some nights, optionally for some sequence numbers only."""

    nights: frozenset[int]
    #: Inclusive (first, last) SEQNUM ranges; empty means the whole night.
    seq_ranges: tuple[tuple[int, int], ...]
    #: Cards that must already hold these values for the fix to apply.
    when: Mapping[str, Any]
    #: The corrected cards.
    cards: Mapping[str, Any]
    ticket: str = ""
    why: str = ""

    def applies(self, header: Mapping[str, Any], day_obs: int | None, seq_num: int | None) -> bool:
        """Whether this fix is for ``header`` (its night, sequence number and cards)."""
        if day_obs not in self.nights:
            return False
        in_range = seq_num is not None and any(lo <= seq_num <= hi for lo, hi in self.seq_ranges)
        if self.seq_ranges and not in_range:
            return False
        return all(header.get(card) == value for card, value in self.when.items())


@dataclasses.dataclass(frozen=True)
class NightFixes:
    """Every camera's night fixes, and the obs_lsst commit they were copied from."""

    obs_lsst_commit: str
    by_instrument: Mapping[str, tuple[NightFix, ...]]

    def for_instrument(self, instrument: str) -> tuple[NightFix, ...]:
        return self.by_instrument.get(instrument, ())


def parse_night_fixes(text: str, source: str = _DATA_FILE) -> NightFixes:
    """Read and check a night-fixes TOML document.

    Raises:
        ValueError: the document is not TOML, or an entry is malformed; the message
            names ``source``, the instrument and the entry number.
    """
    try:
        document = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ValueError(f"{source}: not TOML: {exc}") from None
    commit = document.pop("obs_lsst_commit", None)
    if not isinstance(commit, str) or len(commit) != 40:
        raise ValueError(f"{source}: obs_lsst_commit must be a full 40-character hash")
    by_instrument = {}
    for instrument, entries in document.items():
        if not isinstance(entries, list):
            raise ValueError(f"{source}: {instrument} must be an array of tables [[{instrument}]]")
        by_instrument[instrument] = tuple(
            _entry(entry, f"{source}: {instrument} entry {number}")
            for number, entry in enumerate(entries, start=1)
        )
    return NightFixes(commit, by_instrument)


def _entry(entry: Any, where: str) -> NightFix:
    if not isinstance(entry, dict):
        raise ValueError(f"{where}: not a table")
    unknown = set(entry) - _FIELDS
    if unknown:
        raise ValueError(f"{where}: unknown fields {sorted(unknown)}")
    nights = entry.get("nights")
    if not isinstance(nights, list) or not nights or not all(_is_day_obs(n) for n in nights):
        raise ValueError(f"{where}: nights must be a non-empty list of YYYYMMDD integers")
    ranges = entry.get("seq_num", [])
    if not isinstance(ranges, list) or not all(_is_range(r) for r in ranges):
        raise ValueError(f"{where}: seq_num must be a list of [first, last] pairs, first <= last")
    cards = entry.get("set")
    if not isinstance(cards, dict) or not cards:
        raise ValueError(f"{where}: set must be a non-empty table of card = value")
    when = entry.get("when", {})
    if not isinstance(when, dict):
        raise ValueError(f"{where}: when must be a table of card = value")
    return NightFix(
        nights=frozenset(nights),
        seq_ranges=tuple((lo, hi) for lo, hi in ranges),
        when=dict(when),
        cards=dict(cards),
        ticket=str(entry.get("ticket", "")),
        why=str(entry.get("why", "")),
    )


def _is_day_obs(value: Any) -> bool:
    return type(value) is int and 10_000_000 <= value <= 99_999_999


def _is_range(value: Any) -> bool:
    return (
        isinstance(value, list)
        and len(value) == 2
        and all(type(v) is int for v in value)
        and 0 <= value[0] <= value[1]
    )


@functools.cache
def night_fixes() -> NightFixes:
    """The fixes shipped with this package (read once)."""
    text = resources.files(__package__).joinpath(_DATA_FILE).read_text(encoding="utf-8")
    return parse_night_fixes(text)
