"""Finding datasets and their objects: what ``oods ls`` and ``oods url`` ask the catalog."""

from __future__ import annotations

import dataclasses

import duckdb

from .errors import OodsError
from .site import Site

#: Present datasets with where their bytes are (the snapshot's ``files`` table).
_PRESENT = """
    SELECT dataset_id, dataset_type, instrument, day_obs, exposure, detector,
           dataset_filter, run, key, size, checksum
    FROM files
"""
#: Every catalogued dataset, present or not, with its location's state.
_EVERY_STATE = """
    SELECT dataset_id, dataset_type, instrument, day_obs, exposure, detector,
           dataset_filter, run, key, size, checksum, state
    FROM all_files
"""
#: Why a known dataset cannot be read here, by the state of its latest location.
_ABSENT_WHY = {
    "expired": "removed by the retention policy (fetch it from the archive)",
    "missing": "its object is gone from the bucket (ingest the file again to restore it)",
    "remote": "its bytes are at another site",
    "deleted": "deleted on purpose",
}


class DatasetNotFound(OodsError, LookupError):
    """No present dataset matches what was asked."""


@dataclasses.dataclass(frozen=True)
class Located:
    """A dataset's identity and its object in the site's bucket."""

    dataset_id: str
    dataset_type: str
    key: str
    size: int
    checksum: str


def list_datasets(
    site: Site,
    *,
    dataset_type: str | None = None,
    instrument: str | None = None,
    day_obs: int | None = None,
    exposure: int | None = None,
    detector: int | None = None,
    limit: int | None = None,
    every_state: bool = False,
) -> duckdb.DuckDBPyRelation:
    """Present datasets matching every filter given, ordered by exposure and detector.

    ``every_state`` lists every catalogued dataset instead, with a ``state`` column
    (present, expired, missing, remote …): only present ones can be read here.
    """
    filters = {
        "dataset_type": dataset_type,
        "instrument": instrument,
        "day_obs": day_obs,
        "exposure": exposure,
        "detector": detector,
    }
    used = {k: v for k, v in filters.items() if v is not None}
    where = "".join(f" AND {column} = ${column}" for column in used)
    source = _EVERY_STATE if every_state else _PRESENT
    query = f"SELECT * FROM ({source}) WHERE true{where} ORDER BY exposure, detector, key"
    if limit is not None:
        query += f" LIMIT {int(limit)}"
    return site.sql(query, used or None)


def locate(
    site: Site,
    dataset_id: str | None = None,
    *,
    exposure: int | None = None,
    detector: int | None = None,
    instrument: str | None = None,
    dataset_type: str = "raw",
) -> Located:
    """The object of one dataset, by id or by exposure + detector.

    Raises:
        DatasetNotFound: nothing present matches, or exposure + detector is ambiguous.
    """
    if dataset_id is not None:
        condition, found_by = site.dataset_id_condition(dataset_id)
        rows = site.sql(f"SELECT * FROM ({_PRESENT}) WHERE {condition}", found_by).fetchall()
        what = f"dataset {dataset_id}"
    elif exposure is not None and detector is not None:
        rows = list_datasets(
            site,
            dataset_type=dataset_type,
            instrument=instrument,
            exposure=exposure,
            detector=detector,
        ).fetchall()
        what = f"{dataset_type} of exposure {exposure} detector {detector}"
    else:
        raise DatasetNotFound("give a dataset id, or both an exposure and a detector")
    if not rows:
        raise DatasetNotFound(_absent(site, what, dataset_id, exposure, detector, instrument))
    if len(rows) > 1:
        raise DatasetNotFound(f"{what} is ambiguous ({len(rows)} datasets): give --instrument")
    row = rows[0]
    return Located(
        dataset_id=row[0], dataset_type=row[1], key=row[8], size=row[9], checksum=row[10]
    )


def not_present_reason(site: Site, dataset_id: str) -> str:
    """Why ``dataset_id`` cannot be read here: unknown, or known and expired, missing …"""
    return _absent(site, f"dataset {dataset_id}", dataset_id, None, None, None)


def _absent(
    site: Site,
    what: str,
    dataset_id: str | None,
    exposure: int | None,
    detector: int | None,
    instrument: str | None,
) -> str:
    """Why nothing present matched: not catalogued at all, or known but not here."""
    if dataset_id is not None:
        query, params = site.dataset_id_condition(dataset_id)
    else:
        query, params = "exposure = $e AND detector = $d", {"e": exposure, "d": detector}
        if instrument is not None:
            query, params = query + " AND instrument = $i", {**params, "i": instrument}
    states = sorted(
        {
            str(state)
            for (state,) in site.sql(
                f"SELECT state FROM all_files WHERE {query} AND state <> 'present'", params
            ).fetchall()
        }
    )
    if not states:
        return f"no present {what} in this site"
    why = "; ".join(f"{state}: {_ABSENT_WHY.get(state, state)}" for state in states)
    return f"{what} is not present here: {why}"
