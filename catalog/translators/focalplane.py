"""Detector layouts with the Butler's detector numbering.

The numbers are those of obs_lsst's camera descriptions (``policy/rafts.yaml`` gives
each raft its first id, ``id0``; ``policy/cameraHeader.yaml`` numbers the sensors
within a raft type). For LSSTCam that is:

- the 21 science rafts in row-major order R01, R02, R03, R10 … R14, … R41, R42, R43,
  nine sensors each, S00..S22 numbered 0..8: ``id0 = 9 * raft index`` (0..188);
- the corner rafts R00, R04, R40, R44 with ``id0`` 189, 193, 197, 201: guiders SG0,
  SG1 first, then the wavefront halves SW0, SW1 (``R00_W`` has ``id0`` 191).

LSSTComCam is raft R22 alone (S00..S22 as 0..8) and LATISS one sensor, ``RXX_S00``,
numbered 0.
"""

from __future__ import annotations

from collections.abc import Mapping

from ..records import DetectorRecord

_SENSORS = tuple(f"S{row}{col}" for row in range(3) for col in range(3))
_CORNERS = ("R00", "R04", "R40", "R44")
_SCIENCE_RAFTS = tuple(
    f"R{row}{col}" for row in range(5) for col in range(5) if f"R{row}{col}" not in _CORNERS
)
_CORNER_SENSORS = (("SG0", "GUIDER"), ("SG1", "GUIDER"), ("SW0", "WAVEFRONT"), ("SW1", "WAVEFRONT"))

#: ComCam's sensors never moved, so their serials are fixed (obs_lsst ``comCam.py``).
COMCAM_SERIALS: Mapping[str, str] = {
    "S00": "ITL-3800C-229",
    "S01": "ITL-3800C-251",
    "S02": "ITL-3800C-215",
    "S10": "ITL-3800C-326",
    "S11": "ITL-3800C-283",
    "S12": "ITL-3800C-243",
    "S20": "ITL-3800C-319",
    "S21": "ITL-3800C-209",
    "S22": "ITL-3800C-206",
}

#: LATISS has had ITL-3800C-068 since 2019-06-24.
LATISS_SERIAL = "ITL-3800C-068"


def _lsstcam() -> list[DetectorRecord]:
    detectors = [
        DetectorRecord(9 * r + s, f"{raft}_{sensor}", raft, sensor)
        for r, raft in enumerate(_SCIENCE_RAFTS)
        for s, sensor in enumerate(_SENSORS)
    ]
    first_corner = 9 * len(_SCIENCE_RAFTS)
    for c, raft in enumerate(_CORNERS):
        for s, (sensor, purpose) in enumerate(_CORNER_SENSORS):
            number = first_corner + 4 * c + s
            detectors.append(DetectorRecord(number, f"{raft}_{sensor}", raft, sensor, purpose))
    return detectors


LSSTCAM_DETECTORS: tuple[DetectorRecord, ...] = tuple(_lsstcam())
LSSTCAM_BY_NAME: Mapping[str, DetectorRecord] = {d.name: d for d in LSSTCAM_DETECTORS}

COMCAM_DETECTORS: tuple[DetectorRecord, ...] = tuple(
    DetectorRecord(i, f"R22_{sensor}", "R22", sensor, serial=COMCAM_SERIALS[sensor])
    for i, sensor in enumerate(_SENSORS)
)
COMCAM_BY_NAME: Mapping[str, DetectorRecord] = {d.name: d for d in COMCAM_DETECTORS}

LATISS_DETECTORS: tuple[DetectorRecord, ...] = (
    DetectorRecord(0, "RXX_S00", "RXX", "S00", serial=LATISS_SERIAL),
)

__all__ = [
    "COMCAM_BY_NAME",
    "COMCAM_DETECTORS",
    "COMCAM_SERIALS",
    "LATISS_DETECTORS",
    "LATISS_SERIAL",
    "LSSTCAM_BY_NAME",
    "LSSTCAM_DETECTORS",
]
