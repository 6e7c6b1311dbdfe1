"""Record types shared by every package, and the Arrow schemas derived from them.

A record is a frozen dataclass; its table schema is computed from the annotations, so
adding an optional field to a record is all it takes to add a column.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import functools
import types
import typing
from typing import Any

import pyarrow as pa

from .bands import band_of

_ARROW_TYPES: dict[Any, pa.DataType] = {
    str: pa.string(),
    int: pa.int64(),
    float: pa.float64(),
    bool: pa.bool_(),
    dt.datetime: pa.timestamp("us", tz="UTC"),
}


@dataclasses.dataclass(frozen=True)
class DetectorRecord:
    """One detector of an instrument, numbered as the Butler numbers it."""

    detector: int
    name: str  # full name, e.g. "R22_S11"
    group: str  # raft, e.g. "R22"
    sensor: str  # e.g. "S11"
    purpose: str = "SCIENCE"  # SCIENCE, WAVEFRONT or GUIDER
    serial: str | None = None


@dataclasses.dataclass(frozen=True)
class ExposureRecord:
    """What a raw's header says about its exposure (the Butler's ``exposure`` record)."""

    instrument: str
    exposure: int
    obs_id: str
    day_obs: int
    seq_num: int
    group: str
    physical_filter: str
    observation_type: str
    observation_reason: str
    science_program: str
    target_name: str
    exposure_time: float
    dark_time: float
    datetime_begin: dt.datetime
    datetime_end: dt.datetime
    band: str = ""  # derived from physical_filter (catalog.bands), whatever is passed
    exposure_time_requested: float | None = None
    tracking_ra: float | None = None
    tracking_dec: float | None = None
    sky_angle: float | None = None
    airmass: float | None = None
    zenith_angle: float | None = None
    azimuth: float | None = None
    can_see_sky: bool | None = None
    has_simulated_content: bool = False
    focus_z: float | None = None
    temperature: float | None = None
    pressure: float | None = None
    relative_humidity: float | None = None
    seq_start: int | None = None  # first seq_num of this exposure's sequence (visit)
    seq_end: int | None = None  # last seq_num of that sequence (may not exist yet)
    corrected_cards: str | None = None  # header cards a correction file changed, comma-separated
    corrected_fields: str | None = None  # fields `oods records update` changed, comma-separated
    correction: str | None = None  # why: the source (and reason) of the latest correction

    def __post_init__(self) -> None:
        # The Butler derives band from the filter: never stored out of step with it.
        object.__setattr__(self, "band", band_of(self.physical_filter))


@dataclasses.dataclass(frozen=True)
class Translation:
    """The result of translating one raw header: its exposure and its detector."""

    exposure: ExposureRecord
    detector: DetectorRecord

    def data_id(self) -> dict[str, object]:
        """The raw's required data id, as the Butler spells it."""
        return {
            "instrument": self.exposure.instrument,
            "exposure": self.exposure.exposure,
            "detector": self.detector.detector,
        }


@dataclasses.dataclass(frozen=True)
class DatasetRecord:
    """A dataset: its identity (type, run, data id) and the header facts kept with it.

    Rows are never changed: a correction appends a newer row (same ``dataset_id``, later
    ``recorded_at``; ``ingested_at`` is kept), and the latest row per id is the truth.
    ``dataset_filter`` is the dataset's own physical filter (a raw's header, a flat's
    data id): not ``physical_filter``, so that a join with ``exposures`` is unambiguous.
    """

    dataset_id: str
    dataset_type: str
    run: str
    instrument: str
    data_id: str  # JSON of the required data id, keys sorted
    ingested_at: dt.datetime  # when the dataset was first catalogued
    recorded_at: dt.datetime  # when this row was written
    exposure: int | None = None
    detector: int | None = None
    dataset_filter: str | None = None
    day_obs: int | None = None
    corrected_fields: str | None = None  # fields `oods records update` changed, comma-separated
    correction: str | None = None  # why: the source (and reason) of the latest correction


