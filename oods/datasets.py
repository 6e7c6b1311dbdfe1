"""Finding datasets and their objects: what ``oods ls`` and ``oods url`` ask the catalog."""

from __future__ import annotations

import dataclasses

import duckdb

from .errors import OodsError
from .site import Site

#: Present datasets with where their bytes are (the snapshot's ``files`` table).
_PRESENT = """
    SELECT dataset_id, dataset_type, instrument, day_obs, exposure, detector,
           physical_filter, run, key, size, checksum
    FROM files
"""


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
) -> duckdb.DuckDBPyRelation:
    """Present datasets matching every filter given, ordered by exposure and detector."""
    filters = {
        "dataset_type": dataset_type,
        "instrument": instrument,
        "day_obs": day_obs,
        "exposure": exposure,
        "detector": detector,
    }
    used = {k: v for k, v in filters.items() if v is not None}
    where = "".join(f" AND {column} = ${column}" for column in used)
    query = f"SELECT * FROM ({_PRESENT}) WHERE true{where} ORDER BY exposure, detector, key"
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
        rows = site.sql(
            f"SELECT * FROM ({_PRESENT}) WHERE dataset_id = $id", {"id": dataset_id}
        ).fetchall()
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
        raise DatasetNotFound(f"no present {what} in this site")
    if len(rows) > 1:
        raise DatasetNotFound(f"{what} is ambiguous ({len(rows)} datasets): give --instrument")
    row = rows[0]
    return Located(
        dataset_id=row[0], dataset_type=row[1], key=row[8], size=row[9], checksum=row[10]
    )
