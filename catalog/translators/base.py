"""What every instrument translator shares: reading keys with clear errors."""

from __future__ import annotations

import datetime as dt
import functools
from collections.abc import Mapping
from typing import Any, ClassVar

from astropy.time import Time

from ..errors import HeaderError, MissingHeaderKeyError
from ..records import Translation

#: The obs_lsst commit (github.com/lsst/obs_lsst) whose translators, header fixes
#: included, these translators match. Update it with the rules, never alone.
OBS_LSST_COMMIT = "0e84d755dc0d139dbec58cda9296d67420a90c23"


class Translator:
    """Turns one instrument's raw header into records.

    A subclass sets ``instrument`` and implements ``can_translate`` and ``_translate``;
    registering it in ``catalog.translators.TRANSLATORS`` is all it takes to add an
    instrument. ``translate`` wraps ``_translate`` so that a garbled header can only
    ever end in a `HeaderError`, whatever value type sits in which card.
    """

    instrument: ClassVar[str]

    def __init__(self, header: Mapping[str, Any], source: str) -> None:
        self.header = header
        self.source = source

    @classmethod
    def can_translate(cls, header: Mapping[str, Any]) -> bool:
        raise NotImplementedError

    def translate(self) -> Translation:
        """The header's records.

        Raises:
            HeaderError: a key is missing or a value cannot be interpreted.
        """
        try:
            return self._translate()
        except HeaderError:
            raise
        except (ValueError, TypeError, ArithmeticError, KeyError, AttributeError) as exc:
            # Hostile headers put any type in any card; the caller must only ever
            # see a HeaderError naming the file, never a bare Python error.
            raise HeaderError(
                self.source, f"cannot translate {self.instrument} header: {exc!r}"
            ) from None

    def _translate(self) -> Translation:
        raise NotImplementedError

    # Helpers for subclasses -------------------------------------------------------

    def defined(self, key: str) -> bool:
        """Whether ``key`` is present with a value (the Butler's ``is_key_ok``).

        An empty string counts as defined, as it does for the Butler.
        """
        return self.header.get(key) is not None

    def require(self, key: str) -> Any:
        """The value of ``key``; a missing, null or blank card names the key."""
        value = self.header.get(key)
        if value is None or (isinstance(value, str) and not value.strip()):
            raise MissingHeaderKeyError(self.source, key, self.instrument)
        return value

    def optional(self, key: str, default: Any = None) -> Any:
        """The value of ``key``, or ``default`` when absent, null or blank."""
        value = self.header.get(key)
        if value is None or (isinstance(value, str) and not value.strip()):
            return default
        return value

    def require_int(self, key: str) -> int:
        value = self.require(key)
        if isinstance(value, float) and value.is_integer():
            return int(value)
        try:
            return int(value)
        except (TypeError, ValueError):
            raise HeaderError(self.source, f"header {key}={value!r} is not an integer") from None

    def _as_float(self, key: str, value: Any) -> float:
        if isinstance(value, bool):
            return float(value)
        try:
            return float(value)
        except (TypeError, ValueError):
            raise HeaderError(self.source, f"header {key}={value!r} is not a number") from None


def to_utc_datetime(time: Time, source: str, key: str) -> dt.datetime:
    """An astropy time as an aware UTC datetime, or a HeaderError naming ``key``."""
    try:
        return _utc_datetime(float(time.jd1), float(time.jd2), str(time.scale))
    except (ValueError, OverflowError) as exc:
        raise HeaderError(source, f"header {key} gives an unusable time: {exc}") from None


@functools.lru_cache(maxsize=4096)
def _utc_datetime(jd1: float, jd2: float, scale: str) -> dt.datetime:
    # Cached: every detector of an exposure carries the same dates, and astropy's
    # scale conversion costs about as much as the rest of a translation.
    return Time(jd1, jd2, format="jd", scale=scale).utc.to_datetime(timezone=dt.UTC)
