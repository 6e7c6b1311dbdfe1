"""Deletions reach the catalog as they happen: MinIO's ``s3:ObjectRemoved:*`` events.

A listener thread holds one ListenBucketNotification request on the site's bucket
(``bucket_notifications.NotificationStream``: bounded connect and read timeouts, closed
at once on stop) and reconnects with a growing pause after a failure; a second thread
gathers the removed keys for ``batch_seconds`` and marks their datasets in one commit:
``expired`` when MinIO's lifecycle scanner removed the object (user agent
``Internal: [ILM-Expiry]``), else ``missing``.

Events can come late (the pinned MinIO build holds them back until about 4 KB are
pending) or never (a reconnect's gap, a server restart): ``oods reconcile`` stays the
truth, this only makes the catalog right sooner.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import logging
import queue
import threading
from collections.abc import Mapping, Sequence
from typing import Any

import pyarrow.dataset as ds

from catalog import CatalogError

from .bucket_notifications import NotificationStream
from .errors import StorageError
from .location_states import EXPIRED, MISSING, PRESENT, latest_locations, record_location_states
from .site import Site

REMOVED = "s3:ObjectRemoved:*"
#: The user agent MinIO gives the deletions its lifecycle rules make.
LIFECYCLE_AGENT = "ILM-Expiry"
#: A delete of a key that held nothing: no bytes went away.
_NO_OP = "s3:ObjectRemoved:NoOP"

log = logging.getLogger(__name__)


@dataclasses.dataclass(frozen=True)
class Removal:
    """One object removed from the bucket, when, and the state its dataset gets."""

    key: str
    state: str
    at: dt.datetime


def removal_of(record: Mapping[str, Any]) -> Removal | None:
    """The removal a notification record announces (None for anything else)."""
    name = str(record.get("eventName", ""))
    if not name.startswith("s3:ObjectRemoved:") or name == _NO_OP:
        return None
    try:
        key = str(record["s3"]["object"]["key"])
        at = dt.datetime.fromisoformat(str(record["eventTime"]))
    except (KeyError, TypeError, ValueError):
        return None
    agent = str((record.get("source") or {}).get("userAgent", ""))
    state = EXPIRED if LIFECYCLE_AGENT in agent else MISSING
    return Removal(key, state, at if at.tzinfo else at.replace(tzinfo=dt.UTC))


def apply_removals(site: Site, removals: Sequence[Removal]) -> int:
    """Mark the datasets whose present object was removed; returns rows written.

    A key no present dataset holds is ignored (a catalog file, an orphan). A dataset
    whose latest row is newer than the earliest removal of the batch is left alone: it
    may have been ingested again since (reconcile settles it either way).
    """
    catalog_prefix = site.config.catalog_prefix.strip("/") + "/"
    state_of = {r.key: r.state for r in removals if not r.key.startswith(catalog_prefix)}
    if not state_of:
        return 0
    rows = site.store.scan(
        "locations", ds.field("key").isin(sorted(state_of)), ["dataset_id", "key"]
    )
    ids = sorted(set(rows.column("dataset_id").to_pylist()))
    if not ids:
        return 0
    changes = {
        row["dataset_id"]: state_of[row["key"]]
        for row in latest_locations(site, ids).to_pylist()
        if row["state"] == PRESENT and row["key"] in state_of
    }
    earliest = min(r.at for r in removals)
    return record_location_states(site, changes, recorded_before=earliest)


class DeletionListener:
    """Two threads: one listens for removals, one commits them in batches.

    Example:
        >>> listener = DeletionListener(site).start()
        >>> ...
        >>> listener.stop()
    """

    def __init__(
        self,
        site: Site,
        batch_seconds: float = 1.0,
        read_timeout: float = 60.0,
        max_backoff: float = 30.0,
    ) -> None:
        self.site = site
        self.batch_seconds = batch_seconds
        self.read_timeout = read_timeout
        self.max_backoff = max_backoff
        #: Rows written so far, and the last failure (for status and tests).
        self.marked = 0
        self.last_error: str | None = None
        self._stopping = threading.Event()
        self._removals: queue.Queue[Removal] = queue.Queue()
        self._stream: NotificationStream | None = None
        self._threads: list[threading.Thread] = []

    @property
    def subscribed(self) -> bool:
        """Whether the current subscription request has reached the server."""
        stream = self._stream
        return stream is not None and stream.requested.is_set() and not stream.closed

    def start(self) -> DeletionListener:
        for target, name in ((self._listen, "listen"), (self._commit, "commit")):
            thread = threading.Thread(target=target, name=f"deletions-{name}", daemon=True)
            thread.start()
            self._threads.append(thread)
        return self

    def stop(self, timeout: float = 10.0) -> None:
        """Stop listening, commit what was gathered, and wait for both threads."""
        self._stopping.set()
        stream = self._stream
        if stream is not None:
            stream.close()
        for thread in self._threads:
            thread.join(timeout)

    def _listen(self) -> None:
        pause = 0.5
        while not self._stopping.is_set():
            stream = NotificationStream(
                self.site.config,
                self.site.bucket,
                events=(REMOVED,),
                read_timeout=self.read_timeout,
            )
            self._stream = stream
            if self._stopping.is_set():
                return
            try:
                for record in stream.records():
                    pause = 0.5  # a working stream: the next failure starts over
                    removal = removal_of(record)
                    if removal is not None:
                        self._removals.put(removal)
                self._stopping.wait(0.5)  # the server ended the stream: not in a hot loop
            except (StorageError, TimeoutError) as exc:
                if self._stopping.is_set():
                    return  # stop() closed the stream under the read: not a failure
                self.last_error = str(exc)
                log.warning("deletion events: %s; reconnecting in %.1fs", exc, pause)
                self._stopping.wait(pause)
                pause = min(self.max_backoff, pause * 2)

    def _commit(self) -> None:
        while True:
            stopping = self._stopping.wait(self.batch_seconds)
            batch: list[Removal] = []
            while True:
                try:
                    batch.append(self._removals.get_nowait())
                except queue.Empty:
                    break
            if batch:
                try:
                    self.marked += apply_removals(self.site, batch)
                except CatalogError as exc:  # kept for the next batch; reconcile is the truth
                    self.last_error = str(exc)
                    log.warning("deletion events: %s; retrying with the next batch", exc)
                    for removal in batch:
                        self._removals.put(removal)
            if stopping:
                return


def start_deletion_listener(site: Site, batch_seconds: float = 1.0) -> DeletionListener:
    """Start marking the site's deleted objects in its catalog (for ``oods serve``).

    Give it a site of its own (``Site(site.config)``): it commits from its own thread.
    Call ``stop()`` on the result before the process ends.
    """
    return DeletionListener(site, batch_seconds).start()
