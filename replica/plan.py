"""What to move between two sites, as a diff of their catalogs.

The plan is recomputed on every run from both catalogs, never kept: a dataset is to
move when the source holds its bytes (latest location ``present``) and the destination
holds no present copy with the same dataset id *and* checksum. So a run that stopped
half-way is resumed by running it again, and a run with nothing to do moves nothing.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from collections.abc import Sequence
from typing import Any

import duckdb
import pyarrow as pa

from oods import Site

#: Columns of the source's ``files`` view a transfer needs.
_COLUMNS = (
    "dataset_id, dataset_type, instrument, key, size, checksum, file_name, stored_at, "
    "day_obs, exposure"
)

#: What ``push`` sends to the permanent archive. There is no promotion marker for
#: outputs yet, so: raws, plus every dataset certified as a calibration; other outputs
#: (commissioning products) stay local.
PUSHED = "f.dataset_type = 'raw' OR f.dataset_id IN (SELECT dataset_id FROM calibrations)"


@dataclasses.dataclass(frozen=True)
class Transfer:
    """One dataset whose bytes are to be copied, as the source's catalog describes them."""

    dataset_id: str
    dataset_type: str
    instrument: str
    key: str
    size: int
    checksum: str
    file_name: str
    stored_at: dt.datetime
    day_obs: int | None = None  # the dataset's, copied to its location rows
    exposure: int | None = None


@dataclasses.dataclass(frozen=True)
class Plan:
    """The datasets to copy from ``source`` to ``destination`` (bucket names)."""

    source: str
    destination: str
    transfers: tuple[Transfer, ...]

    @property
    def count(self) -> int:
        return len(self.transfers)

    @property
    def bytes(self) -> int:
        return sum(t.size for t in self.transfers)

    @property
    def oldest(self) -> dt.datetime | None:
        """When the longest-waiting dataset was stored at the source (None: nothing)."""
        return min((t.stored_at for t in self.transfers), default=None)

    def summary(self) -> dict[str, Any]:
        oldest = self.oldest
        return {
            "source": self.source,
            "destination": self.destination,
            "datasets": self.count,
            "bytes": self.bytes,
            "oldest": oldest.isoformat() if oldest else None,
        }

    def to_dict(self) -> dict[str, Any]:
        return {**self.summary(), "transfers": [dataclasses.asdict(t) for t in self.transfers]}


def plan_transfers(
    source: Site, destination: Site, where: str = "TRUE", params: Sequence[object] = ()
) -> Plan:
    """The datasets present at ``source``, chosen by ``where``, that ``destination`` lacks.

    Args:
        where: an SQL predicate over the source's ``files`` view, aliased ``f``.
        params: DuckDB parameters of ``where``.
    """
    source.refresh()
    destination.refresh()
    candidates = source.sql(
        f"SELECT {_COLUMNS} FROM files f WHERE {where}", params=list(params) or None
    ).to_arrow_table()
    held = destination.sql("SELECT dataset_id, checksum FROM files").to_arrow_table()
    return Plan(source.bucket, destination.bucket, tuple(_missing(candidates, held)))


def _missing(candidates: pa.Table, held: pa.Table) -> list[Transfer]:
    """The one query joining both catalogs: candidates anti-joined on (id, checksum)."""
    connection = duckdb.connect()
    try:
        connection.register("candidates", candidates)
        connection.register("held", held)
        rows = connection.execute(
            "SELECT c.* FROM candidates c ANTI JOIN held h "
            "ON c.dataset_id = h.dataset_id AND c.checksum = h.checksum "
            "ORDER BY c.stored_at, c.key"
        ).fetchall()
    finally:
        connection.close()
    return [Transfer(*row) for row in rows]
