"""Catalog rows written straight through ``CatalogStore.append``, without files.

For tests and benchmarks of certification, lookup and provenance, which need raws,
exposures and calibration datasets in the catalog but not their bytes.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Sequence

import pyarrow as pa

from catalog import (
    CatalogStore,
    DatasetRecord,
    ExposureRecord,
    calibration_data_id,
    dataset_id,
    to_arrow,
)

INSTRUMENT = "LSSTCam"
RAW_RUN = "LSSTCam/raw/all"
NIGHT_START = dt.datetime(2025, 6, 2, 0, 30, tzinfo=dt.UTC)  # day_obs 20250601


def exposure_id(day_obs: int, seq_num: int) -> int:
    return day_obs * 100_000 + seq_num


def exposure_record(
    day_obs: int, seq_num: int, begin: dt.datetime, physical_filter: str = "r_57"
) -> ExposureRecord:
    return ExposureRecord(
        instrument=INSTRUMENT,
        exposure=exposure_id(day_obs, seq_num),
        obs_id=f"MC_O_{day_obs}_{seq_num:06d}",
        day_obs=day_obs,
        seq_num=seq_num,
        group=f"{day_obs}_{seq_num}",
        physical_filter=physical_filter,
        observation_type="science",
        observation_reason="science",
        science_program="BLOCK-1",
        target_name="field",
        exposure_time=30.0,
        dark_time=30.0,
        datetime_begin=begin,
        datetime_end=begin + dt.timedelta(seconds=30),
    )


def add_exposures(
    store: CatalogStore,
    day_obs: int,
    begins: Sequence[dt.datetime],
    detectors: int,
    filters: Sequence[str] = ("r_57",),
) -> list[ExposureRecord]:
    """Exposures 1..n of ``day_obs`` (filters cycled) and their raws, in two commits."""
    now = dt.datetime.now(dt.UTC)
    exposures = [
        exposure_record(day_obs, i + 1, begin, filters[i % len(filters)])
        for i, begin in enumerate(begins)
    ]
    table = to_arrow(exposures, ExposureRecord)
    table = table.append_column(
        "recorded_at", pa.array([now] * len(exposures), pa.timestamp("us", tz="UTC"))
    )
    store.append("exposures", table)
    raws = []
    for e in exposures:
        for detector in range(detectors):
            data_id = {"instrument": INSTRUMENT, "exposure": e.exposure, "detector": detector}
            raws.append(
                DatasetRecord(
                    dataset_id=str(dataset_id("raw", RAW_RUN, data_id)),
                    dataset_type="raw",
                    run=RAW_RUN,
                    instrument=INSTRUMENT,
                    data_id=json.dumps(data_id, sort_keys=True),
                    ingested_at=now,
                    recorded_at=now,
                    exposure=e.exposure,
                    detector=detector,
                    dataset_filter=e.physical_filter,
                    day_obs=day_obs,
                )
            )
    store.append("datasets", to_arrow(raws, DatasetRecord))
    return exposures


def raw_id(exposure: int, detector: int) -> str:
    data_id = {"instrument": INSTRUMENT, "exposure": exposure, "detector": detector}
    return str(dataset_id("raw", RAW_RUN, data_id))


def calibration_record(
    dataset_type: str, run: str, detector: int | None, physical_filter: str | None = None
) -> DatasetRecord:
    data_id = calibration_data_id(dataset_type, INSTRUMENT, detector, physical_filter)
    now = dt.datetime.now(dt.UTC)
    return DatasetRecord(
        dataset_id=str(dataset_id(dataset_type, run, data_id)),
        dataset_type=dataset_type,
        run=run,
        instrument=INSTRUMENT,
        data_id=json.dumps(data_id, sort_keys=True),
        ingested_at=now,
        recorded_at=now,
        detector=detector,
        dataset_filter=physical_filter,
    )


def add_calibrations(store: CatalogStore, records: Sequence[DatasetRecord]) -> list[str]:
    """Calibration datasets (no bytes), in one commit; their ids in order."""
    store.append("datasets", to_arrow(records, DatasetRecord))
    return [r.dataset_id for r in records]


def calibration_ids(
    store: CatalogStore,
    dataset_type: str,
    run: str,
    detectors: Sequence[int | None],
    physical_filter: str | None = None,
) -> list[str]:
    """One calibration of ``dataset_type`` per detector, added in one commit."""
    records = [calibration_record(dataset_type, run, d, physical_filter) for d in detectors]
    return add_calibrations(store, records)
