"""Choosing present files by a SQL predicate or by dataset ids: what ``get`` and ``verify``
act on.

The predicate is a DuckDB ``WHERE`` clause over the catalog's ``files`` table (one row
per present dataset, with its key, size and checksum), so anything a user can ask with
``oods query`` can select the files to fetch or check.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable

import duckdb

from .datasets import Located
from .errors import OodsError
from .site import Site

_COLUMNS = "dataset_id, dataset_type, key, size, checksum"


class SelectionError(OodsError, ValueError):
    """The predicate is not valid SQL over the ``files`` table."""


@dataclasses.dataclass
class Selection:
    """The present files chosen, and the ids asked for that name no present dataset."""

    files: list[Located] = dataclasses.field(default_factory=list)
    unknown: list[str] = dataclasses.field(default_factory=list)

    @property
    def bytes(self) -> int:
        return sum(f.size for f in self.files)


def select_files(
    site: Site, where: str | None = None, dataset_ids: Iterable[str] | None = None
) -> Selection:
    """The present files matching ``where`` and (if given) among ``dataset_ids``.

    With neither, every present file. Reads the site's latest catalog.

    Args:
        site: the site.
        where: a SQL predicate over ``files``, e.g. ``exposure = 2025060100005``.
        dataset_ids: only these datasets; those not present are listed in ``unknown``.

    Raises:
        SelectionError: the predicate does not parse or names an unknown column.

    Example:
        >>> select_files(site, "day_obs = 20250601 AND detector = 94").files
    """
    site.refresh()
    wanted = None if dataset_ids is None else list(dict.fromkeys(dataset_ids))
    conditions, params = [], {}
    if where is not None and where.strip():
        conditions.append(f"({where})")
    if wanted is not None:
        # In the query, not only in the filter below: a lazy snapshot then reads only
        # the ids' exposures (``catalog.dataset_index``), not every file.
        condition, params = site.dataset_ids_condition(wanted)
        conditions.append(f"({condition})")
    query = f"SELECT {_COLUMNS} FROM files"
    if conditions:
        query += " WHERE " + " AND ".join(conditions)
    query += " ORDER BY key"
    try:
        rows = site.sql(query, params or None).fetchall()
    except duckdb.Error as exc:
        raise SelectionError(f"--where {where!r}: {_first_line(exc)}") from None
    found = [Located(*row) for row in rows]
    selection = Selection(found)
    if wanted is not None:
        by_id = {f.dataset_id: f for f in found}
        selection.files = [by_id[i] for i in wanted if i in by_id]
        selection.unknown = [i for i in wanted if i not in by_id]
    return selection


def _first_line(exc: Exception) -> str:
    """DuckDB's messages run over several lines (a caret under the query); keep the gist."""
    return next((line.strip() for line in str(exc).splitlines() if line.strip()), str(exc))
