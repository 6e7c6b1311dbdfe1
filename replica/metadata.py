"""``sync-metadata`` and ``fetch``: know every archived dataset here, bring bytes on demand.

``sync_metadata`` copies the other site's current catalog rows that this site lacks
(datasets, exposures, provenance, certifications: corrections included, since a
correction is a newer row), and gives each dataset this site has never had a location
row for a ``remote`` one: known, queryable (``oods ls --all``), bytes elsewhere. When
the other site has written nothing since the last sync, nothing is compared
(``sync_marks``).
``fetch`` then copies the bytes of chosen datasets, which become ``present``.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import time
from collections.abc import Sequence
from typing import Any

import duckdb
import pyarrow as pa

from catalog import Snapshot
from catalog.tables import TABLES
from oods import Site
from oods.location_states import REMOTE

from .plan import plan_transfers
from .pull import CACHE, check_retention_class, select_datasets
from .replicate import Progress, ReplicaReport, replicate
from .rows import held_keys, lacking_rows
from .sync_marks import mark_synced, table_versions, unchanged_since_last_sync


@dataclasses.dataclass(frozen=True)
class MetadataReport:
    """What one ``sync_metadata`` wrote here."""

    source: str
    rows: int  # catalog rows (datasets, exposures, provenance, certifications)
    remote: int  # new datasets, located ``remote``
    seconds: float
    notes: tuple[str, ...] = ()  # columns dropped or defaulted (schemas differ)
    #: The other site had written nothing since the last sync: nothing was compared.
    unchanged: bool = False

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)


def sync_metadata(local: Site, remote: Site) -> MetadataReport:
    """Copy ``remote``'s catalog rows that ``local`` lacks, and mark its datasets
    unknown here ``remote``. A second run with nothing new writes nothing."""
    started = time.perf_counter()
    remote_read = table_versions(remote)  # before reading it: a later write shows next time
    if unchanged_since_last_sync(local, remote, remote_read):
        return MetadataReport(remote.bucket, 0, 0, time.perf_counter() - started, unchanged=True)
    with Snapshot(remote.store, mode="lazy") as reader:
        lacking, notes = lacking_rows(reader, local, None)
        located = held_keys(local, "locations", ("dataset_id",))
        unknown = _remote_locations(reader, located)
    # The data files of every table written at once, in parallel; then the catalog
    # rows' commits, and the locations' last (a reader never sees a location first).
    local.store.append_in_order([lacking, {"locations": unknown}])
    rows = sum(t.num_rows for t in lacking.values())
    # No local.refresh() here: reloading 10^6 rows would double the cost, and every
    # reader of this module plans from a refreshed snapshot (``site.refresh()`` to see).
    mark_synced(local, remote, remote_read)
    seconds = time.perf_counter() - started
    return MetadataReport(remote.bucket, rows, unknown.num_rows, seconds, notes)


def fetch(
    local: Site,
    remote: Site,
    dataset_ids: Sequence[str] = (),
    where: str | None = None,
    retention: str = CACHE,
    progress: Progress | None = None,
) -> ReplicaReport:
    """Copy here the bytes of ``dataset_ids`` (and of ``remote``'s datasets matching
    ``where``) that this site does not hold; ids ``remote`` does not hold are failures,
    one line each."""
    check_retention_class(retention)
    wanted = list(dict.fromkeys(dataset_ids))
    if where is not None:
        wanted.extend(i for i in select_datasets(remote, where) if i not in set(wanted))
    plan = plan_transfers(remote, local, "f.dataset_id IN (SELECT unnest(?))", [wanted])
    report = replicate(remote, local, plan, retention, progress)
    held_there = {
        row[0]
        for row in remote.sql(
            "SELECT dataset_id FROM files WHERE dataset_id IN (SELECT unnest(?))", params=[wanted]
        ).fetchall()
    }
    report.unavailable = [i for i in wanted if i not in held_there]
    return report


def _remote_locations(remote: Snapshot, located: pa.Table) -> pa.Table:
    """``remote`` location rows for the datasets ``remote`` holds (its current location
    is ``present``) that have no location row here, read in one pass: a sync gets here
    only when the other site has written since the last (``sync_marks``)."""
    there = remote.sql(
        "SELECT dataset_id, instrument, day_obs, exposure, key, size, checksum, file_name "
        "FROM locations WHERE state = 'present'"
    ).to_arrow_table()
    connection = duckdb.connect()
    try:
        connection.register("there", there)
        connection.register("located", located)
        # Built in Arrow, not as Python objects: this is 10^6 rows for a whole archive.
        rows = connection.sql(
            "SELECT t.*, $state AS state, $now AS recorded_at "
            "FROM there t ANTI JOIN located l USING (dataset_id)",
            params={"state": REMOTE, "now": dt.datetime.now(dt.UTC)},
        ).to_arrow_table()
    finally:
        connection.close()
    return rows.cast(TABLES["locations"].schema)
