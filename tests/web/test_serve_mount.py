"""``oods serve --web-port``: the status page beside the service, stopped with it."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

from oods.cli.web import bind

from .conftest import Night

OODS = str(Path(sys.executable).parent / "oods")


def test_serve_mounts_the_status_page_and_stops_it_on_sigterm(
    night_site: Night, tmp_path: Path
) -> None:
    sock = bind("127.0.0.1", 0)
    port = sock.getsockname()[1]
    sock.close()
    landing = tmp_path / "landing"
    landing.mkdir()
    command = [OODS, "--config", str(night_site.config), "serve", "--landing", str(landing)]
    command += ["--no-metrics", "--no-deletion-events", "--web-port", str(port)]
    process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        deadline = time.monotonic() + 90
        while True:
            try:
                url = f"http://127.0.0.1:{port}/api/night"
                with urllib.request.urlopen(url, timeout=10) as answer:
                    night = json.load(answer)
                break
            except OSError:
                assert process.poll() is None, process.communicate()[1][-2000:]
                assert time.monotonic() < deadline, "the status page did not answer"
                time.sleep(0.2)
        assert night["day_obs"] == 20250601 and len(night["exposures"]) == 4
    finally:
        process.send_signal(signal.SIGTERM)
        out, err = process.communicate(timeout=60)
    assert process.returncode == 0, err[-2000:]
    assert out.startswith("stopped:")
    assert f"status page on http://127.0.0.1:{port}/" in err
