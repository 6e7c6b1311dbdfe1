"""The current rows of ``all_files``, night by night, so that a lazy snapshot answers one
exposure or one night without joining the location history.

A lazy snapshot's ``all_files`` joins ``locations_history`` with the latest ``datasets``
rows and keeps the latest location per dataset with a window, on every query (see
``lazy_tables._LOCATED``): one exposure cost 30-40 ms at 10^7 raws, most of it decoding
history. The *current files* state is that view's answer, computed ahead: plain Parquet
objects beside the tables (under ``FOLDER``, not Delta: nothing in it is history), one
per night (``day_obs``) plus one for the rows without a night (calibrations), each
sorted by instrument, exposure, detector, dataset type and id in row groups of
``ROW_GROUP`` rows (thirty exposures), so a query on one exposure decodes one group;
read night by night, objects of one instrument give the views' order unsorted.

It is derived data, built by maintenance (``refresh_current_files``) and possibly older
than the tables. Its manifest records the ``datasets`` and ``locations`` versions it was
built at and the data files of each it covers, with their nights (from the Delta add
actions' ``day_obs`` statistics: no data read). A lazy snapshot at the latest version
whose tables are at least that new takes its *tail nights* from its live files the
manifest does not cover (and covered files it no longer has, rewritten by compaction):
``all_files`` is then the state's rows of every other night plus the history join
restricted to the tail nights. With no tail it never reads the history.

Why that is every row, once: the rows of one dataset, in both tables, carry the same
``day_obs`` (``lazy_tables.INVARIANT_COLUMNS``: a dataset's night never changes, and a
location row copies its dataset's; the documented migration exception there applies
here too). A night outside the tail has all its rows, of both tables, in covered files,
so its current rows are what they were when its object was written (a refresh rewrites
every night its tail touches). A tail night's rows come from the join, as without the
state. Time travel, memory mode, a manifest newer than the snapshot, from other columns
(a migration) or missing or unreadable: the state is not used, which is only slower.

The manifest gives each object's size, row count and exposure range, so a snapshot
prunes objects by night and exposure without reading footers or sizes.

A refresh writes new objects under fresh names, then the manifest (one PUT replaces
it), and deletes the objects replaced at least ``KEEP_REPLACED`` (an hour) before: a
snapshot not refreshed for longer than that may fail to read ``files``. It also deletes
the objects no manifest names that are as old: those of a refresh that stopped before
writing its manifest (a younger one may be another refresh's, still running).
"""

from __future__ import annotations

import base64
import contextlib
import json
import time
import uuid
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.dataset as ds
import pyarrow.fs as pa_fs
import pyarrow.parquet as pq
from deltalake import DeltaTable

from .derived_folders import derived_folder, read_manifest_object
from .lazy_tables import located_sql
from .schema_versions import current_version, stored_version
from .tables import CatalogStore

if TYPE_CHECKING:
    from .query import Snapshot

#: Under the catalog's root, beside the tables.
FOLDER = "_current_files"
MANIFEST = "manifest.json"
#: Rows per row group: thirty LSSTCam exposures; a one-exposure query decodes one or
#: two. What decides it is the footer: Arrow reads an object's last ``FOOTER_READ``
#: bytes first, and a footer longer than that costs a second request (1.5-2.5 ms here)
#: the first time a snapshot touches the object. A full night in groups of 4,100 rows
#: had a 78 kB footer; in 6,150, 53 kB. At 10^7 raws (DuckDB, random exposures of any
#: night): one exposure 10.7 ms rather than 17, one night 76 ms rather than 95;
#: groups of 5,125 or 8,200 rows were no faster.
ROW_GROUP = 6_150
#: What Arrow's Parquet reader reads of an object's end in its first request.
FOOTER_READ = 64 << 10
#: Reads of one object merge ranges less than this apart: a night reads the object in
#: a few requests rather than one per column chunk (8 kB, Arrow's default: 500 ms a
#: night, 150 ms at 256 kB), and one exposure reads its row group in one.
HOLE_SIZE = 1 << 20
#: Consecutive nights' objects grouped under one guarantee (``_grouped``).
GROUP = 32
#: The tables whose rows make ``all_files``.
SOURCES = ("datasets", "locations")
#: The manifest's name for the rows without a night.
NO_NIGHT = "none"
#: The columns whose row-group statistics a query prunes by (a small footer).
STATISTICS = ("instrument", "day_obs", "exposure", "detector", "dataset_type")
FORMAT = 1
#: Seconds a replaced object is kept for the snapshots that registered it before the
#: manifest changed (a snapshot re-reads the manifest when it refreshes).
KEEP_REPLACED = 3600.0
#: Each object's order: a night's exposures together, so a query reads one row group;
#: within one instrument and night, the views' order (``lazy_tables.IN_ORDER``).
ORDER = "ORDER BY instrument, exposure, detector, dataset_type, dataset_id"
#: Columns of (nearly) unique strings: no dictionary (it never fits), and lengths and
#: bytes stored apart, which Arrow decodes in bulk: one night's answer decoded in 34 ms
#: rather than 48 (pyarrow alone, 10^7 raws' catalog, 2-core machine).
UNIQUE_STRINGS = ("dataset_id", "data_id", "key", "checksum", "file_name")


