"""Staging benchmark: how soon an object staged in the staging bucket is in landing,
and which path (bucket notification or listing) brought it.

Run it (not collected by pytest)::

    .venv/bin/python tests/bench/staging.py [--rounds 5] [--burst 8] [--json out.json]

One MinIO is started for the run (in a temporary directory, removed afterwards) and a
``StagingWatcher`` (the one ``oods serve`` runs) on a staging bucket. Two cases:

- ``lone``: one object at a time, ``--rounds`` times, rescan 1 s (the default);
- ``burst``: ``--burst`` objects put back to back, ``--rounds`` times, rescan 600 s, so
  that only notifications can bring them within the measurement.

Latency is put completed -> file renamed into landing (polled every 5 ms); ``missed``
counts objects not landed within 2 s of their put (they may come later: ``brought``
counts every object the watcher brought, by path). On the pinned MinIO build the
notification stream is held back until ~4 KB of events are pending, so a lone object
waits for the rescan (uniform over the rescan interval) and a burst's first objects
come by notification within ~0.1 s while its last few stay in the server until the
next burst (or the rescan, which this case pushes out of reach).
"""

from __future__ import annotations

import argparse
import json
import random
import statistics
import sys
import tempfile
import threading
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from infra.minio_server import MinioServer
from oods import Site, SiteConfig
from oods.staging import StagingWatcher

POLL = 0.005


def wait_landed(path: Path, timeout: float) -> float | None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if path.exists():
            return time.monotonic()
        time.sleep(POLL)
    return None


def run_case(
    site: Site, bucket: str, landing: Path, rescan: float, rounds: int, burst: int
) -> dict[str, object]:
    stop = threading.Event()
    watcher = StagingWatcher(site, bucket, "", landing, rescan, stop)
    threads = watcher.start()
    deadline = time.monotonic() + 10
    while not (watcher.listening and watcher.scans) and time.monotonic() < deadline:
        time.sleep(POLL)
    latencies: list[float] = []
    missed = 0
    body = b"x" * 26_000  # one small LSSTCam raw's size
    for r in range(rounds):
        put_at: dict[str, float] = {}
        for i in range(burst):
            key = f"camera/r{r:02d}-{i:03d}.fits"
            site.s3.put_object(Bucket=bucket, Key=key, Body=body)
            put_at[key] = time.monotonic()
        for key, at in put_at.items():
            landed = wait_landed(landing / "staging" / key, max(2.0, 1.5 * min(rescan, 5.0)))
            if landed is None:
                missed += 1
            else:
                latencies.append(landed - at)
        time.sleep(random.uniform(0.2, 1.2))  # no phase lock with the rescan
    stop.set()
    for thread in threads:
        thread.join(10)
    ordered = sorted(latencies)
    return {
        "objects": rounds * burst,
        "brought": dict(watcher.brought),
        "missed": missed,
        "p50_ms": round(1000 * statistics.median(ordered), 1) if ordered else None,
        "max_ms": round(1000 * ordered[-1], 1) if ordered else None,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--burst", type=int, default=8)
    parser.add_argument("--json", type=Path)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="oods-bench-staging-") as tmp:
        server = MinioServer(Path(tmp) / "minio").start()
        try:
            config = SiteConfig(
                endpoint=server.endpoint,
                access_key=server.access_key,
                secret_key=server.secret_key,
                bucket="bench",
            )
            results = {}
            with Site.open(config) as site:
                for name, rescan, burst in (("lone", 1.0, 1), ("burst", 600.0, args.burst)):
                    bucket = f"bench-{name}"
                    site.s3.create_bucket(Bucket=bucket)
                    landing = Path(tmp) / f"landing-{name}"
                    results[name] = run_case(site, bucket, landing, rescan, args.rounds, burst)
                    print(name, json.dumps(results[name]))
        finally:
            server.stop()
    if args.json:
        args.json.write_text(json.dumps(results, indent=2))


if __name__ == "__main__":
    main()
