"""The replica backlog on the status page (``oods web``): an ``oods.status_panels`` entry.

``oods`` cannot import ``replica`` (data flows replica -> oods), so the page finds this
function through the entry point and shows what it returns.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from oods import Site
from oods.errors import ConfigError, SiteUnavailable
from oods.sites import named_site_config, named_sites

from .status import push_backlog_bound, replica_status

#: The other site the panel reports on, as ``oods replica status`` defaults to.
OTHER = "dbb"


def status_panel(site: Site, config_path: Path | str | None) -> dict[str, Any]:
    """Datasets, bytes and the oldest pending each way between ``site`` and the DBB.

    ``{"configured": False}`` when the config names no ``[sites.dbb]``; when the DBB does
    not answer, the push backlog's upper bound and the error.
    """
    try:
        names = named_sites(config_path)
    except ConfigError as exc:
        return {"configured": False, "other": OTHER, "note": str(exc)}
    if OTHER not in names:
        return {"configured": False, "other": OTHER}
    try:
        other = Site.open(named_site_config(OTHER, config_path), create=False)
    except SiteUnavailable as exc:
        bound = push_backlog_bound(site, OTHER)
        return {
            "configured": True,
            "other": OTHER,
            "reachable": False,
            "error": str(exc),
            "push_at_most": bound.summary(),
        }
    try:
        status = replica_status(site, other)
    finally:
        other.close()
    return {"configured": True, "other": OTHER, "reachable": True, **status.to_dict()}
