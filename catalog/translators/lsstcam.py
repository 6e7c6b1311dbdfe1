"""LSSTCam, the main camera of the Simonyi Survey Telescope (obs_lsst ``lsstCam.py``).

Matches obs_lsst commit `base.OBS_LSST_COMMIT` (0e84d755): the header fixes that are
arithmetic stay here; those that set cards for given nights and sequence ranges
(filters, VIGN_MIN of closed-dome nights, programs) are data, in ``night_fixes.toml``.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, ClassVar

from astropy.coordinates import Angle
from astropy.time import Time

from ..records import DetectorRecord
from .focalplane import LSSTCAM_BY_NAME
from .lsst import LsstTranslator

#: ROTPA held the ComCam value, 90 degrees off, after LSSTCam went on sky (exclusive
#: DAYOBS bounds); fixed from 20250422, whose first 250 exposures were 180 degrees off.
_ROTPA_COMCAM_NIGHTS = (20250301, 20250422)
_ROTPA_FLIPPED_NIGHT = 20250422
_ROTPA_FLIPPED_BEFORE_SEQNUM = 251


class LSSTCamTranslator(LsstTranslator):
    """LSSTCam raws (``INSTRUME`` ``lsstCam`` or ``LSSTCam``, any case)."""

    instrument = "LSSTCam"
    #: Installed on the telescope in March 2025; earlier data is from the lab.
    on_telescope_date: ClassVar[Time] = Time("2025-03-01T00:00", format="isot", scale="utc")
    obstype_decides_can_see_sky = False

    @classmethod
    def can_translate(cls, header: Mapping[str, Any]) -> bool:
        instrume = header.get("INSTRUME")
        return isinstance(instrume, str) and instrume.lower() == "lsstcam"

    def fix_header(self) -> list[str]:
        """obs_lsst's LSSTCam fixes: known-bad cards on known nights."""
        changed: list[str] = []
        header = self.header
        if "FILTER" not in header and header.get("FILTER2") is not None:
            self._set("FILTER2", None, changed)
        day_obs = self.day_obs_int()
        rotpa = header.get("ROTPA")
        numeric = isinstance(rotpa, int | float) and not isinstance(rotpa, bool)
        # (A ROTPA of exactly 0.0 is left alone, as obs_lsst leaves it.)
        first, last = _ROTPA_COMCAM_NIGHTS
        if day_obs is not None and first < day_obs < last and numeric and rotpa:
            self._set("ROTPA", rotpa - 90.0, changed)
        seq_num = header.get("SEQNUM")
        half_night = (
            day_obs == _ROTPA_FLIPPED_NIGHT
            and isinstance(seq_num, int)
            and seq_num < _ROTPA_FLIPPED_BEFORE_SEQNUM
        )
        if half_night and numeric and rotpa:
            wrapped = Angle(rotpa - 180.0, unit="deg").wrap_at("180d").degree
            self._set("ROTPA", float(wrapped), changed)
        self.apply_night_fixes(changed)
        return changed

    def is_on_mountain(self) -> bool:
        # Phosim (controller H) data is always "on the mountain".
        return self.controller() == "H" or super().is_on_mountain()

    def physical_filter(self) -> str:
        """The joined filter, without trailing empty filter-changer slots."""
        joined = super().physical_filter()
        while joined.endswith("~empty"):
            joined = joined.removesuffix("~empty")
        return joined

    def can_see_sky(self) -> bool | None:
        if not self.is_on_mountain():
            return False  # lab data
        return super().can_see_sky()

    def detector(self) -> DetectorRecord:
        return self.detector_from_layout(LSSTCAM_BY_NAME)
