"""The data id a processed calibration's header gives of itself.

A master bias, dark or flat is not a raw: it has no exposure, no exposure time and no
observation id, so the raw translators cannot read it. What it does carry are its own
cards, as the calibration pipelines write them: ``INSTRUME``, ``DETECTOR`` (and
``DETNAME``), ``FILTER`` (the physical filter) and ``OBSTYPE`` (the calibration type);
files written through a Butler also carry ``LSST BUTLER DATAID <DIMENSION>`` cards,
which are the data id itself and so come first.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from typing import Any

from .errors import HeaderError, UnknownInstrumentError
from .translators import TRANSLATORS, find_translator
from .translators.focalplane import LSSTCAM_BY_NAME

#: Cards that only a processed image has (a raw names its detector by RAFTBAY/CCDSLOT).
_PROCESSED_CARDS = ("DETECTOR", "DETNAME")
_BUTLER_DATAID = "LSST BUTLER DATAID "


@dataclasses.dataclass(frozen=True)
class CalibrationCards:
    """What a processed calibration's header says of its data id; None: it does not say."""

    instrument: str | None
    detector: int | None
    physical_filter: str | None
    calibration_type: str | None


def is_processed_calibration(header: Mapping[str, Any]) -> bool:
    """Whether the header is a processed image's (its own DETECTOR cards), not a raw's."""
    return any(_value(header, key) is not None for key in _PROCESSED_CARDS) or any(
        str(key).upper().startswith(_BUTLER_DATAID) for key in header
    )


def read_calibration_cards(header: Mapping[str, Any], source: str) -> CalibrationCards:
    """The data id values a processed calibration's own cards give.

    Raises:
        HeaderError: a card is unusable (unknown instrument, a detector that is not a
            number, DETECTOR and DETNAME naming different detectors).
    """
    instrument = _instrument(header, source)
    detector = _detector(header, instrument, source)
    physical_filter = _butler(header, "PHYSICAL_FILTER") or _value(header, "FILTER")
    obstype = _value(header, "OBSTYPE")
    return CalibrationCards(
        instrument=instrument,
        detector=detector,
        physical_filter=None if physical_filter is None else str(physical_filter).strip(),
        calibration_type=None if obstype is None else str(obstype).strip().lower(),
    )


def _value(header: Mapping[str, Any], key: str) -> Any:
    """A card's value; absent, null and blank cards are all None."""
    value = header.get(key)
    if value is None or (isinstance(value, str) and not value.strip()):
        return None
    return value


def _butler(header: Mapping[str, Any], dimension: str) -> Any:
    return _value(header, _BUTLER_DATAID + dimension)


def _instrument(header: Mapping[str, Any], source: str) -> str | None:
    """The Butler's instrument name for INSTRUME, as the raw translators spell it."""
    named = _butler(header, "INSTRUMENT")
    if named is not None:
        return str(named)
    instrume = _value(header, "INSTRUME")
    if instrume is None:
        return None
    translator = find_translator(header)
    if translator is not None:
        return translator.instrument
    text = str(instrume).strip().lower()
    match = next((t.instrument for t in TRANSLATORS if t.instrument.lower() == text), None)
    if match is None:
        raise UnknownInstrumentError(source, str(instrume))
    return match


def _detector(header: Mapping[str, Any], instrument: str | None, source: str) -> int | None:
    raw = _butler(header, "DETECTOR")
    card = "LSST BUTLER DATAID DETECTOR"
    if raw is None:
        raw, card = _value(header, "DETECTOR"), "DETECTOR"
    number: int | None = None
    if raw is not None:
        if isinstance(raw, bool) or not str(raw).strip().lstrip("-").isdigit():
            raise HeaderError(source, f"{card} {raw!r} is not a detector number")
        number = int(str(raw).strip())
    name = _value(header, "DETNAME")
    if name is None or instrument != "LSSTCam":
        return number
    by_name = LSSTCAM_BY_NAME.get(str(name).strip())
    if by_name is None:
        if number is None:
            raise HeaderError(source, f"DETNAME {name!r} is not an LSSTCam detector")
        return number
    if number is not None and number != by_name.detector:
        raise HeaderError(
            source, f"{card} {number} and DETNAME {name!r} (detector {by_name.detector}) disagree"
        )
    return by_name.detector
