"""The site's bucket as the catalog's object store, for appends at a flat cost.

``catalog`` makes no S3 calls of its own (see ``catalog.append_log.ObjectStore``): the
site lends it these three, on the site's own client, timeouts and retries. Failures
become ``OSError`` with a one-line reason naming the object.
"""

from __future__ import annotations

import threading
from typing import Any

from . import _s3
from .config import SiteConfig


class BucketObjects:
    """``get`` / ``put`` / ``put_if_absent`` on one bucket. Picklable: a copy in another
    process makes its own client."""

    def __init__(self, config: SiteConfig, client: Any | None = None) -> None:
        self.config = config
        self.bucket = config.bucket
        self._client = client
        self._lock = threading.Lock()

    def __getstate__(self) -> dict[str, Any]:
        return {"config": self.config}

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.__init__(state["config"])  # type: ignore[misc]

    @property
    def client(self) -> Any:
        with self._lock:
            if self._client is None:
                self._client = _s3.make_client(self.config)
            return self._client

    def get(self, key: str) -> bytes | None:
        try:
            return bytes(self.client.get_object(Bucket=self.bucket, Key=key)["Body"].read())
        except _s3.TRANSPORT_ERRORS as exc:
            if _s3.error_code(exc) in ("NoSuchKey", "404", "NotFound"):
                return None
            raise OSError(f"{key}: {_s3.describe(exc)}") from exc

    def put(self, key: str, data: bytes) -> None:
        try:
            self.client.put_object(Bucket=self.bucket, Key=key, Body=data)
        except _s3.TRANSPORT_ERRORS as exc:
            raise OSError(f"{key}: {_s3.describe(exc)}") from exc

    def put_if_absent(self, key: str, data: bytes) -> bool:
        try:
            self.client.put_object(Bucket=self.bucket, Key=key, Body=data, IfNoneMatch="*")
            return True
        except _s3.TRANSPORT_ERRORS as exc:
            if _s3.error_code(exc) in ("PreconditionFailed", "412"):
                return False
            raise OSError(f"{key}: {_s3.describe(exc)}") from exc
