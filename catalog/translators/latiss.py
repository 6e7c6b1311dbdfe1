"""LATISS, the spectrograph on the Rubin Auxiliary Telescope (obs_lsst ``latiss.py``).

One sensor, which the Butler calls ``RXX_S00`` (detector 0) whatever RAFTBAY says; a
physical filter is always ``filter~grating``; and early headers (2019-2022) need many
fixes, applied here as obs_lsst applies them. Matches obs_lsst's ``latiss.py`` at
commit `base.OBS_LSST_COMMIT` (0e84d755). Its fixes depend on the observation's start
time and do arithmetic on cards, so they are code; the dates are the constants below.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any, ClassVar

from astropy.time import Time

from ..errors import MissingHeaderKeyError
from ..records import DetectorRecord
from .focalplane import LATISS_DETECTORS, LATISS_SERIAL
from .lsst import FILTER_DELIMITER, LsstTranslator, parse_day_obs


def _utc(iso: str) -> Time:
    return Time(iso, format="isot", scale="utc")


#: Taking data at the telescope from here on; before it, header values are unreliable.
_ON_TELESCOPE = _utc("2020-01-01T00:00")
_DETECTOR_068_DATE = _utc("2019-06-24T00:00")  # ITL-3800C-068 installed
_IMGTYPE_OKAY_DATE = _utc("2019-11-07T00:00")  # before: IMGTYPE was in GROUPID
_OBJECT_IS_ENGTEST = _utc("2020-01-27T20:00")  # before: OBJECT meant ENGTEST
_RADEC_IS_RADIANS = _utc("2020-01-28T22:00")  # before: RA/DEC in radians
_RASTART_IS_BAD = _utc("2020-05-01T00:00")  # before: RASTART etc. in mount coordinates
_RASTART_IS_HOURS = _utc("2021-02-11T18:45")  # before (from _RASTART_IS_BAD): in hours
_RASTART_IS_OKAY = _utc("2021-02-12T00:00")  # before (from _RASTART_IS_BAD): 37 s late
_DATE_END_IS_BAD = _utc("2020-02-01T00:00")  # before: DATE-END untrustworthy
#: Between these ROTPA was reported with the opposite (180 degrees) convention.
_ROTPA_FLIPPED = (_utc("2020-11-19T00:00"), _utc("2021-10-29T00:00"))
_OBJECT_HAS_SPEC_PREFIX = _utc("2022-07-10T00:00")  # before: "spec:" on dispersed targets
#: RASTART/RAEND were computed with TAI taken for UTC: 37 s of RA (in degrees) behind.
_TAI_UTC_RA_OFFSET = 37.0 / 3600.0 * 15.0
#: Calibration products strip INSTRUME; obs_lsst recognises LATISS by its one detector.
_DETECTOR_NAME = "RXX_S00"


class LATISSTranslator(LsstTranslator):
    """LATISS raws (``INSTRUME`` ``LATISS``, or ``LSST_ATISS`` in early data)."""

    instrument = "LATISS"
    telescope = "Rubin Auxiliary Telescope"
    on_telescope_date: ClassVar[Time] = _ON_TELESCOPE
    rotation_default = math.nan

    @classmethod
    def can_translate(cls, header: Mapping[str, Any]) -> bool:
        instrume = header.get("INSTRUME")
        if instrume is None:
            # obs_lsst also claims a header naming another instrument if its DETNAME
            # is LATISS's; OODS keeps instrument recognition strict and only guesses
            # when INSTRUME is missing.
            return header.get("DETNAME") == _DETECTOR_NAME
        return instrume in ("LATISS", "LSST_ATISS")

    def fix_header(self) -> list[str]:
        """obs_lsst's LATISS fixes, mostly for 2019-2020 data."""
        changed: list[str] = []
        header = self.header
        obs_id = self.observation_id()
        if "OBSID" not in header:
            self._set("OBSID", obs_id, changed)  # very old data used IMGNAME
        parts = obs_id.split("_", 3)
        if "DAYOBS" not in header:
            day_obs = parts[2] if len(parts) > 2 and parse_day_obs(parts[2]) else None
            self._set("DAYOBS", day_obs or header.get("OBS-NITE"), changed)
        if "SEQNUM" not in header and len(parts) > 3 and parts[3].isdigit():
            self._set("SEQNUM", int(parts[3]), changed)
        if str(header.get("DATE-OBS", "")).startswith("1970"):
            # The clock was wrong: take the file-write date, let EXPTIME give the end.
            for key, source in (("DATE-OBS", "DATE"), ("MJD-OBS", "MJD")):
                self._set(key, header.get(source), changed)
            self._set("DATE-BEG", header.get("DATE-OBS"), changed)
            self._set("MJD-BEG", header.get("MJD-OBS"), changed)
            self._set("DATE-END", None, changed)
            self._set("MJD-END", None, changed)
        date = self.datetime_begin()
        if date > _DETECTOR_068_DATE and header.get("LSST_NUM") != LATISS_SERIAL:
            self._set("LSST_NUM", LATISS_SERIAL, changed)
        if date < _DATE_END_IS_BAD and header.get("DATE-END"):
            self._set("DATE-END", None, changed)
            self._set("MJD-END", None, changed)
        if date < _IMGTYPE_OKAY_DATE:
            self._fix_early_imgtype(changed)
        if date < _OBJECT_IS_ENGTEST and header.get("IMGTYPE") == "OBJECT":
            self._set("IMGTYPE", "ENGTEST", changed)
        if date < _RADEC_IS_RADIANS:
            for key in ("RA", "DEC"):
                if header.get(key) is not None:
                    self._set(key, math.degrees(self.number(key)), changed)
        if header.get("SHUTTIME"):
            # LATISS's SHUTTIME is not to be trusted: EXPTIME is the exposure time.
            self._set("SHUTTIME", None, changed)
        if "OBJECT" not in header and header.get("IMGTYPE") == "OBJECT":
            self._set("OBJECT", "NOTSET", changed)
        target = header.get("OBJECT")
        if date < _OBJECT_HAS_SPEC_PREFIX and isinstance(target, str) and "spec:" in target:
            self._set("OBJECT", target.replace("spec:", ""), changed)
        if header.get("RADESYS") == "":
            self._set("RADESYS", "ICRS", changed)
        if header.get("TRACKSYS") == "":
            self._set("TRACKSYS", None, changed)
        elif header.get("TRACKSYS") == "SIDEREAL":
            self._set("TRACKSYS", "RADEC", changed)
        self._fix_derived_ra(date, changed)
        rotpa = header.get("ROTPA")
        if _ROTPA_FLIPPED[0] < date < _ROTPA_FLIPPED[1] and _is_number(rotpa):
            self._set("ROTPA", rotpa - 180.0, changed)
        self.apply_night_fixes(changed)
        return changed

    def _fix_derived_ra(self, date: Time, changed: list[str]) -> None:
        """RASTART and friends: wrong until May 2020, then in hours and 37 s late."""
        header = self.header
        if date < _RASTART_IS_BAD:
            # Computed for the wrong site; the translation falls back to RA/DEC.
            for key in ("RASTART", "DECSTART", "RAEND", "DECEND"):
                self._set(key, None, changed)
            return
        for key in ("RASTART", "RAEND"):
            value = header.get(key)
            if not _is_number(value) or not value:  # obs_lsst skips 0 and blanks
                continue
            if date < _RASTART_IS_HOURS:
                value *= 15.0
            if date < _RASTART_IS_OKAY:
                value += _TAI_UTC_RA_OFFSET
            if value != header[key]:
                self._set(key, value, changed)

    def _fix_early_imgtype(self, changed: list[str]) -> None:
        """Until November 2019 the image type was written in GROUPID."""
        group = self.header.get("GROUPID")
        if not group or str(group).startswith("test"):
            return
        group = str(group)
        imgtype = self.header.get("IMGTYPE")
        if imgtype:
            if imgtype == group:
                self._set("GROUPID", None, changed)
            return
        if "_" in group:  # dark_0001_0002: type first, the group stays
            group = group.split("_", 1)[0]
        elif group.upper() != "FOCUS" and group.upper().startswith("FOCUS"):
            group = "FOCUS"
        else:
            self._set("GROUPID", None, changed)
        self._set("IMGTYPE", group, changed)

    def observation_id(self) -> str:
        key = self.first_defined("OBSID", "IMGNAME")
        if key is None:
            raise MissingHeaderKeyError(self.source, "OBSID", self.instrument)
        return str(self.header[key])

    def exposure_time(self) -> float:
        # -1 s is the Butler's "not known" for a missing EXPTIME.
        return self.number("EXPTIME") if self.defined("EXPTIME") else -1.0

    def exposure_time_requested(self) -> float:
        return self.exposure_time()

    def dark_time(self) -> float:
        """DARKTIME, unless it is shorter than the exposure, which cannot be."""
        exposure_time = self.exposure_time()
        if self.defined("DARKTIME"):
            dark_time = self.number("DARKTIME")
            if dark_time >= exposure_time:
                return dark_time
        return exposure_time

    def observation_type(self) -> str:
        key = self.first_defined("OBSTYPE", "IMGTYPE")
        if key is None:
            return "bias" if self.exposure_time() == 0.0 else "unknown"
        obstype = str(self.header[key]).lower()
        if obstype == "object" and not self.is_on_mountain():
            return "labobject"  # in the lab "science" would promise RA/Dec
        return "science" if obstype in ("skyexp", "object") else obstype

    def science_program(self) -> str:
        return str(self.header["PROGRAM"]) if self.defined("PROGRAM") else "unknown"

    def target_name(self) -> str:
        if self.defined("OBJECT"):
            return str(self.header["OBJECT"])
        if self.must_not_default():
            raise MissingHeaderKeyError(self.source, "OBJECT", self.instrument)
        return "UNKNOWN"

    def physical_filter(self) -> str:
        """``filter~grating``, with empty slots called "empty"."""
        if self.defined("GRATING"):
            grating = str(self.header["GRATING"])
            # Any "empty…" grating is empty (the filter wheel's test is stricter).
            if not grating or grating.lower().startswith("empty"):
                grating = "empty"
        else:
            grating = "unknown"
        return f"{self.primary_filter()}{FILTER_DELIMITER}{grating}"

    def detector(self) -> DetectorRecord:
        key = self.first_defined("LSST_NUM", "DETSER")
        if key is None:
            raise MissingHeaderKeyError(self.source, "LSST_NUM", self.instrument)
        layout = LATISS_DETECTORS[0]
        return DetectorRecord(
            layout.detector,
            layout.name,
            layout.group,
            layout.sensor,
            layout.purpose,
            serial=str(self.header[key]),
        )


def _is_number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)
