"""``oods web``: the status page (night, site and calibration views) on loopback."""

from __future__ import annotations

import os
import socket
import threading
from pathlib import Path

import click

from ..site import Site
from ._console import Context, pass_context

DEFAULT_PORT = 8765


def bind(host: str, port: int) -> socket.socket:
    """The listening socket, bound before the server starts so that a port in use is
    one clear error (an OSError naming the address) rather than a server log."""
    try:
        sock = socket.create_server((host, port), reuse_port=False)
    except OSError as exc:
        reason = os.strerror(exc.errno) if exc.errno else str(exc)
        raise OSError(f"cannot listen on {host}:{port}: {reason}") from None
    return sock


class BackgroundWeb:
    """The status page served from a thread, beside another command (``oods serve``).

    Its own ``Site``: the page reads the catalog from request threads, the service
    writes it from its own. uvicorn installs no signal handlers off the main thread, so
    the host command keeps its own (SIGTERM still stops ``oods serve``).
    """

    def __init__(self, site: Site, config_path: Path | None, host: str, port: int) -> None:
        import uvicorn

        from ..web.app import create_app

        self.site = Site(site.config)
        self.socket = bind(host, port)
        app = create_app(self.site, config_path)
        self.server = uvicorn.Server(uvicorn.Config(app, log_level="warning"))
        self.thread = threading.Thread(
            target=self.server.run, kwargs={"sockets": [self.socket]}, daemon=True
        )

    @property
    def url(self) -> str:
        host, port = self.socket.getsockname()[:2]
        return f"http://{host}:{port}/"

    def start(self) -> BackgroundWeb:
        self.thread.start()
        return self

    def stop(self) -> None:
        self.server.should_exit = True
        self.thread.join(10)
        self.site.close()


@click.command("web")
@click.option("--host", default="127.0.0.1", show_default=True, help="Address to listen on.")
@click.option(
    "--port",
    type=click.IntRange(0, 65535),
    default=DEFAULT_PORT,
    show_default=True,
    help="Port to listen on (0: any free port).",
)
@click.option(
    "--refresh",
    type=click.FloatRange(0.1),
    default=5.0,
    show_default=True,
    help="Seconds between catalog refreshes (requests in between answer from memory).",
)
@pass_context
def web(obj: Context, host: str, port: int, refresh: float) -> None:
    """Serve the status page: tonight's exposures on the focal plane, arrivals, latency,
    retention, replica backlog and calibrations, with a JSON API under /api.

    Loopback only by default; scripts and styles ship with the package (no internet).

    \b
    Example:
      oods web                      # then open http://127.0.0.1:8765/
      curl -s http://127.0.0.1:8765/api/night | jq '.exposures | length'
    """
    import uvicorn  # the server's imports are paid only by this command

    from ..web.app import create_app

    app = create_app(obj.site, obj.config_path, refresh_seconds=refresh)
    sock = bind(host, port)
    bound_host, bound_port = sock.getsockname()[:2]
    click.echo(f"serving the status page on http://{bound_host}:{bound_port}/ (Ctrl-C stops)")
    server = uvicorn.Server(uvicorn.Config(app, log_level="warning", timeout_graceful_shutdown=5))
    server.run(sockets=[sock])
