"""Stream benchmark: the cost of one single-file ``oods.ingest`` call as history grows.

Run it (not collected by pytest)::

    .venv/bin/python tests/bench/stream.py [--repeats 3] [--quick | --full] [--json out.json]

An archiver pushing files calls ``oods.ingest(site, [path])`` once per file, all night,
with one long-lived ``Site``. This script does exactly that against one MinIO started
for the run (in a temporary directory, removed afterwards), on a simulated LSSTCam night
of small files (205 detectors per exposure, 16x16 pixels), and reports:

1. The cost of the next single-file call after N earlier ones, for N in 10, 100, 1000
   (``--full`` adds 10,000; ``--quick`` stops at 100). Every earlier commit is a real
   single-file ingest (no shortcut: each one adds its small Parquet files and log
   entries to the tables, as a stream does). The figure at N is the median of the
   ``--repeats`` calls that follow N calls. Aim: the last within 1.5x of N=10.
2. Files/s, one call per file, over every call of the run. Aim: >= 50 files/s.
3. Baseline, measured in the same run: one plain boto3 ``put_object`` per file of the
   same files, one at a time, with a client pooled as the site's. The cost at N is
   also given as a ratio to it.

``--profile N`` prints a cProfile of the call after N (cumulative time, top entries).
"""

from __future__ import annotations

import argparse
import cProfile
import io
import json
import pstats
import statistics
import sys
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[2]
if str(REPO_ROOT) not in sys.path:  # run as a script from anywhere
    sys.path.insert(0, str(REPO_ROOT))

from infra.minio_server import MinioServer  # noqa: E402
from oods import Site, SiteConfig, ingest  # noqa: E402
from oods import _s3 as site_s3  # noqa: E402  (the site's own boto3 client factory)
from oods.simulate import simulate_night  # noqa: E402
from tests.bench.run_info import command_line, finished, header, machine  # noqa: E402

DETECTORS = 205
PIXELS = 16


def log(message: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {message}", file=sys.stderr, flush=True)


def config(server: MinioServer, bucket: str) -> SiteConfig:
    return SiteConfig(
        endpoint=server.endpoint,
        access_key=server.access_key,
        secret_key=server.secret_key,
        bucket=bucket,
    )


def plain_puts(server: MinioServer, files: Sequence[Path]) -> list[float]:
    """Seconds of each plain boto3 PUT, one file per call, into a fresh bucket."""
    site_config = config(server, "stream-baseline")
    client = site_s3.make_client(site_config)
    site_s3.ensure_bucket(client, site_config.bucket)
    times = []
    for index, path in enumerate(files):
        started = time.perf_counter()
        with open(path, "rb") as body:
            client.put_object(Bucket=site_config.bucket, Key=f"raw/{index}/{path.name}", Body=body)
        times.append(time.perf_counter() - started)
    return times


def one_call(site: Site, path: Path) -> float:
    started = time.perf_counter()
    report = ingest(site, [path])
    seconds = time.perf_counter() - started
    if len(report.ingested) != 1:
        lines = "; ".join(r.line() for r in report.failed)
        raise SystemExit(f"{path} was not ingested: {report.summary()} {lines}")
    return seconds


def profiled_call(site: Site, path: Path, top: int = 25) -> tuple[float, str]:
    profile = cProfile.Profile()
    started = time.perf_counter()
    profile.enable()
    report = ingest(site, [path])
    profile.disable()
    seconds = time.perf_counter() - started
    if len(report.ingested) != 1:
        raise SystemExit(f"{path} was not ingested: {report.summary()}")
    out = io.StringIO()
    pstats.Stats(profile, stream=out).sort_stats("cumulative").print_stats(top)
    return seconds, out.getvalue()


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__.split("\n\n")[0], formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--repeats", type=int, default=None, help="calls per figure (default 5)")
    parser.add_argument("--quick", action="store_true", help="up to 100 earlier calls")
    parser.add_argument("--full", action="store_true", help="up to 10,000 earlier calls")
    parser.add_argument(
        "--points", help="comma-separated numbers of earlier calls (overrides the defaults)"
    )
    parser.add_argument("--profile", type=int, help="cProfile the call after this many")
    parser.add_argument("--json", type=Path, help="write the results as JSON here")
    args = parser.parse_args(argv)
    if args.points:
        points = sorted(int(p) for p in args.points.split(","))
    else:
        points = [10, 100] if args.quick else [10, 100, 1000] + ([10_000] if args.full else [])
    repeats = args.repeats or (3 if args.quick else 5)
    total = points[-1] + repeats
    command = command_line()
    info = machine()

    with tempfile.TemporaryDirectory(prefix="oods-stream-") as tmp:
        work = Path(tmp)
        exposures = -(-total // DETECTORS)
        night = simulate_night(
            work / "night", detectors=DETECTORS, exposures=exposures, size=PIXELS
        )
        files = sorted(night.files)[:total]  # exposure by exposure, as a camera writes
        log(f"{len(files)} files of {files[0].stat().st_size} bytes simulated")
        server = MinioServer(work / "minio").start()
        try:
            log(f"MinIO at {server.endpoint}")
            baseline = plain_puts(server, files[: min(len(files), 200)])
            site = Site.open(config(server, "stream-site"))
            costs: list[float] = []
            profile_text = ""
            started = time.perf_counter()
            for index, path in enumerate(files):
                if args.profile is not None and index == args.profile:
                    seconds, profile_text = profiled_call(site, path)
                    costs.append(seconds)
                    continue
                costs.append(one_call(site, path))
                if (index + 1) % 100 == 0:
                    log(f"{index + 1} calls, last {costs[-1] * 1e3:.1f} ms")
            elapsed = time.perf_counter() - started
        finally:
            server.stop()
    finished(info)

    put_ms = statistics.median(baseline) * 1e3
    at = {n: statistics.median(costs[n : n + repeats]) * 1e3 for n in points}
    first, last = at[points[0]], at[points[-1]]
    rate = len(costs) / elapsed

    print("\n".join(header(command, info)))
    print(
        f"settings: {len(files)} single-file calls on one Site, median of {repeats} calls "
        f"per point; took {elapsed:.0f} s"
    )
    print()
    print(f"baseline: plain boto3 PUT, one file per call: {put_ms:.1f} ms (median)")
    for n in points:
        print(
            f"single-file ingest after {n:>6,} earlier calls: {at[n]:8.1f} ms "
            f"({at[n] / put_ms:5.1f}x a plain PUT)"
        )
    ratio = last / first
    print(
        f"cost after {points[-1]:,} / after {points[0]:,}: {ratio:.2f}x "
        f"(aim <= 1.5: {'ok' if ratio <= 1.5 else 'MISS'})"
    )
    print(
        f"files/s, one call per file, over {len(costs)} calls: {rate:.1f} "
        f"(aim >= 50: {'ok' if rate >= 50 else 'MISS'})"
    )
    if profile_text:
        print(f"\nprofile of the call after {args.profile}:\n{profile_text}")
    if args.json:
        result = {
            "command": command,
            "machine": info,
            "points_ms": at,
            "baseline_put_ms": put_ms,
            "files_per_second": rate,
            "costs_ms": [c * 1e3 for c in costs],
        }
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps(result, indent=2, default=str) + "\n")
    return 0  # a missed aim is reported (MISS), not an error: this is a measurement


if __name__ == "__main__":
    sys.exit(main())
