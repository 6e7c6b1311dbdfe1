"""What the command-line tests share: an oods.toml for the test's own site."""

from __future__ import annotations

from pathlib import Path

import pytest

from oods import Site
from tests.cli_invoke import site_config_file


@pytest.fixture
def config(site: Site, tmp_path: Path) -> Path:
    """An oods.toml pointing at the test's own site (bucket)."""
    return site_config_file(site, tmp_path)
