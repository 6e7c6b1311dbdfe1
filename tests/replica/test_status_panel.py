"""The replica backlog on the status page: found through the ``oods.status_panels``
entry point (oods cannot import replica), against two real servers."""

from __future__ import annotations

from pathlib import Path

import pytest

from oods import Site, ingest
from oods.sites import site_secret_variables
from oods.web.site_view import plugin_panels
from tests.cli_invoke import site_config_file


def test_the_panel_shows_the_push_backlog_from_the_catalogs(
    site: Site, dbb: Site, night: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    assert ingest(site, [night]).summary()["failed"] == 0
    config = site_config_file(site, tmp_path)
    with config.open("a") as file:
        file.write(f'\n[sites.dbb]\nendpoint = "{dbb.config.endpoint}"\nbucket = "{dbb.bucket}"\n')
    access, secret = site_secret_variables("dbb")
    monkeypatch.setenv(access, dbb.config.access_key)
    monkeypatch.setenv(secret, dbb.config.secret_key)
    panel = plugin_panels(site, config)["replica"]
    assert (panel["configured"], panel["reachable"], panel["other"]) == (True, True, "dbb")
    site.refresh()
    count, size, oldest = site.sql(
        "SELECT count(*), sum(size), min(stored_at) FROM files"
    ).fetchall()[0]
    assert (panel["push"]["datasets"], panel["push"]["bytes"]) == (count, size) == (20, size)
    assert panel["push"]["oldest"] == oldest.isoformat()
    assert panel["pull"]["datasets"] == 0


def test_without_a_dbb_section_the_panel_says_not_configured(site: Site, tmp_path: Path) -> None:
    config = site_config_file(site, tmp_path)
    assert plugin_panels(site, config)["replica"] == {"configured": False, "other": "dbb"}
