"""What ``oods status`` shows: where the site is, whether its server answers, what it holds.

The server is probed first with a short, single-attempt request, and the catalog is read
only if the bucket answered: a site whose server is down still reports its address and
configuration at once, instead of waiting out the store's retries.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any

import boto3
import botocore.config
import duckdb

from catalog import CatalogError
from catalog.query import VERSION_TABLE

from . import _s3
from .config import SERVER_STATE, SiteConfig
from .errors import OodsError
from .site import Site

#: Seconds a status probe may take: status is what one runs when something is wrong.
PROBE_TIMEOUT = 3
_NO_BUCKET = "no such bucket"


@dataclasses.dataclass
class SiteStatus:
    """A site's address, its server's health and (when it answers) the catalog's counts."""

    source: str
    endpoint: str
    bucket: str
    embedded: bool
    answering: bool = False
    problem: str | None = None
    note: str | None = None
    live: bool | None = None  # the embedded MinIO's /minio/health/live, else None
    datasets: int | None = None
    exposures: int | None = None
    bytes: int | None = None
    by_type: dict[str, dict[str, int]] = dataclasses.field(default_factory=dict)
    catalog_version: int | None = None
    last_commit: dt.datetime | None = None

    @property
    def ok(self) -> bool:
        return self.answering and self.problem is None

    def to_dict(self) -> dict[str, Any]:
        return {**dataclasses.asdict(self), "ok": self.ok}


def site_status(config: SiteConfig) -> SiteStatus:
    """Probe the site's server and, if it answers, summarise its catalog.

    Never creates the bucket or the catalog, and never raises for an unreachable or
    refusing server: that is what the status reports (``answering``, ``problem``).

    Example:
        >>> status = site_status(load_config())
        >>> status.ok, status.datasets, status.catalog_version
    """
    embedded = Path(config.source).name == SERVER_STATE
    status = SiteStatus(config.source, config.endpoint, config.bucket, embedded)
    if embedded:
        status.live = _live(config.endpoint)
    status.answering, status.problem = _probe_bucket(config)
    if status.problem == _NO_BUCKET:
        status.problem = None
        status.note = f"bucket {config.bucket} does not exist yet (the first ingest creates it)"
        status.datasets = status.exposures = status.bytes = 0
    elif status.ok:
        try:
            _count(Site(config), status)
        except (CatalogError, OodsError, duckdb.Error) as exc:
            status.problem = f"catalog: {exc}"
    return status


def _live(endpoint: str) -> bool:
    """MinIO's liveness probe (the embedded server is always MinIO)."""
    try:
        url = f"{endpoint}/minio/health/live"
        with urllib.request.urlopen(url, timeout=PROBE_TIMEOUT) as response:
            return bool(response.status == 200)
    except (urllib.error.URLError, OSError):
        return False


def _probe_bucket(config: SiteConfig) -> tuple[bool, str | None]:
    """(the server answered, what is wrong if anything) from one HEAD of the bucket."""
    client = boto3.client(
        "s3",
        endpoint_url=config.endpoint,
        aws_access_key_id=config.access_key,
        aws_secret_access_key=config.secret_key,
        region_name=config.region,
        config=botocore.config.Config(
            connect_timeout=PROBE_TIMEOUT,
            read_timeout=PROBE_TIMEOUT,
            retries={"total_max_attempts": 1},
            s3={"addressing_style": "path"},
        ),
    )
    try:
        client.head_bucket(Bucket=config.bucket)
        return True, None
    except _s3.TRANSPORT_ERRORS as exc:
        code = _s3.error_code(exc)
        if code in ("404", "NoSuchBucket", "NotFound"):
            return True, _NO_BUCKET
        if code in ("403", "AccessDenied", "Forbidden"):
            return True, f"bucket {config.bucket}: access denied (check the credentials)"
        if code:
            return True, f"bucket {config.bucket}: {_s3.describe(exc)}"
        return False, f"not answering: {_s3.describe(exc)}"


def _count(site: Site, status: SiteStatus) -> None:
    versions = site.store.versions(VERSION_TABLE, limit=1)
    if versions:
        status.catalog_version, status.last_commit, _ = versions[0]
    rows = site.sql(
        "SELECT dataset_type, count(*), coalesce(sum(size), 0) FROM files "
        "GROUP BY dataset_type ORDER BY dataset_type"
    ).fetchall()
    status.by_type = {name: {"datasets": n, "bytes": int(b)} for name, n, b in rows}
    status.datasets = sum(n for _, n, _ in rows)
    status.bytes = sum(int(b) for _, _, b in rows)
    ((exposures,),) = site.sql("SELECT count(*) FROM exposures").fetchall()
    status.exposures = int(exposures)
