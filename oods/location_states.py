"""Change where a dataset's bytes stand (present, expired, missing …) without losing it.

A location row is never changed: a new state is a newer row for the same dataset,
copying the key, size, checksum and file name of its latest row, so the dataset stays
known as metadata (``oods ls --all``) and re-ingesting its file restores it. Every
writer of a state (reconcile, the deletion listener, eviction, replica pulls) goes
through ``record_location_states`` so that the states stay one vocabulary.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from typing import TYPE_CHECKING

import duckdb
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.dataset as ds

from catalog.tables import TABLES

if TYPE_CHECKING:
    from .site import Site

#: The bytes are in this site's bucket: the only readable state.
PRESENT = "present"
#: Removed by policy: a lifecycle rule or capacity eviction.
EXPIRED = "expired"
#: Gone without a policy explaining it (found by reconcile or a notification).
MISSING = "missing"
#: Known as metadata; the bytes are at another site.
REMOTE = "remote"
#: Deleted on purpose.
DELETED = "deleted"

STATES: frozenset[str] = frozenset({PRESENT, EXPIRED, MISSING, REMOTE, DELETED})


def record_location_states(
    site: Site, changes: Mapping[str, str], recorded_before: dt.datetime | None = None
) -> int:
    """Give each dataset in ``changes`` (dataset id -> state) a new location row.

    All rows go in one commit. Ids the catalog has no location for are ignored, and so
    is a dataset already in the asked state (a repeated notification or reconcile
    writes nothing). Returns the number of rows written.

    Args:
        recorded_before: leave alone a dataset whose latest row was recorded after this
            moment. What a reconcile or a deletion event saw may be older than a
            re-ingest committed meanwhile, which must not be marked gone.

    Raises:
        ValueError: a state outside ``STATES`` (nothing is written).
        CatalogReadError, CatalogCommitError: the catalog could not be read or written.
    """
    unknown = sorted({state for state in changes.values() if state not in STATES})
    if unknown:
        raise ValueError(f"unknown location state(s) {unknown}; known: {sorted(STATES)}")
    if not changes:
        return 0
    latest = latest_locations(site, list(changes))
    wanted = pa.array([changes[i] for i in latest.column("dataset_id").to_pylist()], pa.string())
    changed = pc.not_equal(latest.column("state"), wanted)
    if recorded_before is not None:
        changed = pc.and_(changed, pc.less_equal(latest.column("recorded_at"), recorded_before))
    rows = latest.filter(changed)
    if not rows.num_rows:
        return 0
    now = dt.datetime.now(dt.UTC)
    rows = rows.set_column(
        rows.schema.get_field_index("state"), "state", wanted.filter(changed)
    ).set_column(
        rows.schema.get_field_index("recorded_at"),
        "recorded_at",
        pa.array([now] * rows.num_rows, pa.timestamp("us", tz="UTC")),
    )
    site.store.append("locations", rows)
    return rows.num_rows


def latest_locations(site: Site, dataset_ids: list[str] | None = None) -> pa.Table:
    """The latest location row of each dataset (of ``dataset_ids`` only, if given),
    read from the table now (not from a possibly stale snapshot)."""
    where = None if dataset_ids is None else ds.field("dataset_id").isin(dataset_ids)
    rows = site.store.scan("locations", filter=where)
    if not rows.num_rows:
        return TABLES["locations"].schema.empty_table()
    connection = duckdb.connect()
    try:
        connection.register("rows", rows)
        latest = connection.sql(
            "SELECT * FROM rows QUALIFY row_number() OVER "
            "(PARTITION BY dataset_id ORDER BY recorded_at DESC) = 1"
        ).to_arrow_table()
    finally:
        connection.close()
    return latest.select(TABLES["locations"].schema.names).cast(TABLES["locations"].schema)
