"""Catalog at archive scale: open and query snapshots of 10^6, 10^7 (10^8) raws.

Run it (not collected by pytest)::

    .venv/bin/python tests/bench/scale.py                      # 10^6 raws, both modes
    .venv/bin/python tests/bench/scale.py --sizes 1e6,1e7 --modes lazy,memory \\
        --memory-max 1e6 --data /tmp/oods-scale                # keep the catalogs

Each size is a catalog of full LSSTCam nights (1000 exposures x 205 detectors, 205,000
raws a night) written straight into a real MinIO, one commit per night and table, as
the foundation bench does (``tests/bench/ingest.py``), plus bias, dark and flat masters
for every detector, certified. Then, as the site's periodic maintenance does, every
table gets a checkpoint and the dataset-id index is built (``catalog.dataset_index``;
its build time and the building process's peak memory are logged), and the current
files are brought up to date (``catalog.current_files``, in a process of its own: its
time and peak memory are logged; ``--no-current-files`` skips it). With ``--data`` the
server's folder is kept and a catalog already built there is reused.

Every measurement runs in a fresh process (``--measure``), so that its peak memory
(``VmHWM``) and its first, cold query are its own: the time to open a snapshot; the
first and then the warm (median) latency of one exposure, one night (as Arrow) and one
dataset id (through the index, as ``oods get`` finds one, and by the plain scan), all
on ``files``; one exposure on ``datasets`` alone; a calibration lookup for one raw
(``find_calibration``). With the current files, the *floor* of one exposure is measured
in the same process (``exposure_floor``) and the warm exposure given as a ratio to it.
Each figure is the median over ``--repeats`` processes. Mode ``lazy-history`` is a lazy
snapshot that ignores the current files (joins the location history, as before them),
to compare with ``lazy`` in one run. The baseline is the in-memory snapshot of the
smallest size, measured in the same run; ratios between sizes give the growth. The
machine is shared: expect noise.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import math
import resource
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

REPO_ROOT = Path(__file__).resolve().parents[2]
if str(REPO_ROOT) not in sys.path:  # run as a script from anywhere
    sys.path.insert(0, str(REPO_ROOT))

import duckdb  # noqa: E402
import numpy as np  # noqa: E402
import pyarrow as pa  # noqa: E402
import pyarrow.dataset as pads  # noqa: E402

from catalog import (  # noqa: E402
    TABLES,
    CatalogStore,
    Snapshot,
    calibration_data_id,
    certify,
    dataset_id,
    find_calibration,
)
from catalog.current_files import refresh_current_files  # noqa: E402
from catalog.dataset_index import refresh_dataset_index  # noqa: E402
from catalog.ids import BUTLER_NAMESPACE  # noqa: E402
from catalog.translators.focalplane import LSSTCAM_DETECTORS  # noqa: E402
from infra.minio_server import MinioServer  # noqa: E402
from oods import Site, SiteConfig  # noqa: E402
from tests.bench.kept_server import kept_server  # noqa: E402
from tests.bench.run_info import command_line, finished, header, machine  # noqa: E402

RUN = "LSSTCam/raw/all"
COLLECTION = "LSSTCam/calib"
DETECTORS = 205
EXPOSURES_PER_NIGHT = 1000
RAWS_PER_NIGHT = DETECTORS * EXPOSURES_PER_NIGHT
FIRST_NIGHT = dt.date(2025, 6, 1)
FILTERS = ("r_57", "i_39", "g_6", "z_20", "y_10")
COLUMNS = "dataset_id, exposure, detector, key, size, checksum"
QUERIES = {
    "exposure": f"SELECT {COLUMNS} FROM files WHERE exposure = $1",
    "exposure_datasets": "SELECT * FROM datasets WHERE exposure = $1",
    "night": f"SELECT {COLUMNS} FROM files WHERE day_obs = $1",
    "dataset_id": f"SELECT {COLUMNS} FROM files WHERE {{id_condition}}",
    "dataset_id_scan": f"SELECT {COLUMNS} FROM files WHERE dataset_id = $1",
}
#: A mode to compare: lazy, without the current files (the history join, as before them).
HISTORY_MODE = "lazy-history"
#: Warm runs per query (a fifth of them for the night), after the first.
WARM_RUNS = 15


def log(message: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {message}", file=sys.stderr, flush=True)


# -- building ------------------------------------------------------------------------------


def filler(field: pa.Field, count: int) -> pa.Array:
    """Nulls, or a plain value for a column that takes none."""
    if field.nullable:
        return pa.nulls(count, field.type)
    value: object = "bench" if pa.types.is_string(field.type) else 0
    if pa.types.is_boolean(field.type):
        value = False
    return pa.array([value] * count).cast(field.type)


def night_rows(night: int, now: dt.datetime) -> dict[str, pa.Table]:
    """Exposures, datasets and locations of the ``night``-th night (0 = FIRST_NIGHT)."""
    day = FIRST_NIGHT + dt.timedelta(days=night)
    day_obs = int(day.strftime("%Y%m%d"))
    start = dt.datetime.combine(day + dt.timedelta(days=1), dt.time(), tzinfo=dt.UTC)
    seq = np.arange(1, EXPOSURES_PER_NIGHT + 1, dtype=np.int64)
    exposure_ids = day_obs * 100_000 + seq
    begins = [start + dt.timedelta(seconds=40 * int(s)) for s in seq]
    filters = [FILTERS[int(s) % len(FILTERS)] for s in seq]
    count = len(seq)
    exposures = {
        "instrument": ["LSSTCam"] * count,
        "exposure": exposure_ids,
        "obs_id": [f"MC_O_{day_obs}_{int(s):06d}" for s in seq],
        "day_obs": np.full(count, day_obs),
        "seq_num": seq,
        "group": [b.isoformat() for b in begins],
        "physical_filter": filters,
        "observation_type": ["science"] * count,
        "datetime_begin": begins,
        "datetime_end": [b + dt.timedelta(seconds=31) for b in begins],
        "exposure_time": np.full(count, 30.0),
        "recorded_at": [now] * count,
    }
    exposures_table = pa.Table.from_pydict(
        {f.name: exposures.get(f.name, filler(f, count)) for f in TABLES["exposures"].schema},
        schema=TABLES["exposures"].schema,
    )
    exposure_col = np.repeat(exposure_ids, DETECTORS).tolist()
    detector_col = np.tile(np.arange(DETECTORS), count).tolist()
    names = [d.name for d in LSSTCAM_DETECTORS[:DETECTORS]]
    pairs = list(zip(exposure_col, detector_col, strict=True))
    ids = [
        str(
            uuid.uuid5(
                BUTLER_NAMESPACE,
                f"dataset_type=raw,run={RUN},detector={d},exposure={e},instrument=LSSTCam",
            )
        )
        for e, d in pairs
    ]
    rows = len(ids)
    stamps = pa.array([now] * rows, pa.timestamp("us", tz="UTC"))
    dataset_columns: dict[str, Any] = {
        "dataset_id": ids,
        "dataset_type": ["raw"] * rows,
        "run": [RUN] * rows,
        "instrument": ["LSSTCam"] * rows,
        "data_id": [
            f'{{"detector": {d}, "exposure": {e}, "instrument": "LSSTCam"}}' for e, d in pairs
        ],
        "ingested_at": stamps,
        "recorded_at": stamps,
        "exposure": exposure_col,
        "detector": detector_col,
        # The raw's own filter, under its name before and after schema version 2.
        "physical_filter": np.repeat(np.array(filters), DETECTORS),
        "dataset_filter": np.repeat(np.array(filters), DETECTORS),
        "day_obs": np.full(rows, day_obs),
        "corrected_fields": pa.nulls(rows, pa.string()),
        "correction": pa.nulls(rows, pa.string()),
    }
    datasets = pa.Table.from_pydict(
        {f.name: dataset_columns[f.name] for f in TABLES["datasets"].schema},
        schema=TABLES["datasets"].schema,
    )
    file_names = [f"MC_O_{e // 100_000}_{e % 100_000:06d}_{names[d]}.fits" for e, d in pairs]
    digests = np.random.default_rng(night).bytes(32 * rows).hex()
    locations = pa.Table.from_pydict(
        {
            "dataset_id": ids,
            "instrument": ["LSSTCam"] * rows,
            "day_obs": np.full(rows, day_obs),
            "exposure": exposure_col,
            "key": [
                f"LSSTCam/raw/{day_obs}/{e}/{n}"
                for (e, _), n in zip(pairs, file_names, strict=True)
            ],
            "size": np.full(rows, 33_677_760, dtype=np.int64),
            "checksum": [digests[i * 64 : (i + 1) * 64] for i in range(rows)],
            "file_name": file_names,
            "state": ["present"] * rows,
            "recorded_at": stamps,
        },
        schema=TABLES["locations"].schema,
    )
    return {"exposures": exposures_table, "datasets": datasets, "locations": locations}


def masters(now: dt.datetime) -> pa.Table:
    """Bias and dark for every detector, a flat for every detector and filter."""
    kinds = [("bias", None), ("dark", None)] + [("flat", f) for f in FILTERS]
    rows: dict[str, list[Any]] = {f.name: [] for f in TABLES["datasets"].schema}
    for detector in range(DETECTORS):
        for kind, physical_filter in kinds:
            run = f"LSSTCam/calib/{kind}"
            data_id = calibration_data_id(kind, "LSSTCam", detector, physical_filter)
            row = {
                "dataset_id": str(dataset_id(kind, run, data_id)),
                "dataset_type": kind,
                "run": run,
                "instrument": "LSSTCam",
                "data_id": json.dumps(data_id, sort_keys=True),
                "ingested_at": now,
                "recorded_at": now,
                "detector": detector,
                "physical_filter": physical_filter,  # the name before schema version 2
                "dataset_filter": physical_filter,
            }
            for name, values in rows.items():
                values.append(row.get(name))
    return pa.Table.from_pydict(rows, schema=TABLES["datasets"].schema)


def build(store: CatalogStore, nights: int) -> None:
    """Calibrations (certified), then ``nights`` full nights, one commit per table each."""
    calibrations = masters(dt.datetime.now(dt.UTC))
    store.append("datasets", calibrations)
    certify(store, COLLECTION, calibrations.column("dataset_id").to_pylist())
    now = dt.datetime.now(dt.UTC)
    for night in range(nights):
        started = time.perf_counter()
        rows = night_rows(night, now)
        made = time.perf_counter() - started
        store.append_in_order([{"exposures": rows["exposures"], "datasets": rows["datasets"]}])
        store.append("locations", rows["locations"])
        log(
            f"  night {night + 1}/{nights}: rows made in {made:.1f} s, "
            f"committed in {time.perf_counter() - started - made:.1f} s"
        )
    store.wait_for_maintenance(600)


# -- measuring, in a fresh process ---------------------------------------------------------


def rss() -> float:
    """Peak resident memory of this process so far, MB.

    ``VmHWM``, not ``ru_maxrss``: a child's ``ru_maxrss`` starts at its parent's size
    (kept across exec), which here holds a night of rows.
    """
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def timed(run: Callable[[], object]) -> float:
    started = time.perf_counter()
    run()
    return (time.perf_counter() - started) * 1e3


def measure(store: CatalogStore, mode: str, nights: int, warm_runs: int) -> dict[str, Any]:
    """Open a snapshot, then the first and warm latency of each query; peak memory."""
    rng = np.random.default_rng()
    result: dict[str, Any] = {}
    started = time.perf_counter()
    if mode == HISTORY_MODE:  # lazy, joining the history as without the state
        snapshot = Snapshot(store, mode="lazy", current_files=False)
    else:
        snapshot = Snapshot(store, mode=mode)  # type: ignore[arg-type]
    result["open_ms"] = (time.perf_counter() - started) * 1e3
    result["state_used"] = float(snapshot.current_files is not None)
    result["open_rss_mb"] = rss()

    def day_obs(night: int) -> int:
        return int((FIRST_NIGHT + dt.timedelta(days=night)).strftime("%Y%m%d"))

    def exposure() -> list[int]:
        return [day_obs(int(rng.integers(nights))) * 100_000 + int(rng.integers(1, 1001))]

    def raw_id() -> list[str]:
        e = exposure()[0]
        detector = int(rng.integers(DETECTORS))
        name = f"dataset_type=raw,run={RUN},detector={detector},exposure={e},instrument=LSSTCam"
        return [str(uuid.uuid5(BUTLER_NAMESPACE, name))]

    arguments: dict[str, Callable[[], list[Any]]] = {
        "exposure": exposure,
        "exposure_datasets": exposure,
        "night": lambda: [day_obs(int(rng.integers(nights)))],
        "dataset_id": raw_id,
        "dataset_id_scan": raw_id,
    }
    expected = {
        "exposure": DETECTORS,
        "exposure_datasets": DETECTORS,
        "night": RAWS_PER_NIGHT,
        "dataset_id": 1,
        "dataset_id_scan": 1,
    }
    for name, query in QUERIES.items():

        def run(query: str = query, name: str = name) -> None:
            params: Any = arguments[name]()
            if name == "dataset_id":  # through the dataset index, as `oods get` looks up
                condition, params = snapshot.dataset_id_condition(params[0])
                query = query.format(id_condition=condition)
            got = snapshot.sql(query, params).to_arrow_table()
            assert got.num_rows == expected[name], (name, got.num_rows)

        first = timed(run)
        if name == "exposure":
            result["open_plus_exposure_ms"] = result["open_ms"] + first
        runs = max(1, warm_runs // 5) if name in ("night", "dataset_id_scan") else warm_runs
        warm = [timed(run) for _ in range(runs)]
        result[name] = {"first_ms": first, "warm_ms": statistics.median(warm), "rss_mb": rss()}

    if snapshot.current_files is not None:
        result["floor"] = exposure_floor(snapshot, warm_runs)
        result["floor"]["ratio"] = result["exposure"]["warm_ms"] / result["floor"]["exposure_ms"]

    def lookup() -> None:
        found = find_calibration(snapshot, COLLECTION, ("bias", "dark", "flat"), raw=raw_id()[0])
        assert len(found) == 3

    first = timed(lookup)
    result["calibration"] = {
        "first_ms": first,
        "warm_ms": statistics.median([timed(lookup) for _ in range(warm_runs)]),
        "rss_mb": rss(),
    }
    snapshot.close()
    store.close()
    result["peak_rss_mb"] = rss()
    return result


def exposure_floor(snapshot: Snapshot, runs: int) -> dict[str, float]:
    """What a lazy one-exposure query cannot go under on this machine, measured in the
    same process: one ranged GET from the current files (MinIO's latency, whatever the
    size up to a row group), plus DuckDB's scan of one exposure from an Arrow dataset of
    one row group already in memory (no storage at all)."""
    state = snapshot.current_files
    assert state is not None
    fragment = next(iter(state.dataset.get_fragments()))
    with fragment.filesystem.open_input_file(fragment.path) as file:
        get_ms = statistics.median(timed(lambda: file.read_at(8192, 0)) for _ in range(runs))
    group = fragment.split_by_row_group()[0].to_table()
    exposure = group.column("exposure")[0].as_py()
    connection = duckdb.connect()
    connection.register("group_rows", pads.dataset(group))
    query = f"SELECT {COLUMNS} FROM group_rows WHERE exposure = $1 AND state = 'present'"
    scan_ms = statistics.median(
        timed(lambda: connection.sql(query, params=[exposure]).to_arrow_table())
        for _ in range(runs)
    )
    connection.close()
    return {"get_ms": get_ms, "scan_ms": scan_ms, "exposure_ms": get_ms + scan_ms}


# -- the run -------------------------------------------------------------------------------


def site_config(server: MinioServer, raws: int) -> SiteConfig:
    return SiteConfig(
        endpoint=server.endpoint,
        access_key=server.access_key,
        secret_key=server.secret_key,
        bucket=f"scale-{raws}",
    )


def prepare(server: MinioServer, size: int) -> tuple[SiteConfig, int]:
    nights = math.ceil(size / RAWS_PER_NIGHT)
    config = site_config(server, nights * RAWS_PER_NIGHT)
    site = Site.open(config)
    try:
        snapshot_rows = site.store.open("locations")
        have = 0
        if snapshot_rows is not None:
            have = int(
                pa.table(snapshot_rows.get_add_actions(flatten=True))
                .column("num_records")
                .to_numpy()
                .sum()
            )
        if have >= nights * RAWS_PER_NIGHT:
            log(f"{nights * RAWS_PER_NIGHT:,} raws: catalog already built in {config.bucket}")
        else:
            if have:
                raise SystemExit(f"{config.bucket} holds a partial catalog: remove --data")
            log(f"{nights * RAWS_PER_NIGHT:,} raws: building {nights} nights")
            started = time.perf_counter()
            build(site.store, nights)
            log(f"  built in {time.perf_counter() - started:.0f} s")
        for table in TABLES:  # as the site's periodic compaction does: opening reads one file
            delta = site.store.open(table)
            if delta is not None:
                delta.create_checkpoint()
        started = time.perf_counter()
        report = refresh_dataset_index(site.store)
        if report.built:
            log(
                f"  dataset index of {report.rows:,} ids built in "
                f"{time.perf_counter() - started:.1f} s, peak memory {rss():.0f} MB"
            )
    finally:
        site.close()
    return config, nights


def refresh_state(store: CatalogStore, force: bool) -> dict[str, Any]:
    """Bring the current-files state up to date, in this (fresh) process: its time and
    the process's peak memory."""
    started = time.perf_counter()
    report = refresh_current_files(store, force=force)
    return {
        "seconds": time.perf_counter() - started,
        "nights": report.nights_built,
        "rows": report.rows_built,
        "peak_rss_mb": rss(),
    }


