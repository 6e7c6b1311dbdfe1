"""``--format plain``: bare values for shell variables (issue 8.4: CSV quoted them)."""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner

from oods import Site
from oods.cli import main
from tests.cli_invoke import site_config_file

pytestmark = pytest.mark.usefixtures("clean_env")


def test_plain_prints_bare_values_one_row_per_line(site: Site, tmp_path: Path) -> None:
    sql = "SELECT 'a,b' AS ids, NULL AS none, 3 AS n UNION ALL SELECT 'c\"d', 'e', 4 ORDER BY n"
    args = ["--config", str(site_config_file(site, tmp_path)), "query", sql]
    plain = CliRunner().invoke(main, [*args, "--format", "plain"])
    assert plain.exit_code == 0, plain.output
    assert plain.stdout == 'a,b\t\t3\nc"d\te\t4\n'
    csv = CliRunner().invoke(main, [*args, "--format", "csv"])
    assert csv.stdout.splitlines()[1] == '"a,b",,3'  # what broke `oods put --inputs`


def test_calib_find_says_as_of_is_a_recording_time() -> None:
    result = CliRunner().invoke(main, ["calib", "find", "--help"])
    assert result.exit_code == 0
    text = " ".join(result.output.split())
    assert "A recording time" in text and "Not an observation time" in text
