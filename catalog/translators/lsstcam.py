"""LSSTCam (provisional: exact Butler parity is issue 4's work)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from ..errors import HeaderError
from ..records import ExposureRecord, Translation
from .base import Translator
from .focalplane import LSSTCAM_BY_NAME


class LSSTCamTranslator(Translator):
    instrument = "LSSTCam"

    @classmethod
    def can_translate(cls, header: Mapping[str, Any]) -> bool:
        return str(header.get("INSTRUME", "")).lower() == "lsstcam"

    def translate(self) -> Translation:
        obs_id = str(self.require("OBSID"))
        day_obs = self.require_int("DAYOBS")
        seq_num = self.require_int("SEQNUM")
        name = f"{self.require('RAFTBAY')}_{self.require('CCDSLOT')}"
        detector = LSSTCAM_BY_NAME.get(name)
        if detector is None:
            raise HeaderError(self.source, f"unknown LSSTCam detector {name!r}")
        obs_type = str(self.require("IMGTYPE")).lower()
        exposure = ExposureRecord(
            instrument=self.instrument,
            exposure=day_obs * 100_000 + seq_num,
            obs_id=obs_id,
            day_obs=day_obs,
            seq_num=seq_num,
            group=str(self.optional("GROUPID", obs_id)),
            physical_filter=str(self.optional("FILTER", "unknown")),
            observation_type=obs_type,
            observation_reason=str(self.optional("REASON", "unknown")),
            science_program=str(self.optional("PROGRAM", "unknown")),
            target_name=str(self.optional("OBJECT", "UNKNOWN")),
            exposure_time=self.require_float("EXPTIME"),
            dark_time=self.optional_float("DARKTIME") or self.require_float("EXPTIME"),
            datetime_begin=self.require_time("DATE-BEG" if "DATE-BEG" in self.header
                                             else "DATE-OBS"),
            datetime_end=self.require_time("DATE-END"),
            exposure_time_requested=self.optional_float("EXPTIME"),
            tracking_ra=self.optional_float("RA"),
            tracking_dec=self.optional_float("DEC"),
            sky_angle=self.optional_float("ROTPA"),
            airmass=self.optional_float("AMSTART"),
            can_see_sky=obs_type not in {"bias", "dark"},
            focus_z=self.optional_float("FOCUSZ"),
        )
        return Translation(exposure, detector)
