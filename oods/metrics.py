"""Prometheus metrics and ``/healthz`` of ``oods serve``, on loopback only.

A registry of its own (not the process-wide default), so two services in one process,
or a test, never share counters.
"""

from __future__ import annotations

import http.server
import json
import threading
import time
from typing import Any

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest
from prometheus_client.exposition import CONTENT_TYPE_LATEST

#: The default port of /metrics and /healthz on 127.0.0.1 (0 asks for a free one).
DEFAULT_METRICS_PORT = 9464
LATENCY_BUCKETS = (0.1, 0.25, 0.5, 0.75, 1.0, 1.5, 2.0, 3.0, 5.0, 10.0, 30.0, 60.0)


class ServiceMetrics:
    """What ``oods serve`` counts; names are prefixed ``oods_serve_``."""

    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        r = self.registry
        self.files = Counter("oods_serve_files", "Files handled, by status", ["status"], registry=r)
        self.bytes = Counter("oods_serve_bytes_ingested", "Bytes ingested", registry=r)
        self.failures = Counter(
            "oods_serve_failures", "Files rejected, by reason class", ["reason"], registry=r
        )
        self.latency = Histogram(
            "oods_serve_arrival_latency_seconds",
            "From a file complete in landing to its dataset queryable",
            buckets=LATENCY_BUCKETS,
            registry=r,
        )
        self.commit = Histogram(
            "oods_serve_commit_seconds", "Duration of one batch (ingest call)", registry=r
        )
        self.batches = Counter("oods_serve_batches", "Batches committed", registry=r)
        self.backlog = Gauge("oods_serve_backlog", "Files in landing not yet committed", registry=r)
        self.incomplete = Counter(
            "oods_serve_incomplete_exposures",
            "Exposures with fewer detectors than expected after the wait",
            registry=r,
        )
        self.loop_failures = Counter(
            "oods_serve_loop_failures", "Background loop runs that failed", ["loop"], registry=r
        )
        self.last_poll = Gauge(
            "oods_serve_last_poll_timestamp_seconds", "When landing was last polled", registry=r
        )
        self.last_poll_time = 0.0

    def polled(self) -> None:
        """Record that the main loop is alive and has just polled landing."""
        self.last_poll_time = time.time()
        self.last_poll.set(self.last_poll_time)


class MetricsServer:
    """``GET /metrics`` (Prometheus text) and ``GET /healthz`` on 127.0.0.1, in a thread.

    ``/healthz`` answers 200 while the main loop polled within ``stale_after`` seconds,
    else 503: a stuck service is unhealthy even though this thread still answers.
    """

    def __init__(self, metrics: ServiceMetrics, port: int, stale_after: float) -> None:
        self.metrics = metrics
        self.stale_after = stale_after
        handler = _handler(self)
        self._server = http.server.ThreadingHTTPServer(("127.0.0.1", port), handler)
        self._server.daemon_threads = True
        self._thread = threading.Thread(
            target=self._server.serve_forever, name="oods-metrics", daemon=True
        )

    @property
    def port(self) -> int:
        return int(self._server.server_address[1])

    def start(self) -> MetricsServer:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()

    def health(self) -> tuple[int, dict[str, Any]]:
        last = self.metrics.last_poll_time
        age = time.time() - last if last else None
        healthy = age is not None and age <= self.stale_after
        body = {"status": "ok" if healthy else "stale", "last_poll_age_seconds": age}
        return (200 if healthy else 503), body


def _handler(server: MetricsServer) -> type[http.server.BaseHTTPRequestHandler]:
    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            if self.path == "/metrics":
                self._send(200, CONTENT_TYPE_LATEST, generate_latest(server.metrics.registry))
            elif self.path == "/healthz":
                code, body = server.health()
                self._send(code, "application/json", json.dumps(body).encode())
            else:
                self._send(404, "text/plain", b"not found: try /metrics or /healthz\n")

        def _send(self, code: int, content_type: str, body: bytes) -> None:
            self.send_response(code)
            self.send_header("Content-Type", content_type)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, format: str, *args: Any) -> None:
            pass  # scrapes every few seconds: not worth a log line each

    return Handler
