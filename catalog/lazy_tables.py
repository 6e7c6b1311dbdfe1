"""How a snapshot puts the catalog's tables in DuckDB: loaded into memory, or lazily.

*Memory* reads every row of every table once, so later queries answer in about a
millisecond; it costs time and memory in proportion to the whole catalog, which a small
site can afford. *Lazy* reads only the Delta logs: each ``T_history`` is a view over the
table's Parquet files (``deltalake``'s Arrow dataset), which DuckDB scans with projection
and filter pushdown, and the Delta file statistics let a predicate skip whole files. A
query then reads only the tables it names and the files its predicates select, so opening
costs the same at any size.

``choose_mode`` picks lazy once the catalog holds ``LAZY_ROWS`` rows, counted from the
Delta logs' add actions (no data read).
"""

from __future__ import annotations

import urllib.parse
from collections.abc import Mapping
from typing import Literal

import duckdb
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.fs as pa_fs
from deltalake import DeltaTable
from deltalake.exceptions import DeltaError

from .errors import CatalogReadError
from .file_stats import stats_dataset
from .migrations import derivations, upgrade_rows
from .schema_versions import current_version, stored_version
from .tables import TableSpec

SnapshotMode = Literal["memory", "lazy"]
MODES: tuple[SnapshotMode, ...] = ("memory", "lazy")

#: From this many rows in all tables together (about 1.3 x 10^6 raws, each a dataset
#: and a location row), a snapshot opened without a mode is lazy: loading would take
#: seconds and a gigabyte or more.
LAZY_ROWS = 2_500_000

#: Columns that never differ between the rows of one key: a dataset id is made from its
#: type, run and data id, and an exposure's identity fields cannot be corrected
#: (``catalog.record_corrections.IDENTITY_FIELDS``). Adding them to the window's
#: PARTITION BY changes no answer, but lets DuckDB push a predicate on them (one
#: exposure, one night) below the "latest row per key" window into the scan, so a lazy
#: ``datasets WHERE exposure = …`` reads the files of that exposure, not the table.
INVARIANT_COLUMNS: Mapping[str, tuple[str, ...]] = {
    "datasets": ("instrument", "day_obs", "exposure", "detector", "dataset_type", "run"),
    "exposures": ("day_obs",),
    "calibrations": ("collection", "dataset_type", "instrument"),
    "locations": ("instrument", "day_obs", "exposure"),  # copied from the dataset
}


def _table_tree(delta: DeltaTable, filesystem: pa_fs.FileSystem | None) -> object:
    """``filesystem`` seen from the table's folder (data file paths are relative)."""
    if filesystem is None:
        return None
    where = urllib.parse.urlsplit(delta.table_uri)
    return pa_fs.SubTreeFileSystem(f"{where.netloc}{where.path}".rstrip("/"), filesystem)


def _lazy_rows(spec: TableSpec, delta: DeltaTable, filesystem: pa_fs.FileSystem | None) -> object:
    """The table's files as an Arrow dataset, pruned by the statistics of the columns
    predicates name (``catalog.file_stats``); ``deltalake``'s own for a local table."""
    tree = _table_tree(delta, filesystem)
    if tree is None or delta.metadata().partition_columns:
        return delta.to_pyarrow_dataset(filesystem=tree)
    return stats_dataset(delta, tree, (*spec.key, *INVARIANT_COLUMNS.get(spec.name, ())))


def current_rows_sql(spec: TableSpec, source: str, pushdown: bool = False) -> str:
    """SELECT of the current row per key of ``spec`` from its history ``source``;
    ``pushdown`` adds the ``INVARIANT_COLUMNS`` to the window's partition.

    Memory leaves them out: the key alone is the definition, and the tests compare the
    two modes, which would catch a column that is not invariant after all.
    """
    direction = "DESC" if spec.keep == "last" else "ASC"
    invariant = INVARIANT_COLUMNS.get(spec.name, ()) if pushdown else ()
    partition = ", ".join((*spec.key, *invariant))
    return (
        f"SELECT * FROM {source} QUALIFY row_number() OVER (PARTITION BY {partition} "
        f"ORDER BY {spec.order} {direction}) = 1"
    )


def stored_rows(delta: DeltaTable | None) -> int:
    """Rows in a table's data files, from its log's add actions (no data read)."""
    if delta is None:
        return 0
    actions = pa.table(delta.get_add_actions(flatten=True))
    if actions.num_rows == 0:
        return 0
    return int(pc.sum(actions.column("num_records")).as_py() or 0)


