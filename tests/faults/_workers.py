"""An ingest run as its own process, so a fault test can kill, stop or outlive it.

Started with ``python -m tests.faults._workers CONFIG_JSON PATH...`` (a fresh
interpreter: a process that used deltalake must not fork); prints the full report.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path


def ingest_in_child(config_fields: dict[str, object], paths: list[str]) -> dict[str, object]:
    from oods import Site, SiteConfig, ingest

    site = Site.open(SiteConfig(**config_fields), create=True)  # type: ignore[arg-type]
    return ingest(site, [Path(p) for p in paths]).to_dict()


if __name__ == "__main__":
    print(json.dumps(ingest_in_child(json.loads(sys.argv[1]), sys.argv[2:])), flush=True)
