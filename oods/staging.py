"""A staging bucket on the site's MinIO: objects others write there are brought into
the landing folder, where ``oods serve`` ingests them like any landed file.

Two paths find them, and both are needed:

- MinIO's bucket notifications (ListenBucketNotification, see ``bucket_notifications``):
  a listener thread brings each announced object at once. It reconnects, with backoff,
  after any error; notifications are lost while it is disconnected, and MinIO drops
  them for slow listeners.
- A listing of the staging bucket on start (what was staged while the service was
  down) and every ``rescan`` seconds: the catch-all for every lost notification.

On the pinned MinIO build the notification stream is held back in the server until
about 4 KB of events (four or five objects) have accumulated, so one object staged
alone is found by the rescan, not the listener: keep ``rescan`` short (1 s) there.

An object is downloaded under a temporary name, renamed into ``landing/staging/<key>``
once whole, and only then deleted from staging: a crash leaves it in one place or both,
never in none (both: the next bring sees the same bytes landed and only deletes). The
two paths race on the same keys; a key being brought is claimed, so the other path
skips it rather than bringing a second copy.
"""

from __future__ import annotations

import hashlib
import logging
import shutil
import threading
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

from catalog.errors import one_line

from . import _s3
from .bucket_notifications import NotificationStream
from .site import Site

log = logging.getLogger("oods.serve.staging")

