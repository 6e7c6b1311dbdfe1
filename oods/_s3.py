"""The boto3 calls the site makes, with S3 errors turned into ``StorageError``."""

from __future__ import annotations

import base64
from typing import Any, BinaryIO

import boto3
import botocore.config
import botocore.exceptions

from .config import SiteConfig
from .errors import StorageError

RETENTION_TAG = "oods-retention"
HOLD = "hold"

#: Errors that mean "the store did not do it" rather than a bug in our call.
TRANSPORT_ERRORS = (
    botocore.exceptions.BotoCoreError,
    botocore.exceptions.ClientError,
    OSError,
)


def make_client(config: SiteConfig) -> Any:
    """A thread-safe S3 client for the site, pooled for ``config.workers`` threads."""
    return boto3.client(
        "s3",
        endpoint_url=config.endpoint,
        aws_access_key_id=config.access_key,
        aws_secret_access_key=config.secret_key,
        region_name=config.region,
        config=botocore.config.Config(
            max_pool_connections=max(10, 2 * config.workers),
            # Transient errors (throttling, 5xx, a reset or timed-out connection) are
            # tried once more after a jittered backoff: a hung server costs a call about
            # twice ``config.timeout``, not minutes.
            retries={"total_max_attempts": 2, "mode": "standard"},
            s3={"addressing_style": "path"},
            signature_version="s3v4",
            connect_timeout=config.connect_timeout,
            read_timeout=config.timeout,
        ),
    )


def error_code(exc: BaseException) -> str:
    if isinstance(exc, botocore.exceptions.ClientError):
        return str(exc.response.get("Error", {}).get("Code", ""))
    return ""


def describe(exc: BaseException) -> str:
    """A one-line reason for a storage failure, with no credentials in it."""
    if isinstance(exc, botocore.exceptions.ClientError):
        error = exc.response.get("Error", {})
        text = f"{error.get('Code', 'error')}: {error.get('Message', '')}"
    else:
        text = f"{type(exc).__name__}: {exc}"
    return " ".join(text.split())  # never spans lines, whatever the server sent


def put_new(
    client: Any,
    bucket: str,
    key: str,
    body: bytes | BinaryIO,
    sha256: bytes | None,
    metadata: dict[str, str],
) -> bool:
    """Create ``key`` only if it does not exist.

    With ``sha256`` the server verifies the bytes against it (for a body streamed from a
    file, which could change after it was hashed); without, against a CRC32 of the body
    (for bytes in memory: the very bytes that were hashed, so only the wire can corrupt
    them, and CRC32 costs the server a fraction of SHA-256).

    Returns:
        True if written, False if an object already holds the key (nothing overwritten).

    Raises:
        StorageError: any other failure (server down, bad digest, access denied).
    """
    try:
        checksum = (
            {"ChecksumSHA256": base64.b64encode(sha256).decode()}
            if sha256 is not None
            else {"ChecksumAlgorithm": "CRC32"}
        )
        client.put_object(
            Bucket=bucket,
            Key=key,
            Body=body,
            IfNoneMatch="*",
            Metadata=metadata,
            Tagging=f"{RETENTION_TAG}={HOLD}",
            **checksum,
        )
        return True
    except TRANSPORT_ERRORS as exc:
        if error_code(exc) in ("PreconditionFailed", "412"):
            return False
        raise StorageError(key, describe(exc)) from exc


def head_metadata(client: Any, bucket: str, key: str) -> dict[str, str]:
    """The user metadata of ``key``."""
    try:
        return dict(client.head_object(Bucket=bucket, Key=key).get("Metadata", {}))
    except TRANSPORT_ERRORS as exc:
        raise StorageError(key, describe(exc)) from exc


def ensure_bucket(client: Any, bucket: str) -> None:
    """Create the bucket if it is missing (racing creators are fine)."""
    try:
        client.head_bucket(Bucket=bucket)
        return
    except TRANSPORT_ERRORS as exc:
        if error_code(exc) not in ("404", "NoSuchBucket", "NotFound"):
            raise StorageError(bucket, describe(exc)) from exc
    try:
        client.create_bucket(Bucket=bucket)
    except TRANSPORT_ERRORS as exc:
        if error_code(exc) not in ("BucketAlreadyOwnedByYou", "BucketAlreadyExists"):
            raise StorageError(bucket, describe(exc)) from exc
