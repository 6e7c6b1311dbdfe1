"""A staging bucket on the site's MinIO: objects others write there are brought into
the landing folder, where ``oods serve`` ingests them like any landed file.

The staging bucket is listed every ``rescan`` seconds (and on start, for what was
staged while the service was down). MinIO's bucket notifications
(``listen_bucket_notification``) would tell of new objects sooner, but the pinned MinIO
build never answers that request (no status line, not even its keep-alives), so
listing is the one path for now; notifications would only add latency savings, the
listing stays as the catch-all either way. An object is downloaded under a temporary
name, renamed into ``landing/staging/<key>`` once whole, and only then deleted from
staging: a crash leaves it in one place or both, never in none (both: it is ingested
once, then ``skipped``).
"""

from __future__ import annotations

import logging
import threading
from pathlib import Path
from typing import Any

from catalog.errors import one_line

from . import _s3
from .site import Site

log = logging.getLogger("oods.serve.staging")


def landing_name(key: str) -> Path:
    """A relative path for ``key`` that cannot leave its folder (no ``..``, no root)."""
    parts = [part for part in key.split("/") if part not in ("", ".", "..")]
    return Path(*parts) if parts else Path("unnamed")


class StagingWatcher:
    """Brings objects of ``bucket``/``prefix`` into ``landing``, until ``stop`` is set."""

    def __init__(
        self,
        site: Site,
        bucket: str,
        prefix: str,
        landing: Path,
        rescan: float,
        stop: threading.Event,
    ) -> None:
        self.site = site
        self.bucket = bucket
        self.prefix = prefix
        self.folder = landing / "staging"
        self.rescan = rescan
        self.stop = stop
        self.failures = 0
        self._lock = threading.Lock()
        _s3.ensure_bucket(site.s3, bucket)

    def start(self) -> list[threading.Thread]:
        thread = threading.Thread(target=self._rescan_loop, name="oods-staging", daemon=True)
        thread.start()
        return [thread]

    def scan(self) -> int:
        """List staging and bring in every object found; how many were brought."""
        brought = 0
        paginator = self.site.s3.get_paginator("list_objects_v2")
        for page in paginator.paginate(Bucket=self.bucket, Prefix=self.prefix):
            for item in page.get("Contents", []):
                if self.stop.is_set():
                    return brought
                brought += self.bring(item["Key"])
        return brought

    def bring(self, key: str) -> int:
        """Download ``key`` into landing, then delete it from staging; 1 if brought."""
        target = self.folder / landing_name(key)
        with self._lock:  # one bring at a time: a second lister never races the first
            try:
                head = self.site.s3.head_object(Bucket=self.bucket, Key=key)
            except Exception:
                return 0  # gone meanwhile (its writer deleted it): nothing to bring
            if target.exists() and target.stat().st_size != head["ContentLength"]:
                target = _free_name(target)  # another file waits there: never overwrite it
            if not target.exists():  # else brought before, but not deleted from staging
                target.parent.mkdir(parents=True, exist_ok=True)
                part = target.with_name(target.name + ".part")
                self.site.s3.download_file(self.bucket, key, str(part))
                part.rename(target)
            self.site.s3.delete_object(Bucket=self.bucket, Key=key)
        log.info("staged %s/%s -> %s", self.bucket, key, target)
        return 1

    def _rescan_loop(self) -> None:
        self._safely(self.scan)  # what was staged while the service was down
        while not self.stop.wait(self.rescan):
            self._safely(self.scan)

    def _safely(self, action: Any, *args: Any) -> None:
        try:
            action(*args)
        except Exception as exc:
            self.failures += 1
            log.error("staging: %s", one_line(exc))


def _free_name(path: Path) -> Path:
    n = 1
    while path.with_name(f"{path.name}.{n}").exists():
        n += 1
    return path.with_name(f"{path.name}.{n}")
