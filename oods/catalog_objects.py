"""The site's bucket for the calls made once per file or commit, at the least CPU.

``catalog`` makes no S3 calls of its own (see ``catalog.append_log.ObjectStore``): the
site lends it three, each one small object, signed with the site's keys (botocore's
SigV4) and sent on a kept urllib3 pool with bounded timeouts. Ingest creates each file's
object the same way (``create``). Not through boto3: its request machinery costs about
2 ms of CPU a call, and a single-file ingest makes eight of these calls, so boto3 alone
would be most of its time. Failures become ``OSError`` with a one-line reason naming
the object.
"""

from __future__ import annotations

import re
import threading
import urllib.parse
from collections.abc import Mapping
from typing import Any

import urllib3
from botocore.auth import S3SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials

from .config import SiteConfig

#: Connection failures and the server's "try again" answers are retried, with backoff.
RETRIES = urllib3.Retry(
    total=3,
    read=0,  # an answer lost after the request was sent: the caller's protocol decides
    backoff_factor=0.1,
    status_forcelist=(500, 502, 503, 504),
    allowed_methods=None,
    raise_on_status=False,
)
_CODE = re.compile(rb"<Code>([^<]{1,80})</Code>")


class BucketObjects:
    """``get`` / ``put`` / ``put_if_absent`` on one bucket. Picklable: a copy in another
    process makes its own connections."""

    def __init__(self, config: SiteConfig) -> None:
        self.config = config
        self.bucket = config.bucket
        self._credentials = Credentials(config.access_key, config.secret_key)
        self._base = f"{config.endpoint.rstrip('/')}/{urllib.parse.quote(config.bucket)}/"
        self._pool: urllib3.PoolManager | None = None
        self._lock = threading.Lock()

    def __getstate__(self) -> dict[str, Any]:
        return {"config": self.config}

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.__init__(state["config"])  # type: ignore[misc]

    def get(self, key: str) -> bytes | None:
        status, body = self._send("GET", key)
        if status == 404:
            return None
        if status != 200:
            raise OSError(_reason(key, status, body))
        return body

    def put(self, key: str, data: bytes) -> None:
        status, body = self._send("PUT", key, data)
        if status != 200:
            raise OSError(_reason(key, status, body))

    def put_if_absent(self, key: str, data: bytes) -> bool:
        status, body = self._send("PUT", key, data, {"If-None-Match": "*"})
        if status == 412:
            return False
        if status != 200:
            raise OSError(_reason(key, status, body))
        return True

    def create(
        self, key: str, data: bytes, sha256: bytes, metadata: Mapping[str, str], tags: str
    ) -> bool:
        """Create ``key`` holding ``data`` only if no object holds it yet.

        ``sha256`` is the digest the caller took of these very bytes: it signs the
        payload, so the server checks the bytes against it and the client hashes nothing
        twice. ``tags`` is a URL-encoded tag set (``oods-retention=hold``).

        Returns:
            True if written; False if an object already holds the key (nothing
            overwritten).
        """
        headers = {f"x-amz-meta-{name}": value for name, value in metadata.items()}
        headers.update({"If-None-Match": "*", "x-amz-tagging": tags})
        status, body = self._send("PUT", key, data, headers, payload_sha256=sha256.hex())
        if status == 412:
            return False
        if status != 200:
            raise OSError(_reason(key, status, body))
        return True

    def _send(
        self,
        method: str,
        key: str,
        data: bytes = b"",
        headers: dict[str, str] | None = None,
        payload_sha256: str | None = None,
    ) -> tuple[int, bytes]:
        url = self._base + urllib.parse.quote(key, safe="/")
        request = AWSRequest(method=method, url=url, data=data, headers=headers or {})
        signer = (
            S3SigV4Auth(self._credentials, "s3", self.config.region)
            if payload_sha256 is None
            else _KnownPayloadAuth(self._credentials, self.config.region, payload_sha256)
        )
        signer.add_auth(request)
        try:
            answer = self._connections().request(
                method,
                url,
                body=data if method == "PUT" else None,
                headers=dict(request.headers.items()),
                # A small catalog object is answered within the site's timeout or not
                # at all (a hung server fails the call instead of the command).
                timeout=urllib3.Timeout(
                    connect=self.config.connect_timeout, read=self.config.timeout
                ),
                retries=RETRIES,
                preload_content=True,
            )
        except urllib3.exceptions.HTTPError as exc:
            raise OSError(f"{key}: {type(exc).__name__}: {exc}") from None
        return answer.status, answer.data

    def _connections(self) -> urllib3.PoolManager:
        with self._lock:
            if self._pool is None:
                self._pool = urllib3.PoolManager(maxsize=max(10, 2 * self.config.workers))
            return self._pool


class _KnownPayloadAuth(S3SigV4Auth):
    """SigV4 with the payload's SHA-256 given, not computed again from the body."""

    def __init__(self, credentials: Credentials, region: str, payload_sha256: str) -> None:
        super().__init__(credentials, "s3", region)
        self._payload_sha256 = payload_sha256

    def payload(self, request: AWSRequest) -> str:
        return self._payload_sha256


def _reason(key: str, status: int, body: bytes) -> str:
    """``key: HTTP 403: AccessDenied`` - the server's error code, never its whole body."""
    found = _CODE.search(body)
    code = found.group(1).decode("ascii", "replace") if found else "no error code"
    return f"{key}: HTTP {status}: {code}"
