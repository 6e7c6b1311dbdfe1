"""Ingest and catalog benchmark against a real MinIO, each figure a ratio to a baseline.

Run it (not collected by pytest)::

    .venv/bin/python tests/bench/ingest.py [--repeats 3] [--quick] [--json out.json]

Figures, each the median of ``--repeats`` runs, measured in one process against one MinIO
started for the run (in a temporary directory, removed afterwards):

1. Small files: a simulated LSSTCam night (205 detectors x 10 exposures, 64x64 pixels,
   2050 files). Baseline: plain boto3 ``put_object`` of the same files under the same keys
   into a fresh bucket, with as many threads as ingest uses and a client pooled the same
   way. Then ``oods.ingest`` into a fresh site. Aim: ingest time / raw time <= 1.5.
2. Large files: 4 files of ~32 MB (2900x2900 int32), the same baseline.
   Aim: ingest bandwidth / raw bandwidth >= 0.8.
3. Catalog queries at ~10^6 raws: synthetic rows appended straight into a site's catalog
   tables in a few large commits (no files uploaded), then a ``Snapshot`` is loaded (its
   load time is reported) and warm query latency measured: one exposure's raws (aim
   < 10 ms), one night's raws, every row fetched (aim < 50 ms), and the one-exposure query
   through ``oods.datasets.list_datasets``.
"""

from __future__ import annotations

import argparse
import dataclasses
import datetime as dt
import hashlib
import json
import statistics
import sys
import tempfile
import time
import uuid
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

REPO_ROOT = Path(__file__).resolve().parents[2]
if str(REPO_ROOT) not in sys.path:  # run as a script from anywhere
    sys.path.insert(0, str(REPO_ROOT))

import numpy as np  # noqa: E402
import pyarrow as pa  # noqa: E402

from catalog import TABLES, dataset_id, read_header, translate_header  # noqa: E402
from catalog.ids import BUTLER_NAMESPACE  # noqa: E402
from catalog.translators.focalplane import LSSTCAM_DETECTORS  # noqa: E402
from infra.minio_server import MinioServer  # noqa: E402
from oods import Site, SiteConfig, ingest  # noqa: E402
from oods import _s3 as site_s3  # noqa: E402  (the site's own boto3 client factory)
from oods.datasets import list_datasets  # noqa: E402
from oods.keys import raw_key  # noqa: E402
from oods.simulate import simulate_night  # noqa: E402
from tests.bench.run_info import command_line, finished, header, machine  # noqa: E402

MB = 1e6
RUN = "LSSTCam/raw/all"

#: The one-exposure and one-night queries, as a notebook would write them: on the
#: snapshot's ``files`` table (present datasets with their objects, in exposure order).
EXPOSURE_QUERY = """
    SELECT dataset_id, exposure, detector, dataset_filter, key, size, checksum
    FROM files WHERE exposure = ?
"""
NIGHT_QUERY = """
    SELECT dataset_id, exposure, detector, dataset_filter, key, size, checksum
    FROM files WHERE day_obs = ?
"""
#: The same exposure query joining the two tables by hand, for comparison.
JOIN_EXPOSURE_QUERY = """
    SELECT dataset_id, d.exposure, detector, dataset_filter, key, size, checksum
    FROM datasets d JOIN locations l USING (dataset_id)
    WHERE d.exposure = ? AND state = 'present'
"""


@dataclasses.dataclass(frozen=True)
class Scale:
    """How big each part of the benchmark is."""

    small_detectors: int = 205
    small_exposures: int = 10
    small_size: int = 64
    large_detectors: int = 4
    large_exposures: int = 1
    large_size: int = 2900
    #: (exposures per night, nights): 4 full nights of 1000 exposures plus 9 short
    #: ones of 100, 4900 exposures x 205 detectors = 1,004,500 raws.
    nights: tuple[tuple[int, int], ...] = ((1000, 4), (100, 9))
    catalog_detectors: int = 205
    batch_rows: int = 250_000
    query_runs: int = 50


QUICK = Scale(
    small_detectors=9,
    small_exposures=3,
    small_size=16,
    large_detectors=2,
    large_size=512,
    nights=((20, 2), (5, 4)),
    catalog_detectors=20,
    batch_rows=1000,
    query_runs=10,
)


