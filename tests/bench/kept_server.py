"""A benchmark's MinIO server whose data may be kept between runs (``--data``).

Building a catalog of 10^7 raws takes minutes; a kept folder lets the next run reuse it.
The server gets the same credentials as the run that made the data (``keys.json``).
"""

from __future__ import annotations

import json
from pathlib import Path

from infra.minio_server import MinioServer


def kept_server(data: Path, keep: bool) -> MinioServer:
    """A (not yet started) server on ``data/minio``; with ``keep``, the credentials of
    the data already there, if any."""
    data.mkdir(parents=True, exist_ok=True)
    server = MinioServer(data / "minio", port=0)
    keys = data / "keys.json"
    if keep and keys.exists():
        saved = json.loads(keys.read_text())
        server.access_key, server.secret_key = saved["access_key"], saved["secret_key"]
    keys.write_text(json.dumps({"access_key": server.access_key, "secret_key": server.secret_key}))
    return server
