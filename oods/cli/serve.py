"""``oods serve``: the long-lived service that ingests files as they land."""

from __future__ import annotations

import logging
import signal
import sys
import threading
from pathlib import Path
from typing import Any

import click

from ..background import BackgroundTask, plugin_task
from ..config import load_serve_settings
from ..errors import ConfigError
from ..eviction import retention_task
from ..reconcile import reconcile_task
from ..retention_classes import load_retention
from ..service import ServiceConfig, serve
from ._console import Context, pass_context
from .web import BackgroundWeb


def _option(name: str, kind: Any, help: str) -> Any:
    return click.option(f"--{name.replace('_', '-')}", name, type=kind, default=None, help=help)


@click.command("serve")
@_option(
    "landing",
    click.Path(file_okay=False, path_type=Path),
    "Folder to watch (required here or in [serve]).",
)
@_option(
    "on_success",
    click.Choice(["delete", "move"]),
    "What to do with a file once ingested. Default: delete.",
)
@_option(
    "done",
    click.Path(file_okay=False, path_type=Path),
    "Where --on-success move puts files. Default: done/ beside landing.",
)
@_option(
    "failed",
    click.Path(file_okay=False, path_type=Path),
    "Where rejected files go. Default: failed/ beside landing.",
)
@_option("poll_interval", float, "Seconds between polls of landing. Default: 0.1.")
@_option("settle", float, "Seconds a file must be unmodified to count as complete. Default: 0.3.")
@_option("max_wait", float, "Longest wait, in seconds, to gather a batch. Default: 0.2.")
@_option("max_batch", click.IntRange(1), "Most files per commit. Default: 1000.")
@_option(
    "metrics_port",
    click.IntRange(0, 65535),
    "Port of /metrics and /healthz on 127.0.0.1 (0: any free). Default: 9464.",
)
@_option("compact_interval", float, "Seconds between compactions of the catalog. Default: 600.")
@_option("expected_detectors", click.IntRange(1), "Detectors per complete exposure. Default: 205.")
@_option(
    "incomplete_after", float, "Seconds after which a short exposure is reported. Default: 60."
)
@_option(
    "staging_bucket",
    str,
    "A bucket on the site's MinIO whose new objects are brought in (then deleted there).",
)
@_option("staging_prefix", str, "Only objects under this prefix of the staging bucket.")
@_option("staging_rescan", float, "Seconds between listings of the staging bucket. Default: 1.")
@_option(
    "reconcile_interval",
    float,
    "Seconds between reconciles of catalog and bucket (0: none). Default: 3600.",
)
@_option(
    "retention_interval",
    float,
    "Seconds between capacity checks, evicting past the high-water mark (0: none). Default: 300.",
)
@_option("sync_with", str, "A site of [sites.NAME] to replica-sync with in the background.")
@_option("sync_interval", float, "Seconds between replica syncs (with --sync-with). Default: 300.")
@click.option("--no-metrics", is_flag=True, help="Serve no /metrics and /healthz.")
@click.option(
    "--no-deletion-events", is_flag=True, help="Do not follow the bucket's deletion events."
)
@click.option(
    "--web-port",
    type=click.IntRange(0, 65535),
    default=None,
    help="Also serve the status page (as `oods web`) on 127.0.0.1:PORT. Default: off.",
)
@pass_context
def serve_command(
    obj: Context,
    no_metrics: bool,
    no_deletion_events: bool,
    web_port: int | None,
    **options: Any,
) -> None:
    """Ingest files as they land in a folder, until SIGTERM or Ctrl-C.

    Each file is ingested once complete (unchanged for --settle seconds), files
    arriving together are committed together, and each gets a row in the `arrivals`
    table (poll it by `seq`). Options override the config's [serve] section. On
    SIGTERM/SIGINT the batch in flight is finished, then the command exits 0.

    \b
    Example:
      oods serve --landing /data/landing --on-success move --done /data/done
      oods query "SELECT seq, status, path FROM arrivals WHERE seq > 0 ORDER BY seq"
    """
    settings = load_serve_settings(obj.config_path)
    settings.update({k: v for k, v in options.items() if v is not None})
    if "landing" not in settings:
        raise click.UsageError("no landing folder: give --landing or set landing in [serve]")
    for name in ("landing", "done", "failed"):
        if settings.get(name) is not None:
            settings[name] = Path(settings[name])
    if no_metrics:
        settings["metrics_port"] = None
    settings["tasks"] = _tasks(obj.config_path, settings)
    settings["deletion_events"] = not no_deletion_events
    try:
        config = ServiceConfig(**settings)
    except TypeError as exc:
        raise ConfigError(f"[serve]: {exc}") from None
    logging.basicConfig(
        level=logging.DEBUG if obj.verbose else logging.INFO,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
        stream=sys.stderr,
    )
    stop = threading.Event()

    def request_stop(signum: int, frame: object) -> None:
        logging.getLogger("oods.serve").info(
            "%s: finishing the batch in flight, then stopping", signal.Signals(signum).name
        )
        stop.set()

    signal.signal(signal.SIGTERM, request_stop)
    signal.signal(signal.SIGINT, request_stop)
    web = None
    if web_port is not None:
        web = BackgroundWeb(obj.site, obj.config_path, "127.0.0.1", web_port).start()
        logging.getLogger("oods.serve").info("status page on %s", web.url)
    try:
        report = serve(obj.site, config, stop)
    finally:
        if web is not None:
            web.stop()
    counts = ", ".join(f"{n} {status}" for status, n in sorted(report.files.items())) or "no files"
    click.echo(f"stopped: {report.batches} batches, {counts}")


def _tasks(config_path: Path | None, settings: dict[str, Any]) -> tuple[BackgroundTask, ...]:
    """Reconcile, retention and replica sync as background tasks, from the settings
    (taken out of them: they are not ``ServiceConfig`` fields)."""
    reconcile = float(settings.pop("reconcile_interval", 3600.0))
    retention = float(settings.pop("retention_interval", 300.0))
    sync_with = settings.pop("sync_with", None)
    sync = float(settings.pop("sync_interval", 300.0))
    for name, value in (("reconcile", reconcile), ("retention", retention), ("sync", sync)):
        if value < 0:
            raise ConfigError(f"serve: {name}_interval must be 0 (none) or more seconds")
    tasks: list[BackgroundTask] = []
    if reconcile:
        tasks.append(reconcile_task(reconcile))
    if retention:
        tasks.append(retention_task(retention, load_retention(config_path)))
    if sync_with is not None and sync:
        tasks.append(plugin_task("replica", sync_with, config_path, sync))
    return tuple(tasks)
