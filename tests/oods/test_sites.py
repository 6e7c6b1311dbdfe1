"""Other sites named in the config file ([sites.<name>]), secrets from the environment."""

from __future__ import annotations

from pathlib import Path

import pytest

from oods import ConfigError, load_config
from oods.sites import (
    named_site_config,
    named_sites,
    site_secret_variables,
    standing_subsets,
)

pytestmark = pytest.mark.usefixtures("clean_env")

SECRET = "dbb-s3cr3t-Never-Printed-1a2b"

CONFIG = """
[site]
endpoint = "http://127.0.0.1:9000"
bucket = "summit"
access_key = "summit-user"
secret_key = "summit-secret"

[sites.dbb]
endpoint = "http://127.0.0.1:9100"
bucket = "archive"
region = "eu-west-1"
catalog_prefix = "meta/_catalog"

[sites.usdf-2]
endpoint = "https://usdf.example.org"
"""


def write(tmp_path: Path, text: str = CONFIG) -> Path:
    path = tmp_path / "oods.toml"
    path.write_text(text)
    return path


def set_secrets(monkeypatch: pytest.MonkeyPatch, name: str) -> None:
    access, secret = site_secret_variables(name)
    monkeypatch.setenv(access, f"{name}-user")
    monkeypatch.setenv(secret, SECRET)


def test_named_site_from_file_and_environment(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = write(tmp_path)
    set_secrets(monkeypatch, "dbb")
    config = named_site_config("dbb", path)
    assert (config.endpoint, config.bucket, config.region, config.catalog_prefix) == (
        "http://127.0.0.1:9100",
        "archive",
        "eu-west-1",
        "meta/_catalog",
    )
    assert (config.access_key, config.secret_key) == ("dbb-user", SECRET)
    assert SECRET not in repr(config)


def test_defaults_and_hyphenated_name(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = write(tmp_path)
    assert site_secret_variables("usdf-2") == (
        "OODS_SITE_USDF_2_ACCESS_KEY",
        "OODS_SITE_USDF_2_SECRET_KEY",
    )
    set_secrets(monkeypatch, "usdf-2")
    config = named_site_config("usdf-2", path)
    assert (config.bucket, config.catalog_prefix) == ("oods", "_catalog")


def test_found_like_load_config(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, clean_env: Path
) -> None:
    (clean_env / "oods.toml").write_text(CONFIG)
    set_secrets(monkeypatch, "dbb")
    assert named_site_config("dbb").bucket == "archive"
    monkeypatch.setenv("OODS_CONFIG", str(write(tmp_path, CONFIG.replace("archive", "other"))))
    assert named_site_config("dbb").bucket == "other"
    assert named_sites() == ["dbb", "usdf-2"]


def test_sites_section_does_not_break_load_config(tmp_path: Path) -> None:
    assert load_config(write(tmp_path)).bucket == "summit"


def test_missing_section_names_file_and_known_sites(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = write(tmp_path)
    with pytest.raises(ConfigError, match=r"oods\.toml: no \[sites\.usdf\].*dbb, usdf-2"):
        named_site_config("usdf", path)


def test_missing_secrets_name_the_variables(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match=r"OODS_SITE_DBB_ACCESS_KEY and \$OODS_SITE_DBB_SECRET"):
        named_site_config("dbb", write(tmp_path))


def test_no_config_file_at_all() -> None:
    with pytest.raises(ConfigError, match="no config file"):
        named_site_config("dbb")


@pytest.mark.parametrize(
    ("section", "reason"),
    [
        ('[sites.dbb]\nbucket = "x"\n', "endpoint is not set"),
        ('[sites.dbb]\nendpoint = "http://h:1"\nsecret_key = "s"\n', "unknown setting"),
        ('[sites.dbb]\nendpoint = "http://h:1"\nbucket = 3\n', "bucket must be a string"),
        ('[sites.dbb]\nendpoint = "ftp://h:1"\n', "must start with http"),
        ('sites = "dbb"\n', r"\[sites\] must hold tables"),
    ],
)
def test_invalid_sections(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, section: str, reason: str
) -> None:
    set_secrets(monkeypatch, "dbb")
    with pytest.raises(ConfigError, match=reason):
        named_site_config("dbb", write(tmp_path, section))


def test_invalid_name(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="invalid site name"):
        named_site_config("../dbb", write(tmp_path))


def test_standing_subsets(tmp_path: Path) -> None:
    path = write(tmp_path, CONFIG + 'standing = ["e.observation_type = \'bias\'", "TRUE"]\n')
    assert standing_subsets("usdf-2", path) == ["e.observation_type = 'bias'", "TRUE"]
    assert standing_subsets("dbb", path) == []
    bad = write(tmp_path, '[sites.dbb]\nendpoint = "http://h:1"\nstanding = "TRUE"\n')
    with pytest.raises(ConfigError, match="standing must be a list"):
        standing_subsets("dbb", bad)
