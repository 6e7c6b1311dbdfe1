"""Dependencies point one way (replica -> oods -> catalog): checked in a fresh interpreter.

As click's tests/test_imports.py: import the package in a subprocess and look at
``sys.modules``, so modules already imported by the test run cannot hide a leak.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parent.parent

_PROBE = """
import json, sys
import {package}
print(json.dumps(sorted({{name.partition(".")[0] for name in sys.modules}})))
"""


def imported_by(package: str) -> set[str]:
    """Top-level names of every module that ``import package`` loads."""
    result = subprocess.run(
        [sys.executable, "-c", _PROBE.format(package=package)],
        capture_output=True,
        text=True,
        cwd=REPO_ROOT,
        timeout=120,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    return set(json.loads(result.stdout))


@pytest.mark.parametrize(
    ("package", "forbidden"),
    [
        ("catalog", {"boto3", "botocore", "minio", "oods", "replica", "infra"}),
        ("oods", {"replica"}),
    ],
)
def test_import_pulls_nothing_upward(package: str, forbidden: set[str]) -> None:
    loaded = imported_by(package)
    assert package in loaded
    assert sorted(loaded & forbidden) == []


def test_oods_library_does_not_load_the_cli() -> None:
    # `oods` is the library; the command line (click, the MinIO launcher) loads on demand.
    loaded = imported_by("oods")
    assert sorted(loaded & {"click", "infra"}) == []
