"""The embedded default site: a local MinIO that ``oods up`` starts and ``oods down`` stops.

Its data is in ``$OODS_HOME/data`` unless ``--data`` says otherwise. Two small files,
both readable only by their owner:

* ``$OODS_HOME/server.json`` records the server last started (port, pid, credentials,
  data folder). ``$OODS_HOME`` is a per-user folder by default, so commands and notebooks
  find the default site from any directory. It stays after ``oods down``, so that a
  command can say the site is configured but stopped instead of "no site configured".
* ``<data>.server.json`` beside the data folder keeps that folder's port and credentials,
  so ``oods up`` on the same data gives the same endpoint and keys: presigned URLs and
  notebook connections made before a restart keep working.
"""

from __future__ import annotations

import json
import os
import socket
from pathlib import Path

from infra.minio_server import MinioServer

from .config import SERVER_STATE, SiteConfig, oods_home
from .errors import OodsError


def state_file() -> Path:
    return oods_home() / SERVER_STATE


def default_data() -> Path:
    """The data folder ``oods up`` uses: ``$OODS_HOME/data``, one default site per user
    whatever the directory it is started from."""
    return oods_home() / "data"


def identity_file(data: Path) -> Path:
    """Where a data folder's port and credentials are kept (beside it, not in it: MinIO
    would take a file in its data folder for a bucket's)."""
    return data.parent / f"{data.name}.server.json"


def recorded_server() -> MinioServer | None:
    """The server ``oods up`` last started, running or not (None if there is none)."""
    path = state_file()
    try:
        return MinioServer.from_json(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        return None
    except (OSError, ValueError, TypeError, KeyError) as exc:
        raise OodsError(f"{path}: unreadable embedded server state ({exc})") from None


def running_server() -> MinioServer | None:
    """The recorded embedded server if it is alive, else None."""
    server = recorded_server()
    return server if server is not None and server.healthy() else None


def start(data: Path | None = None, port: int = 0) -> tuple[MinioServer, bool]:
    """Start the embedded MinIO (or find it running).

    Without ``data``: the folder of the server last started (``oods down`` then ``oods up``
    brings the same site back), else ``$OODS_HOME/data``. A data folder started before
    gets its earlier credentials, and its earlier port when that is free (``port``
    overrides).

    Returns:
        (server, started): ``started`` is False when one was already running.
    """
    recorded = recorded_server()
    if recorded is not None and recorded.healthy():
        return recorded, False
    if data is None:
        data = recorded.data_dir if recorded is not None else default_data()
    data = data.resolve()
    known = _read_identity(data)
    if not port and known.get("port") and _port_free(int(known["port"])):
        port = int(known["port"])
    server = MinioServer(data, port=port)
    if known.get("access_key") and known.get("secret_key"):
        server.access_key, server.secret_key = str(known["access_key"]), str(known["secret_key"])
    server.start(detach=True)
    identity = {"port": server.port, "access_key": server.access_key}
    _write_private(identity_file(data), json.dumps({**identity, "secret_key": server.secret_key}))
    oods_home().mkdir(parents=True, exist_ok=True)
    _write_private(state_file(), server.to_json())
    return server, True


def stop(data: Path | None = None) -> MinioServer | None:
    """Stop the embedded MinIO; None if none was running. Its record stays (see above)."""
    server = running_server()
    if server is None:
        return None
    if data is not None and data.resolve() != server.data_dir:
        raise OodsError(f"the embedded server serves {server.data_dir}, not {data.resolve()}")
    server.stop()
    _write_private(state_file(), server.to_json())  # pid now None: stopped
    return server


def site_config(server: MinioServer) -> SiteConfig:
    """The default site on ``server`` (what ``load_config()`` finds with no config)."""
    return SiteConfig(
        endpoint=server.endpoint,
        access_key=server.access_key,
        secret_key=server.secret_key,
        source=str(state_file()),
    )


def state(server: MinioServer) -> dict[str, object]:
    """What may be shown of a server: never its secret."""
    return {
        "endpoint": server.endpoint,
        "data": str(server.data_dir),
        "pid": server.pid,
        "state_file": str(state_file()),
    }


def _read_identity(data: Path) -> dict[str, object]:
    try:
        known = json.loads(identity_file(data).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    return known if isinstance(known, dict) else {}


def _port_free(port: int) -> bool:
    with socket.socket() as sock:
        # As MinIO binds: connections of the stopped server lingering in TIME_WAIT
        # must not make its own port look taken.
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind(("127.0.0.1", port))
        except OSError:
            return False
    return True


def _write_private(path: Path, text: str) -> None:
    """Write a file only its owner can read, never readable by others even briefly."""
    path.parent.mkdir(parents=True, exist_ok=True)
    descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    os.fchmod(descriptor, 0o600)
    with os.fdopen(descriptor, "w", encoding="utf-8") as out:
        out.write(text)
