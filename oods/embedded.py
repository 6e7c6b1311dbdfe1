"""The embedded default site: a local MinIO that ``oods up`` starts and ``oods down`` stops.

Its state (port, pid, credentials) is kept in ``$OODS_HOME/server.json``, readable only
by its owner, so later commands find the default site without any config.
"""

from __future__ import annotations

import os
from pathlib import Path

from infra.minio_server import MinioServer

from .config import SERVER_STATE, oods_home
from .errors import OodsError


def state_file() -> Path:
    return oods_home() / SERVER_STATE


def running_server() -> MinioServer | None:
    """The recorded embedded server if it is alive, else None (stale state is removed)."""
    path = state_file()
    if not path.exists():
        return None
    server = MinioServer.from_json(path.read_text())
    if server.healthy():
        return server
    path.unlink(missing_ok=True)
    return None


def start(data: Path | None = None, port: int = 0) -> tuple[MinioServer, bool]:
    """Start the embedded MinIO (or find it running).

    Returns:
        (server, started): ``started`` is False when one was already running.
    """
    server = running_server()
    if server is not None:
        return server, False
    home = oods_home()
    home.mkdir(parents=True, exist_ok=True)
    server = MinioServer((data or home / "data").resolve(), port=port)
    server.start(detach=True)
    path = state_file()
    path.touch(mode=0o600)
    os.chmod(path, 0o600)
    path.write_text(server.to_json())
    return server, True


def stop(data: Path | None = None) -> MinioServer | None:
    """Stop the embedded MinIO; None if none was running."""
    server = running_server()
    if server is None:
        return None
    if data is not None and data.resolve() != server.data_dir:
        raise OodsError(f"the embedded server serves {server.data_dir}, not {data.resolve()}")
    server.stop()
    state_file().unlink(missing_ok=True)
    return server


def state(server: MinioServer) -> dict[str, object]:
    """What may be shown of a server: never its secret."""
    return {
        "endpoint": server.endpoint,
        "data": str(server.data_dir),
        "pid": server.pid,
        "state_file": str(state_file()),
    }
