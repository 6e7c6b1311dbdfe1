"""The retention classes of a site, from the ``[retention]`` section of its config file.

Every raw is tagged ``oods-retention=hold`` at ingest; ``hold`` and ``pinned`` never
expire. Each other class expires after its number of days (or on a fixed date)::

    [retention]
    classes = { cache = 30, scratch = 7 }   # days; or a date: scratch = 2020-01-01
    release_to = "cache"                    # the class a verified release moves to
    capacity = "2TB"                        # optional; else the server's own disks
    high_water = "90%"                      # `oods serve` evicts above this ...
    low_water = "80%"                       # ... down to this

Without the section: ``cache`` = 30 days, release to ``cache``, no capacity.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import os
import re
import tomllib
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from .errors import ConfigError

#: Never expires: raws the archive does not yet hold. Only ``release`` leaves it.
HOLD = "hold"
#: Never expires: kept by an operator's decision (``oods retention pin``).
PINNED = "pinned"
FIXED_CLASSES = (HOLD, PINNED)
DEFAULT_CLASSES: Mapping[str, int | dt.date] = {"cache": 30}
DEFAULT_RELEASE_TO = "cache"

_CLASS = re.compile(r"^[a-z][a-z0-9-]{0,31}$")
_SIZE = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*([KMGTP]?i?B?)\s*$", re.IGNORECASE)
_UNITS = {"": 1, "K": 10**3, "M": 10**6, "G": 10**9, "T": 10**12, "P": 10**15}
_KEYS = {"classes", "release_to", "capacity", "high_water", "low_water"}


@dataclasses.dataclass(frozen=True)
class RetentionSettings:
    """The expiring classes (name -> days, or a date) and the capacity marks."""

    classes: Mapping[str, int | dt.date] = dataclasses.field(
        default_factory=lambda: dict(DEFAULT_CLASSES)
    )
    release_to: str = DEFAULT_RELEASE_TO
    capacity: int | None = None  # bytes; None: the server's own disk usage
    high_water: float = 0.9
    low_water: float = 0.8

    def is_expiring(self, name: str | None) -> bool:
        return name is not None and name in self.classes


def load_retention(path: Path | str | None = None) -> RetentionSettings:
    """The ``[retention]`` section of the config file ``load_config`` would read.

    The defaults when there is no file or no section.

    Raises:
        ConfigError: an unknown key, a bad class name, days or size (named, with the file).
    """
    path = path or os.environ.get("OODS_CONFIG")
    if path is None and Path("oods.toml").exists():
        path = "oods.toml"
    if path is None:
        return RetentionSettings()
    try:
        section = tomllib.loads(Path(path).read_text(encoding="utf-8")).get("retention", {})
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as exc:
        raise ConfigError(f"{path}: cannot read config: {exc}") from None
    return parse_retention(section, f"{path} [retention]")


def parse_retention(section: Any, where: str) -> RetentionSettings:
    """``section`` (a TOML table) checked into settings; errors name ``where``."""
    if not isinstance(section, dict):
        raise ConfigError(f"{where}: must be a table")
    unknown = sorted(set(section) - _KEYS)
    if unknown:
        raise ConfigError(
            f"{where}: unknown setting(s) {', '.join(unknown)} (known: {', '.join(sorted(_KEYS))})"
        )
    classes = _classes(section.get("classes", DEFAULT_CLASSES), where)
    release_to = section.get("release_to", DEFAULT_RELEASE_TO)
    if release_to not in classes:
        raise ConfigError(
            f"{where}: release_to {release_to!r} is not an expiring class "
            f"(classes: {', '.join(sorted(classes)) or 'none'})"
        )
    capacity = section.get("capacity")
    high = fraction(section.get("high_water", 0.9), f"{where} high_water")
    low = fraction(section.get("low_water", 0.8), f"{where} low_water")
    if low > high:
        raise ConfigError(f"{where}: low_water ({low:.0%}) is above high_water ({high:.0%})")
    return RetentionSettings(
        classes=classes,
        release_to=release_to,
        capacity=None if capacity is None else size_bytes(capacity, f"{where} capacity"),
        high_water=high,
        low_water=low,
    )


def _classes(value: Any, where: str) -> dict[str, int | dt.date]:
    if not isinstance(value, Mapping):
        raise ConfigError(f"{where}: classes must be a table, e.g. {{ cache = 30 }}")
    classes: dict[str, int | dt.date] = {}
    for name, age in value.items():
        if name in FIXED_CLASSES:
            raise ConfigError(f"{where}: {name!r} is a fixed class that never expires")
        if not _CLASS.fullmatch(name):
            raise ConfigError(
                f"{where}: class name {name!r} must be lower-case letters, digits or '-'"
            )
        if isinstance(age, dt.datetime) or not (
            isinstance(age, dt.date) or (isinstance(age, int) and not isinstance(age, bool))
        ):
            raise ConfigError(f"{where}: class {name!r} needs a number of days or a date")
        if isinstance(age, int) and age < 1:
            raise ConfigError(f"{where}: class {name!r} must keep files at least 1 day")
        classes[name] = age
    return classes


def size_bytes(value: Any, where: str) -> int:
    """``2TB``, ``500GiB``, ``1.5T`` or a plain number of bytes, as bytes."""
    if isinstance(value, int) and not isinstance(value, bool) and value > 0:
        return value
    match = _SIZE.fullmatch(value) if isinstance(value, str) else None
    if match is None or float(match.group(1)) <= 0:
        raise ConfigError(f'{where}: {value!r} is not a size (e.g. "2TB", "500GiB")')
    unit = match.group(2).upper()
    base = 1024 ** (" KMGTP".index(unit[0])) if "I" in unit else _UNITS[unit.rstrip("B")]
    return int(float(match.group(1)) * base)


def fraction(value: Any, where: str) -> float:
    """``"80%"``, ``80`` or ``0.8`` as 0.8 (a share of the capacity)."""
    text = str(value).strip()
    try:
        number = float(text.rstrip("%"))
    except ValueError:
        raise ConfigError(f'{where}: {value!r} is not a percentage (e.g. "80%")') from None
    if text.endswith("%") or number > 1:
        number /= 100
    if isinstance(value, bool) or not 0 < number <= 1:
        raise ConfigError(f"{where}: {value!r} must be between 0% and 100%")
    return number
