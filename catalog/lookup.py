"""Which calibration a raw needs: lookup along an ordered list of collections.

For each raw and each requested dataset type, the answer is the calibration certified
in the first collection of the list that has one valid at the raw's observation time
(``exposures.datetime_begin``), for the raw's instrument, detector and physical filter
(a calibration without a detector or filter applies to all). The filter is the raw's
own (``datasets.dataset_filter``), so a correction of some detectors' filter (``oods
records update``) changes which flat those raws get. The bulk form answers a
whole exposure or night in one DuckDB query, which is what processing uses; the single
form is a small flat query (planned in about a millisecond) built from the same SQL
fragments for "applies" and "preferred", so the two choose alike.

``as_of`` replays the certification history: only rows recorded at or before that time
count, so the answer is what a lookup made then would have returned.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from collections.abc import Sequence

import duckdb

from .calibrations import CERTIFIED, to_utc
from .errors import CalibrationNotFound, UnknownDatasetError
from .query import Snapshot

DEFAULT_TYPES = ("bias", "dark", "flat")

#: Certified ranges now in force.
_CURRENT = f"SELECT * FROM calibrations WHERE state = '{CERTIFIED}'"
#: Certified ranges in force at $as_of, from the history (latest row per range then).
_AS_OF = f"""
    SELECT * FROM (
        SELECT * FROM calibrations_history WHERE recorded_at <= $as_of
        QUALIFY row_number() OVER (PARTITION BY validity_id ORDER BY recorded_at DESC) = 1
    ) WHERE state = '{CERTIFIED}'
"""

#: A range applies to a raw observed at ``observed_at`` through ``raw_filter`` (a range
#: without a filter applies to every filter). Shared, column names filled in, by the
#: bulk and the single query, so that they cannot disagree.
_APPLIES = """
    ({calib_filter} IS NULL OR {calib_filter} = {raw_filter})
    AND (valid_begin IS NULL OR valid_begin <= {observed_at})
    AND (valid_end IS NULL OR {observed_at} < valid_end)
"""
#: Of the ranges that apply, the first in this order is chosen: first collection in
#: the list, then the most specific (own detector, own filter).
_PREFERENCE = (
    "list_position($collections, collection), {any_detector}, {calib_filter} IS NULL, "
    "valid_begin DESC NULLS LAST"
)
_SEARCHED = "list_contains($collections, collection) AND list_contains($types, dataset_type)"
#: A calibration has no exposure (``catalog.ids.calibration_data_id``), nor have its
#: location rows: saying so lets a lazy snapshot skip, by the files' null counts, every
#: locations file of raws instead of taking the latest row of every location.
_WITH_KEY = (
    "LEFT JOIN locations l ON l.dataset_id = c.calibration_id AND l.state = 'present' "
    "AND l.exposure IS NULL"
)

#: One row per (raw, type) found. The join is split on detector so that both halves
#: are hash joins (an OR in the join condition would compare every raw with every range).
_BULK = f"""
WITH raws AS (
    SELECT d.dataset_id AS raw_id, d.instrument, d.exposure, d.detector,
           d.dataset_filter AS physical_filter, e.datetime_begin AS observed_at
    FROM datasets d JOIN exposures e ON e.instrument = d.instrument AND e.exposure = d.exposure
    WHERE {{raw_filter}}
),
valid AS (
    SELECT validity_id, collection, dataset_type, instrument, detector,
           detector IS NULL AS any_detector, physical_filter AS calib_filter,
           dataset_id AS calibration_id, valid_begin, valid_end, recorded_at AS certified_at
    FROM ({{certifications}}) WHERE {_SEARCHED}
),
candidates AS (
    SELECT r.*, v.* EXCLUDE (instrument, detector)
    FROM raws r JOIN valid v USING (instrument, detector)
    UNION ALL BY NAME
    SELECT r.*, v.* EXCLUDE (instrument, detector)
    FROM raws r JOIN valid v ON v.instrument = r.instrument AND v.detector IS NULL
),
chosen AS (
    SELECT * FROM candidates
    WHERE {
    _APPLIES.format(
        calib_filter="calib_filter", raw_filter="physical_filter", observed_at="observed_at"
    )
}
    QUALIFY row_number() OVER (
        PARTITION BY raw_id, dataset_type
        ORDER BY {_PREFERENCE.format(any_detector="any_detector", calib_filter="calib_filter")}
    ) = 1
)
SELECT c.raw_id, c.instrument, c.exposure, c.detector, c.physical_filter, c.observed_at,
       c.dataset_type, c.calibration_id, c.collection, c.valid_begin, c.valid_end,
       c.certified_at, c.validity_id, l.key