@dataclasses.dataclass(frozen=True)
class LocationRecord:
    """Where a dataset's bytes are in the site's bucket, and in what state.

    ``state`` is ``present`` or ``deleted``; the latest row per dataset is the truth.
    ``instrument``, ``day_obs`` and ``exposure`` are the dataset's own (never changed
    for a dataset), copied so that a night's or an exposure's location rows are found
    by file statistics without reading the rest; ``day_obs`` and ``exposure`` are None
    for datasets without them (calibrations), and all three for a location migrated
    from schema version 1 whose dataset row was missing.
    """

    dataset_id: str
    instrument: str | None
    day_obs: int | None
    exposure: int | None
    key: str
    size: int
    checksum: str  # sha256, hex
    file_name: str  # the original file name
    state: str
    recorded_at: dt.datetime


@dataclasses.dataclass(frozen=True)
class CertificationRecord:
    """One validity range of a calibration dataset in a calibration collection.

    Rows are never changed: decertifying writes a newer row with the same
    ``validity_id`` and ``state="decertified"``; the latest row per id is the truth,
    and ``recorded_at`` says when each version was made (for ``as_of`` lookups).
    The data id (instrument, detector, physical_filter) is copied from the dataset so
    that overlap checks and lookups need no join. ``None`` bounds are open.
    """

    validity_id: str
    collection: str
    dataset_type: str
    instrument: str
    detector: int | None
    physical_filter: str | None
    dataset_id: str
    valid_begin: dt.datetime | None  # inclusive
    valid_end: dt.datetime | None  # exclusive
    state: str  # "certified" or "decertified"
    recorded_at: dt.datetime


@dataclasses.dataclass(frozen=True)
class ProvenanceRecord:
    """One input of an output dataset, with the role it played (e.g. ``bias``)."""

    output_id: str
    input_id: str
    role: str
    recorded_at: dt.datetime


@dataclasses.dataclass(frozen=True)
class ArrivalRecord:
    """One file seen arriving by ``oods serve``, and what became of it.

    Append-only; clients follow it by polling ``WHERE seq > last_seen ORDER BY seq``.
    ``seq`` only grows: the writer (one ``oods serve`` per site) numbers rows from the
    microseconds of the commit time, never below the greatest number already stored,
    and commits a batch's rows in one commit after the batch's catalog commit, so a
    row seen by a client never gains a smaller-numbered sibling later. ``status`` is
    ``ingested``, ``skipped`` (already there), ``ingest_failure`` or
    ``metadata_failure`` (the summit's ``imageInOODS`` outcomes).
    """

    seq: int
    path: str  # where the file landed
    status: str
    arrived_at: dt.datetime  # when the file was complete in the landing folder
    recorded_at: dt.datetime  # when this row was committed (queryable from then)
    dataset_id: str | None = None
    key: str | None = None
    size: int | None = None
    failure: str | None = None  # "metadata" or "ingest"
    reason: str | None = None
    ingested_at: dt.datetime | None = None  # when its dataset became queryable


def _arrow_type(annotation: Any) -> tuple[pa.DataType, bool]:
    """Map a field annotation to (arrow type, nullable)."""
    if isinstance(annotation, types.UnionType) or typing.get_origin(annotation) is typing.Union:
        args = [a for a in typing.get_args(annotation) if a is not type(None)]
        return _ARROW_TYPES[args[0]], True
    return _ARROW_TYPES[annotation], False


@functools.cache
def arrow_schema(record_type: type) -> pa.Schema:
    """The Arrow schema of a record type, one column per field, in field order.

    Cached: resolving the type hints costs more than a small commit's rows."""
    hints = typing.get_type_hints(record_type)
    fields = []
    for field in dataclasses.fields(record_type):
        arrow_type, nullable = _arrow_type(hints[field.name])
        fields.append(pa.field(field.name, arrow_type, nullable=nullable))
    return pa.schema(fields)


def to_arrow(records: typing.Sequence[Any], record_type: type) -> pa.Table:
    """A table of records, with the schema of their type (empty if there are none)."""
    schema = arrow_schema(record_type)
    columns = {f.name: [getattr(r, f.name) for r in records] for f in schema}
    return pa.Table.from_pydict(columns, schema=schema)
