"""LSSTComCam, the commissioning camera: one LSSTCam raft, R22 (obs_lsst ``comCam.py``).

It translates as LSSTCam does except for its own layout, dates and header fixes.
Matches obs_lsst's ``comCam.py`` at commit `base.OBS_LSST_COMMIT` (0e84d755).
"""

from __future__ import annotations

from collections.abc import Mapping
from numbers import Real
from typing import Any, ClassVar

from astropy.time import Time

from ..records import DetectorRecord
from .focalplane import COMCAM_BY_NAME, COMCAM_SERIALS
from .lsst import SIMONYI_TELESCOPE
from .lsstcam import LSSTCamTranslator

#: ComCam left Tucson for Chile: after this a bare "r" FILTER means no filter.
_TO_CHILE_DATE = Time("2020-03-13T00:00", format="isot", scale="utc")


class LSSTComCamTranslator(LSSTCamTranslator):
    """ComCam raws: ``INSTRUME`` ``ComCam`` on the Simonyi telescope, or ``LSSTComCam``."""

    instrument = "LSSTComCam"
    #: Mounted on the telescope on 2024-08-24.
    on_telescope_date: ClassVar[Time] = Time("2024-08-24T00:00", format="isot", scale="utc")

    @classmethod
    def can_translate(cls, header: Mapping[str, Any]) -> bool:
        instrume = header.get("INSTRUME")
        if not isinstance(instrume, str):
            return False
        if instrume.lower() == "lsstcomcam":
            return True
        # "comCam" alone is also the name of other telescopes' commissioning
        # cameras, so the Butler insists on the telescope too.
        telescope = header.get("TELESCOP")
        on_simonyi = telescope in (SIMONYI_TELESCOPE, "LSST")
        if instrume.lower() == "comcam" and on_simonyi:
            return True
        # Some 2019 lab data calls itself LSST_CAMERA with telescope code CC.
        return instrume.lower() == "lsst_camera" and header.get("TELCODE") == "CC" and on_simonyi

    def fix_header(self) -> list[str]:
        """obs_lsst's ComCam fixes (they replace, not extend, LSSTCam's)."""
        changed: list[str] = []
        header = self.header
        physical_filter = header.get("FILTER")
        if physical_filter is None:
            self._set("FILTER", "unknown", changed)
        elif physical_filter in ("r", ""):
            # "r" is a band, not a physical filter; in Chile it meant no filter.
            chile = self.datetime_begin() > _TO_CHILE_DATE
            self._set("FILTER", "empty" if chile else "r_03", changed)
        if header.get("INSTRUME") == "LSST_CAMERA":
            self._set("INSTRUME", "ComCam", changed)
        if "LSST_NUM" not in header and header.get("CCDSLOT") in COMCAM_SERIALS:
            self._set("LSST_NUM", COMCAM_SERIALS[str(header["CCDSLOT"])], changed)
        rotpa = header.get("ROTPA")
        if not isinstance(rotpa, Real):
            self._set("ROTPA", 0.0, changed)
        self.apply_night_fixes(changed)  # none in obs_lsst today; a data change if any
        return changed

    def detector(self) -> DetectorRecord:
        return self.detector_from_layout(COMCAM_BY_NAME)