@dataclass(frozen=True)
class FileNights:
    """The nights one data file holds, from its add action's statistics."""

    path: str
    low: int | None
    high: int | None
    nulls: bool  # rows without a night
    known: bool  # False: no statistics, any night


@dataclass(frozen=True)
class TailNights:
    """The nights whose rows are (possibly) not those the state was built from."""

    ranges: tuple[tuple[int, int], ...] = ()
    nulls: bool = False
    everything: bool = False

    @property
    def empty(self) -> bool:
        return not (self.ranges or self.nulls or self.everything)

    def touches(self, night: int | None) -> bool:
        if self.everything:
            return True
        if night is None:
            return self.nulls
        return any(low <= night <= high for low, high in self.ranges)

    def condition(self) -> str:
        """A SQL predicate on ``day_obs`` true for the rows of the tail nights."""
        if self.everything:
            return "TRUE"
        parts = [f"day_obs BETWEEN {int(low)} AND {int(high)}" for low, high in self.ranges]
        if self.nulls:
            parts.append("day_obs IS NULL")
        return " OR ".join(parts) or "FALSE"


@dataclass(frozen=True)
class RefreshReport:
    """What ``refresh_current_files`` did."""

    nights_built: int  # objects written (a rebuilt night, or the rows without a night)
    rows_built: int
    nights: int  # objects the manifest names now
    versions: Mapping[str, int] = field(default_factory=dict)


@dataclass(frozen=True)
class CurrentFiles:
    """The state as one snapshot uses it: the untouched nights' objects and the tail."""

    dataset: ds.Dataset
    tail: TailNights
    columns: tuple[str, ...]
    #: The objects, one instrument each, read in turn give the rows in the views'
    #: order (nights ascending, the rows without a night last): no sort is needed.
    in_order: bool = False


def _location(
    store: CatalogStore, filesystem: pa_fs.FileSystem | None = None
) -> tuple[pa_fs.FileSystem, str]:
    """The state's folder (see ``catalog.derived_folders``)."""
    return derived_folder(store, FOLDER, filesystem)


def read_manifest(filesystem: pa_fs.FileSystem, folder: str) -> dict[str, Any] | None:
    """The manifest, or None if there is none or it is unreadable or of another format."""
    manifest = read_manifest_object(filesystem, f"{folder}/{MANIFEST}")
    if manifest is None or manifest.get("format") != FORMAT:
        return None
    return manifest


def file_nights(delta: DeltaTable) -> list[FileNights]:
    """Each live data file of ``delta`` with its nights (no data read)."""
    actions = pa.table(delta.get_add_actions(flatten=True))
    paths = [str(p) for p in actions.column("path").to_pylist()]
    names = actions.column_names
    if not all(f"{s}.day_obs" in names for s in ("min", "max", "null_count")):
        return [FileNights(p, None, None, True, False) for p in paths]
    rows = actions.column("num_records").to_pylist()
    lows = actions.column("min.day_obs").to_pylist()
    highs = actions.column("max.day_obs").to_pylist()
    nulls = actions.column("null_count.day_obs").to_pylist()
    found = []
    for path, count, low, high, null_count in zip(paths, rows, lows, highs, nulls, strict=True):
        if null_count is None or count is None:
            found.append(FileNights(path, None, None, True, False))
        elif null_count >= count:
            found.append(FileNights(path, None, None, True, True))
        else:
            known = low is not None and high is not None
            found.append(FileNights(path, low, high, null_count > 0, known))
    return found


