"""What the Rubin cameras' headers share, translated as obs_lsst translates them.

Each ``_property`` method mirrors one ``to_<property>`` of obs_lsst's
``LsstBaseTranslator`` (and astro_metadata_translator's defaults beneath it), so a raw
gets the same exposure id, day_obs, filter, reason… here as in a Butler repository.
Where obs_lsst would log a warning and carry on, so does this code (silently); where it
would raise, this raises a `HeaderError` naming the card.

Instrument-wide header fixes (obs_lsst's ``fix_header``) run first, on a copy: the
coded ones in each camera's module, then the night- and sequence-ranged ones kept as
data in ``night_fixes.toml``. The per-observation YAML corrections are
`corrections.Corrections`, applied by the caller before translation, as
``astro_metadata_translator.fix_header`` does.

Matches obs_lsst's ``translators/lsst.py`` at commit `base.OBS_LSST_COMMIT`.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import functools
import math
import re
from collections.abc import Mapping
from typing import Any, ClassVar

import astropy.units as u
from astropy.coordinates import SkyCoord
from astropy.time import Time

from ..errors import HeaderError, MissingHeaderKeyError
from ..records import DetectorRecord, ExposureRecord, Translation
from .base import Translator, to_utc_datetime
from .night_fixes import night_fixes

SIMONYI_TELESCOPE = "Simonyi Survey Telescope"


@functools.lru_cache(maxsize=4096)
def _parse_time(value: str | float, time_format: str, scale: str) -> Time:
    """A parsed header date. Cached: all detectors of an exposure share their dates.

    The Time returned is shared, so callers must not modify it in place.
    """
    time = Time(value, format=time_format, scale=scale)
    if not math.isfinite(time.jd1 + time.jd2):
        raise ValueError("not finite")
    return time


#: Joins the parts of a multi-element physical filter (filter~grating).
FILTER_DELIMITER = "~"

#: Controller codes, in the order that sets an exposure id's thousand-year offset:
#: OCS, CCS, pHosim, then simulated OCS (P), CCS (Q) and images (S).
CONTROLLERS = "OCHPQS"
SIMULATED_CONTROLLERS = "HPQS"
_SEQNUM_LIMIT = 100_000
_CONTROLLER_INCREMENT = 1000_00_00

#: Observation types whose photons cannot come from the sky.
NON_SKY_TYPES = ("bias", "dark", "flat")
#: astro_metadata_translator's defaults for the ``can_see_sky`` fallback.
_SKY_TYPES_DEFAULT = ("science", "object")
_NON_SKY_TYPES_DEFAULT = ("bias", "dark")

_EMPTY_FILTER = re.compile(r"empty_?\d*$")


def compute_exposure_id(day_obs: int, seq_num: int, controller: str | None) -> int:
    """The Butler's exposure id: ``YYYYMMDD`` then the 5-digit sequence number.

    Before the controllers shared one counter, each non-OCS controller added a
    thousand years per position in `CONTROLLERS` so ids could not collide; CCS
    stopped after 2023-10-04 and the simulated ones after 2025-04-17.

    Raises:
        ValueError: day_obs is not 8 digits, seq_num out of range, unknown controller.
    """
    if not 10_000_000 <= day_obs <= 99_999_999:
        raise ValueError(f"malformed day_obs {day_obs}")
    if not 0 <= seq_num < _SEQNUM_LIMIT:
        raise ValueError(f"sequence number {seq_num} outside 0..{_SEQNUM_LIMIT - 1}")
    if (controller == "C" and day_obs > 20231004) or (
        controller in ("P", "Q", "S") and day_obs > 20250417
    ):
        controller = None
    if controller is not None:
        index = CONTROLLERS.find(controller) if len(controller) == 1 else -1
        if index < 0:
            raise ValueError(f"controller {controller!r} is not one of {CONTROLLERS}")
        day_obs += _CONTROLLER_INCREMENT * index
    return day_obs * _SEQNUM_LIMIT + seq_num


def parse_day_obs(value: Any) -> int | None:
    """DAYOBS as an int (``20250415``), accepting ``2025-04-15`` and ISO datetimes."""
    text = str(value).split("T", 1)[0].replace("-", "").strip()
    if len(text) != 8 or not text.isdigit():
        return None
    return int(text)


def is_empty_filter(name: str) -> bool:
    """Whether a filter or grating name means an empty slot (``empty``, ``empty_2``)."""
    return bool(_EMPTY_FILTER.match(name.lower()))


@dataclasses.dataclass(frozen=True)
class _Angles:
    """What the Butler's exposure record keeps of the pointing."""

    tracking_ra: float | None
    tracking_dec: float | None
    sky_angle: float | None
    zenith_angle: float | None
    azimuth: float | None


