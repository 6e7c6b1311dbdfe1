"""The two MinIO calls beyond plain S3 that retention needs, signed like any S3 call.

* A listing that carries each object's tags (``ListObjectsV2`` with ``metadata=true``):
  one request per 1,000 objects instead of a ``GetObjectTagging`` per object, which is
  what makes ``oods retention status`` and eviction affordable for millions of files.
  On a server without the extension (no ``UserMetadata`` in the answer) the tags are
  fetched one object at a time, slowly but correctly.
* The server's own disk usage (admin ``storageinfo``), for eviction when no capacity is
  configured.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import json
import urllib.error
import urllib.parse
import urllib.request
import xml.etree.ElementTree as ET
from collections.abc import Iterator

from botocore.auth import S3SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials

from .config import SiteConfig
from .errors import StorageError
from .retention_tags import object_tags, parse_tag_query

_NS = "{http://s3.amazonaws.com/doc/2006-03-01/}"


@dataclasses.dataclass(frozen=True)
class TaggedObject:
    """One object of a listing, with its tags."""

    key: str
    size: int
    last_modified: dt.datetime
    tags: dict[str, str]


@dataclasses.dataclass(frozen=True)
class DiskUsage:
    """The server's drives, summed: bytes used and in total."""

    used: int
    total: int


def signed_get(config: SiteConfig, path: str, query: dict[str, str], service: str = "s3") -> bytes:
    """GET ``path?query`` on the site's endpoint, signed with its keys (SigV4)."""
    url = config.endpoint.rstrip("/") + path
    if query:
        url += "?" + urllib.parse.urlencode(sorted(query.items()), quote_via=urllib.parse.quote)
    request = AWSRequest(method="GET", url=url)
    credentials = Credentials(config.access_key, config.secret_key)
    S3SigV4Auth(credentials, service, config.region).add_auth(request)
    try:
        with urllib.request.urlopen(
            urllib.request.Request(url, headers=dict(request.headers.items())),
            timeout=config.timeout,  # bounded: a stalled server fails the call
        ) as answer:
            return bytes(answer.read())
    except urllib.error.HTTPError as exc:
        detail = exc.read()[:300].decode(errors="replace")
        raise StorageError(path, f"HTTP {exc.code}: {' '.join(detail.split())}") from None
    except (urllib.error.URLError, OSError) as exc:
        raise StorageError(path, f"{type(exc).__name__}: {exc}") from None


def list_tagged(config: SiteConfig, client: object, prefix: str = "") -> Iterator[TaggedObject]:
    """Every object under ``prefix`` in the site's bucket, with its tags, in key order."""
    token: str | None = None
    while True:
        query = {"list-type": "2", "metadata": "true", "max-keys": "1000", "prefix": prefix}
        if token:
            query["continuation-token"] = token
        root = ET.fromstring(signed_get(config, f"/{config.bucket}", query))
        for item in root.iter(f"{_NS}Contents"):
            key = item.findtext(f"{_NS}Key") or ""
            if item.find(f"{_NS}UserMetadata") is None:  # not MinIO: one call per object
                tags = object_tags(client, config.bucket, key)
            else:
                tags = parse_tag_query(item.findtext(f"{_NS}UserTags") or "")
            yield TaggedObject(
                key=key,
                size=int(item.findtext(f"{_NS}Size") or 0),
                last_modified=_timestamp(item.findtext(f"{_NS}LastModified") or ""),
                tags=tags,
            )
        token = root.findtext(f"{_NS}NextContinuationToken")
        if root.findtext(f"{_NS}IsTruncated") != "true" or not token:
            return


def disk_usage(config: SiteConfig) -> DiskUsage:
    """The bytes used and in total on the server's drives (MinIO admin API).

    Raises:
        StorageError: not MinIO, or the keys have no admin right to ask.
    """
    answer = json.loads(signed_get(config, "/minio/admin/v3/storageinfo", {}))
    disks = answer.get("Disks") or []
    if not disks:
        raise StorageError("storageinfo", "the server reported no drives")
    return DiskUsage(
        used=sum(int(d.get("usedspace", 0)) for d in disks),
        total=sum(int(d.get("totalspace", 0)) for d in disks),
    )


def _timestamp(text: str) -> dt.datetime:
    return dt.datetime.fromisoformat(text.replace("Z", "+00:00"))