def _covered(manifest: Mapping[str, Any], table: str) -> dict[str, FileNights]:
    listed = manifest.get("files", {}).get(table, [])
    return {
        str(p): FileNights(str(p), low, high, bool(nulls), bool(known))
        for p, low, high, nulls, known in listed
    }


def tail_nights(
    manifest: Mapping[str, Any], live: Mapping[str, Sequence[FileNights]]
) -> TailNights:
    """The nights of the live files the manifest does not cover, and of the covered
    files no longer live (their rows were rewritten, or removed)."""
    changed: list[FileNights] = []
    for table in SOURCES:
        covered = _covered(manifest, table)
        here = {f.path for f in live[table]}
        changed.extend(f for f in live[table] if f.path not in covered)
        changed.extend(f for path, f in covered.items() if path not in here)
    if any(not f.known for f in changed):
        return TailNights(everything=True)
    ranges = sorted({(f.low, f.high) for f in changed if f.low is not None and f.high is not None})
    return TailNights(tuple(_merged(ranges)), nulls=any(f.nulls for f in changed))


def _merged(ranges: Iterable[tuple[int, int]]) -> list[tuple[int, int]]:
    merged: list[tuple[int, int]] = []
    for low, high in sorted(ranges):
        if merged and low <= merged[-1][1] + 1:
            merged[-1] = (merged[-1][0], max(merged[-1][1], high))
        else:
            merged.append((low, high))
    return merged


def _migrated(deltas: Mapping[str, DeltaTable | None]) -> bool:
    return all(
        (d := deltas.get(t)) is not None and stored_version(d) >= current_version(t)
        for t in SOURCES
    )


def open_current_files(
    store: CatalogStore,
    deltas: Mapping[str, DeltaTable | None],
    columns: Sequence[str],
    filesystem: pa_fs.FileSystem | None = None,
) -> CurrentFiles | None:
    """The state for a snapshot whose ``datasets`` and ``locations`` are ``deltas`` and
    whose ``all_files`` has ``columns``; None when it cannot be used (see the module).

    Reads the manifest (one GET) and the tables' logs already opened: no data.
    """
    if not _migrated(deltas):
        return None
    state_filesystem, folder = _location(store, filesystem)
    manifest = read_manifest(state_filesystem, folder)
    if manifest is None:
        return None
    try:
        if list(manifest["columns"]) != list(columns):
            return None  # built before a migration: other columns
        built = {t: int(manifest["versions"][t]) for t in SOURCES}
        schema = pa.ipc.read_schema(pa.py_buffer(base64.b64decode(manifest["schema"])))
        live = {t: file_nights(deltas[t]) for t in SOURCES}  # type: ignore[arg-type]
        tail = tail_nights(manifest, live)
        nights = dict(manifest["nights"])
    except (KeyError, TypeError, ValueError, pa.ArrowException):
        return None  # garbage: not used
    if any(deltas[t].version() < built[t] for t in SOURCES):  # type: ignore[union-attr]
        return None  # built from rows this snapshot must not see
    if tail.everything:
        return None  # every night would come from the history join anyway
    reads = pa.CacheOptions(hole_size_limit=HOLE_SIZE, range_size_limit=64 << 20)
    parquet = ds.ParquetFileFormat(
        default_fragment_scan_options=ds.ParquetFragmentScanOptions(
            pre_buffer=True, cache_options=reads
        )
    )
    fragments: list[tuple[int | None, Mapping[str, Any], ds.Fragment]] = []
    instruments: set[str] = set()
    in_order = True
    try:
        for name, entry in sorted(nights.items(), key=_night_order):
            night = None if name == NO_NIGHT else int(name)
            if tail.touches(night):
                continue
            held = entry.get("instruments")  # not recorded before it was sorted this way
            in_order = in_order and held is not None and len(held) <= 1
            instruments.update(held or ())
            size = entry.get("size")  # known: no HEAD request before the footer
            fragment = parquet.make_fragment(
                f"{folder}/{entry['key']}",
                filesystem=state_filesystem,
                partition_expression=_guarantee(schema, night, entry),
                file_size=None if size is None else int(size),
            )
            fragments.append((night, entry, fragment))
        dataset = _grouped(fragments, schema, parquet, state_filesystem)
    except (KeyError, TypeError, ValueError, pa.ArrowException):
        return None
    in_order = in_order and len(instruments) <= 1
    return CurrentFiles(dataset, tail, tuple(columns), in_order)