FROM chosen c {_WITH_KEY}
ORDER BY c.exposure, c.detector, c.dataset_type
"""

#: Every range that applies to one raw whose facts are parameters, best first; the
#: first row per type is the choice. Flat on purpose: CTEs and a window cost
#: milliseconds of planning, the whole budget of a single lookup.
_SINGLE = f"""
SELECT c.dataset_type, c.calibration_id, c.collection, c.valid_begin, c.valid_end,
       c.certified_at, l.key
FROM (
    SELECT *, dataset_id AS calibration_id, recorded_at AS certified_at
    FROM ({{certifications}})
    WHERE instrument = $instrument AND (detector IS NULL OR detector = $detector)
      AND {_SEARCHED}
      AND {
    _APPLIES.format(
        calib_filter="physical_filter", raw_filter="$physical_filter", observed_at="$observed_at"
    )
}
) c {_WITH_KEY}
ORDER BY {_PREFERENCE.format(any_detector="c.detector IS NULL", calib_filter="c.physical_filter")}
"""

_RAW_FACTS = """
    SELECT d.dataset_id, d.instrument, d.detector, d.dataset_filter, d.exposure
    FROM datasets d WHERE {raw_filter}
"""
#: The raw's exposure record, asked with its key as values, which a lazy snapshot
#: prunes to the few files that hold it (a join leaves that to DuckDB's planner).
_OBSERVED_AT = """
    SELECT datetime_begin FROM exposures WHERE instrument = $instrument AND exposure = $exposure
