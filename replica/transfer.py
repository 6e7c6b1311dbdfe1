"""Copy one object between two sites' buckets, verified against the catalog's checksum.

The bytes stream GET -> PUT through this process (the sites are different servers, so
no server-side copy), and their SHA-256 must equal the source catalog's checksum before
the copy counts. Small objects go in one create-only PUT that carries that SHA-256 and
that the destination server refuses unless the bytes match; large ones go multipart,
hashed here as they pass, and a mismatch removes what was written. An object already at
the key is never overwritten: it is adopted if its bytes hash to the checksum (left by an
interrupted run), else the transfer fails.
"""

from __future__ import annotations

import base64
import dataclasses
import hashlib
from typing import Any

import botocore.exceptions
from boto3.s3.transfer import TransferConfig

from oods import Site
from oods._s3 import RETENTION_TAG, TRANSPORT_ERRORS, describe, error_code

from .plan import Transfer

#: Objects above this size are sent multipart, streamed, in parts of this size.
MULTIPART_THRESHOLD = 64 * 2**20
_CHUNK = 1 << 20
#: What a server answers when the bytes it received do not hash to the checksum sent.
_DIGEST_REFUSED = ("BadDigest", "XAmzContentChecksumMismatch", "InvalidDigest")

#: Errors that mean the other server is not there at all (stop trying the rest).
UNREACHABLE = (
    botocore.exceptions.ConnectionError,  # refused, reset, connect timeout
    botocore.exceptions.ReadTimeoutError,
    ConnectionError,
)


@dataclasses.dataclass(frozen=True)
class Copied:
    """One transfer's outcome: ``copied``, ``adopted`` (already there, verified) or
    ``failed`` with a one-line ``reason``; ``unreachable`` when a server did not answer."""

    transfer: Transfer
    status: str
    reason: str | None = None
    unreachable: bool = False


class _Hashing:
    """A read-only stream that hashes what it hands out (for the multipart upload)."""

    def __init__(self, stream: Any) -> None:
        self.stream = stream
        self.digest = hashlib.sha256()
        self.size = 0

    def read(self, size: int = -1) -> bytes:
        chunk = self.stream.read(size if size is not None and size >= 0 else None)
        self.digest.update(chunk)
        self.size += len(chunk)
        return bytes(chunk)


def copy_object(
    source: Site,
    destination: Site,
    item: Transfer,
    retention: str,
    multipart_threshold: int = MULTIPART_THRESHOLD,
) -> Copied:
    """Copy ``item``'s object from ``source`` to ``destination``, tagged ``retention``."""
    try:
        if item.size > multipart_threshold:  # a small PUT is create-only by itself
            existing = _head(destination, item.key)
            if existing is not None:
                return _adopt(destination, item, existing)
        response = source.s3.get_object(Bucket=source.bucket, Key=item.key)
        return put_verified(
            destination,
            item,
            response["Body"],
            response.get("Metadata", {}),
            retention,
            multipart_threshold,
        )
    except TRANSPORT_ERRORS as exc:
        return Copied(item, "failed", f"storage: {describe(exc)}", isinstance(exc, UNREACHABLE))


def put_verified(
    destination: Site,
    item: Transfer,
    body: Any,
    metadata: dict[str, str],
    retention: str,
    multipart_threshold: int = MULTIPART_THRESHOLD,
) -> Copied:
    """Write ``body`` (a readable stream of ``item``'s bytes, from anywhere) at
    ``item.key``, create-only and checked against ``item.checksum``; as ``copy_object``.

    Raises:
        The transport errors of ``oods._s3.TRANSPORT_ERRORS`` (``copy_object`` reports them).
    """
    metadata = {**metadata, "sha256": item.checksum}
    metadata.setdefault("dataset-id", item.dataset_id)
    tagging = f"{RETENTION_TAG}={retention}"
    if item.size <= multipart_threshold:
        return _put_small(destination, item, body, metadata, tagging)
    return _put_large(destination, item, body, metadata, tagging, multipart_threshold)


def _put_small(
    destination: Site, item: Transfer, body: Any, metadata: dict[str, str], tagging: str
) -> Copied:
    data = body.read()
    if len(data) != item.size:
        return Copied(item, "failed", _corrupt_at_source(item))
    try:
        destination.s3.put_object(
            Bucket=destination.bucket,
            Key=item.key,
            Body=data,
            IfNoneMatch="*",
            Metadata=metadata,
            Tagging=tagging,
            # The destination server hashes what it receives and refuses to store it
            # unless it is the catalog's SHA-256: the check happens where the copy lands,
            # and this process (sharing the CPU the copy is bound by) hashes nothing.
            ChecksumSHA256=base64.b64encode(bytes.fromhex(item.checksum)).decode(),
        )
    except botocore.exceptions.ClientError as exc:
        if error_code(exc) in _DIGEST_REFUSED:
            return Copied(item, "failed", _corrupt_at_source(item))
        if error_code(exc) in ("PreconditionFailed", "412"):  # a racing writer won
            existing = _head(destination, item.key)
            if existing is not None:
                return _adopt(destination, item, existing)
        raise
    return Copied(item, "copied")


def _put_large(
    destination: Site,
    item: Transfer,
    body: Any,
    metadata: dict[str, str],
    tagging: str,
    threshold: int,
) -> Copied:
    stream = _Hashing(body)
    destination.s3.upload_fileobj(
        stream,
        destination.bucket,
        item.key,
        ExtraArgs={"Metadata": metadata, "Tagging": tagging},
        Config=TransferConfig(
            multipart_threshold=threshold, multipart_chunksize=threshold, max_concurrency=4
        ),
    )
    if stream.size != item.size or stream.digest.hexdigest() != item.checksum:
        destination.s3.delete_object(Bucket=destination.bucket, Key=item.key)
        return Copied(item, "failed", _corrupt_at_source(item))
    head = _head(destination, item.key)
    if head is None or int(head.get("ContentLength", -1)) != item.size:
        return Copied(item, "failed", f"{item.key}: size at the destination is not {item.size}")
    return Copied(item, "copied")


def _adopt(destination: Site, item: Transfer, head: dict[str, Any]) -> Copied:
    """An object already holds the key: keep it only if its bytes are the dataset's."""
    if head.get("Metadata", {}).get("dataset-id") not in (None, item.dataset_id):
        return Copied(item, "failed", _occupied(item))
    if int(head.get("ContentLength", -1)) != item.size:
        return Copied(item, "failed", _occupied(item))
    body = destination.s3.get_object(Bucket=destination.bucket, Key=item.key)["Body"]
    digest = hashlib.sha256()
    for chunk in iter(lambda: body.read(_CHUNK), b""):
        digest.update(chunk)
    if digest.hexdigest() != item.checksum:
        return Copied(item, "failed", _occupied(item))
    return Copied(item, "adopted")


def _head(site: Site, key: str) -> dict[str, Any] | None:
    try:
        return dict(site.s3.head_object(Bucket=site.bucket, Key=key))
    except botocore.exceptions.ClientError as exc:
        if error_code(exc) in ("404", "NoSuchKey", "NotFound"):
            return None
        raise


def _occupied(item: Transfer) -> str:
    return (
        f"{item.key}: the destination already holds other bytes under this key "
        "(nothing overwritten)"
    )


def _corrupt_at_source(item: Transfer) -> str:
    return (
        f"{item.key}: the source's bytes do not match its catalog checksum "
        f"{item.checksum[:12]}…; not copied (run `oods verify` at the source)"
    )