def _grouped(
    fragments: Sequence[tuple[int | None, Mapping[str, Any], ds.Fragment]],
    schema: pa.Schema,
    parquet: ds.ParquetFileFormat,
    filesystem: pa_fs.FileSystem,
) -> ds.Dataset:
    """The objects (in order) as datasets of ``GROUP`` consecutive nights, each with what
    all its rows satisfy, so a query is checked against a few groups and then the objects
    of the groups it may touch, not against every object (at 10^8 raws, 488 objects:
    5 ms a query)."""
    nights = [f for f in fragments if f[0] is not None]
    groups = [nights[i : i + GROUP] for i in range(0, len(nights), GROUP)]
    groups += [[f for f in fragments if f[0] is None]]
    children = [
        ds.FileSystemDataset(
            [fragment for _, _, fragment in group],
            schema,
            parquet,
            filesystem,
            root_partition=_group_guarantee(schema, group),
        )
        for group in groups
        if group
    ]
    if not children:
        return ds.FileSystemDataset([], schema, parquet, filesystem)
    return children[0] if len(children) == 1 else ds.UnionDataset(schema, children)


def _group_guarantee(
    schema: pa.Schema, group: Sequence[tuple[int | None, Mapping[str, Any], ds.Fragment]]
) -> ds.Expression:
    """What every row of a group's objects satisfies (a conjunction: only those prune)."""
    if any(night is None for night, _, _ in group):
        return group[0][2].partition_expression if len(group) == 1 else ds.scalar(True)
    day_obs, exposure = ds.field("day_obs"), ds.field("exposure")
    night_type, exposure_type = schema.field("day_obs").type, schema.field("exposure").type
    first, last = group[0][0], group[-1][0]
    held = (day_obs >= pa.scalar(first, night_type)) & (day_obs <= pa.scalar(last, night_type))
    bounds = [entry.get("exposure", [None, None]) for _, entry, _ in group]
    if any(e.get("exposure_nulls") for _, e, _ in group) or any(None in b for b in bounds):
        return held
    low = pa.scalar(min(b[0] for b in bounds), exposure_type)
    high = pa.scalar(max(b[1] for b in bounds), exposure_type)
    return held & (exposure >= low) & (exposure <= high)


def _night_order(item: tuple[str, Any]) -> tuple[bool, int]:
    """Nights ascending, then the rows without a night (as ``NULLS LAST`` sorts)."""
    name = item[0]
    return (True, 0) if name == NO_NIGHT else (False, int(name))


def _guarantee(schema: pa.Schema, night: int | None, entry: Mapping[str, Any]) -> ds.Expression:
    """What every row of one object satisfies: its night, and its exposures' range; and
    its state, when there is one (every file present, as usual: ``files``' filter on the
    state is then known true, not evaluated row by row; 9 ms of a night's 40 in Arrow)."""
    day_obs, exposure = ds.field("day_obs"), ds.field("exposure")
    kind = schema.field("exposure").type
    held = (
        day_obs.is_null()
        if night is None
        else day_obs == pa.scalar(night, schema.field("day_obs").type)
    )
    states = entry.get("states")
    if states is not None and len(states) == 1:
        held = held & (ds.field("state") == pa.scalar(states[0], schema.field("state").type))
    low, high = entry.get("exposure", [None, None])
    if low is None or high is None:
        return held & exposure.is_null()
    within = (exposure >= pa.scalar(low, kind)) & (exposure <= pa.scalar(high, kind))
    return held & (within | exposure.is_null() if entry.get("exposure_nulls") else within)