def choose_mode(tables: Mapping[str, DeltaTable | None]) -> SnapshotMode:
    """Lazy for a catalog of at least ``LAZY_ROWS`` rows, memory below."""
    rows = 0
    for name, delta in tables.items():
        try:
            rows += stored_rows(delta)
        except (DeltaError, OSError) as exc:
            raise CatalogReadError(name, exc) from exc
    return "lazy" if rows >= LAZY_ROWS else "memory"


def s3_filesystem(root: str, options: Mapping[str, str]) -> pa_fs.FileSystem | None:
    """Arrow's own S3 client for a catalog in S3 (None elsewhere).

    Lazy scans read through it rather than through ``deltalake``'s Python file handler:
    it reads column chunks in parallel without the GIL, about twice as fast. Its
    timeouts are the store's (``connect_timeout``, ``timeout``) with one retry, so a
    stalled server fails a query within a bound rather than after Arrow's default tries.
    """
    if urllib.parse.urlsplit(root).scheme not in ("s3", "s3a"):
        return None
    endpoint = urllib.parse.urlsplit(options.get("AWS_ENDPOINT_URL", ""))
    return pa_fs.S3FileSystem(
        access_key=options.get("AWS_ACCESS_KEY_ID"),
        secret_key=options.get("AWS_SECRET_ACCESS_KEY"),
        session_token=options.get("AWS_SESSION_TOKEN"),
        region=options.get("AWS_REGION"),
        endpoint_override=endpoint.netloc or None,
        scheme=endpoint.scheme or "https",
        connect_timeout=_seconds(options.get("connect_timeout", "5s")),
        request_timeout=_seconds(options.get("timeout", "120s")),
        retry_strategy=pa_fs.AwsStandardS3RetryStrategy(max_attempts=2),
    )


def _seconds(text: str) -> float:
    """``"5s"``, ``"2m"`` or ``"1500ms"`` (object_store's durations) in seconds."""
    for suffix, scale in (("ms", 1e-3), ("s", 1.0), ("m", 60.0), ("h", 3600.0)):
        if text.endswith(suffix):
            return float(text.removesuffix(suffix)) * scale
    return float(text)


def install(
    connection: duckdb.DuckDBPyConnection,
    spec: TableSpec,
    delta: DeltaTable | None,
    mode: SnapshotMode,
    filesystem: pa_fs.FileSystem | None = None,
) -> None:
    """Make ``T_history`` and ``T`` (current rows) of ``spec`` in ``connection``.

    Memory copies the rows into DuckDB tables; lazy registers the Arrow dataset of the
    table's files (read through ``filesystem``, rooted at the bucket, if given) and makes
    both names views over it.
    """
    history = f"{spec.name}_history"
    try:
        if delta is None:  # no such table then (or yet)
            rows: object = spec.schema.empty_table()
        elif stored_version(delta) < current_version(spec.name):  # not migrated (yet)
            version = stored_version(delta)
            related = _installed_sources(connection, spec.name, version)
            rows = upgrade_rows(spec.name, version, delta.to_pyarrow_table(), related)
        elif mode == "memory":
            rows = delta.to_pyarrow_table()
        else:
            rows = _lazy_rows(spec, delta, filesystem)
    except (DeltaError, OSError, pa.ArrowException) as exc:
        raise CatalogReadError(spec.name, exc) from exc
    if mode == "memory":
        connection.register("_incoming", rows)
        connection.execute(f"CREATE OR REPLACE TABLE {history} AS SELECT * FROM _incoming")
        connection.unregister("_incoming")
        kind = "TABLE"
    else:
        connection.register(history, rows)  # replaces the previous version's
        kind = "VIEW"
    current = current_rows_sql(spec, history, pushdown=mode == "lazy")
    connection.execute(f"CREATE OR REPLACE {kind} {spec.name} AS {current}")


def _installed_sources(
    connection: duckdb.DuckDBPyConnection, table: str, version: int
) -> dict[str, pa.Table]:
    """The rows an upgrade of ``table`` derives from, as this snapshot holds them: the
    source tables come first in ``TABLES``, so they are installed, as of the same time.
    (A location read from before its migration gets its dataset's night and exposure.)"""
    related = {}
    for derivation in derivations(table, version):
        try:
            related[derivation.source] = connection.sql(
                f"SELECT {', '.join(derivation.columns)} FROM {derivation.source}_history"
            ).to_arrow_table()
        except duckdb.CatalogException:  # not installed: its columns stay null
            continue
    return related


