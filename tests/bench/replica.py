"""Replica push benchmark: two real MinIO servers, push against a plain boto3 copy.

Run it (not collected by pytest)::

    .venv/bin/python tests/bench/replica.py            # ~1-2 minutes
    .venv/bin/python tests/bench/replica.py --quick    # seconds
    .venv/bin/python tests/bench/replica.py --json out.json
    .venv/bin/python tests/bench/replica.py --skip-metadata --repeat 5   # push only
    .venv/bin/python tests/bench/replica.py --skip-metadata --large-exposures 2  # ~190 MB

Two servers (the OODS and the DBB, other ports, other data folders). A simulated night
(small raws) plus 16 large raws (~600 MB in all) is ingested at the OODS. Then, same
run, same objects, same thread count:

1. Baseline: a plain boto3 copy, ``get_object`` -> ``put_object`` (large objects:
   ``upload_fileobj`` with the same multipart settings as push), into a bucket on the
   DBB server. No hashing, no catalog.
2. ``replica.push`` into a fresh DBB site: the same bytes, plus a SHA-256 check of
   every object (by the DBB server for one-PUT objects, here for multipart ones), the
   create-only PUT, and the DBB's catalog commits. Aim: >= 90 % of the baseline's
   bandwidth. ``--repeat`` pairs (3), in alternating order, each into new
   buckets; the median ratio is reported (timings on a shared machine are noisy).
3. A no-op re-push (the plan finds nothing to move). Aim < 1 s.
4. Metadata: ``sync_metadata`` of a DBB catalog of ~10^6 raws (4900 exposures x 205
   detectors, written straight into its tables, as ``tests/bench/ingest.py`` does) into
   an empty OODS catalog (aim < 10 s), then a no-op re-sync (aim < 1 s).
   ``--skip-metadata`` leaves it out (``--skip-push``: only this part).
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

REPO_ROOT = Path(__file__).resolve().parents[2]
if str(REPO_ROOT) not in sys.path:  # run as a script from anywhere
    sys.path.insert(0, str(REPO_ROOT))

from boto3.s3.transfer import TransferConfig  # noqa: E402

from infra.minio_server import MinioServer  # noqa: E402
from oods import Site, SiteConfig, ingest  # noqa: E402
from oods._s3 import ensure_bucket  # noqa: E402
from oods.simulate import simulate_night  # noqa: E402
from replica import push, push_plan, sync_metadata  # noqa: E402
from replica.transfer import MULTIPART_THRESHOLD  # noqa: E402
from tests.bench.ingest import QUICK, Scale, append_batches, synthetic_catalog  # noqa: E402


def config(server: MinioServer, bucket: str, workers: int) -> SiteConfig:
    return SiteConfig(
        endpoint=server.endpoint,
        access_key=server.access_key,
        secret_key=server.secret_key,
        bucket=bucket,
        workers=workers,
    )


def plain_copy(local: Site, dbb: Site, bucket: str, items: list[Any], workers: int) -> float:
    """Seconds for a plain GET -> PUT of every planned object into ``bucket``."""
    ensure_bucket(dbb.s3, bucket)
    settings = TransferConfig(
        multipart_threshold=MULTIPART_THRESHOLD,
        multipart_chunksize=MULTIPART_THRESHOLD,
        max_concurrency=4,
    )

    def copy(item: Any) -> None:
        body = local.s3.get_object(Bucket=local.bucket, Key=item.key)["Body"]
        if item.size <= MULTIPART_THRESHOLD:
            dbb.s3.put_object(Bucket=bucket, Key=item.key, Body=body.read())
        else:
            dbb.s3.upload_fileobj(body, bucket, item.key, Config=settings)

    started = time.perf_counter()
    with ThreadPoolExecutor(workers) as pool:
        list(pool.map(copy, items))
    return time.perf_counter() - started


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true", help="a small run, seconds")
    parser.add_argument("--workers", type=int, default=8)
    parser.add_argument("--json", type=Path, help="also write the figures here")
    parser.add_argument("--skip-metadata", action="store_true", help="push figures only")
    parser.add_argument("--skip-push", action="store_true", help="metadata figures only")
    parser.add_argument("--repeat", type=int, default=3, help="push/plain pairs (medians reported)")
    parser.add_argument(
        "--large-exposures",
        type=int,
        default=8,
        help="exposures of 2 large (~34 MB) raws each (default 8: ~600 MB in all; 2: ~190 MB, "
        "where a push's fixed costs, its plan and one commit of ~0.1 s, weigh more)",
    )
    args = parser.parse_args()
    small = (4, 5, 64) if args.quick else (20, 10, 256)  # detectors, exposures, side
    large = (1, 1, 1400) if args.quick else (2, args.large_exposures, 2900)  # ~8 / ~34 MB raws
    with tempfile.TemporaryDirectory() as work:
        root = Path(work)
        oods_server = MinioServer(root / "oods").start()
        dbb_server = MinioServer(root / "dbb").start()
        try:
            figures: dict[str, Any] = {}
            if not args.skip_push:
                figures.update(
                    run(root, oods_server, dbb_server, small, large, args.workers, args.repeat)
                )
            if not args.skip_metadata:
                scale = QUICK if args.quick else Scale()
                figures.update(metadata(oods_server, dbb_server, scale))
        finally:
            oods_server.stop()
            dbb_server.stop()
    figures["load_average"] = os.getloadavg()[0]
    figures["cpus"] = os.cpu_count()
    print(json.dumps(figures, indent=2))
    if args.json:
        args.json.write_text(json.dumps(figures, indent=2))
    return 0


def run(
    root: Path,
    oods_server: MinioServer,
    dbb_server: MinioServer,
    small: tuple[int, int, int],
    large: tuple[int, int, int],
    workers: int,
    repeat: int = 3,
) -> dict[str, Any]:
    """Push against the plain copy, ``repeat`` pairs in alternating order (the machine
    may be shared: the median of the pairs' ratios is the figure)."""
    detectors, exposures, side = small
    simulate_night(root / "night", detectors=detectors, exposures=exposures, size=side)
    detectors, exposures, side = large
    simulate_night(
        root / "large", detectors=detectors, exposures=exposures, size=side, day_obs=20250602
    )
    baselines: list[float] = []
    pushes: list[float] = []
    noops: list[float] = []
    with Site.open(config(oods_server, "oods", workers)) as local:
        report = ingest(local, [root / "night", root / "large"])
        assert not report.failed, report.failed[0].line()
        for attempt in range(repeat):
            with Site.open(config(dbb_server, f"dbb-{attempt}", workers)) as dbb:
                plan = push_plan(local, dbb)
                items = list(plan.transfers)
                if attempt % 2:  # every other pair pushes first
                    pushes.append(_timed_push(local, dbb, plan))
                baselines.append(plain_copy(local, dbb, f"plain-copy-{attempt}", items, workers))
                if not attempt % 2:
                    pushes.append(_timed_push(local, dbb, plan))
                started = time.perf_counter()
                again = push(local, dbb, release=False)
                noops.append(time.perf_counter() - started)
                assert again.plan.count == 0
    mb = plan.bytes / 1e6
    baseline, push_seconds = statistics.median(baselines), statistics.median(pushes)
    ratios = [b / p for b, p in zip(baselines, pushes, strict=True)]
    return {
        "objects": plan.count,
        "megabytes": round(mb, 1),
        "pairs": repeat,
        "plain_copy_seconds": round(baseline, 3),
        "plain_copy_MBps": round(mb / baseline, 1),
        "push_seconds": round(push_seconds, 3),
        "push_MBps": round(mb / push_seconds, 1),
        "push_vs_plain": round(statistics.median(ratios), 3),
        "push_vs_plain_each": [round(r, 3) for r in ratios],
        "push_vs_plain_aim": 0.9,
        "noop_repush_seconds": round(statistics.median(noops), 3),
        "noop_repush_aim_seconds": 1.0,
    }


def _timed_push(local: Site, dbb: Site, plan: Any) -> float:
    started = time.perf_counter()
    pushed = push(local, dbb, release=False, plan=plan)
    seconds = time.perf_counter() - started
    assert pushed.ok, pushed.lines()
    return seconds


def metadata(oods_server: MinioServer, dbb_server: MinioServer, scale: Scale) -> dict[str, Any]:
    """Seconds to sync the metadata of a catalog of ~10^6 raws, then to re-sync."""
    exposures, datasets, locations, info = synthetic_catalog(scale)
    with Site.open(config(dbb_server, "dbb-metadata", 8)) as dbb:
        for table, rows in (("exposures", exposures), ("datasets", datasets)):
            append_batches(dbb, table, rows, scale.batch_rows)
        append_batches(dbb, "locations", locations, scale.batch_rows)
        with Site.open(config(oods_server, "oods-metadata", 8)) as local:
            started = time.perf_counter()
            first = sync_metadata(local, dbb)
            seconds = time.perf_counter() - started
            started = time.perf_counter()
            again = sync_metadata(local, dbb)
            noop = time.perf_counter() - started
    assert first.remote == info["raws"] and again.rows == again.remote == 0
    return {
        "metadata_raws": info["raws"],
        "metadata_rows_written": first.rows + first.remote,
        "metadata_sync_seconds": round(seconds, 3),
        "metadata_sync_aim_seconds": 10.0,
        "metadata_noop_resync_seconds": round(noop, 3),
        "metadata_noop_resync_aim_seconds": 1.0,
    }


if __name__ == "__main__":
    sys.exit(main())
