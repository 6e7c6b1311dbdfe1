"""Code run in child processes (spawned: a process that used deltalake must not fork)."""

from __future__ import annotations

import json
import sys
from pathlib import Path


def ingest_in_child(config_fields: dict[str, object], paths: list[str]) -> dict[str, object]:
    from oods import Site, SiteConfig, ingest

    site = Site.open(SiteConfig(**config_fields))  # type: ignore[arg-type]
    return ingest(site, [Path(p) for p in paths]).summary()


if __name__ == "__main__":
    # python -m tests.oods._workers CONFIG_JSON PATH...: ingest, print the summary.
    print(json.dumps(ingest_in_child(json.loads(sys.argv[1]), sys.argv[2:])), flush=True)
