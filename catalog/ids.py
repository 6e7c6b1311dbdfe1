"""Deterministic dataset ids, computed exactly as the LSST Data Butler does."""

from __future__ import annotations

import uuid
from collections.abc import Mapping

#: The Butler's namespace for dataset ids (``DatasetIdFactory.NS_UUID``).
BUTLER_NAMESPACE = uuid.UUID("840b31d9-05cd-5161-b2c8-00d32b280d0f")


def dataset_id(dataset_type: str, run: str, data_id: Mapping[str, object]) -> uuid.UUID:
    """Return the Butler's ``DATAID_TYPE_RUN`` id for a dataset.

    The same raw gets the same id here, at the archive and in a Butler repository,
    so ids can be compared across all three without a lookup.

    Args:
        dataset_type: e.g. ``"raw"`` or ``"flat"``.
        run: the run collection, e.g. ``"LSSTCam/raw/all"``.
        data_id: the *required* data-id values, e.g. instrument, exposure, detector.

    Example:
        >>> str(dataset_id("raw", "LSSTCam/raw/all",
        ...     {"instrument": "LSSTCam", "exposure": 2025041500060, "detector": 1}))
        'c900ca45-8346-53d7-b43f-af5d7c87bae7'
    """
    items = [("dataset_type", dataset_type), ("run", run)]
    items.extend((key, str(data_id[key])) for key in sorted(data_id))
    return uuid.uuid5(BUTLER_NAMESPACE, ",".join(f"{key}={value}" for key, value in items))


#: Calibration types whose data id includes the physical filter, as in the Butler.
FILTER_CALIBRATIONS = frozenset({"flat", "fringe", "sky", "illuminationCorrection"})


def calibration_data_id(
    dataset_type: str, instrument: str, detector: int | None, physical_filter: str | None
) -> dict[str, object]:
    """The required data id of a calibration dataset.

    ``instrument`` always; ``detector`` when given; ``physical_filter`` when given, and
    required for the types in ``FILTER_CALIBRATIONS``.

    Raises:
        ValueError: a filter-dependent type without a filter.

    Example:
        >>> calibration_data_id("flat", "LSSTCam", 94, "r_57")
        {'instrument': 'LSSTCam', 'detector': 94, 'physical_filter': 'r_57'}
    """
    if physical_filter is None and dataset_type in FILTER_CALIBRATIONS:
        raise ValueError(f"a {dataset_type} needs a physical_filter in its data id")
    data_id: dict[str, object] = {"instrument": instrument}
    if detector is not None:
        data_id["detector"] = detector
    if physical_filter is not None:
        data_id["physical_filter"] = physical_filter
    return data_id
