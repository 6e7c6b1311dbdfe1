"""Every object of a site's data layout, listed once into an Arrow table.

Reconcile and fsck compare the bucket with the catalog as two tables (an anti-join in
DuckDB), so the listing is gathered column-wise, one ListObjectsV2 page (1000 keys) at
a time, into two lists that become Arrow columns.
"""

from __future__ import annotations

import xml.etree.ElementTree as ET
from collections.abc import Callable
from typing import TYPE_CHECKING
from urllib.parse import unquote_plus

import pyarrow as pa
import pyarrow.compute as pc

from .errors import StorageError
from .minio_extensions import signed_get

if TYPE_CHECKING:
    from .site import Site

#: The listing's columns: the object key and its size in bytes.
LISTING_SCHEMA = pa.schema([pa.field("key", pa.string()), pa.field("size", pa.int64())])

PAGE_SIZE = 1000
_NS = "{http://s3.amazonaws.com/doc/2006-03-01/}"
_CONTENTS, _KEY, _SIZE = f"{_NS}Contents", f"{_NS}Key", f"{_NS}Size"
_NEXT, _TRUNCATED = f"{_NS}NextContinuationToken", f"{_NS}IsTruncated"


def list_bucket(site: Site, progress: Callable[[int], None] | None = None) -> pa.Table:
    """Every object of the site's bucket outside the catalog's own prefix.

    The pages are fetched with a plain signed GET and parsed with ElementTree: boto3's
    parser spends ~0.3 s of Python per 1000-key page (dates, dicts, hooks), ten times
    the server's own time, which would make a 100,000-object listing Python-bound.

    Args:
        progress: called with the number of keys of each page, as pages arrive.

    Raises:
        StorageError: the bucket cannot be listed (naming the bucket and the reason).
    """
    catalog_prefix = site.config.catalog_prefix.strip("/") + "/"
    keys: list[str] = []
    sizes: list[str] = []
    token: str | None = None
    while True:
        # URL-encoded keys: a key may hold characters XML 1.0 cannot carry.
        query = {"list-type": "2", "max-keys": str(PAGE_SIZE), "encoding-type": "url"}
        if token:
            query["continuation-token"] = token
        page = signed_get(site.config, f"/{site.bucket}", query)
        try:
            root = ET.fromstring(page)
        except ET.ParseError as exc:
            raise StorageError(site.bucket, f"unreadable listing page: {exc}") from None
        before = len(keys)
        for item in root.iterfind(_CONTENTS):
            keys.append(unquote_plus(item.findtext(_KEY) or ""))
            sizes.append(item.findtext(_SIZE) or "0")
        if progress is not None and len(keys) > before:
            progress(len(keys) - before)
        token = root.findtext(_NEXT)
        if root.findtext(_TRUNCATED) != "true" or not token:
            break
    listing = pa.table(
        {"key": pa.array(keys, pa.string()), "size": pc.cast(pa.array(sizes), pa.int64())},
        schema=LISTING_SCHEMA,
    )
    inside = pc.starts_with(listing.column("key"), catalog_prefix)
    return listing.filter(pc.invert(inside))
