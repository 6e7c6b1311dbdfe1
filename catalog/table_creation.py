"""Create an empty catalog table whose first commit already records its schema version.

``deltalake`` refuses properties it does not know when it creates a table, so a table
it creates records ``oods.schema_version`` in a second commit. For ``locations`` that
would shift the catalog's version numbers (they count its commits: version 0 is the
empty catalog, each ingest one more). Version 0 is written here instead, as
``deltalake`` writes it (protocol reader 1, writer 2; no data files) plus the property,
with the create-only PUT that ``catalog.append_log`` commits with: a racing creator
(``deltalake`` or this) simply wins, and the table is made once.
"""

from __future__ import annotations

import json
import time
import uuid

import pyarrow as pa
from deltalake import Schema

from .append_log import ObjectStore
from .schema_versions import SCHEMA_VERSION_KEY


def create_marked_table(objects: ObjectStore, prefix: str, schema: pa.Schema, version: int) -> bool:
    """Create the table under key ``prefix`` with no rows, at schema ``version``, in one
    commit; False if version 0 exists already (another writer created the table).

    Raises:
        OSError: the store could not be written.
    """
    now = int(time.time() * 1000)
    actions = [
        {
            "commitInfo": {
                "timestamp": now,
                "operation": "CREATE TABLE",
                "operationParameters": {"mode": "ErrorIfExists"},
                "clientVersion": "oods",
            }
        },
        {"protocol": {"minReaderVersion": 1, "minWriterVersion": 2}},
        {
            "metaData": {
                "id": str(uuid.uuid4()),
                "format": {"provider": "parquet", "options": {}},
                "schemaString": Schema.from_arrow(schema).to_json(),
                "partitionColumns": [],
                "createdTime": now,
                "configuration": {SCHEMA_VERSION_KEY: str(version)},
            }
        },
    ]
    entry = "\n".join(json.dumps(action) for action in actions).encode()
    return objects.put_if_absent(f"{prefix}/_delta_log/{0:020d}.json", entry)
