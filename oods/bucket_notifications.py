"""MinIO's ListenBucketNotification as one cancellable request: the keys of new objects.

Why not minio-py's ``listen_bucket_notification``: it cannot ask for MinIO's ``ping``
records and gives no way to abort a request that is waiting on the socket, so a service
stopping would hang until the read timeout. This is the same signed GET
(``?events=...&prefix=...&ping=N``) on a socket we own: ``close()`` from any thread
shuts it down at once.

What the server sends: one JSON line per event (``{"Records": [...]}``), and with
``ping=N`` an empty record (``{"Records":null}``) every N seconds, which keeps a quiet
stream inside our read timeout. Object keys in these records are the keys themselves
(MinIO query-escapes them only for configured notification targets, not for listeners).

On the pinned MinIO build (Feb 2026 commit 7aac2a2c5b7c) the handler's flushes are lost:
since MinIO commit 52eee5a2f (2025-10-24) its response writer is wrapped in one that
does not implement ``http.Flusher``, so nothing (not even the status line) leaves the
server until about 4 KB of events (four or five ~1 KB records) have accumulated. Events
arrive in bursts, the last few of a burst only with the next one; the staging rescan
is what bounds their latency there.
"""

from __future__ import annotations

import contextlib
import http.client
import json
import socket
import threading
import urllib.parse
from collections.abc import Iterator
from typing import Any

from botocore.auth import S3SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials

from .config import SiteConfig
from .errors import StorageError

CREATED = "s3:ObjectCreated:*"
CONNECT_TIMEOUT = 5.0
#: Seconds between the server's empty keep-alive records (MinIO's ``ping``).
PING_INTERVAL = 1
#: A stream silent this long is dead (or held back by the pinned build): reconnect.
READ_TIMEOUT = 60.0
_MAX_LINE = 1 << 20


class NotificationStream:
    """One ListenBucketNotification request on ``bucket``/``prefix``.

    Example:
        >>> stream = NotificationStream(site.config, "staging", "camera/")
        >>> for key in stream.created():   # blocks; another thread may call stream.close()
        ...     print(key)
    """

    def __init__(
        self,
        config: SiteConfig,
        bucket: str,
        prefix: str = "",
        events: tuple[str, ...] = (CREATED,),
        read_timeout: float = READ_TIMEOUT,
    ) -> None:
        self.config = config
        self.bucket = bucket
        self.prefix = prefix
        self.events = events
        self.read_timeout = read_timeout
        self._connection: http.client.HTTPConnection | None = None
        self._closed = threading.Event()
        #: Whether the request was sent (the server subscribes it on receipt) and the
        #: server accepted it (a later failure is then not a refusal).
        self.requested = threading.Event()
        self.opened = False
        self._name = f"listen {bucket}/{prefix}"

    def records(self) -> Iterator[dict[str, Any]]:
        """Each event record (S3 event format) as it comes; ends when the stream ends.

        Raises:
            StorageError: the request was refused or the connection failed.
            TimeoutError: nothing (not even a keep-alive) came for ``read_timeout``.
        """
        response = self._open()
        try:
            while not self._closed.is_set():
                line = response.readline(_MAX_LINE)
                if not line:
                    return  # the server ended the stream (or close() was called)
                yield from event_records(line)
        except Exception as exc:
            if self._closed.is_set():
                return  # closed on purpose: whatever the read raised is no failure
            if isinstance(exc, TimeoutError):
                raise
            raise StorageError(self._name, f"{type(exc).__name__}: {exc}") from exc
        finally:
            self.close()

    def created(self) -> Iterator[str]:
        """The key of each announced object (of the events asked for), as they come."""
        for record in self.records():
            key = object_key(record)
            if key is not None:
                yield key

    @property
    def closed(self) -> bool:
        return self._closed.is_set()

    def close(self) -> None:
        """Abort the request, from any thread: a read blocked on it returns at once."""
        self._closed.set()
        connection = self._connection
        if connection is not None and connection.sock is not None:
            with contextlib.suppress(OSError):  # already closed
                connection.sock.shutdown(socket.SHUT_RDWR)
            connection.close()

    def _open(self) -> http.client.HTTPResponse:
        url = urllib.parse.urlsplit(self.config.endpoint)
        query = [("events", name) for name in self.events]
        query.append(("ping", str(PING_INTERVAL)))
        if self.prefix:
            query.append(("prefix", self.prefix))
        path = f"/{urllib.parse.quote(self.bucket)}?{urllib.parse.urlencode(query)}"
        request = AWSRequest(method="GET", url=f"{url.scheme}://{url.netloc}{path}")
        credentials = Credentials(self.config.access_key, self.config.secret_key)
        S3SigV4Auth(credentials, "s3", self.config.region).add_auth(request)
        kind = http.client.HTTPSConnection if url.scheme == "https" else http.client.HTTPConnection
        connection = kind(url.netloc, timeout=CONNECT_TIMEOUT)
        self._connection = connection
        if self._closed.is_set():
            raise StorageError(self._name, "closed")
        try:
            connection.connect()
            if self._closed.is_set() or connection.sock is None:  # closed while connecting
                raise StorageError(self._name, "closed")
            connection.sock.settimeout(self.read_timeout)
            connection.request("GET", path, headers=dict(request.headers.items()))
            self.requested.set()
            response = connection.getresponse()
        except (TimeoutError, StorageError):
            self.close()
            raise
        except (OSError, http.client.HTTPException) as exc:
            self.close()
            raise StorageError(self._name, f"{type(exc).__name__}: {exc}") from exc
        if response.status != 200:
            body = response.read(4096).decode(errors="replace")
            self.close()
            raise StorageError(self._name, f"HTTP {response.status}: {_reason(body)}")
        self.opened = True
        return response


def event_records(line: bytes) -> list[dict[str, Any]]:
    """The records of one notification line (none for a keep-alive or junk)."""
    text = line.strip()
    if not text:
        return []
    try:
        records = json.loads(text).get("Records") or []
    except (ValueError, AttributeError):
        return []
    return [record for record in records if isinstance(record, dict)]


def object_key(record: dict[str, Any]) -> str | None:
    """The object key of one record: the key itself, not escaped, for listeners."""
    try:
        return str(record["s3"]["object"]["key"])
    except (KeyError, TypeError):
        return None


def _reason(body: str) -> str:
    """``Code: Message`` of an S3 XML error body, else its start, on one line."""
    fields = {}
    for name in ("Code", "Message"):
        start, end = body.find(f"<{name}>"), body.find(f"</{name}>")
        if 0 <= start < end:
            fields[name] = body[start + len(name) + 2 : end]
    text = ": ".join(fields.values()) if fields else body[:200]
    return " ".join(text.split())
