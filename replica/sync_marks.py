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

import pyarrow as pa
import pyarrow.fs as pa_fs

from catalog.derived_folders import derived_folder, read_manifest_object
from oods import Site

#: The tables a metadata sync reads at the other site and writes here.
SYNCED = ("datasets", "exposures", "provenance", "calibrations", "locations")
#: Beside the tables (``catalog.derived_folders``).
FOLDER = "_replica"

Versions = dict[str, int | None]


def table_versions(site: Site) -> Versions:
    """The current version of each synced table of ``site`` (None: never created)."""
    return {table: site.store.latest_version(table) for table in SYNCED}


def unchanged_since_last_sync(local: Site, remote: Site, remote_now: Versions) -> bool:
    """Whether the last sync from ``remote`` read it at ``remote_now``, into a catalog
    that has not gone back since (see the module)."""
    mark = read_manifest_object(*_mark(local, remote))  # none, or garbage: compare all
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
    filesystem, path = _mark(local, remote)
    with contextlib.suppress(OSError, pa.ArrowException):
        filesystem.create_dir(path.rsplit("/", 1)[0], recursive=True)
        with filesystem.open_output_stream(path) as stream:
            stream.write(text.encode())


def _mark(local: Site, remote: Site) -> tuple[pa_fs.FileSystem, str]:
    """One mark per other site, named by its bucket and its endpoint's digest (never a
    secret), in a derived folder beside this site's tables."""
    filesystem, folder = derived_folder(local.store, FOLDER)
    endpoint = hashlib.sha256(remote.config.endpoint.encode()).hexdigest()[:12]
    return filesystem, f"{folder}/metadata-from-{remote.bucket}-{endpoint}.json"
