"""Install (``go install``), start, health-check and stop a local MinIO server.

The server is the real MinIO community build, pinned below; it is built once into
``.tools/bin`` of the repository (ignored by git) and reused afterwards.
"""

from __future__ import annotations

import contextlib
import dataclasses
import json
import os
import secrets
import shutil
import signal
import socket
import subprocess
import time
import urllib.error
import urllib.request
from pathlib import Path

#: The last MinIO commit on the module proxy (Feb 2026), later than the last release tag
#: RELEASE.2025-10-15T17-29-55Z, whose tag name the proxy cannot resolve.
MINIO_MODULE = "github.com/minio/minio"
MINIO_VERSION = "v0.0.0-20260212201848-7aac2a2c5b7c"

REPO_ROOT = Path(__file__).resolve().parent.parent
TOOLS_BIN = REPO_ROOT / ".tools" / "bin"
START_TIMEOUT = 60.0


class MinioError(RuntimeError):
    """The MinIO server could not be installed, started or stopped."""


def minio_binary() -> Path:
    """The pinned MinIO binary, built with ``go install`` when it is not there yet."""
    override = os.environ.get("OODS_MINIO_BIN")
    if override:
        return Path(override)
    binary = TOOLS_BIN / "minio"
    stamp = TOOLS_BIN / "minio.version"
    if binary.exists() and stamp.exists() and stamp.read_text().strip() == MINIO_VERSION:
        return binary
    go = shutil.which("go")
    if go is None:
        raise MinioError("cannot build MinIO: the Go toolchain ('go') is not on PATH")
    TOOLS_BIN.mkdir(parents=True, exist_ok=True)
    env = {**os.environ, "GOBIN": str(TOOLS_BIN), "GOFLAGS": "-buildvcs=false"}
    result = subprocess.run(
        [go, "install", f"{MINIO_MODULE}@{MINIO_VERSION}"],
        env=env,
        capture_output=True,
        text=True,
        cwd=str(TOOLS_BIN),
    )
    if result.returncode != 0 or not binary.exists():
        raise MinioError(f"go install of MinIO failed:\n{result.stderr[-4000:]}")
    stamp.write_text(MINIO_VERSION + "\n")
    return binary


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@dataclasses.dataclass
class MinioServer:
    """One MinIO server on 127.0.0.1, serving ``data_dir``.

    Example:
        >>> server = MinioServer(Path("/tmp/site")).start()
        >>> server.endpoint
        'http://127.0.0.1:40123'
        >>> server.stop()
    """

    data_dir: Path
    port: int = 0
    access_key: str = dataclasses.field(default_factory=lambda: "oods-" + secrets.token_hex(4))
    secret_key: str = dataclasses.field(
        default_factory=lambda: secrets.token_urlsafe(24), repr=False
    )
    extra_env: dict[str, str] = dataclasses.field(default_factory=dict)
    pid: int | None = None

    @property
    def endpoint(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def log_path(self) -> Path:
        return self.data_dir.parent / f"{self.data_dir.name}.minio.log"

    def start(self, detach: bool = False) -> MinioServer:
        """Start the server and wait until it answers its health check.

        Args:
            detach: start it in its own session, so it outlives this process (``oods up``).

        Raises:
            MinioError: it did not become healthy in time; the log tail is in the message.
        """
        binary = minio_binary()
        self.data_dir.mkdir(parents=True, exist_ok=True)
        if not self.port:
            self.port = free_port()
        env = {
            **os.environ,
            "MINIO_ROOT_USER": self.access_key,
            "MINIO_ROOT_PASSWORD": self.secret_key,
            "MINIO_BROWSER": "off",
            "MINIO_UPDATE": "off",
            **self.extra_env,
        }
        console = free_port()
        with open(self.log_path, "ab") as log:
            process = subprocess.Popen(
                [
                    str(binary),
                    "server",
                    str(self.data_dir),
                    "--quiet",
                    "--address",
                    f"127.0.0.1:{self.port}",
                    "--console-address",
                    f"127.0.0.1:{console}",
                ],
                env=env,
                stdout=log,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
                start_new_session=detach,
            )
        self.pid = process.pid
        self._process = process
        deadline = time.monotonic() + START_TIMEOUT
        while time.monotonic() < deadline:
            if process.poll() is not None:
                raise MinioError(f"MinIO exited with {process.returncode}: {self._log_tail()}")
            if self.healthy():
                return self
            time.sleep(0.1)
        self.stop()
        raise MinioError(
            f"MinIO did not become healthy in {START_TIMEOUT:.0f}s: {self._log_tail()}"
        )

    def healthy(self) -> bool:
        try:
            with urllib.request.urlopen(f"{self.endpoint}/minio/health/live", timeout=1) as r:
                return bool(r.status == 200)
        except (urllib.error.URLError, OSError):
            return False

    def stop(self, timeout: float = 15.0) -> None:
        """Stop the server: SIGTERM, then SIGKILL if it lingers."""
        if self.pid is None:
            return
        _terminate(self.pid, timeout)
        process = getattr(self, "_process", None)
        if process is not None:
            process.wait(timeout=timeout)
        self.pid = None

    def kill(self) -> None:
        """Kill the server at once (fault tests)."""
        if self.pid is not None:
            os.kill(self.pid, signal.SIGKILL)
            process = getattr(self, "_process", None)
            if process is not None:
                process.wait()
            self.pid = None

    def to_json(self) -> str:
        state = {k: v for k, v in dataclasses.asdict(self).items() if k != "extra_env"}
        state["data_dir"] = str(self.data_dir)
        return json.dumps(state)

    @classmethod
    def from_json(cls, text: str) -> MinioServer:
        state = json.loads(text)
        state["data_dir"] = Path(state["data_dir"])
        return cls(**state)

    def _log_tail(self) -> str:
        try:
            return self.log_path.read_text(errors="replace")[-2000:]
        except OSError:
            return "(no log)"


def _terminate(pid: int, timeout: float) -> None:
    try:
        os.kill(pid, signal.SIGTERM)
    except ProcessLookupError:
        return
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return
        if _is_zombie(pid):
            return
        time.sleep(0.1)
    with contextlib.suppress(ProcessLookupError):
        os.kill(pid, signal.SIGKILL)


def _is_zombie(pid: int) -> bool:
    try:
        return Path(f"/proc/{pid}/stat").read_text().split()[2] == "Z"
    except (OSError, IndexError):
        return False