#: Seconds to wait before reconnecting after the n-th failure in a row (then the last).
BACKOFF = (0.5, 1.0, 2.0, 5.0, 10.0, 30.0)
_GONE = ("404", "NoSuchKey", "NotFound")


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
        listen: bool = True,
    ) -> None:
        self.site = site
        self.bucket = bucket
        self.prefix = prefix
        self.folder = landing / "staging"
        self.rescan = rescan
        self.stop = stop
        self.listen = listen
        self.failures = 0
        #: Objects brought, by the path that found them ("notification" or "listing").
        self.brought = {"notification": 0, "listing": 0}
        self._lock = threading.Lock()
        #: keys being brought -> announced again meanwhile
        self._in_flight: dict[str, bool] = {}
        self._stream: NotificationStream | None = None
        #: Listen requests sent so far (one more after each reconnection); listings done.
        self.listens = 0
        self.scans = 0
        _s3.ensure_bucket(site.s3, bucket)

    def start(self) -> list[threading.Thread]:
        threads = [threading.Thread(target=self._rescan_loop, name="oods-staging", daemon=True)]
        if self.listen:
            threads.append(
                threading.Thread(target=self._listen_loop, name="oods-staging-listen", daemon=True)
            )
        for thread in threads:
            thread.start()
        return threads

    @property
    def listening(self) -> bool:
        """Whether a listen request is out (sent, not yet failed or closed)."""
        stream = self._stream
        return stream is not None and stream.requested.is_set() and not stream.closed

    def scan(self) -> int:
        """List staging and bring in every object found; how many were brought."""
        brought = 0
        paginator = self.site.s3.get_paginator("list_objects_v2")
        for page in paginator.paginate(Bucket=self.bucket, Prefix=self.prefix):
            for item in page.get("Contents", []):
                if self.stop.is_set():
                    return brought
                brought += self.bring(item["Key"], "listing")
        self.scans += 1
        return brought

    def bring(self, key: str, path: str = "listing") -> int:
        """Download ``key`` into landing, then delete it from staging; how many brought.

        A key another thread is bringing right now is not brought twice: that thread
        is told to look at the key once more when done (it may have been re-staged).
        """
        with self._lock:
            if key in self._in_flight:
                self._in_flight[key] = True
                return 0
            self._in_flight[key] = False
        brought = 0
        try:
            while True:
                target = self._bring(key)
                if target is not None:
                    brought += 1
                    log.info("staged %s/%s -> %s (%s)", self.bucket, key, target, path)
                with self._lock:
                    if not self._in_flight[key]:
                        break
                    self._in_flight[key] = False  # announced again meanwhile: look again
        finally:
            with self._lock:
                self._in_flight.pop(key, None)
                self.brought[path] = self.brought.get(path, 0) + brought
        return brought

    def _bring(self, key: str) -> Path | None:
        """The landed path of ``key``'s bytes, None if there was nothing to bring."""
        try:
            head = self.site.s3.head_object(Bucket=self.bucket, Key=key)
        except Exception as exc:
            if _s3.error_code(exc) in _GONE:
                return None  # gone meanwhile (brought by the other path, or withdrawn)
            raise
        target = self.folder / landing_name(key)
        if not _same_object(target, head):  # else brought before, not deleted from staging
            target.parent.mkdir(parents=True, exist_ok=True)
            part = target.with_name(f".{target.name}.{uuid.uuid4().hex[:8]}.part")
            try:
                if not self._download(key, head["ETag"], part):
                    return None  # replaced since the HEAD: its own bring follows
                with self._lock:  # two keys may map to one name: pick and take it at once
                    if target.exists():
                        target = _free_name(target)  # another file waits there: keep it
                    part.rename(target)
            finally:
                part.unlink(missing_ok=True)
        # Delete only the bytes we hold: an object re-staged under the same key since
        # (a new ETag) stays, for the next bring (S3 has no conditional delete on MinIO).
        if self._etag(key) == head["ETag"]:
            self.site.s3.delete_object(Bucket=self.bucket, Key=key)
        return target

    def _download(self, key: str, etag: str, part: Path) -> bool:
        """Stream the object, only if it still has ``etag``, into ``part``."""
        try:
            body = self.site.s3.get_object(Bucket=self.bucket, Key=key, IfMatch=etag)["Body"]
        except Exception as exc:
            if _s3.error_code(exc) in (*_GONE, "PreconditionFailed", "412"):
                return False
            raise
        with body, part.open("wb") as out:
            shutil.copyfileobj(body, out, 1 << 20)
        return True

    def _etag(self, key: str) -> str | None:
        try:
            return str(self.site.s3.head_object(Bucket=self.bucket, Key=key)["ETag"])
        except Exception as exc:
            if _s3.error_code(exc) in _GONE:
                return None
            raise

    def _rescan_loop(self) -> None:
        self._safely(self.scan)  # what was staged while the service was down
        while not self.stop.wait(self.rescan):
            self._safely(self.scan)
        self._close_stream()  # the listener may be blocked reading: wake it

    def _listen_loop(self) -> None:
        errors = 0
        while not self.stop.is_set():
            stream = NotificationStream(self.site.config, self.bucket, self.prefix)
            with self._lock:
                self._stream = stream
                self.listens += 1
            if self.stop.is_set():  # stopped before the stream could be closed
                break
            try:
                for key in stream.created():
                    if self.stop.is_set():
                        break
                    self._safely(self.bring, key, "notification")
                errors = 0
                self.stop.wait(BACKOFF[0])  # the server ended the stream: listen again
            except TimeoutError:
                # Quiet for the whole read timeout: with keep-alives every second the
                # stream is dead, or the pinned build holds it back. A fresh request.
                log.debug(
                    "staging: no notification for %.0fs; listening again", stream.read_timeout
                )
            except Exception as exc:
                if self.stop.is_set():
                    break  # the stream was closed to stop
                errors = 1 if stream.opened else errors + 1
                log.warning("staging: notifications: %s; the listing still runs", one_line(exc))
                self.stop.wait(BACKOFF[min(errors, len(BACKOFF)) - 1])
            finally:
                stream.close()

    def _close_stream(self) -> None:
        with self._lock:
            stream = self._stream
        if stream is not None:
            stream.close()

    def _safely(self, action: Callable[..., Any], *args: Any) -> None:
        try:
            action(*args)
        except Exception as exc:
            with self._lock:
                self.failures += 1
            log.error("staging: %s", one_line(exc))


def _same_object(path: Path, head: dict[str, Any]) -> bool:
    """Whether ``path`` already holds the object's bytes (same size and MD5 ETag).

    An ETag that is not a plain MD5 (multipart upload) cannot be checked: the object
    is then brought beside the file, at worst ingested as ``skipped``, never lost.
    """
    if not path.is_file() or path.stat().st_size != head["ContentLength"]:
        return False
    etag = str(head.get("ETag", "")).strip('"')
    if len(etag) != 32 or "-" in etag:
        return False
    digest = hashlib.md5(usedforsecurity=False)
    with path.open("rb") as file:
        for block in iter(lambda: file.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest() == etag


def _free_name(path: Path) -> Path:
    n = 1
    while path.with_name(f"{path.name}.{n}").exists():
        n += 1
    return path.with_name(f"{path.name}.{n}")