"""


@dataclasses.dataclass(frozen=True)
class CalibrationMatch:
    """The calibration chosen for one raw and one dataset type, and why it was chosen.

    ``key`` is the object key when the bytes are on this site, else None.
    """

    dataset_type: str
    dataset_id: str
    collection: str
    valid_begin: dt.datetime | None
    valid_end: dt.datetime | None
    certified_at: dt.datetime
    key: str | None


def find_calibrations(
    snapshot: Snapshot,
    collections: Sequence[str] | str,
    dataset_types: Sequence[str] | str = DEFAULT_TYPES,
    *,
    exposure: int | None = None,
    day_obs: int | None = None,
    detector: int | None = None,
    instrument: str | None = None,
    raws: Sequence[str] | None = None,
    as_of: dt.datetime | None = None,
) -> duckdb.DuckDBPyRelation:
    """Calibrations for many raws at once, in one query: an exposure, a night, a list.

    Each filter given narrows the raws (``dataset_type = 'raw'`` unless ``raws`` names
    datasets by id); with none, every raw in the catalog is looked up.

    Args:
        snapshot: the catalog snapshot to read.
        collections: calibration collections, searched in order (first match wins).
        dataset_types: calibration types wanted, e.g. ``("bias", "dark", "flat")``.
        exposure: only this exposure's raws.
        day_obs: only this observing day's raws.
        detector: only this detector's raws.
        instrument: only this instrument's raws.
        raws: only these datasets (by id), of any type that has an exposure.
        as_of: answer as a lookup made at this time would have.

    Returns:
        A relation, one row per raw and type found (a type with no valid calibration
        has no row): raw_id, instrument, exposure, detector, physical_filter,
        observed_at, dataset_type, calibration_id, collection, valid_begin, valid_end,
        certified_at, validity_id, key.

    Example:
        >>> find_calibrations(snap, ["u/alice/candidates", "LSSTCam/calib"],
        ...                   day_obs=20250601).df()
    """
    conditions = []
    params: dict[str, object] = {
        "collections": _names(collections),
        "types": _names(dataset_types),
    }
    filters = {"exposure": exposure, "day_obs": day_obs, "detector": detector}
    filters["instrument"] = instrument
    for column, value in filters.items():
        if value is not None:
            conditions.append(f"d.{column} = ${column}")
            params[column] = value
    if raws is not None:
        conditions.append("list_contains($raws, d.dataset_id)")
        params["raws"] = list(raws)
    else:
        conditions.append("d.dataset_type = 'raw'")
    certifications = _CURRENT
    if as_of is not None:
        certifications = _AS_OF
        params["as_of"] = to_utc(as_of)
    query = _BULK.format(raw_filter=" AND ".join(conditions), certifications=certifications)
    return snapshot.sql(query, params)


def find_calibration(
    snapshot: Snapshot,
    collections: Sequence[str] | str,
    dataset_types: Sequence[str] | str = DEFAULT_TYPES,
    *,
    raw: str | None = None,
    exposure: int | None = None,
    detector: int | None = None,
    instrument: str | None = None,
    as_of: dt.datetime | None = None,
) -> dict[str, CalibrationMatch]:
    """The calibration of each requested type for one raw.

    Args:
        snapshot: the catalog snapshot to read.
        collections: calibration collections, searched in order (first match wins).
        dataset_types: calibration types wanted.
        raw: the raw's dataset id; or give ``exposure`` and ``detector``.
        exposure: the raw's exposure (with ``detector``).
        detector: the raw's detector (with ``exposure``).
        instrument: needed only when two instruments share the exposure id.
        as_of: answer as a lookup made at this time would have.

    Returns:
        ``{dataset_type: CalibrationMatch}``, one entry per requested type.

    Raises:
        ValueError: neither a raw id nor an exposure and a detector were given.
        UnknownDatasetError: the raw is not in the catalog (or has no exposure record),
            or exposure + detector match more than one raw.
        CalibrationNotFound: some type has no valid calibration in the collections;
            ``missing`` lists them.

    Example:
        >>> find_calibration(snap, ["LSSTCam/calib"], raw="c900ca45-...")["flat"].key
    """
    facts = _raw_facts(snapshot, raw, exposure, detector, instrument)
    raw_id, raw_instrument, raw_detector, physical_filter, observed_at = facts
    types = _names(dataset_types)
    params: dict[str, object] = {
        "collections": _names(collections),
        "types": types,
        "instrument": raw_instrument,
        "detector": raw_detector,
        "physical_filter": physical_filter,
        "observed_at": observed_at,
    }
    certifications = _CURRENT
    if as_of is not None:
        certifications = _AS_OF
        params["as_of"] = to_utc(as_of)
    query = _SINGLE.format(certifications=certifications)
    # execute(), not sql(): no relation is built, which matters at a few milliseconds.
    found: dict[str, CalibrationMatch] = {}
    for row in snapshot.connection.execute(query, params).fetchall():
        found.setdefault(row[0], CalibrationMatch(*row))
    missing = [t for t in types if t not in found]
    if missing:
        what = f"raw {raw_id}"
        if raw is None:
            what = f"raw of exposure {exposure} detector {detector} ({raw_id})"
        raise CalibrationNotFound(what, missing, _names(collections), observed_at)
    return found


def list_certifications(
    snapshot: Snapshot,
    *,
    collection: str | None = None,
    dataset_type: str | None = None,
    detector: int | None = None,
    as_of: dt.datetime | None = None,
    history: bool = False,
) -> duckdb.DuckDBPyRelation:
    """Certified ranges (or, with ``history``, every version of every range ever made).

    Args:
        snapshot: the catalog snapshot to read.
        collection: only this calibration collection.
        dataset_type: only this type.
        detector: only this detector.
        as_of: the ranges in force at this time (ignored with ``history``).
        history: every row, certified and decertified, oldest first.

    Example:
        >>> list_certifications(snap, collection="LSSTCam/calib", dataset_type="flat").df()
    """
    params: dict[str, object] = {}
    if history:
        source = "SELECT * FROM calibrations_history"
    elif as_of is not None:
        source, params["as_of"] = _AS_OF, to_utc(as_of)
    else:
        source = _CURRENT
    conditions = ["true"]
    for column, value in (
        ("collection", collection),
        ("dataset_type", dataset_type),
        ("detector", detector),
    ):
        if value is not None:
            conditions.append(f"{column} = ${column}")
            params[column] = value
    order = "recorded_at, validity_id" if history else "collection, dataset_type, detector"
    return snapshot.sql(
        f"SELECT * FROM ({source}) WHERE {' AND '.join(conditions)} "
        f"ORDER BY {order}, physical_filter, valid_begin NULLS FIRST",
        params or None,
    )


def _names(value: Sequence[str] | str) -> list[str]:
    """A list of names; one name alone is not taken for a sequence of letters."""
    return [value] if isinstance(value, str) else list(value)


def _raw_facts(
    snapshot: Snapshot,
    raw: str | None,
    exposure: int | None,
    detector: int | None,
    instrument: str | None,
) -> tuple[str, str, int, str, dt.datetime]:
    """(raw id, instrument, detector, physical_filter, observed_at) of one raw."""
    if raw is not None:
        condition, params = snapshot.dataset_id_condition(raw, "d.")
        what = f"raw {raw}"
    elif exposure is not None and detector is not None:
        condition = "d.dataset_type = 'raw' AND d.exposure = $exposure AND d.detector = $detector"
        params = {"exposure": exposure, "detector": detector}
        if instrument is not None:
            condition += " AND d.instrument = $instrument"
            params["instrument"] = instrument
        what = f"raw of exposure {exposure} detector {detector}"
    else:
        raise ValueError("give a raw dataset id, or both an exposure and a detector")
    query = _RAW_FACTS.format(raw_filter=condition)
    rows = snapshot.connection.execute(query, params).fetchall()
    if len(rows) > 1:
        raise UnknownDatasetError(what, f"ambiguous ({len(rows)} raws): give the instrument")
    observed = []
    if rows:
        key = {"instrument": rows[0][1], "exposure": rows[0][4]}
        observed = snapshot.connection.execute(_OBSERVED_AT, key).fetchall()
    if not observed:
        raise UnknownDatasetError(what, "not in the catalog, or no exposure record for it")
    return (*rows[0][:4], observed[0][0])