@dataclasses.dataclass
class Figure:
    """One reported number."""

    name: str
    value: float
    unit: str
    aim: str = ""
    ok: bool | None = None
    note: str = ""


@dataclasses.dataclass
class Bench:
    server: MinioServer
    workers: int
    repeats: int
    figures: list[Figure] = dataclasses.field(default_factory=list)
    raw: dict[str, Any] = dataclasses.field(default_factory=dict)
    _buckets: int = 0

    def config(self, purpose: str, **fields: Any) -> SiteConfig:
        self._buckets += 1
        return SiteConfig(
            endpoint=self.server.endpoint,
            access_key=self.server.access_key,
            secret_key=self.server.secret_key,
            bucket=f"bench-{self._buckets:03d}-{purpose}",
            workers=self.workers,
            **fields,
        )

    def add(self, *args: Any, **kwargs: Any) -> Figure:
        figure = Figure(*args, **kwargs)
        self.figures.append(figure)
        return figure


def log(message: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {message}", file=sys.stderr, flush=True)


# -- ingest against raw PUTs ---------------------------------------------------------------


def object_keys(files: Sequence[Path]) -> list[str]:
    """The keys ingest will give these files (computed outside any timed region)."""
    keys = []
    for path in files:
        translation = translate_header(read_header(path.read_bytes(), str(path)), str(path))
        keys.append(raw_key(translation, "raw"))
    return keys


def raw_put(bench: Bench, files: Sequence[Path], keys: Sequence[str], purpose: str) -> float:
    """Seconds to PUT every file into a fresh bucket with plain boto3, ingest's concurrency."""
    config = bench.config(purpose)
    client = site_s3.make_client(config)  # a plain boto3 client, pooled as the site's is
    site_s3.ensure_bucket(client, config.bucket)

    def put(item: tuple[Path, str]) -> None:
        path, key = item
        with open(path, "rb") as body:
            client.put_object(Bucket=config.bucket, Key=key, Body=body)

    started = time.perf_counter()
    with ThreadPoolExecutor(config.workers) as pool:
        list(pool.map(put, zip(files, keys, strict=True)))
    return time.perf_counter() - started


def oods_ingest(bench: Bench, files: Sequence[Path], purpose: str) -> float:
    """Seconds for ``oods.ingest`` of every file into a fresh site (site creation untimed)."""
    site = Site.open(bench.config(purpose))
    started = time.perf_counter()
    report = ingest(site, files)
    seconds = time.perf_counter() - started
    summary = report.summary()
    if summary["ingested"] != len(files) or report.failed:
        failures = "\n".join(r.line() for r in report.failed[:5])
        raise SystemExit(
            f"ingest into {site.bucket} did not ingest every file: {summary}\n{failures}"
        )
    return seconds


def compare(bench: Bench, label: str, files: list[Path]) -> dict[str, float]:
    """Median raw-PUT and ingest times over the repeats, interleaved run by run."""
    keys = object_keys(files)
    raw_times, ingest_times = [], []
    for repeat in range(bench.repeats):
        raw_times.append(raw_put(bench, files, keys, f"{label}-raw"))
        ingest_times.append(oods_ingest(bench, files, f"{label}-ingest"))
        log(
            f"{label} repeat {repeat + 1}/{bench.repeats}: raw put {raw_times[-1]:.3f} s, "
            f"ingest {ingest_times[-1]:.3f} s"
        )
    total = sum(p.stat().st_size for p in files)
    result = {
        "files": len(files),
        "bytes": total,
        "raw_seconds": statistics.median(raw_times),
        "ingest_seconds": statistics.median(ingest_times),
        "raw_seconds_all": raw_times,
        "ingest_seconds_all": ingest_times,
    }
    bench.raw[label] = result
    return result


def warm_up(bench: Bench, files: list[Path]) -> None:
    """One untimed raw PUT and ingest, so imports, runtimes and pools are warm."""
    keys = object_keys(files)
    raw_put(bench, files, keys, "warmup-raw")
    oods_ingest(bench, files, "warmup-ingest")


def bench_small(bench: Bench, scale: Scale, work: Path) -> None:
    night = simulate_night(
        work / "small",
        detectors=scale.small_detectors,
        exposures=scale.small_exposures,
        size=scale.small_size,
    )
    files = night.files
    log(f"small: {len(files)} files of {files[0].stat().st_size} bytes simulated")
    warm_up(bench, files[: min(len(files), 2 * scale.small_detectors)])
    r = compare(bench, "small", files)
    n, mb = r["files"], r["bytes"] / MB
    ratio = r["ingest_seconds"] / r["raw_seconds"]
    bench.add(
        "small: raw put",
        n / r["raw_seconds"],
        "files/s",
        note=f"{mb / r['raw_seconds']:.1f} MB/s, {r['raw_seconds']:.2f} s",
    )
    bench.add(
        "small: ingest",
        n / r["ingest_seconds"],
        "files/s",
        note=f"{mb / r['ingest_seconds']:.1f} MB/s, {r['ingest_seconds']:.2f} s",
    )
    bench.add(
        "small: ingest time / raw put time",
        ratio,
        "x",
        "<= 1.5",
        ratio <= 1.5,
        f"{n} files, {r['bytes'] / n / 1e3:.1f} kB each",
    )


def bench_large(bench: Bench, scale: Scale, work: Path) -> None:
    night = simulate_night(
        work / "large",
        detectors=scale.large_detectors,
        exposures=scale.large_exposures,
        size=scale.large_size,
    )
    files = night.files
    log(f"large: {len(files)} files of {files[0].stat().st_size / MB:.1f} MB simulated")
    r = compare(bench, "large", files)
    mb = r["bytes"] / MB
    ratio = r["raw_seconds"] / r["ingest_seconds"]
    bench.add("large: raw put", mb / r["raw_seconds"], "MB/s", note=f"{r['raw_seconds']:.2f} s")
    bench.add(
        "large: ingest", mb / r["ingest_seconds"], "MB/s", note=f"{r['ingest_seconds']:.2f} s"
    )
    bench.add(
        "large: ingest MB/s / raw put MB/s",
        ratio,
        "x",
        ">= 0.8",
        ratio >= 0.8,
        f"{r['files']} files of {mb / r['files']:.1f} MB",
    )


# -- catalog queries at 10^6 rows ----------------------------------------------------------


def synthetic_catalog(scale: Scale) -> tuple[pa.Table, pa.Table, pa.Table, dict[str, Any]]:
    """Exposures, datasets and locations for the nights of ``scale``, as Arrow tables."""
    rng = np.random.default_rng(7)
    now = dt.datetime.now(dt.UTC)
    detectors = np.arange(scale.catalog_detectors, dtype=np.int64)
    names = [d.name for d in LSSTCAM_DETECTORS[: scale.catalog_detectors]]
    filters = np.array(["r_57", "i_39", "g_6", "z_20", "empty"])
    exposure_rows: dict[str, list[Any]] = {f.name: [] for f in TABLES["exposures"].schema}
    nights: list[tuple[int, int]] = []  # (day_obs, exposures)
    day = dt.date(2025, 6, 1)
    for per_night, count in scale.nights:
        for _ in range(count):
            nights.append((int(day.strftime("%Y%m%d")), per_night))
            day += dt.timedelta(days=1)
    exp_ids, exp_days, exp_filters = [], [], []
    for day_obs, per_night in nights:
        start = dt.datetime.strptime(str(day_obs), "%Y%m%d").replace(tzinfo=dt.UTC)
        start += dt.timedelta(days=1)
        for seq in range(1, per_night + 1):
            exposure = day_obs * 100_000 + seq
            begin = start + dt.timedelta(seconds=40 * seq)
            physical_filter = str(filters[seq % len(filters)])
            row = {
                "instrument": "LSSTCam",
                "exposure": exposure,
                "obs_id": f"MC_O_{day_obs}_{seq:06d}",
                "day_obs": day_obs,
                "seq_num": seq,
                "group": begin.isoformat(),
                "physical_filter": physical_filter,
                "band": physical_filter.split("_")[0],
                "observation_type": "science",
                "observation_reason": "science",
                "science_program": "BLOCK-365",
                "target_name": "ECDFS",
                "exposure_time": 30.0,
                "dark_time": 30.95,
                "datetime_begin": begin,
                "datetime_end": begin + dt.timedelta(seconds=31),
                "exposure_time_requested": 30.0,
                "tracking_ra": float(rng.uniform(0, 360)),
                "tracking_dec": float(rng.uniform(-80, 10)),
                "sky_angle": 0.0,
                "airmass": 1.2,
                "zenith_angle": 30.0,
                "azimuth": 180.0,
                "can_see_sky": True,
                "has_simulated_content": True,
                "focus_z": 0.0,
                "temperature": 10.5,
                "pressure": 74390.0,
                "relative_humidity": 33.4,
                "seq_start": seq,
                "seq_end": seq,
                "recorded_at": now,
            }
            for name, values in exposure_rows.items():
                values.append(row.get(name))
            exp_ids.append(exposure)
            exp_days.append(day_obs)
            exp_filters.append(physical_filter)
    exposures = pa.Table.from_pydict(exposure_rows, schema=TABLES["exposures"].schema)

    n_det = len(detectors)
    exposure_col = np.repeat(np.array(exp_ids, dtype=np.int64), n_det)
    detector_col = np.tile(detectors, len(exp_ids))
    day_col = np.repeat(np.array(exp_days, dtype=np.int64), n_det)
    filter_col = np.repeat(np.array(exp_filters), n_det)
    ids = [
        str(
            uuid.uuid5(
                BUTLER_NAMESPACE,
                f"dataset_type=raw,run={RUN},detector={d},exposure={e},instrument=LSSTCam",
            )
        )
        for e, d in zip(exposure_col.tolist(), detector_col.tolist(), strict=True)
    ]
    data_ids = [
        f'{{"detector": {d}, "exposure": {e}, "instrument": "LSSTCam"}}'
        for e, d in zip(exposure_col.tolist(), detector_col.tolist(), strict=True)
    ]
    first = {"instrument": "LSSTCam", "exposure": exp_ids[0], "detector": 0}
    assert ids[0] == str(dataset_id("raw", RUN, first)), "synthetic ids must be Butler ids"
    rows = len(ids)
    timestamps = pa.array([now] * rows, pa.timestamp("us", tz="UTC"))
    datasets = pa.Table.from_pydict(
        {
            "dataset_id": ids,
            "dataset_type": ["raw"] * rows,
            "run": [RUN] * rows,
            "instrument": ["LSSTCam"] * rows,
            "data_id": data_ids,
            "ingested_at": timestamps,
            "recorded_at": timestamps,
            "exposure": exposure_col,
            "detector": detector_col,
            "dataset_filter": filter_col,
            "day_obs": day_col,
            "corrected_fields": pa.nulls(rows, pa.string()),
            "correction": pa.nulls(rows, pa.string()),
        },
        schema=TABLES["datasets"].schema,
    )
    file_names = [
        f"MC_O_{e // 100_000}_{e % 100_000:06d}_{names[d]}.fits"
        for e, d in zip(exposure_col.tolist(), detector_col.tolist(), strict=True)
    ]
    keys = [
        f"LSSTCam/raw/{e // 100_000}/{e}/{name}"
        for e, name in zip(exposure_col.tolist(), file_names, strict=True)
    ]
    digest = hashlib.sha256(b"oods-bench")
    checksums = []
    for index in range(rows):
        sha = digest.copy()
        sha.update(index.to_bytes(8, "little"))
        checksums.append(sha.hexdigest())
    locations = pa.Table.from_pydict(
        {
            "dataset_id": ids,
            "instrument": ["LSSTCam"] * rows,  # copied from the dataset, as ingest does
            "day_obs": day_col,
            "exposure": exposure_col,
            "key": keys,
            "size": np.full(rows, 33_677_760, dtype=np.int64),
            "checksum": checksums,
            "file_name": file_names,
            "state": ["present"] * rows,
            "recorded_at": timestamps,
        },
        schema=TABLES["locations"].schema,
    )
    info = {
        "exposures": len(exp_ids),
        "raws": rows,
        "nights": nights,
        "exposure_ids": exp_ids,
    }
    return exposures, datasets, locations, info


def append_batches(site: Site, table: str, rows: pa.Table, batch_rows: int) -> int:
    commits = 0
    for start in range(0, rows.num_rows, batch_rows):
        site.store.append(table, rows.slice(start, batch_rows))
        commits += 1
    return commits


def latency(
    run: Callable[[int], object], arguments: Sequence[int], runs: int, warmup: int = 3
) -> dict[str, float]:
    """Warm latency of ``run(argument)``: milliseconds, median and spread over ``runs``."""
    for argument in arguments[:warmup]:
        run(argument)
    times = []
    for index in range(runs):
        argument = arguments[index % len(arguments)]
        started = time.perf_counter()
        run(argument)
        times.append((time.perf_counter() - started) * 1e3)
    times.sort()
    return {
        "median_ms": statistics.median(times),
        "min_ms": times[0],
        "p90_ms": times[int(0.9 * (len(times) - 1))],
        "max_ms": times[-1],
    }


def bench_catalog(bench: Bench, scale: Scale) -> None:
    started = time.perf_counter()
    exposures, datasets, locations, info = synthetic_catalog(scale)
    log(
        f"catalog: {info['raws']} raws of {info['exposures']} exposures built in "
        f"{time.perf_counter() - started:.1f} s"
    )
    site = Site.open(bench.config("catalog"))
    started = time.perf_counter()
    commits = append_batches(site, "exposures", exposures, scale.batch_rows)
    commits += append_batches(site, "datasets", datasets, scale.batch_rows)
    commits += append_batches(site, "locations", locations, scale.batch_rows)
    write_seconds = time.perf_counter() - started
    log(f"catalog: {commits} commits written in {write_seconds:.1f} s")
    del datasets, locations

    loads = []
    for _ in range(bench.repeats):
        started = time.perf_counter()
        snapshot = site.snapshot()
        loads.append(time.perf_counter() - started)
        snapshot.close()
    snapshot = site.snapshot()
    [(rows,)] = snapshot.sql(
        "SELECT count(*) FROM datasets JOIN locations USING (dataset_id)"
    ).fetchall()
    if rows != info["raws"]:
        raise SystemExit(f"catalog holds {rows} present raws, expected {info['raws']}")

    rng = np.random.default_rng(11)
    exposure_ids = rng.permutation(np.array(info["exposure_ids"])).tolist()
    expected = scale.catalog_detectors

    def one_exposure(exposure: int) -> None:
        got = snapshot.sql(EXPOSURE_QUERY, [exposure]).fetchall()
        assert len(got) == expected, (exposure, len(got))

    def one_exposure_join(exposure: int) -> None:
        got = snapshot.sql(JOIN_EXPOSURE_QUERY, [exposure]).fetchall()
        assert len(got) == expected, (exposure, len(got))

    def one_exposure_api(exposure: int) -> None:
        got = list_datasets(site, exposure=exposure).fetchall()
        assert len(got) == expected, (exposure, len(got))

    by_size: dict[int, list[int]] = {}
    for day_obs, per_night in info["nights"]:
        by_size.setdefault(per_night, []).append(day_obs)

    runs = scale.query_runs
    exposure_ms = latency(one_exposure, exposure_ids, runs)
    join_ms = latency(one_exposure_join, exposure_ids, runs)
    api_ms = latency(one_exposure_api, exposure_ids, runs)
    night_ms: dict[tuple[int, str], dict[str, float]] = {}
    for per_night, days in sorted(by_size.items()):
        rows_per_night = per_night * expected

        def as_tuples(day_obs: int, rows: int = rows_per_night) -> None:
            got = snapshot.sql(NIGHT_QUERY, [day_obs]).fetchall()
            assert len(got) == rows, (day_obs, len(got))

        def as_arrow(day_obs: int, rows: int = rows_per_night) -> None:
            got = snapshot.sql(NIGHT_QUERY, [day_obs]).to_arrow_table()
            assert got.num_rows == rows, (day_obs, got.num_rows)

        night_ms[per_night, "fetchall"] = latency(as_tuples, days, runs)
        night_ms[per_night, "arrow"] = latency(as_arrow, days, runs)

    bench.raw["catalog"] = {
        "raws": info["raws"],
        "exposures": info["exposures"],
        "nights": info["nights"],
        "commits": commits,
        "write_seconds": write_seconds,
        "load_seconds_all": loads,
        "load_seconds": statistics.median(loads),
        "exposure_query": exposure_ms,
        "exposure_query_join": join_ms,
        "list_datasets_exposure": api_ms,
        "night_query": {f"{n} exposures, {how}": v for (n, how), v in night_ms.items()},
    }
    bench.add(
        "catalog: snapshot load",
        statistics.median(loads),
        "s",
        note=f"{info['raws']:,} raws, {info['exposures']:,} exposures, {commits} commits",
    )
    bench.add(
        "catalog: one exposure (SQL on files)",
        exposure_ms["median_ms"],
        "ms",
        "< 10",
        exposure_ms["median_ms"] < 10,
        f"{expected} rows; p90 {exposure_ms['p90_ms']:.1f} ms",
    )
    bench.add(
        "catalog: one exposure (datasets JOIN locations)",
        join_ms["median_ms"],
        "ms",
        note="the same rows joined by hand, for comparison",
    )
    bench.add(
        "catalog: one exposure (list_datasets)",
        api_ms["median_ms"],
        "ms",
        "< 10",
        api_ms["median_ms"] < 10,
        f"{expected} rows; p90 {api_ms['p90_ms']:.1f} ms",
    )
    for (per_night, how), ms in sorted(
        night_ms.items(), key=lambda i: (i[0][0], i[0][1] != "fetchall")
    ):
        what = "Python tuples" if how == "fetchall" else "an Arrow table"
        bench.add(
            f"catalog: one night, {per_night} exp., {how}",
            ms["median_ms"],
            "ms",
            "< 50",
            ms["median_ms"] < 50,
            f"{per_night * expected:,} rows fetched as {what}; p90 {ms['p90_ms']:.1f} ms",
        )
    snapshot.close()


# -- report --------------------------------------------------------------------------------


def render(figures: Sequence[Figure]) -> str:
    lines = [f"{'figure':<42} {'value':>12} {'unit':<8} {'aim':<7} {'':<4} note"]
    lines.append("-" * 110)
    for f in figures:
        verdict = "" if f.ok is None else ("ok" if f.ok else "MISS")
        value = f"{f.value:,.3f}" if abs(f.value) < 100 else f"{f.value:,.0f}"
        lines.append(f"{f.name:<42} {value:>12} {f.unit:<8} {f.aim:<7} {verdict:<4} {f.note}")
    return "\n".join(lines)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__.split("\n\n")[0], formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument(
        "--repeats",
        type=int,
        default=None,
        help="runs per figure, the median is reported (default 3, quick 1)",
    )
    parser.add_argument("--quick", action="store_true", help="tiny sizes: a smoke run")
    parser.add_argument("--json", type=Path, help="write the results as JSON here")
    parser.add_argument(
        "--workers",
        type=int,
        default=None,
        help="ingest threads and baseline threads (default: the site default)",
    )
    parser.add_argument(
        "--large-files",
        type=int,
        default=None,
        help="how many ~32 MB files in the large-file figure (default 4)",
    )
    parser.add_argument(
        "--only",
        choices=("small", "large", "catalog"),
        action="append",
        help="run only these parts (repeatable)",
    )
    args = parser.parse_args(argv)
    scale = QUICK if args.quick else Scale()
    if args.large_files:
        scale = dataclasses.replace(scale, large_detectors=args.large_files)
    repeats = args.repeats or (1 if args.quick else 3)
    parts = args.only or ["small", "large", "catalog"]
    command = command_line()
    info = machine()
    workers = args.workers or SiteConfig.__dataclass_fields__["workers"].default

    with tempfile.TemporaryDirectory(prefix="oods-bench-") as tmp:
        work = Path(tmp)
        server = MinioServer(work / "minio").start()
        try:
            bench = Bench(server, workers=workers, repeats=repeats)
            log(f"MinIO at {server.endpoint}; {workers} workers, {repeats} repeats")
            started = time.perf_counter()
            if "small" in parts:
                bench_small(bench, scale, work)
            if "large" in parts:
                bench_large(bench, scale, work)
            if "catalog" in parts:
                bench_catalog(bench, scale)
            elapsed = time.perf_counter() - started
        finally:
            server.stop()
    finished(info)

    print("\n".join(header(command, info)))
    print(
        f"settings: workers={workers}, repeats={repeats} (median reported), "
        f"{'quick' if args.quick else 'full'} scale; took {elapsed:.0f} s"
    )
    print()
    print(render(bench.figures))
    if args.json:
        result = {
            "command": command,
            "machine": info,
            "workers": workers,
            "repeats": repeats,
            "quick": args.quick,
            "scale": dataclasses.asdict(scale),
            "seconds": elapsed,
            "figures": [dataclasses.asdict(f) for f in bench.figures],
            "raw": bench.raw,
        }
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps(result, indent=2, default=str) + "\n")
        print(f"\nresults written to {args.json}")
    return 0  # a missed aim is reported (MISS), not an error: this is a measurement


if __name__ == "__main__":
    sys.exit(main())
