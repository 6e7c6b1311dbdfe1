"""Status page benchmark: the night view's first paint for a full LSSTCam night.

Run it (not collected by pytest)::

    .venv/bin/python tests/bench/web.py                # ~1-2 minutes
    .venv/bin/python tests/bench/web.py --quick        # a 100-exposure night, seconds
    .venv/bin/python tests/bench/web.py --repeats 30 --json web.json

A real MinIO; a catalog of one LSSTCam night, 1,000 exposures x 205 detectors (205,000
raws, with their locations and an ``arrivals`` row each, as ``oods serve`` writes; 50
files of the last exposure missing and 10 failed), written straight into the tables as
``tests/bench/ingest.py`` does. The real app runs under uvicorn on loopback; the figure
is the median time of ``GET /api/night`` - the one call behind the night view's first
paint (nights, the 1,000 exposures with their counts, the last exposure's 205-detector
map, the timeline) - over ``--repeats`` calls, after the first (which loads the
snapshot, reported apart). Baseline, same run: ``GET /api``, a constant answer, i.e. the
HTTP round trip alone. Aim: under 200 ms.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import statistics
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.request
import uuid
from pathlib import Path
from typing import Any

REPO_ROOT = Path(__file__).resolve().parents[2]
if str(REPO_ROOT) not in sys.path:  # run as a script from anywhere
    sys.path.insert(0, str(REPO_ROOT))

import pyarrow as pa  # noqa: E402
import uvicorn  # noqa: E402

from catalog.tables import TABLES  # noqa: E402
from catalog.translators.focalplane import LSSTCAM_DETECTORS  # noqa: E402
from infra.minio_server import MinioServer  # noqa: E402
from oods import Site, SiteConfig  # noqa: E402
from oods.cli.web import bind  # noqa: E402
from oods.web.app import create_app  # noqa: E402
from tests.bench.ingest import append_batches  # noqa: E402
from tests.bench.run_info import command_line, finished, header, machine  # noqa: E402

AIM_MS = 200.0
MISSING, FAILED = 50, 10


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="a 100-exposure night")
    parser.add_argument("--repeats", type=int, default=20, help="timed calls (median)")
    parser.add_argument("--json", type=Path, help="also write the figures here")
    args = parser.parse_args()
    info = machine()
    exposures = 100 if args.quick else 1000
    with tempfile.TemporaryDirectory(prefix="oods-bench-web-") as tmp:
        server = MinioServer(Path(tmp) / "data").start()
        try:
            figures = run(server, exposures, args.repeats)
        finally:
            server.stop()
    finished(info)
    print("\n".join(header(command_line(), info)))
    report(figures)
    if args.json:
        args.json.write_text(json.dumps({"machine": info, **figures}, indent=2, default=str))
    return 0 if figures["night_median_ms"] < AIM_MS else 1


def run(server: MinioServer, exposures: int, repeats: int) -> dict[str, Any]:
    config = SiteConfig(
        endpoint=server.endpoint,
        access_key=server.access_key,
        secret_key=server.secret_key,
        bucket="bench-web",
    )
    site = Site.open(config)
    started = time.perf_counter()
    raws = write_night(site, exposures)
    written = time.perf_counter() - started
    app = create_app(site, None, refresh_seconds=3600)  # the timed calls read one snapshot
    sock = bind("127.0.0.1", 0)
    uv = uvicorn.Server(uvicorn.Config(app, log_level="warning"))
    thread = threading.Thread(target=uv.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    while not uv.started:
        time.sleep(0.05)
    base = f"http://127.0.0.1:{sock.getsockname()[1]}"
    try:
        cold, body = timed(f"{base}/api/night")
        answer = json.loads(body)
        assert len(answer["exposures"]) == exposures, "the night's exposures"
        assert answer["focal_plane"]["counts"]["missing"] == MISSING
        assert answer["focal_plane"]["counts"]["failed"] == FAILED
        night = [timed(f"{base}/api/night")[0] for _ in range(repeats)]
        baseline = [timed(f"{base}/api")[0] for _ in range(repeats)]
    finally:
        uv.should_exit = True
        thread.join(30)
        site.close()
    return {
        "exposures": exposures,
        "raws": raws,
        "catalog_written_s": written,
        "night_cold_ms": cold,
        "night_median_ms": statistics.median(night),
        "night_min_ms": min(night),
        "night_max_ms": max(night),
        "baseline_median_ms": statistics.median(baseline),
        "ratio_to_baseline": statistics.median(night) / statistics.median(baseline),
        "response_bytes": len(body),
        "repeats": repeats,
    }


def timed(url: str) -> tuple[float, bytes]:
    started = time.perf_counter()
    try:
        with urllib.request.urlopen(url, timeout=60) as response:
            body = response.read()
    except urllib.error.HTTPError as exc:
        raise SystemExit(f"{url}: {exc.code} {exc.read().decode()}") from None
    return (time.perf_counter() - started) * 1e3, body


def write_night(site: Site, exposures: int) -> int:
    """One night of ``exposures`` x 205 raws, locations and arrivals, in big commits;
    the last exposure lacks ``MISSING + FAILED`` raws, ``FAILED`` of them failed."""
    day_obs, batch = 20250601, 250_000
    start = dt.datetime(2025, 6, 2, tzinfo=dt.UTC)
    numbers = [day_obs * 100_000 + seq for seq in range(1, exposures + 1)]
    begins = [start + dt.timedelta(seconds=17 * i) for i in range(exposures)]
    filters = ["r_57", "i_39", "g_6", "z_20"]
    exposure_columns: dict[str, Any] = {
        "instrument": ["LSSTCam"] * exposures,
        "exposure": numbers,
        "obs_id": [f"MC_O_{day_obs}_{n % 100_000:06d}" for n in numbers],
        "day_obs": [day_obs] * exposures,
        "seq_num": [n % 100_000 for n in numbers],
        "group": [b.isoformat() for b in begins],
        "physical_filter": [filters[i % 4] for i in range(exposures)],
        "band": [filters[i % 4][0] for i in range(exposures)],
        "observation_type": ["science"] * exposures,
        "observation_reason": ["science"] * exposures,
        "science_program": ["BLOCK-365"] * exposures,
        "target_name": ["ECDFS"] * exposures,
        "exposure_time": [30.0] * exposures,
        "dark_time": [30.9] * exposures,
        "datetime_begin": begins,
        "datetime_end": [b + dt.timedelta(seconds=31) for b in begins],
        "has_simulated_content": [True] * exposures,
        "recorded_at": [start] * exposures,
    }
    append_batches(site, "exposures", fitted("exposures", exposure_columns, exposures), batch)
    raws = [
        (e, d)
        for e in numbers
        for d in LSSTCAM_DETECTORS
        if not (e == numbers[-1] and d.detector < MISSING + FAILED)
    ]
    rows = len(raws)
    ids = [str(uuid.uuid5(uuid.NAMESPACE_URL, f"raw/{e}/{d.detector}")) for e, d in raws]
    names = [f"MC_O_{day_obs}_{e % 100_000:06d}_{d.name}.fits" for e, d in raws]
    now = [start] * rows
    dataset_columns: dict[str, Any] = {
        "dataset_id": ids,
        "dataset_type": ["raw"] * rows,
        "run": ["LSSTCam/raw/all"] * rows,
        "instrument": ["LSSTCam"] * rows,
        "data_id": [
            f'{{"detector": {d.detector}, "exposure": {e}, "instrument": "LSSTCam"}}'
            for e, d in raws
        ],
        "ingested_at": now,
        "recorded_at": now,
        "exposure": [e for e, _ in raws],
        "detector": [d.detector for _, d in raws],
        "day_obs": [day_obs] * rows,
    }
    append_batches(site, "datasets", fitted("datasets", dataset_columns, rows), batch)
    location_columns: dict[str, Any] = {
        "dataset_id": ids,
        "key": [f"LSSTCam/raw/{day_obs}/{e}/{n}" for (e, _), n in zip(raws, names, strict=True)],
        "size": [33_677_760] * rows,
        "checksum": ["0" * 64] * rows,
        "file_name": names,
        "state": ["present"] * rows,
        "recorded_at": now,
    }
    append_batches(site, "locations", fitted("locations", location_columns, rows), batch)
    append_batches(site, "arrivals", arrival_rows(raws, ids, numbers[-1]), batch)
    return rows


def fitted(table: str, columns: dict[str, Any], rows: int) -> pa.Table:
    """``columns`` as the table's current schema: the others null."""
    schema = TABLES[table].schema
    return pa.table(
        {f.name: columns.get(f.name, pa.nulls(rows, f.type)) for f in schema}, schema=schema
    )


