"""An ingest in a child process that a test can freeze, step, kill -9 or wait for.

Stepping (SIGCONT, a few milliseconds of work, SIGSTOP, look at the bucket) is how a
test lands a SIGKILL at a chosen stage of an ingest without touching its code: the
bucket and the catalog are inspected while the process is frozen, so a stage that
lasts longer than one step cannot be missed.
"""

from __future__ import annotations

import dataclasses
import json
import os
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from pathlib import Path

from oods import SiteConfig

REPO_ROOT = Path(__file__).resolve().parents[2]


def config_fields(config: SiteConfig, **changes: object) -> dict[str, object]:
    """The config as JSON-able fields for the child (``source`` is the child's own)."""
    fields = dataclasses.asdict(config)
    fields.pop("source")
    fields.update(changes)
    return fields


class IngestProcess:
    """``ingest(site, paths)`` running in ``python -m tests.faults._workers``."""

    def __init__(self, fields: dict[str, object], paths: Sequence[Path | str]) -> None:
        # A file, not a pipe: a child that warns a lot must never block on a full pipe.
        self._stderr = tempfile.TemporaryFile()  # noqa: SIM115 (closed by kill or report)
        self.process = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "tests.faults._workers",
                json.dumps(fields, default=str),
                *(str(p) for p in paths),
            ],
            stdout=subprocess.PIPE,
            stderr=self._stderr,
            cwd=REPO_ROOT,
        )

    @property
    def running(self) -> bool:
        return self.process.poll() is None

    def step_until(
        self, condition: Callable[[], bool], step: float = 0.003, timeout: float = 180.0
    ) -> bool:
        """Run the child in steps of ``step`` seconds until ``condition()`` holds.

        Returns:
            True with the child frozen (SIGSTOP) when the condition held; False if the
            child exited first.

        Raises:
            TimeoutError: neither happened within ``timeout`` seconds.
        """
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            os.kill(self.process.pid, signal.SIGCONT)
            time.sleep(step)
            os.kill(self.process.pid, signal.SIGSTOP)
            if not self.running:
                return False
            if condition():
                return True
        self.kill()
        raise TimeoutError(f"the ingest did not reach the stage within {timeout:.0f}s")

    def wait_until(
        self, condition: Callable[[], bool], freeze: bool = False, timeout: float = 180.0
    ) -> bool:
        """Let the child run freely until ``condition()`` holds (True) or it exits (False).

        With ``freeze`` the child is frozen (SIGSTOP) as soon as the condition is seen:
        cheaper than stepping when a stage lasts long enough to be seen while running.
        """
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if condition():
                if freeze:
                    os.kill(self.process.pid, signal.SIGSTOP)
                return True
            if not self.running:
                return False
            time.sleep(0.02)
        self.kill()
        raise TimeoutError(f"the ingest did not reach the stage within {timeout:.0f}s")

    def run_for(self, seconds: float) -> bool:
        """Let a frozen child run ``seconds``, then freeze it again; False if it exited."""
        os.kill(self.process.pid, signal.SIGCONT)
        time.sleep(seconds)
        os.kill(self.process.pid, signal.SIGSTOP)
        return self.running

    def resume(self) -> None:
        """Let a frozen child run on (SIGCONT)."""
        if self.running:
            os.kill(self.process.pid, signal.SIGCONT)

    def kill(self) -> None:
        """SIGKILL: no handler, no cleanup, no flush; as a power cut for this process."""
        if self.running:
            self.process.send_signal(signal.SIGKILL)
        self.process.wait(timeout=30)
        self._close()

    def report(self, timeout: float = 240.0) -> dict[str, object]:
        """Wait for the child to finish and return its ingest report."""
        try:
            out, _ = self.process.communicate(timeout=timeout)
        except subprocess.TimeoutExpired:
            self.kill()
            raise
        self._stderr.seek(0)
        err = self._stderr.read().decode(errors="replace")[-2000:]
        self._close()
        if self.process.returncode != 0:
            raise AssertionError(f"ingest child exited with {self.process.returncode}: {err}")
        report: dict[str, object] = json.loads(out)
        return report

    def _close(self) -> None:
        if self.process.stdout is not None:
            self.process.stdout.close()
        self._stderr.close()
