"""A distributed, erasure-coded MinIO on one machine: N server processes on 127.0.0.1.

Every node is started with the same explicit list of all drives (``http://host:port/dir``
per drive, no ``{1...n}`` ellipses, which would make each argument its own pool), so the
N x drives form one erasure set and any node serves the whole bucket. Killing a node
leaves reads and writes running through the others, which is what the fault tests need.

Two settings make loopback clusters work in a container: ``_MINIO_SERVER_LOCAL`` tells
each node which endpoint is its own (otherwise MinIO waits for loopback hosts to
"resolve"), and ``MINIO_CI_CD`` lets distributed drives live on the root filesystem.
A real deployment needs neither (see the README, "Running on a multi-node MinIO").
"""

from __future__ import annotations

import dataclasses
import json
import os
import secrets
import signal
import subprocess
import time
import urllib.error
import urllib.request
from pathlib import Path

from .access import admin_client
from .minio_server import MinioError, free_port, minio_binary

#: A cold cluster has to find all its peers and format every drive first.
CLUSTER_START_TIMEOUT = 120.0
HEALTH_TIMEOUT = 2.0


@dataclasses.dataclass
class _Node:
    index: int
    port: int
    console_port: int
    drives: list[Path]
    process: subprocess.Popen[bytes] | None = None

    @property
    def host(self) -> str:
        return f"127.0.0.1:{self.port}"

    @property
    def endpoint(self) -> str:
        return f"http://{self.host}"


@dataclasses.dataclass
class MinioCluster:
    """``nodes`` MinIO servers with ``drives`` drives each, as one erasure-coded cluster.

    Example:
        >>> cluster = MinioCluster(Path("/tmp/cluster")).start()   # 4 nodes x 2 drives
        >>> cluster.endpoint                                       # any live node serves all
        'http://127.0.0.1:40123'
        >>> cluster.kill_node(2); cluster.restart_node(2)
        >>> cluster.stop()
    """

    base_dir: Path
    nodes: int = 4
    drives: int = 2
    access_key: str = dataclasses.field(default_factory=lambda: "oods-" + secrets.token_hex(4))
    secret_key: str = dataclasses.field(default_factory=lambda: secrets.token_urlsafe(24))
    _nodes: list[_Node] = dataclasses.field(default_factory=list, repr=False)

    def __post_init__(self) -> None:
        if self.nodes < 2 or self.nodes * self.drives < 4:
            raise ValueError("a distributed MinIO needs at least 2 nodes and 4 drives in all")

    @property
    def endpoints(self) -> list[str]:
        """Every node's S3 endpoint, in node order."""
        return [node.endpoint for node in self._nodes]

    @property
    def endpoint(self) -> str:
        """The S3 endpoint of the first live node (all nodes serve the same buckets)."""
        for node in self._nodes:
            if self.is_running(node.index):
                return node.endpoint
        raise MinioError("no node of the cluster is running")

    def drive_dirs(self, index: int) -> list[Path]:
        """The data folders of node ``index`` (to look at what a node holds on disk)."""
        return list(self._nodes[index].drives)

    def log_path(self, index: int) -> Path:
        return self.base_dir / f"node{index}.minio.log"

    def start(self) -> MinioCluster:
        """Start every node and wait until the cluster has write quorum on each of them.

        Raises:
            MinioError: a node exited, or the cluster did not form in time.
        """
        minio_binary()  # build it once, before N processes want it
        self.base_dir.mkdir(parents=True, exist_ok=True)
        self._nodes = [
            _Node(
                index=i,
                port=free_port(),
                console_port=free_port(),
                drives=[self.base_dir / f"node{i}" / f"d{d + 1}" for d in range(self.drives)],
            )
            for i in range(self.nodes)
        ]
        for node in self._nodes:
            self._launch(node)
        try:
            for node in self._nodes:
                self._wait_healthy(node, CLUSTER_START_TIMEOUT)
        except MinioError:
            self.stop()
            raise
        return self

    def kill_node(self, index: int) -> None:
        """SIGKILL one node (a crashed server or a pulled power cord)."""
        node = self._nodes[index]
        if node.process is not None:
            node.process.send_signal(signal.SIGKILL)
            node.process.wait()
            node.process = None

    def restart_node(self, index: int, timeout: float = CLUSTER_START_TIMEOUT) -> None:
        """Start a stopped node again on its old port and drives; wait until it serves."""
        node = self._nodes[index]
        if node.process is not None:
            raise MinioError(f"node {index} is still running")
        self._launch(node)
        self._wait_healthy(node, timeout)

    def is_running(self, index: int) -> bool:
        process = self._nodes[index].process
        return process is not None and process.poll() is None

    def healthy(self, index: int) -> bool:
        """Node ``index`` answers and sees write quorum for the whole cluster."""
        url = f"{self._nodes[index].endpoint}/minio/health/cluster"
        try:
            with urllib.request.urlopen(url, timeout=HEALTH_TIMEOUT) as response:
                return bool(response.status == 200)
        except (urllib.error.URLError, OSError):
            return False

    def drives_online(self, via: int = 0) -> int:
        """How many drives of the cluster node ``via`` sees online (admin API).

        A restarted node is healthy before its peers have reconnected to it; heals
        only start once they have, so tests wait for all drives to be back first.
        """
        admin = admin_client(self._nodes[via].endpoint, self.access_key, self.secret_key)
        info = json.loads(admin.info())
        return sum(
            drive.get("state") == "ok"
            for server in info.get("servers", [])
            for drive in server.get("drives", [])
        )

    def stop(self, timeout: float = 15.0) -> None:
        """Stop every node: SIGTERM, then SIGKILL for any that lingers."""
        for node in self._nodes:
            if node.process is not None and node.process.poll() is None:
                node.process.terminate()
        deadline = time.monotonic() + timeout
        for node in self._nodes:
            if node.process is None:
                continue
            try:
                node.process.wait(timeout=max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                node.process.kill()
                node.process.wait()
            node.process = None

    def _launch(self, node: _Node) -> None:
        for drive in node.drives:
            drive.mkdir(parents=True, exist_ok=True)
        all_drives = [
            f"http://{other.host}{drive}" for other in self._nodes for drive in other.drives
        ]
        env = {
            **os.environ,
            "MINIO_ROOT_USER": self.access_key,
            "MINIO_ROOT_PASSWORD": self.secret_key,
            "MINIO_BROWSER": "off",
            "MINIO_UPDATE": "off",
            "MINIO_CI_CD": "1",
            "_MINIO_SERVER_LOCAL": node.host,
        }
        with open(self.log_path(node.index), "ab") as log:
            node.process = subprocess.Popen(
                [
                    str(minio_binary()),
                    "server",
                    "--quiet",
                    "--address",
                    node.host,
                    "--console-address",
                    f"127.0.0.1:{node.console_port}",
                    *all_drives,
                ],
                env=env,
                stdout=log,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
            )

    def _wait_healthy(self, node: _Node, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if node.process is None or node.process.poll() is not None:
                raise MinioError(f"MinIO node {node.index} exited: {self._log_tail(node)}")
            if self.healthy(node.index):
                return
            time.sleep(0.2)
        raise MinioError(
            f"MinIO node {node.index} did not join a healthy cluster in {timeout:.0f}s: "
            f"{self._log_tail(node)}"
        )

    def _log_tail(self, node: _Node) -> str:
        try:
            return self.log_path(node.index).read_text(errors="replace")[-2000:]
        except OSError:
            return "(no log)"
