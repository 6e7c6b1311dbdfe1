"""Reconcile benchmark: 100,000 objects against their catalog rows, on a real MinIO.

Run it (not collected by pytest)::

    .venv/bin/python tests/bench/reconcile.py [--objects 100000] [--threads 4]

One MinIO is started for the run in a temporary directory (removed afterwards). The
setup puts ``--objects`` small objects (a few tar "snowball" uploads that MinIO unpacks
into objects, in parallel) and appends one present
``locations`` row for each, plus ``--missing`` rows whose objects were never written and
``--orphans`` objects without OODS metadata, in one commit. Then ``oods.reconcile`` is
timed twice: the first finds the missing rows and the orphans (and marks the rows), the
second finds nothing. Each run prints its total time beside the time of its bucket
listing (one paginated ListObjectsV2, 1000 keys a page): the aim is a reconcile under
30 s whose time is the listing's, not Python's.
"""

from __future__ import annotations

import argparse
import datetime as dt
import hashlib
import io
import sys
import tarfile
import tempfile
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[2]
if str(REPO_ROOT) not in sys.path:  # run as a script from anywhere
    sys.path.insert(0, str(REPO_ROOT))

import pyarrow as pa  # noqa: E402

from catalog import TABLES  # noqa: E402
from infra.minio_server import MinioServer  # noqa: E402
from oods import Site, SiteConfig  # noqa: E402
from oods.reconcile import reconcile  # noqa: E402

SNOWBALL = 5000


def _key(index: int) -> str:
    exposure = 2025060100000 + index // 200
    return f"LSSTCam/raw/20250601/MC_O_{exposure}/MC_O_{exposure}_{index % 200:03d}.fits"


def _put_snowball(site: Site, indexes: range, body: bytes) -> None:
    """Put one small object per index in one request: a tar that MinIO itself unpacks
    into objects (its "snowball" upload), ~4x faster than a PUT per object here."""
    archive = io.BytesIO()
    with tarfile.open(fileobj=archive, mode="w") as tar:
        for index in indexes:
            info = tarfile.TarInfo(_key(index))
            info.size = len(body)
            tar.addfile(info, io.BytesIO(body))
    site.s3.put_object(
        Bucket=site.bucket,
        Key=f"snowball-{indexes.start}.tar",
        Body=archive.getvalue(),
        Metadata={"snowball-auto-extract": "true"},
    )


def _populate(site: Site, objects: int, missing: int, orphans: int, threads: int) -> float:
    """Put the objects and commit their rows; returns the seconds it took."""
    started = time.perf_counter()
    body = b"SIMPLE  =                    T" + b" " * 50
    checksum = hashlib.sha256(body).hexdigest()
    # Tars of SNOWBALL objects: each unpacked well inside the client's read timeout.
    parts = [range(i, min(objects, i + SNOWBALL)) for i in range(0, objects, SNOWBALL)]
    with ThreadPoolExecutor(threads) as pool:
        list(pool.map(lambda part: _put_snowball(Site(site.config), part, body), parts))
    for index in range(orphans):
        site.s3.put_object(Bucket=site.bucket, Key=f"stray/{index}.bin", Body=b"x")
    now = dt.datetime.now(dt.UTC)
    rows = objects + missing
    keys = [_key(index) for index in range(rows)]  # the last `missing` were never put
    locations = pa.table(
        {
            "dataset_id": [str(uuid.uuid4()) for _ in range(rows)],
            "key": keys,
            "size": [len(body)] * rows,
            "checksum": [checksum] * rows,
            "file_name": [key.rsplit("/", 1)[1] for key in keys],
            "state": ["present"] * rows,
            "recorded_at": pa.array([now] * rows, pa.timestamp("us", tz="UTC")),
        },
        schema=TABLES["locations"].schema,
    )
    site.store.append("locations", locations)
    return time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--objects", type=int, default=100_000)
    parser.add_argument("--missing", type=int, default=100)
    parser.add_argument("--orphans", type=int, default=10)
    parser.add_argument("--threads", type=int, default=4, help="parallel snowball uploads")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="oods-bench-reconcile-") as tmp:
        server = MinioServer(Path(tmp) / "data").start()
        try:
            config = SiteConfig(
                endpoint=server.endpoint,
                access_key=server.access_key,
                secret_key=server.secret_key,
                bucket="bench-reconcile",
            )  # type: ignore[call-arg]
            with Site.open(config) as site:
                setup = _populate(site, args.objects, args.missing, args.orphans, args.threads)
                print(
                    f"setup: {args.objects} objects put in snowballs of {SNOWBALL} "
                    f"({args.threads} at a time), "
                    f"{args.objects + args.missing} rows committed in {setup:.1f}s"
                )
                for attempt in ("first (fixes)", "second (clean)"):
                    report = reconcile(site)
                    s = report.summary()
                    print(
                        f"reconcile {attempt}: {s['seconds']:.2f}s total, listing "
                        f"{s['listing_seconds']:.2f}s of it ({s['objects']} objects, "
                        f"{s['present']} present rows; {s['missing']} missing, "
                        f"{s['unusable']} unusable)"
                    )
        finally:
            server.stop()


if __name__ == "__main__":
    main()
