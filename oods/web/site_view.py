"""The site view's numbers: retention classes against capacity, the catalog's version,
and the panels other packages add (the replica backlog).

``replica`` sits above ``oods``, so its backlog comes through the ``oods.status_panels``
entry-point group: each entry is ``panel(site, config_path) -> dict``. A part that is
not there (no plug-in, no capacity known) is reported absent, never as a made-up zero.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from importlib.metadata import entry_points
from pathlib import Path
from typing import Any

from catalog.query import VERSION_TABLE

from ..errors import OodsError
from ..minio_extensions import disk_usage
from ..retention_classes import load_retention
from ..retention_status import retention_status
from ..site import Site

log = logging.getLogger(__name__)

#: Entry points: ``panel(site, config_path) -> dict`` (JSON-ready), one per package.
STATUS_PANELS = "oods.status_panels"


def site_view(site: Site, config_path: Path | None, load: Any = None) -> dict[str, Any]:
    """Retention usage, capacity, catalog version and the plug-in panels (by name)."""
    return {
        "site": site.bucket,
        "endpoint": site.config.endpoint,
        "catalog": catalog_version(site),
        "retention": retention_usage(site, config_path),
        "panels": plugin_panels(site, config_path, load),
    }


def catalog_version(site: Site) -> dict[str, Any]:
    """The catalog's newest version and when it was committed (None before any)."""
    versions = site.store.versions(VERSION_TABLE, limit=1)
    if not versions:
        return {"version": None, "committed_at": None}
    version, when, _ = versions[0]
    return {"version": version, "committed_at": when.isoformat()}


def retention_usage(site: Site, config_path: Path | None) -> dict[str, Any]:
    """Objects, bytes and the oldest object per class, and the capacity they fill."""
    try:
        settings = load_retention(config_path)
        status = retention_status(site, settings)
    except OodsError as exc:
        return {"error": str(exc), "classes": [], "capacity": None}
    capacity: dict[str, Any] | None = None
    if settings.capacity is not None:
        capacity = {"bytes": settings.capacity, "source": "configured"}
    else:
        try:
            capacity = {"bytes": disk_usage(site.config).total, "source": "server drives"}
        except OodsError as exc:  # not MinIO, or no admin right: say so, show no number
            log.info("capacity unknown: %s", exc)
    return {
        "classes": [
            {
                **_jsonable(vars(c)),
                "expiring": settings.is_expiring(c.name),
            }
            for c in status.classes
        ],
        "total_bytes": status.total_bytes,
        "capacity": capacity,
        "high_water": settings.high_water,
    }


def plugin_panels(
    site: Site, config_path: Path | None, load: Callable[..., Any] | None = None
) -> dict[str, Any]:
    """Each installed panel's answer by name; a failing panel gives its one-line error."""
    panels: dict[str, Any] = {}
    for entry in (load or entry_points)(group=STATUS_PANELS):
        try:
            panels[entry.name] = entry.load()(site, config_path)
        except Exception as exc:  # a plug-in's failure must not take the page down
            panels[entry.name] = {"error": f"{type(exc).__name__}: {exc}".splitlines()[0]}
    return panels


def _jsonable(values: dict[str, Any]) -> dict[str, Any]:
    return {k: v.isoformat() if hasattr(v, "isoformat") else v for k, v in values.items()}