#: Every dataset with its latest location, whatever its state. The window runs over the
#: location rows of the datasets a query selects (the join comes first), so a query on
#: one exposure keeps a few hundred rows, not the latest row of every location in the
#: table; its partition holds the datasets' invariant columns so that such a predicate
#: still reaches the datasets' scan. Locations come first in the join: DuckDB has no
#: row counts for Arrow scans and then keeps the written order, so the hash table is
#: built from the selected datasets and every location row streams past it (memory in
#: proportion to the answer, not to the table).
#:
#: Location rows carry their dataset's instrument, day_obs and exposure, and the first
#: branch joins on them with ``=``: DuckDB then derives ``l.exposure = X`` from a
#: predicate ``exposure = X`` and the file statistics skip the other locations too.
#: ``=`` never matches a null, so the datasets without a night or exposure (calibrations)
#: come from the second branch, joined on the id alone. Its ``IS NULL`` filters skip, by
#: the files' null counts, every file of either table holding only complete rows (a
#: night's raws), so a query on raws pays little for it; there the located rows come
#: second, building the hash table (calibrations: few).
#: Together the branches are every (location, dataset) pair as long as each location
#: row holds its dataset's values, as every writer, the migration and a snapshot of an
#: unmigrated table (``fill_dataset_columns``) make it. The one exception: a location
#: migrated while its dataset had no row keeps nulls, so were that dataset catalogued
#: later, the lazy views would see only its later location rows.
_LOCATED = (
    "SELECT * FROM ("
    "SELECT d.*, {located} FROM locations_history l JOIN datasets d "
    "ON l.dataset_id = d.dataset_id AND {same} WHERE {known} "
    "UNION ALL "
    "SELECT d.*, {located} FROM datasets d JOIN locations_history l "
    "ON l.dataset_id = d.dataset_id WHERE ({unknown_here}) AND ({unknown_there})"
    ") QUALIFY row_number() OVER (PARTITION BY dataset_id, {invariant} "
    "ORDER BY stored_at DESC) = 1"
)
#: The order of ``files`` and ``all_files`` (memory mode stores them in it).
IN_ORDER = "ORDER BY instrument, day_obs, exposure, detector, dataset_type, dataset_id"


def located_sql(without_night: bool = False) -> str:
    """``_LOCATED`` for the snapshot's tables: every dataset with its latest location.

    ``without_night`` is for a query of the rows without a night only, which the first
    branch never gives (its ``=`` never matches a null): it is left out (``WHERE
    FALSE``), where DuckDB would otherwise stream every location row past an empty join
    (at 10^7 raws, 18 s and 4.9 GB for the calibrations' rows).
    """
    copied = INVARIANT_COLUMNS["locations"]
    return _LOCATED.format(
        located="l.key, l.size, l.checksum, l.file_name, l.state, l.recorded_at AS stored_at",
        same=" AND ".join(f"l.{column} = d.{column}" for column in copied),
        known="FALSE" if without_night else "TRUE",
        unknown_here=" OR ".join(f"l.{column} IS NULL" for column in copied),
        unknown_there=" OR ".join(f"d.{column} IS NULL" for column in copied),
        invariant=", ".join(INVARIANT_COLUMNS["datasets"]),
    )


#: The name under which a lazy snapshot reads the current files (``catalog.current_files``).
CURRENT_STATE = "_current_files"


def install_file_views(
    connection: duckdb.DuckDBPyConnection,
    state: object | None = None,
    tail_condition: str | None = None,
    state_in_order: bool = False,
) -> None:
    """``files`` and ``all_files`` of a lazy snapshot, as ``catalog.query`` defines them.

    With a current-files ``state`` (an Arrow dataset of ``all_files`` rows, see
    ``catalog.current_files``), its rows stand for every night but those of
    ``tail_condition``, which the history join answers; without a tail, no history is read.
    ``state_in_order``: the state, scanned in turn, gives its rows in ``IN_ORDER`` (and
    DuckDB keeps a scan's order), so a state that answers alone is not sorted again (one
    night at 10^7 raws: 55 ms of sorting saved).
    """
    located = f"({located_sql()})"
    order = IN_ORDER
    if state is not None and tail_condition is None and state_in_order:
        order = ""
    if state is not None:
        connection.register(CURRENT_STATE, state)  # replaces the previous version's
        located = f"(SELECT * FROM {CURRENT_STATE}"
        if tail_condition is not None:
            located += f" UNION ALL SELECT * FROM ({located_sql()}) WHERE {tail_condition}"
        located += ")"
    connection.execute(
        f"CREATE OR REPLACE VIEW files AS SELECT * EXCLUDE (state) FROM {located} "
        f"WHERE state = 'present' {order}"
    )
    connection.execute(f"CREATE OR REPLACE VIEW all_files AS SELECT * FROM {located} {order}")