def run_refresh_state(server: MinioServer, config: SiteConfig, force: bool) -> None:
    """``refresh_state`` in a process of its own (its peak memory is the build's)."""
    spec = {"endpoint": server.endpoint, "access_key": server.access_key}
    spec |= {"secret_key": server.secret_key, "bucket": config.bucket, "force": force}
    command = [sys.executable, __file__, "--refresh-state", json.dumps(spec)]
    done = subprocess.run(command, capture_output=True, text=True, timeout=3600, check=False)
    if done.returncode != 0:
        raise SystemExit(f"current files of {config.bucket} failed:\n{done.stderr[-3000:]}")
    built = json.loads(done.stdout)
    if built["nights"]:
        log(
            f"  current files: {built['nights']} nights ({built['rows']:,} rows) built in "
            f"{built['seconds']:.1f} s, peak memory {built['peak_rss_mb']:.0f} MB"
        )


def run_measure(
    server: MinioServer, config: SiteConfig, mode: str, nights: int, warm_runs: int
) -> dict[str, Any]:
    command = [
        sys.executable,
        __file__,
        "--measure",
        json.dumps(
            {
                "endpoint": server.endpoint,
                "access_key": server.access_key,
                "secret_key": server.secret_key,
                "bucket": config.bucket,
                "mode": mode,
                "nights": nights,
                "warm_runs": warm_runs,
            }
        ),
    ]
    done = subprocess.run(command, capture_output=True, text=True, timeout=3600, check=False)
    if done.returncode != 0:
        raise SystemExit(f"measure {config.bucket} {mode} failed:\n{done.stderr[-3000:]}")
    return json.loads(done.stdout)


