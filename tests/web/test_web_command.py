"""``oods web`` as a user runs it: a process serving on loopback, and a port in use is
one line and exit 1, not a traceback."""

from __future__ import annotations

import json
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

from oods.cli.web import bind

from .conftest import Night

OODS = str(Path(sys.executable).parent / "oods")


def test_oods_web_serves_the_api(night_site: Night) -> None:
    sock = bind("127.0.0.1", 0)  # a free port, released for the command to take
    port = sock.getsockname()[1]
    sock.close()
    command = [OODS, "--config", str(night_site.config), "web", "--port", str(port)]
    process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        assert process.stdout is not None
        line = process.stdout.readline()
        assert line.strip() == f"serving the status page on http://127.0.0.1:{port}/ (Ctrl-C stops)"
        deadline = time.monotonic() + 60
        while True:
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/api", timeout=10) as answer:
                    assert "/api/night" in json.load(answer)["endpoints"]
                break
            except OSError:
                assert time.monotonic() < deadline, "oods web did not answer"
                time.sleep(0.2)
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/", timeout=10) as answer:
            assert b'src="/static/app.js"' in answer.read()
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/static/app.js", timeout=10) as js:
            assert b"https://" not in js.read()  # nothing fetched from the internet
    finally:
        process.terminate()
        process.wait(30)


def test_a_port_in_use_is_one_line(night_site: Night) -> None:
    taken = bind("127.0.0.1", 0)
    port = taken.getsockname()[1]
    try:
        result = subprocess.run(
            [OODS, "--config", str(night_site.config), "web", "--port", str(port)],
            capture_output=True,
            text=True,
            timeout=120,
        )
    finally:
        taken.close()
    assert result.returncode == 1
    assert result.stderr.strip().splitlines() == [
        f"Error: cannot listen on 127.0.0.1:{port}: Address already in use"
    ]
