"""Background tasks of ``oods serve``: a named job on an interval, and where they come from.

A task module (reconcile, retention, replica sync) returns a ``BackgroundTask``; the
service runs each in its own thread. ``replica`` sits above ``oods``, so its tasks are
found through the ``oods.serve_tasks`` entry-point group rather than imported.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from importlib.metadata import entry_points
from pathlib import Path
from typing import TYPE_CHECKING, Any

from .errors import ConfigError

if TYPE_CHECKING:
    from .site import Site

#: Entry points named by ``[serve] sync_with``'s plug-in: ``factory(site name, config
#: path, interval) -> BackgroundTask``.
SERVE_TASKS = "oods.serve_tasks"


@dataclasses.dataclass(frozen=True)
class BackgroundTask:
    """A named job the service runs every ``interval`` seconds in its own thread.

    The plug-in point for housekeeping: compaction, retention, reconcile and replica
    sync (``ServiceConfig.tasks``). A failing run is logged and retried next interval.
    """

    name: str
    interval: float
    action: Callable[[Site], object]


def plugin_task(
    plugin: str, site_name: str, config_path: Path | str | None, interval: float, load: Any = None
) -> BackgroundTask:
    """The task that the installed plug-in ``plugin`` (e.g. ``replica``) makes.

    Raises:
        ConfigError: no such plug-in is installed, or it refused the settings.
    """
    found = [e for e in (load or entry_points)(group=SERVE_TASKS) if e.name == plugin]
    if not found:
        raise ConfigError(f"serve: no {plugin!r} task is installed (entry point {SERVE_TASKS})")
    factory = found[0].load()
    task: BackgroundTask = factory(site_name, config_path, interval)
    return task
