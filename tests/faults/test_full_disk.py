"""Fault: MinIO's disk fills up in the middle of an ingest (a small tmpfs as its drive).

Invariant: the files that fit are catalogued once, every other one is reported with a
one-line reason and left in place; once the disk has room again, the next ingest
completes the work and fsck --full finds nothing.
"""

from __future__ import annotations

import subprocess
import time
from pathlib import Path

import botocore.exceptions

from infra.minio_server import MinioServer
from oods import Site, ingest
from oods.simulate import simulate_night

from ._invariants import assert_each_input_once_or_reported
from .conftest import SMALL_DISK, open_site

PROBE_BUCKET = "probe"


def _grow(site: Site, mount_point: Path, mebibytes: int, probe_size: int) -> None:
    """Give the full disk room again, as an operator adding capacity would, and wait
    until the server accepts writes again (MinIO caches each drive's usage briefly)."""
    subprocess.run(
        ["mount", "-o", f"remount,size={mebibytes}m", str(mount_point)],
        check=True,
        capture_output=True,
        timeout=30,
    )
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:  # into a bucket of its own: the site's bucket must hold nothing extra
            # As big as the largest file: MinIO admits a PUT by its size against the
            # free space it last saw, so a tiny probe passes while the cache is stale.
            site.s3.put_object(Bucket=PROBE_BUCKET, Key="probe", Body=bytes(probe_size))
            return
        except botocore.exceptions.ClientError:
            time.sleep(0.2)
    raise AssertionError(f"MinIO did not accept writes on the grown {mount_point} in 30s")


def test_disk_full_mid_ingest(small_disk: Path, tmp_path: Path) -> None:
    server = MinioServer(small_disk).start()  # its log is written beside, not on, the disk
    try:
        site = open_site(server, "full", batch_size=8, workers=2)
        site.s3.create_bucket(Bucket=PROBE_BUCKET)
        # 48 files of 1 MiB for a disk of SMALL_DISK: it fills up part way through.
        files = simulate_night(tmp_path / "night", detectors=8, exposures=6, size=512).files
        assert sum(p.stat().st_size for p in files) > 1.5 * int(SMALL_DISK.rstrip("m")) * 2**20

        report = ingest(site, files)
        assert report.ingested, "some files should fit before the disk is full"
        assert report.failed, "the disk should fill up before the last file"
        assert {r.failure for r in report.failed} == {"ingest"}
        for result in report.failed:
            assert result.reason and "\n" not in result.reason, result
        reported = [r.path for r in report.failed]
        assert_each_input_once_or_reported(site, files, reported, check_fsck=False)

        _grow(site, small_disk, 256, probe_size=max(p.stat().st_size for p in files))
        again = ingest(site, files)
        assert not again.failed, [r.line() for r in again.failed]
        assert_each_input_once_or_reported(site, files)
    finally:
        server.stop()
