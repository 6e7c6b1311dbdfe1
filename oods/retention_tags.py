"""Read and set an object's retention class: its ``oods-retention`` tag.

The tag is the only thing a lifecycle rule sees, so it is the class. Setting it keeps
the object's other tags, and never changes the object's bytes or its modification time
(from which MinIO counts a lifecycle rule's days).
"""

from __future__ import annotations

from typing import Any
from urllib.parse import parse_qsl

from ._s3 import RETENTION_TAG, TRANSPORT_ERRORS, describe
from .errors import StorageError

#: Where ``pin`` keeps the class to restore on ``unpin``.
BEFORE_PIN_TAG = "oods-retention-before-pin"


def object_tags(client: Any, bucket: str, key: str) -> dict[str, str]:
    """All tags of ``key``."""
    try:
        tag_set = client.get_object_tagging(Bucket=bucket, Key=key)["TagSet"]
    except TRANSPORT_ERRORS as exc:
        raise StorageError(key, describe(exc)) from exc
    return {tag["Key"]: tag["Value"] for tag in tag_set}


def set_object_tags(client: Any, bucket: str, key: str, tags: dict[str, str]) -> None:
    """Replace the tags of ``key`` with ``tags``."""
    tag_set = [{"Key": name, "Value": value} for name, value in sorted(tags.items())]
    try:
        client.put_object_tagging(Bucket=bucket, Key=key, Tagging={"TagSet": tag_set})
    except TRANSPORT_ERRORS as exc:
        raise StorageError(key, describe(exc)) from exc


def retention_class(tags: dict[str, str]) -> str | None:
    """The class in ``tags`` (None: untagged, e.g. a catalog file)."""
    return tags.get(RETENTION_TAG)


def parse_tag_query(text: str) -> dict[str, str]:
    """Tags as MinIO lists them (``a=1&b=2``, URL-encoded) as a dict."""
    return dict(parse_qsl(text, keep_blank_values=True))
