"""What the last metadata sync from another site read, so that a re-sync with nothing
new there costs two reads of table versions, not a comparison of every key.

After a sync from a site, this site keeps (one small object in its catalog folder) the
other site's table versions the sync read and its own versions after writing. A sync
whose other site is still at those versions, into a catalog not older than that (not
recreated), has nothing to copy: catalog rows are history, so what this site held then
it still holds, and the other site has written nothing since. Anything else, or a mark
missing or unreadable, means the full comparison; a mark is never needed for a correct
answer, only for a fast one.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
from collections.abc import Mapping

from oods import Site
from oods._s3 import TRANSPORT_ERRORS

#: The tables a metadata sync reads at the other site and writes here.
SYNCED = ("datasets", "exposures", "provenance", "calibrations", "locations")
#: Beside the tables, under the catalog's prefix.
FOLDER = "_replica"

Versions = dict[str, int | None]


def table_versions(site: Site) -> Versions:
    """The current version of each synced table of ``site`` (None: never created)."""
    return {table: site.store.latest_version(table) for table in SYNCED}


def unchanged_since_last_sync(local: Site, remote: Site, remote_now: Versions) -> bool:
    """Whether the last sync from ``remote`` read it at ``remote_now``, into a catalog
    that has not gone back since (see the module)."""
    mark = _read(local, _key(local, remote))
    if mark is None or mark.get("remote") != remote_now:
        return False
    here = table_versions(local)
    kept = mark.get("local")
    if not isinstance(kept, dict) or set(kept) != set(SYNCED):
        return False
    return all(
        kept[t] is None or (here[t] is not None and here[t] >= kept[t])  # type: ignore[operator]
        for t in SYNCED
    )


def mark_synced(local: Site, remote: Site, remote_read: Versions) -> None:
    """Record that a sync read ``remote`` at ``remote_read`` and finished; a mark that
    cannot be written is only a slower next sync."""
    text = json.dumps({"remote": remote_read, "local": table_versions(local)})
    with contextlib.suppress(*TRANSPORT_ERRORS):
        local.s3.put_object(Bucket=local.bucket, Key=_key(local, remote), Body=text.encode())


def _key(local: Site, remote: Site) -> str:
    """One mark per other site: its bucket, and its endpoint's digest (never a secret)."""
    endpoint = hashlib.sha256(remote.config.endpoint.encode()).hexdigest()[:12]
    prefix = local.config.catalog_prefix.strip("/")
    return f"{prefix}/{FOLDER}/metadata-from-{remote.bucket}-{endpoint}.json"


def _read(site: Site, key: str) -> Mapping[str, object] | None:
    try:
        body = site.s3.get_object(Bucket=site.bucket, Key=key)["Body"].read()
        mark = json.loads(body)
    except (*TRANSPORT_ERRORS, ValueError):
        return None  # none yet, unreadable, or garbage: the full comparison
    return mark if isinstance(mark, dict) else None
