"""Where each detector sits on the focal plane, for drawing the map.

The numbering and names come from ``catalog.translators.focalplane`` (obs_lsst's), so
the map and the catalog agree on which detector is which; this module adds only the
drawing position. Units are sensor widths: a raft is 3 x 3 sensors, and rafts sit on a
5 x 5 grid with a small gap. ``R{row}{col}`` and ``S{row}{col}`` count rows from the
bottom of the focal plane. In a corner raft the two guiders and the wavefront sensor
(split in its two halves, SW0 and SW1) are placed schematically: the wavefront sensor
in the raft's corner nearest the centre, the guiders beside it.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence

from catalog.records import DetectorRecord
from catalog.translators.focalplane import COMCAM_DETECTORS, LATISS_DETECTORS, LSSTCAM_DETECTORS

#: Sensor widths from one raft's origin to the next's.
RAFT_PITCH = 3.25


@dataclasses.dataclass(frozen=True)
class PlacedDetector:
    """A detector and its rectangle: ``x``, ``y`` from the bottom-left, in sensor widths."""

    detector: int
    name: str
    raft: str
    sensor: str
    purpose: str
    x: float
    y: float
    width: float
    height: float

    def to_dict(self) -> dict[str, object]:
        return dataclasses.asdict(self)


def layout(instrument: str) -> tuple[PlacedDetector, ...]:
    """The detectors of ``instrument`` with their places; unknown instruments get none."""
    return _LAYOUTS.get(instrument, ())


def expected_detectors(instrument: str) -> int | None:
    """How many detectors an exposure of ``instrument`` should have (None: unknown)."""
    placed = layout(instrument)
    return len(placed) or None


def grid_layout(detectors: Sequence[int]) -> tuple[PlacedDetector, ...]:
    """A plain grid for an instrument without a known layout: numbers, no geometry."""
    side = max(1, int(len(detectors) ** 0.5 + 0.999))
    return tuple(
        PlacedDetector(d, f"{d:03d}", "", "", "SCIENCE", i % side, i // side, 0.95, 0.95)
        for i, d in enumerate(sorted(detectors))
    )


def _raft_origin(raft: str) -> tuple[float, float]:
    row, col = int(raft[1]), int(raft[2])
    return col * RAFT_PITCH, row * RAFT_PITCH


def _place(record: DetectorRecord, origin: tuple[float, float]) -> PlacedDetector:
    x0, y0 = origin
    if record.purpose == "SCIENCE":
        row, col = int(record.sensor[1]), int(record.sensor[2])
        return _placed(record, x0 + col, y0 + row, 0.95, 0.95)
    # Corner raft: the cell nearest the focal plane's centre holds the wavefront
    # sensor's halves; the guiders take the two cells beside it.
    raft_row, raft_col = int(record.group[1]), int(record.group[2])
    inner_col = 2 if raft_col == 0 else 0
    inner_row = 2 if raft_row == 0 else 0
    step_col = -1 if inner_col == 2 else 1
    step_row = -1 if inner_row == 2 else 1
    if record.sensor == "SG0":
        return _placed(record, x0 + inner_col + step_col, y0 + inner_row, 0.95, 0.95)
    if record.sensor == "SG1":
        return _placed(record, x0 + inner_col, y0 + inner_row + step_row, 0.95, 0.95)
    half = 0.0 if record.sensor == "SW0" else 0.5
    return _placed(record, x0 + inner_col + half, y0 + inner_row, 0.45, 0.95)


def _placed(record: DetectorRecord, x: float, y: float, w: float, h: float) -> PlacedDetector:
    return PlacedDetector(
        record.detector, record.name, record.group, record.sensor, record.purpose, x, y, w, h
    )


def _lsstcam() -> tuple[PlacedDetector, ...]:
    return tuple(_place(d, _raft_origin(d.group)) for d in LSSTCAM_DETECTORS)


_LAYOUTS: dict[str, tuple[PlacedDetector, ...]] = {
    "LSSTCam": _lsstcam(),
    "LSSTComCam": tuple(_place(d, (0.0, 0.0)) for d in COMCAM_DETECTORS),
    "LATISS": tuple(_placed(d, 0.0, 0.0, 0.95, 0.95) for d in LATISS_DETECTORS),
}