def refresh_current_files(
    store: CatalogStore,
    force: bool = False,
    keep_replaced: float = KEEP_REPLACED,
    progress: Callable[[int, int], None] | None = None,
) -> RefreshReport:
    """Bring the state up to the latest ``datasets`` and ``locations``: rebuild the
    nights their tail touches (every night the first time, or with ``force``).

    A night costs one lazy query of ``all_files`` for that night, so memory stays in
    proportion to a night. Objects are written under fresh names before the manifest
    names them; the objects they replace are deleted by the first refresh at least
    ``keep_replaced`` seconds later. ``progress(done, total)`` follows each night built
    (the first build at 10^8 raws takes minutes).
    """
    from .query import Snapshot  # the snapshot's module opens the state: imported late

    filesystem, folder = _location(store)
    old = read_manifest(filesystem, folder)
    with Snapshot(store, mode="lazy", current_files=False) as snapshot:
        versions = {t: snapshot.versions.get(t) for t in SOURCES}
        if any(v is None for v in versions.values()):
            return RefreshReport(0, 0, 0)
        deltas = snapshot.state_sources  # as the snapshot read them: no second open
        if not _migrated(deltas):
            return RefreshReport(0, 0, 0)  # a snapshot reads these through upgrades
        live = {t: file_nights(deltas[t]) for t in SOURCES}  # type: ignore[arg-type]
        columns = snapshot.sql("SELECT * FROM all_files LIMIT 0").columns
        tail, kept = TailNights(everything=True), {}
        if old is not None and not force:
            with contextlib.suppress(KeyError, TypeError, ValueError, AttributeError):
                tail, kept = _reusable(old, columns, versions, live)
        filesystem.create_dir(folder, recursive=True)
        built: dict[str, dict[str, Any]] = {}
        schema: pa.Schema | None = None
        nights = _nights_in(snapshot, tail)
        for done, night in enumerate(nights, 1):
            written = _write_night(snapshot, night, filesystem, folder)
            if progress is not None:
                progress(done, len(nights))
            if written is not None:
                schema = written[1]
                built[NO_NIGHT if night is None else str(night)] = written[0]
    if schema is None and kept:
        schema = _stored_schema(old)
    now = time.time()
    replaced = [[key, now] for name, key in _keys(old) if name not in kept]
    waiting = _retired(old)
    due = [key for key, when in waiting if now - when >= keep_replaced]
    retired = [[k, when] for k, when in waiting if k not in due] + replaced
    nights = {**kept, **built}
    manifest = {
        "format": FORMAT,
        "versions": versions,
        "columns": list(columns),
        "schema": "" if schema is None else base64.b64encode(schema.serialize()).decode(),
        "row_group": ROW_GROUP,
        "files": {t: [[f.path, f.low, f.high, f.nulls, f.known] for f in live[t]] for t in SOURCES},
        "nights": nights,
        "retired": retired,
    }
    with filesystem.open_output_stream(f"{folder}/{MANIFEST}") as stream:
        stream.write(json.dumps(manifest).encode())
    named = {str(e["key"]) for e in nights.values()} | {str(k) for k, _ in retired} | set(due)
    for key in [*due, *_strays(filesystem, folder, named, now - keep_replaced)]:
        with contextlib.suppress(OSError):
            filesystem.delete_file(f"{folder}/{key}")
    rows = sum(int(e["rows"]) for e in built.values())
    return RefreshReport(len(built), rows, len(nights), versions)  # type: ignore[arg-type]


def _reusable(
    old: Mapping[str, Any],
    columns: Sequence[str],
    versions: Mapping[str, int],
    live: Mapping[str, Sequence[FileNights]],
) -> tuple[TailNights, dict[str, Any]]:
    """The tail since ``old`` and its nights the tail leaves untouched; everything
    if ``old`` was built from other columns or newer tables.

    Raises:
        KeyError, TypeError, ValueError, AttributeError: ``old`` is garbage.
    """
    if list(old["columns"]) != list(columns) or _stored_schema(old) is None:
        return TailNights(everything=True), {}
    if any(int(old["versions"][t]) > versions[t] for t in SOURCES):
        return TailNights(everything=True), {}
    tail = tail_nights(old, live)
    kept = {
        str(name): dict(entry)
        for name, entry in old["nights"].items()
        if not tail.touches(None if name == NO_NIGHT else int(name))
    }
    for entry in kept.values():
        str(entry["key"]), int(entry["rows"])
    return tail, kept


def _strays(filesystem: pa_fs.FileSystem, folder: str, named: set[str], before: float) -> list[str]:
    """Objects of the folder that ``named`` leaves out, last written before ``before``."""
    try:
        listed = filesystem.get_file_info(pa_fs.FileSelector(folder))
    except OSError:
        return []  # a hiccup: the next refresh looks again
    return [
        info.base_name
        for info in listed
        if info.type == pa_fs.FileType.File
        and info.base_name.endswith(".parquet")
        and info.base_name not in named
        and info.mtime is not None
        and info.mtime.timestamp() <= before
    ]