def arrival_rows(raws: list[tuple[int, Any]], ids: list[str], last: int) -> pa.Table:
    """An ``ingested`` arrival per raw (0.5 s to queryable, 205 files every 17 s) and
    ``FAILED`` metadata failures of the last exposure, named as the camera names raws."""
    start = dt.datetime(2025, 6, 2, tzinfo=dt.UTC)
    arrived = [start + dt.timedelta(seconds=17 * (e % 100_000 - 1)) for e, _ in raws]
    day, seq = last // 100_000, last % 100_000
    paths = [f"/landing/{e}_{d.name}.fits" for e, d in raws]
    paths += [
        f"/landing/MC_O_{day}_{seq:06d}_{LSSTCAM_DETECTORS[MISSING + i].name}.fits"
        for i in range(FAILED)
    ]
    arrived += [arrived[-1]] * FAILED
    rows, total = len(raws), len(raws) + FAILED
    columns: dict[str, Any] = {
        "seq": list(range(1, total + 1)),
        "path": paths,
        "status": ["ingested"] * rows + ["metadata_failure"] * FAILED,
        "arrived_at": arrived,
        "recorded_at": [a + dt.timedelta(seconds=0.5) for a in arrived],
        "dataset_id": ids + [None] * FAILED,
        "failure": [None] * rows + ["metadata"] * FAILED,
        "reason": [None] * rows + ["not a FITS file"] * FAILED,
    }
    return fitted("arrivals", columns, total)


def report(figures: dict[str, Any]) -> None:
    print(
        f"night: {figures['exposures']} exposures, {figures['raws']:,} raws "
        f"(catalog written in {figures['catalog_written_s']:.1f} s)"
    )
    print(
        f"GET /api/night (first paint, {figures['response_bytes'] / 1e3:.0f} kB): "
        f"median {figures['night_median_ms']:.1f} ms over {figures['repeats']} calls "
        f"(min {figures['night_min_ms']:.1f}, max {figures['night_max_ms']:.1f}); "
        f"first call, loading the snapshot: {figures['night_cold_ms']:.0f} ms"
    )
    print(
        f"baseline GET /api: median {figures['baseline_median_ms']:.2f} ms; "
        f"ratio {figures['ratio_to_baseline']:.0f}x; aim < {AIM_MS:.0f} ms: "
        + ("met" if figures["night_median_ms"] < AIM_MS else "NOT met")
    )


if __name__ == "__main__":
    sys.exit(main())