class LsstTranslator(Translator):
    """Translation shared by LSSTCam, LSSTComCam and LATISS headers."""

    telescope: ClassVar[str] = SIMONYI_TELESCOPE
    #: When the camera is on the telescope (before: lab data, never on sky).
    on_telescope_date: ClassVar[Time]
    #: Default for a missing ROTPA when the observation may do without one.
    rotation_default: ClassVar[float] = 0.0
    #: Whether the observation type may decide ``can_see_sky`` (LSSTCam: no).
    obstype_decides_can_see_sky: ClassVar[bool] = True

    def __init__(self, header: Mapping[str, Any], source: str) -> None:
        super().__init__(dict(header), source)
        self.fixed_keys: list[str] = []

    # The flow ----------------------------------------------------------------------

    def _translate(self) -> Translation:
        self.fixed_keys = self.fix_header()
        exposure_time = self.exposure_time()
        begin = self.datetime_begin()
        angles = self.angles()
        exposure = ExposureRecord(
            instrument=self.instrument,
            exposure=self.exposure_id(),
            obs_id=self.observation_id(),
            day_obs=self.observing_day(),
            seq_num=self.observation_counter(),
            group=self.exposure_group(),
            physical_filter=self.physical_filter(),
            observation_type=self.observation_type(),
            observation_reason=self.observation_reason(),
            science_program=self.science_program(),
            target_name=self.target_name(),
            exposure_time=exposure_time,
            dark_time=self.dark_time(),
            datetime_begin=to_utc_datetime(begin, self.source, "MJD-BEG"),
            datetime_end=to_utc_datetime(self.datetime_end(), self.source, "DATE-END"),
            exposure_time_requested=self.exposure_time_requested(),
            tracking_ra=angles.tracking_ra,
            tracking_dec=angles.tracking_dec,
            sky_angle=angles.sky_angle,
            airmass=self.boresight_airmass(),
            zenith_angle=angles.zenith_angle,
            azimuth=angles.azimuth,
            can_see_sky=self.can_see_sky(),
            has_simulated_content=self.has_simulated_content(),
            focus_z=self.focus_z(),
            temperature=self.temperature(),
            pressure=self.pressure(),
            relative_humidity=self.relative_humidity(),
            seq_start=self.group_counter_start(),
            seq_end=self.group_counter_end(),
        )
        return Translation(exposure, self.detector())

    def fix_header(self) -> list[str]:
        """Apply the instrument's known header fixes in place; return the keys changed."""
        changed: list[str] = []
        self.apply_night_fixes(changed)
        return changed

    def apply_night_fixes(self, changed: list[str]) -> None:
        """The data-driven fixes of ``night_fixes.toml`` for this instrument, in order.

        A card already holding the corrected value is not reported as changed.
        """
        fixes = night_fixes().for_instrument(self.instrument)
        if not fixes:
            return
        day_obs = self.day_obs_int()
        seq_num = self.header.get("SEQNUM")
        if isinstance(seq_num, bool) or not isinstance(seq_num, int):
            seq_num = int(seq_num) if isinstance(seq_num, str) and seq_num.isdecimal() else None
        for fix in fixes:
            if fix.applies(self.header, day_obs, seq_num):
                for card, value in fix.cards.items():
                    if card not in self.header or self.header[card] != value:
                        self._set(card, value, changed)

    def _set(self, key: str, value: Any, changed: list[str]) -> None:
        """Change one card during ``fix_header``, remembering which."""
        header = self.header
        assert isinstance(header, dict)
        header[key] = value
        if key not in changed:
            changed.append(key)

    # Small readers (Butler semantics: "defined" means present and not null) ---------

    def text(self, key: str) -> str:
        """A defined card as text; missing cards name themselves."""
        if not self.defined(key):
            raise MissingHeaderKeyError(self.source, key, self.instrument)
        return str(self.header[key])

    def number(self, key: str) -> float:
        """A defined card as a float (some broken files hold numbers as strings)."""
        if not self.defined(key):
            raise MissingHeaderKeyError(self.source, key, self.instrument)
        return self._as_float(key, self.header[key])

    def first_defined(self, *keys: str) -> str | None:
        """The first of ``keys`` with a value, as the trivial maps pick them."""
        return next((key for key in keys if self.defined(key)), None)

    def day_obs_int(self) -> int | None:
        """DAYOBS as an int, or None when absent or malformed (for the fixes)."""
        return parse_day_obs(self.header["DAYOBS"]) if self.defined("DAYOBS") else None

    # Identity ----------------------------------------------------------------------

    def observation_id(self) -> str:
        return self.text("OBSID")

    def controller(self) -> str | None:
        return str(self.header["CONTRLLR"]) if self.defined("CONTRLLR") else None

    def observing_day(self) -> int:
        day_obs = parse_day_obs(self.text("DAYOBS"))
        if day_obs is None:
            raise HeaderError(self.source, f"header DAYOBS={self.header['DAYOBS']!r} is not a date")
        return day_obs

    def observation_counter(self) -> int:
        return self.require_int("SEQNUM")

    def exposure_id(self) -> int:
        day_obs, seq_num = self.observing_day(), self.observation_counter()
        try:
            return compute_exposure_id(day_obs, seq_num, self.controller())
        except ValueError as exc:
            raise HeaderError(
                self.source, f"cannot form an exposure id from DAYOBS, SEQNUM, CONTRLLR: {exc}"
            ) from None

    def exposure_group(self) -> str:
        if self.defined("GROUPID"):
            group = self.header["GROUPID"]
            if isinstance(group, dt.datetime):
                # An unquoted date in a YAML correction file parses as a datetime;
                # obs_lsst (0dcc781a) writes it back as the camera would have.
                return group.isoformat(timespec="milliseconds")
            return str(group)
        return str(self.exposure_id())

    def group_counter_start(self) -> int:
        counter = self.observation_counter()
        if self.defined("CURINDEX"):
            return counter - int(self.number("CURINDEX")) + 1
        return counter if counter != 0 else self.exposure_id()

    def group_counter_end(self) -> int:
        counter = self.observation_counter()
        if self.defined("CURINDEX") and self.defined("MAXINDEX"):
            return counter + int(self.number("MAXINDEX")) - int(self.number("CURINDEX"))
        return counter if counter != 0 else self.exposure_id()

    def detector(self) -> DetectorRecord:
        raise NotImplementedError

    # Time --------------------------------------------------------------------------

    def datetime_begin(self) -> Time:
        """Start of exposure (TAI): the first of MJD-BEG, DATE-BEG, MJD-OBS, DATE-OBS."""
        key = self.first_defined("MJD-BEG", "DATE-BEG", "MJD-OBS", "DATE-OBS")
        if key is None:
            raise MissingHeaderKeyError(self.source, "MJD-BEG", self.instrument)
        if key.startswith("MJD"):
            return self.time_card(key, "mjd", "tai")
        return self.time_card(key, "fits", "tai")

    def datetime_end(self) -> Time:
        """DATE-END (in TIMESYS) if present, else begin plus the exposure time."""
        if self.defined("DATE-END"):
            scale = str(self.header.get("TIMESYS") or "utc").strip().lower()
            if scale not in ("tai", "utc", "tt"):
                scale = "utc"
            return self.time_card("DATE-END", "fits", scale)
        begin = self.datetime_begin()
        exposure_time = self.exposure_time()
        if exposure_time < 0.0:
            return begin
        return begin + exposure_time * u.s

    def time_card(self, key: str, time_format: str, scale: str) -> Time:
        """A date card (MJD or FITS/ISO text) as a Time; a bad value names the card."""
        value = self.header[key]
        parsed = self._as_float(key, value) if time_format == "mjd" else str(value)
        try:
            return _parse_time(parsed, time_format, scale)
        except ValueError:
            raise HeaderError(self.source, f"header {key}={value!r} is not a date") from None

    def is_on_mountain(self) -> bool:
        begin = to_utc_datetime(self.datetime_begin(), self.source, "DATE-BEG")
        return begin > to_utc_datetime(self.on_telescope_date, self.source, "on-telescope date")

    # Exposure ----------------------------------------------------------------------

    def exposure_time_requested(self) -> float:
        return self.number("EXPTIME")

    def exposure_time(self) -> float:
        """SHUTTIME when the shutter opened (a bias or dark never opens it), else EXPTIME."""
        if self.defined("SHUTTIME"):
            shutter = self.number("SHUTTIME")
            if shutter > 0.0:
                return shutter
        return self.exposure_time_requested()

    def dark_time(self) -> float:
        if self.defined("DARKTIME"):
            return self.number("DARKTIME")
        return self.exposure_time()

    def observation_type(self) -> str:
        obstype = self.text("IMGTYPE").lower()
        return "science" if obstype in ("skyexp", "object") else obstype

    def observation_reason(self) -> str:
        key = self.first_defined("REASON", "TESTTYPE")
        if key is not None:
            return str(self.header[key]).lower()
        return "science" if self.observation_type() == "science" else "unknown"

    def science_program(self) -> str:
        key = self.first_defined("PROGRAM", "RUNNUM")
        return "unknown" if key is None else str(self.header[key])

    def target_name(self) -> str:
        return str(self.header["OBJECT"]) if self.defined("OBJECT") else "UNKNOWN"

    def physical_filter(self) -> str:
        """FILTER, FILTER1, FILTER2 joined by ``~``; "unknown" if none is set."""
        parts = [str(self.header[k]) for k in ("FILTER", "FILTER1", "FILTER2") if self.defined(k)]
        joined = FILTER_DELIMITER.join(parts) or "unknown"
        return joined.replace("NONE", "none")

    def primary_filter(self) -> str:
        """FILTER, with an ``empty_N`` slot called "empty"; "unknown" if absent."""
        if not self.defined("FILTER"):
            return "unknown"
        name = str(self.header["FILTER"])
        return "empty" if is_empty_filter(name) else name

    def has_simulated_content(self) -> bool:
        # Any "SIMULATE <system>" card with a true value means simulated data; the
        # Butler cannot know every system name, so it scans every key.
        for key, value in self.header.items():
            if "SIMULATE" in str(key) and value:
                return True
        controller = self.controller()
        return bool(controller) and controller in SIMULATED_CONTROLLERS

    def focus_z(self) -> float:
        return self.number("FOCUSZ") if self.defined("FOCUSZ") else 0.0

    # Environment -------------------------------------------------------------------

    def temperature(self) -> float | None:
        return self.number("AIRTEMP") if self.defined("AIRTEMP") else None

    def pressure(self) -> float | None:
        """PRESSURE in hPa; the cameras wrote it in Pa (values > 10,000) for a while."""
        if not self.defined("PRESSURE"):
            return None
        value = self.number("PRESSURE")
        # Same arithmetic as astropy's Pa -> hPa conversion, so floats agree exactly.
        return value * 0.01 if value > 10_000 else value

    def relative_humidity(self) -> float | None:
        return self.number("HUMIDITY") if self.defined("HUMIDITY") else None

    # Sky ---------------------------------------------------------------------------

    def is_on_sky(self) -> bool:
        if self.defined("TRACKSYS") and str(self.header["TRACKSYS"]).lower() == "local":
            return False
        if self.observation_type() in NON_SKY_TYPES:
            return False
        return self.is_on_mountain()

    def can_see_sky(self) -> bool | None:
        if self.defined("SHUTTIME") and self.number("SHUTTIME") == 0.0:
            return False
        if self.defined("VIGN_MIN"):
            vignetted = self.header["VIGN_MIN"]
            if vignetted == "UNKNOWN":
                return None
            return vignetted != "FULLY"
        # PhoSim (controller H) data has no dome: its type always decides.
        if not (self.obstype_decides_can_see_sky or self.controller() == "H"):
            return None
        obstype = self.observation_type()
        if obstype in _SKY_TYPES_DEFAULT:
            return True
        if obstype in _NON_SKY_TYPES_DEFAULT:
            return False
        return None

    def must_not_default(self) -> bool:
        """obs_lsst's ``is_non_science_or_lab`` check failing: a science observation on
        the mountain, which must carry the card rather than fall back to a default."""
        return self.observation_type() == "science" and self.is_on_mountain()

    def boresight_rotation_angle(self) -> float:
        key = self.first_defined("ROTPA", "ROTANGLE")
        if key is None:
            if self.must_not_default():
                raise MissingHeaderKeyError(self.source, "ROTPA", self.instrument)
            return self.rotation_default
        return self.number(key)

    def boresight_rotation_coord(self) -> str:
        if not self.is_on_sky():
            return "unknown"
        return str(self.header["ROTCOORD"]) if self.defined("ROTCOORD") else "unknown"

    def boresight_airmass(self) -> float | None:
        if not self.is_on_sky():
            return None
        if self.defined("AMSTART"):
            return self.number("AMSTART")
        altaz = self.altaz_begin()
        if altaz is not None:
            return 1.0 / math.sin(math.radians(altaz[0]))
        return 1.0

    def tracking_radec(self) -> tuple[float, float] | None:
        """ICRS RA/Dec (degrees) of the tracked position, or None when not tracking."""
        obstype = self.observation_type()
        if obstype in NON_SKY_TYPES and obstype != "dark":
            # The OCS sometimes claims to track during calibrations; darks are
            # taken while tracking on purpose, so they keep their coordinates.
            return None
        if self.defined("TRACKSYS") and self.header["TRACKSYS"] != "RADEC":
            return None
        if self.defined("DATE-OBS") and self.header.get("DATE-OBS") == self.header.get("DATE"):
            # A repaired date: the Butler derives RA/Dec from AltAz, which needs Earth
            # orientation tables this package does not fetch. Say "unknown" instead.
            return None
        frame = "icrs"
        if self.defined("RADESYS"):
            frame = str(self.header["RADESYS"]).strip().lower()
            if frame == "gappt":  # a moving target
                return None
        for ra_key, dec_key in (("RASTART", "DECSTART"), ("RA", "DEC")):
            if self.defined(ra_key) and self.defined(dec_key):
                ra, dec = self.number(ra_key), self.number(dec_key)
                if frame == "icrs":
                    if not (math.isfinite(ra) and -90.0 <= dec <= 90.0):
                        raise HeaderError(self.source, f"header {dec_key}={dec} is not a Dec")
                    return ra % 360.0, dec
                icrs = SkyCoord(ra * u.deg, dec * u.deg, frame=frame).icrs
                return float(icrs.ra.degree), float(icrs.dec.degree)
        if obstype == "science" and self.is_on_sky():
            raise MissingHeaderKeyError(self.source, "RASTART", self.instrument)
        return None

    def altaz_begin(self) -> tuple[float, float] | None:
        """(altitude, azimuth) in degrees at the start, or None."""
        if not self.is_on_mountain():
            return None
        if not (self.defined("ELSTART") and self.defined("AZSTART")):
            if self.controller() == "H" or self.observation_type() != "science":
                return None
            raise MissingHeaderKeyError(self.source, "ELSTART", self.instrument)
        alt, az = self.number("ELSTART"), self.number("AZSTART")
        if az < -360.0 or not -5.55 <= alt <= 95.55:
            if self.observation_type() == "science":
                raise HeaderError(self.source, f"ELSTART={alt} AZSTART={az} is not a pointing")
            return None
        return min(max(alt, 0.0), 90.0), az % 360.0

    def angles(self) -> _Angles:
        """Pointing as the Butler's exposure record keeps it: a sky angle only when
        tracking in RA/Dec with the rotator in sky coordinates."""
        radec = self.tracking_radec()
        sky_angle = None
        if radec is not None and self.boresight_rotation_coord() == "sky":
            sky_angle = self.boresight_rotation_angle()
        altaz = self.altaz_begin()
        return _Angles(
            tracking_ra=None if radec is None else radec[0],
            tracking_dec=None if radec is None else radec[1],
            sky_angle=sky_angle,
            zenith_angle=None if altaz is None else 90.0 - altaz[0],
            azimuth=None if altaz is None else altaz[1],
        )

    # Detector ----------------------------------------------------------------------

    def detector_from_layout(self, layout: Mapping[str, DetectorRecord]) -> DetectorRecord:
        """The layout's record for RAFTBAY_CCDSLOT, with the header's serial."""
        name = f"{self.text('RAFTBAY')}_{self.text('CCDSLOT')}"
        detector = layout.get(name)
        if detector is None:
            raise HeaderError(self.source, f"unknown {self.instrument} detector {name!r}")
        return dataclasses.replace(detector, serial=self.text("LSST_NUM"))
