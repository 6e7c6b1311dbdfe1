"""Retention status: one tagged listing versus a GetObjectTagging per object.

Run it (not collected by pytest)::

    .venv/bin/python tests/bench/retention.py [--objects 10000] [--sample 1000]

Starts its own MinIO, writes ``--objects`` tiny objects tagged ``oods-retention=hold``
or ``cache`` (``--workers`` threads), then times:

1. ``retention_status``: MinIO's ``ListObjectsV2`` with ``metadata=true``, which carries
   each object's tags (one request per 1,000 objects);
2. the baseline: a plain listing plus ``GetObjectTagging`` for the first ``--sample``
   objects (with the same thread count), extrapolated to every object.

Prints both and their ratio; the aim is a ratio of 10 or more.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[2]
if str(REPO_ROOT) not in sys.path:  # run as a script from anywhere
    sys.path.insert(0, str(REPO_ROOT))

from infra.minio_server import MinioServer  # noqa: E402
from oods import Site, SiteConfig  # noqa: E402
from oods.retention_classes import RetentionSettings  # noqa: E402
from oods.retention_status import retention_status  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--objects", type=int, default=10_000)
    parser.add_argument("--sample", type=int, default=1_000)
    parser.add_argument("--workers", type=int, default=16)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        server = MinioServer(Path(folder) / "data").start()
        try:
            run(server, args.objects, args.sample, args.workers)
        finally:
            server.stop()


def run(server: MinioServer, objects: int, sample: int, workers: int) -> None:
    config = SiteConfig(
        endpoint=server.endpoint,
        access_key=server.access_key,
        secret_key=server.secret_key,
        bucket="bench",
        workers=workers,
    )
    with Site.open(config) as site:
        started = time.perf_counter()

        def put(i: int) -> None:
            name = "cache" if i % 4 == 0 else "hold"
            site.s3.put_object(
                Bucket=site.bucket,
                Key=f"LSSTCam/raw/{i // 205:05d}/{i:08d}.fits",
                Body=b"x",
                Tagging=f"oods-retention={name}",
            )

        with ThreadPoolExecutor(workers) as pool:
            list(pool.map(put, range(objects)))
        print(f"wrote {objects} objects in {time.perf_counter() - started:.1f}s")

        started = time.perf_counter()
        status = retention_status(site, RetentionSettings())
        listed = time.perf_counter() - started
        counts = {c.name: c.objects for c in status.classes if c.objects}
        print(f"retention_status (tagged listing): {listed:.2f}s for {counts}")

        started = time.perf_counter()
        keys = [
            o["Key"]
            for page in site.s3.get_paginator("list_objects_v2").paginate(Bucket=site.bucket)
            for o in page.get("Contents", [])
        ]
        with ThreadPoolExecutor(workers) as pool:
            list(
                pool.map(
                    lambda key: site.s3.get_object_tagging(Bucket=site.bucket, Key=key),
                    keys[:sample],
                )
            )
        per_object = (time.perf_counter() - started) / min(sample, len(keys)) * len(keys)
        print(f"listing + GetObjectTagging per object: {per_object:.2f}s (extrapolated)")
        print(
            f"ratio: {per_object / listed:.1f}x  (nproc {os.cpu_count()}, load {os.getloadavg()})"
        )


if __name__ == "__main__":
    main()