def _retired(manifest: Mapping[str, Any] | None) -> list[tuple[str, float]]:
    """(object key, when replaced) of the objects a manifest keeps for older snapshots."""
    try:
        return [(str(key), float(when)) for key, when in (manifest or {}).get("retired", [])]
    except (TypeError, ValueError):
        return []


def _keys(manifest: Mapping[str, Any] | None) -> list[tuple[str, str]]:
    """(night, object key) of each object a manifest names; none if garbage."""
    try:
        return [(str(n), str(e["key"])) for n, e in (manifest or {}).get("nights", {}).items()]
    except (KeyError, TypeError, AttributeError):
        return []


def _stored_schema(manifest: Mapping[str, Any] | None) -> pa.Schema | None:
    try:
        return pa.ipc.read_schema(pa.py_buffer(base64.b64decode(manifest["schema"])))  # type: ignore[index]
    except (KeyError, TypeError, ValueError, pa.ArrowException):
        return None


def _nights_in(snapshot: Snapshot, tail: TailNights) -> list[int | None]:
    """The nights of the datasets in the tail's nights (reads their ``day_obs`` only)."""
    found = snapshot.sql(
        f"SELECT DISTINCT day_obs FROM datasets_history WHERE {tail.condition()} ORDER BY 1"
    ).fetchall()
    return [night for (night,) in found]


def night_writer(
    where: str | pa.NativeFile, schema: pa.Schema, filesystem: pa_fs.FileSystem | None = None
) -> pq.ParquetWriter:
    """A writer of one night's object: statistics only where queries prune, and unique
    strings without a dictionary (write its rows in groups of ``ROW_GROUP``)."""
    return pq.ParquetWriter(
        where,
        schema,
        filesystem=filesystem,
        compression="snappy",
        write_statistics=[c for c in STATISTICS if c in schema.names],
        use_dictionary=[c for c in schema.names if c not in UNIQUE_STRINGS],
        column_encoding={c: "DELTA_LENGTH_BYTE_ARRAY" for c in UNIQUE_STRINGS if c in schema.names},
    )


def _write_night(
    snapshot: Snapshot, night: int | None, filesystem: pa_fs.FileSystem, folder: str
) -> tuple[dict[str, Any], pa.Schema] | None:
    """Write one night's ``all_files`` rows (in the view's order); its manifest entry."""
    if night is None:
        # ``all_files``'s rows, from a join that skips the branch of complete rows
        located = located_sql(without_night=True)
        relation = snapshot.sql(f"SELECT * FROM ({located}) WHERE day_obs IS NULL {ORDER}")
    else:
        relation = snapshot.sql(f"SELECT * FROM all_files WHERE day_obs = $n {ORDER}", {"n": night})
    reader = relation.to_arrow_reader(ROW_GROUP * 10)
    key = f"night-{NO_NIGHT if night is None else night}-{uuid.uuid4()}.parquet"
    writer: pq.ParquetWriter | None = None
    rows, low, high, nulls = 0, None, None, False
    instruments: set[str] = set()
    states: set[str] = set()
    try:
        for batch in reader:
            if batch.num_rows == 0:
                continue
            if writer is None:
                writer = night_writer(f"{folder}/{key}", reader.schema, filesystem)
            writer.write_batch(batch, row_group_size=ROW_GROUP)
            rows += batch.num_rows
            instruments.update(str(i) for i in pc.unique(batch.column("instrument")).to_pylist())
            states.update(str(i) for i in pc.unique(batch.column("state")).to_pylist())
            exposure = batch.column("exposure")
            nulls = nulls or exposure.null_count > 0
            bounds = pc.min_max(exposure).as_py()
            if bounds["min"] is not None:
                low = bounds["min"] if low is None else min(low, bounds["min"])
                high = bounds["max"] if high is None else max(high, bounds["max"])
    finally:
        if writer is not None:
            writer.close()
    if writer is None:
        return None  # datasets without a location: no rows
    size = filesystem.get_file_info(f"{folder}/{key}").size
    entry = {"key": key, "rows": rows, "size": size, "exposure": [low, high]}
    entry["exposure_nulls"] = nulls
    entry["instruments"] = sorted(instruments)
    entry["states"] = sorted(states)
    return entry, reader.schema
