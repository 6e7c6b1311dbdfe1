"""What every benchmark prints about its run: the command, the machine, the load.

Figures from a shared 2-core machine are noisy; a reader needs the load beside them to
judge a figure, and the command to measure it again.
"""

from __future__ import annotations

import os
import platform
import shlex
import sys
from typing import Any


def command_line() -> str:
    return " ".join(shlex.quote(a) for a in [sys.executable, *sys.argv])


def machine() -> dict[str, Any]:
    """The machine and the versions that decide the figures; call at the start."""
    import boto3
    import deltalake
    import duckdb
    import pyarrow as pa

    return {
        "nproc": os.cpu_count(),
        "loadavg": os.getloadavg(),
        "affinity": len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else None,
        "platform": platform.platform(),
        "python": platform.python_version(),
        "versions": {
            "boto3": boto3.__version__,
            "deltalake": deltalake.__version__,
            "duckdb": duckdb.__version__,
            "pyarrow": pa.__version__,
        },
    }


def finished(info: dict[str, Any]) -> None:
    """Record the load at the end (``machine()``'s result, changed in place)."""
    info["loadavg_end"] = os.getloadavg()


def header(command: str, info: dict[str, Any]) -> list[str]:
    """The lines to print before the figures: command, machine, load (with a warning)."""
    versions = ", ".join(f"{k} {v}" for k, v in info["versions"].items())
    start = info["loadavg"][0]
    end = info.get("loadavg_end", info["loadavg"])[0]
    busy = max(start, end) > 0.5 * (info["nproc"] or 1)
    return [
        f"command: {command}",
        f"machine: nproc={info['nproc']} ({info['platform']}, Python {info['python']}; {versions})",
        f"load average (1 min): {start:.2f} at start, {end:.2f} at end"
        + ("  -- other processes shared the CPUs: expect noise" if busy else ""),
    ]
