"""Where derived data lives: plain objects in folders beside the tables, under the
catalog's root (the dataset-id index, the current files), each with a JSON manifest.

Not Delta: nothing in them is history, and they may be rebuilt or lost at any time
(readers then fall back to the tables). Read with Arrow's S3 client, as lazy scans are.
"""

from __future__ import annotations

import json
import urllib.parse
from typing import Any

import pyarrow as pa
import pyarrow.fs as pa_fs

from .lazy_tables import s3_filesystem
from .tables import CatalogStore


def derived_folder(
    store: CatalogStore, name: str, filesystem: pa_fs.FileSystem | None = None
) -> tuple[pa_fs.FileSystem, str]:
    """The folder ``name`` beside the tables: Arrow's S3 client (``filesystem`` if
    given, rooted at the bucket) and ``bucket/prefix/name``, or a local path."""
    filesystem = filesystem or s3_filesystem(store.root, store.storage_options)
    where = urllib.parse.urlsplit(store.root)
    if filesystem is not None:
        return filesystem, f"{where.netloc}{where.path}".rstrip("/") + f"/{name}"
    path = where.path if where.scheme == "file" else store.root
    return pa_fs.LocalFileSystem(), f"{path.rstrip('/')}/{name}"


def read_manifest_object(filesystem: pa_fs.FileSystem, path: str) -> dict[str, Any] | None:
    """The JSON object at ``path``; None if there is none, or it is unreadable or not
    an object (a reader then uses the tables alone)."""
    try:
        with filesystem.open_input_stream(path) as stream:
            manifest = json.loads(stream.read())
    except (OSError, ValueError, pa.ArrowException):
        return None
    return manifest if isinstance(manifest, dict) else None
