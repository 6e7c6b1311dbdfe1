"""The calibration view: which bias, dark and flat each detector of an exposure gets.

The lookup is ``catalog.find_calibrations`` (what ``oods calib find`` uses), for the
collections in the order given. Each type's calibrations are then ranked into
*generations* by when their validity began, newest first (0): on the map a detector
left on an older flat than its neighbours stands out by its colour.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from catalog import Snapshot, find_calibrations

from .focal_plane import grid_layout, layout

CALIBRATION_TYPES = ("bias", "dark", "flat")


def collections(snapshot: Snapshot) -> list[str]:
    """The calibration collections certified in, sorted."""
    rows = snapshot.connection.execute(
        "SELECT DISTINCT collection FROM calibrations ORDER BY 1"
    ).fetchall()
    return [r[0] for r in rows]


def calib_view(
    snapshot: Snapshot,
    instrument: str,
    exposure: int,
    search: Sequence[str],
    types: Sequence[str] = CALIBRATION_TYPES,
) -> dict[str, Any]:
    """Per detector of ``exposure``: each type's calibration, its collection, validity
    and generation; detectors with no match for a type have none for it.

    Raises:
        LookupError: the catalog has no such exposure.
    """
    known = snapshot.connection.execute(
        "SELECT count(*) FROM exposures WHERE instrument = $instrument AND exposure = $exposure",
        {"instrument": instrument, "exposure": exposure},
    ).fetchall()[0][0]
    if not known:
        raise LookupError(f"exposure {exposure} of {instrument} is not in the catalog")
    rows = (
        find_calibrations(
            snapshot, list(search), list(types), exposure=exposure, instrument=instrument
        )
        .select("detector, dataset_type, calibration_id, collection, valid_begin, valid_end, key")
        .fetchall()
    )
    begins: dict[str, set[object]] = {}
    for _, kind, _, _, begin, _, _ in rows:
        begins.setdefault(kind, set()).add(begin)
    order = {
        kind: {b: i for i, b in enumerate(sorted(found, key=_newest_first))}
        for kind, found in begins.items()
    }
    by_detector: dict[int, dict[str, Any]] = {}
    for detector, kind, calibration, collection, begin, end, key in rows:
        by_detector.setdefault(detector, {})[kind] = {
            "calibration_id": calibration,
            "collection": collection,
            "valid_begin": begin.isoformat() if begin else None,
            "valid_end": end.isoformat() if end else None,
            "generation": order[kind][begin],
            "on_site": key is not None,
        }
    placed = layout(instrument) or grid_layout(sorted(by_detector))
    raws = {
        r[0]
        for r in snapshot.connection.execute(
            "SELECT detector FROM datasets WHERE dataset_type = 'raw' "
            "AND instrument = $instrument AND exposure = $exposure",
            {"instrument": instrument, "exposure": exposure},
        ).fetchall()
    }
    return {
        "instrument": instrument,
        "exposure": exposure,
        "collections": list(search),
        "types": list(types),
        "generations": {kind: len(found) for kind, found in begins.items()},
        "detectors": [
            {
                **p.to_dict(),
                "has_raw": p.detector in raws,
                "calibrations": by_detector.get(p.detector, {}),
            }
            for p in placed
        ],
    }


def _newest_first(begin: object) -> tuple[int, float]:
    """Open-begun validity (None) counts as the oldest generation."""
    if begin is None:
        return (1, 0.0)
    return (0, -begin.timestamp())  # type: ignore[attr-defined]