def median_of(runs: Sequence[dict[str, Any]]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key, value in runs[0].items():
        if isinstance(value, dict):
            out[key] = median_of([r[key] for r in runs])
        else:
            out[key] = statistics.median(r[key] for r in runs)
    return out


FIGURES = (
    ("open_ms", "open a snapshot", "ms"),
    ("open_plus_exposure_ms", "open + first one-exposure query", "ms"),
    ("exposure.first_ms", "one exposure (files), first", "ms"),
    ("exposure.warm_ms", "one exposure (files), warm", "ms"),
    ("floor.get_ms", "floor: one ranged GET (8 kB)", "ms"),
    ("floor.scan_ms", "floor: DuckDB on a row group in memory", "ms"),
    ("floor.ratio", "one exposure (files), warm / floor", "x"),
    ("exposure_datasets.warm_ms", "one exposure (datasets), warm", "ms"),
    ("night.first_ms", "one night as Arrow, first", "ms"),
    ("night.warm_ms", "one night as Arrow, warm", "ms"),
    ("dataset_id.first_ms", "one dataset id, first", "ms"),
    ("dataset_id.warm_ms", "one dataset id, warm", "ms"),
    ("dataset_id_scan.first_ms", "one dataset id, no index, first", "ms"),
    ("dataset_id_scan.warm_ms", "one dataset id, no index, warm", "ms"),
    ("calibration.first_ms", "calibration lookup, first", "ms"),
    ("calibration.warm_ms", "calibration lookup, warm", "ms"),
    ("open_rss_mb", "peak memory after open", "MB"),
    ("exposure.rss_mb", "... after the exposure queries", "MB"),
    ("night.rss_mb", "... after the night queries", "MB"),
    ("dataset_id.rss_mb", "... after the dataset id queries", "MB"),
    ("dataset_id_scan.rss_mb", "... after the id scans without the index", "MB"),
    ("calibration.rss_mb", "... after the calibration lookups", "MB"),
    ("state_used", "current files used (1) or not (0)", ""),
    ("peak_rss_mb", "peak memory (VmHWM)", "MB"),
)


def pick(result: dict[str, Any], path: str) -> float:
    value: Any = result
    for part in path.split("."):
        if part not in value:
            return math.nan  # not measured in this mode
        value = value[part]
    return float(value)


def render(results: dict[tuple[int, str], dict[str, Any]]) -> str:
    columns = sorted(results, key=lambda c: (c[0], c[1] != "memory"))
    baseline = columns[0]  # the smallest catalog, in memory if measured so
    head = [f"{raws:,} {mode}" for raws, mode in columns]
    width = max(22, *(len(h) + 2 for h in head))
    lines = [f"{'figure':<36}" + "".join(f"{h:>{width}}" for h in head)]
    for path, name, unit in FIGURES:
        cells = []
        for column in columns:
            value = pick(results[column], path)
            base = pick(results[baseline], path)
            if not unit:  # a yes/no, not a measure: no ratio
                cells.append(f"{value:>10.0f}")
                continue
            if unit == "x":  # a ratio already, to a baseline of its own run
                cells.append(f"{value:>10.2f} x{'':<8}")
                continue
            ratio = f"x{value / base:<5.1f}" if base > 0 else ""
            cells.append(f"{value:>10,.1f} {unit:<2} {ratio:<6}")
        lines.append(f"{name:<36}" + "".join(f"{c:>{width}}" for c in cells))
    lines.append(f"(ratios to {baseline[0]:,} {baseline[1]}, measured in the same run)")
    return "\n".join(lines)


def child_store(spec: dict[str, Any]) -> CatalogStore:
    """The catalog a child process (``--measure``, ``--refresh-state``) is told of."""
    config = SiteConfig(
        endpoint=spec["endpoint"],
        access_key=spec["access_key"],
        secret_key=spec["secret_key"],
        bucket=spec["bucket"],
    )
    return CatalogStore(config.catalog_root, config.storage_options())


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__.split("\n\n")[0], formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--sizes", default="1e6", help="raws per catalog, comma-separated")
    parser.add_argument("--modes", default="memory,lazy", help="snapshot modes to measure")
    parser.add_argument("--memory-max", type=float, default=2e6, help="no memory mode above")
    parser.add_argument("--repeats", type=int, default=3, help="processes per figure")
    parser.add_argument(
        "--no-current-files",
        action="store_true",
        help="do not build the current files (lazy snapshots then join the history)",
    )
    parser.add_argument(
        "--rebuild-current-files",
        action="store_true",
        help="rebuild every night of the current files, not only those changed",
    )
    parser.add_argument("--warm", type=int, default=WARM_RUNS, help="warm runs per query")
    parser.add_argument("--data", type=Path, help="keep MinIO's data here (reused next run)")
    parser.add_argument("--json", type=Path, help="write every figure here")
    parser.add_argument("--measure", help=argparse.SUPPRESS)
    parser.add_argument("--refresh-state", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.refresh_state:
        spec = json.loads(args.refresh_state)
        store = child_store(spec)
        print(json.dumps(refresh_state(store, spec["force"])))
        store.close()
        return 0
    if args.measure:
        spec = json.loads(args.measure)
        store = child_store(spec)
        print(json.dumps(measure(store, spec["mode"], spec["nights"], spec["warm_runs"])))
        return 0

    info = machine()
    sizes = [int(float(s)) for s in args.sizes.split(",")]
    modes = args.modes.split(",")
    with tempfile.TemporaryDirectory(prefix="oods-scale-") as tmp:
        server = kept_server(args.data or Path(tmp), keep=args.data is not None)
        server.start()
        results: dict[tuple[int, str], dict[str, Any]] = {}
        try:
            for size in sizes:
                config, nights = prepare(server, size)
                if not args.no_current_files:
                    run_refresh_state(server, config, args.rebuild_current_files)
                raws = nights * RAWS_PER_NIGHT
                for mode in modes:
                    if mode == "memory" and size > args.memory_max:
                        continue
                    runs = []
                    for repeat in range(args.repeats):
                        runs.append(run_measure(server, config, mode, nights, args.warm))
                        log(
                            f"{raws:,} {mode} {repeat + 1}/{args.repeats}: "
                            f"open {runs[-1]['open_ms']:.0f} ms, "
                            f"exposure warm {runs[-1]['exposure']['warm_ms']:.1f} ms, "
                            f"peak {runs[-1]['peak_rss_mb']:.0f} MB"
                        )
                    results[raws, mode] = median_of(runs)
        finally:
            server.stop()
    finished(info)
    print("\n".join(header(command_line(), info)))
    print(render(results))
    if args.json:
        args.json.write_text(
            json.dumps({f"{r} {m}": v for (r, m), v in results.items()}, indent=1, default=str)
        )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
