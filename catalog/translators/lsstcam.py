"""LSSTCam, the main camera of the Simonyi Survey Telescope (obs_lsst ``lsstCam.py``)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, ClassVar

from astropy.coordinates import Angle
from astropy.time import Time

from ..records import DetectorRecord
from .focalplane import LSSTCAM_BY_NAME
from .lsst import LsstTranslator

#: Nights whose pinhole filter was written "ph_05" instead of the "ph_5" the Butler
#: knows.
_PH05_NIGHTS = frozenset({20231107, 20231108, 20241015, 20241016})

#: Nights and seq_num ranges when a closed dome was not recorded in VIGN_MIN
#: (DM-51847, DM-52249).
_DOME_CLOSED: Mapping[int, tuple[tuple[int, int], ...]] = {
    20250518: ((0, 99_999),),
    20250703: ((743, 745),),
    20250704: ((832, 834),),
    20250705: ((1, 736),),
    20250707: ((784, 823), (744, 783), (864, 903), (904, 943)),
    20250714: ((258, 781),),
    20250715: ((205, 1218),),
    20250819: ((4, 1052),),
}


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
        if day_obs in _PH05_NIGHTS and header.get("FILTER") == "ph_05":
            self._set("FILTER", "ph_5", changed)
        rotpa = header.get("ROTPA")
        numeric = isinstance(rotpa, int | float) and not isinstance(rotpa, bool)
        # For the first weeks on sky ROTPA held the ComCam value, 90 degrees off;
        # fixed on 20250422, when it was 180 degrees off until seq_num 251.
        # (A ROTPA of exactly 0.0 is left alone, as obs_lsst leaves it.)
        if day_obs is not None and 20250301 < day_obs < 20250422 and numeric and rotpa:
            self._set("ROTPA", rotpa - 90.0, changed)
        seq_num = header.get("SEQNUM")
        half_night = day_obs == 20250422 and isinstance(seq_num, int) and seq_num < 251
        if half_night and numeric and rotpa:
            wrapped = Angle(rotpa - 180.0, unit="deg").wrap_at("180d").degree
            self._set("ROTPA", float(wrapped), changed)
        ranges = _DOME_CLOSED.get(day_obs or 0, ())
        dome_closed = isinstance(seq_num, int) and any(lo <= seq_num <= hi for lo, hi in ranges)
        if dome_closed and header.get("VIGN_MIN") != "FULLY":
            self._set("VIGN_MIN", "FULLY", changed)
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
