"""Loading the site configuration: TOML, then OODS_* environment, validated once."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from oods import ConfigError, Site, SiteConfig, load_config
from oods.config import (
    DEFAULT_BATCH,
    DEFAULT_BUCKET,
    DEFAULT_CATALOG_PREFIX,
    DEFAULT_REGION,
    DEFAULT_RUN,
    DEFAULT_WORKERS,
    SERVER_STATE,
)

SECRET = "s3cr3t-Do-Not-Print-9f8e7d"
pytestmark = pytest.mark.usefixtures("clean_env")


def write(tmp_path: Path, text: str, name: str = "oods.toml") -> Path:
    path = tmp_path / name
    path.write_text(text)
    return path


FULL = f"""
[site]
endpoint = "http://127.0.0.1:9000"
bucket = "summit"
access_key = "summit-user"
secret_key = "{SECRET}"
region = "eu-west-1"
catalog_prefix = "meta/_catalog"
timeout = 20

[ingest]
run = "{{instrument}}/raw/summit"
workers = 3
batch_size = 250
corrections = "corrections.yaml"
"""


def test_load_full_toml(tmp_path: Path) -> None:
    path = write(tmp_path, FULL)
    config = load_config(path)
    assert config == SiteConfig(
        endpoint="http://127.0.0.1:9000",
        access_key="summit-user",
        secret_key=SECRET,
        bucket="summit",
        region="eu-west-1",
        catalog_prefix="meta/_catalog",
        run="{instrument}/raw/summit",
        workers=3,
        batch_size=250,
        corrections=Path("corrections.yaml"),
        timeout=20.0,
        source=str(path),
    )
    assert config.catalog_root == "s3://summit/meta/_catalog"
    assert config.storage_options() == {
        "AWS_ENDPOINT_URL": "http://127.0.0.1:9000",
        "AWS_ACCESS_KEY_ID": "summit-user",
        "AWS_SECRET_ACCESS_KEY": SECRET,
        "AWS_REGION": "eu-west-1",
        "AWS_ALLOW_HTTP": "true",
        # Every network call of the catalog is bounded; a whole request (body
        # included) gets 3 x the site's timeout, retries included.
        "connect_timeout": "5000ms",
        "timeout": "60000ms",
        "max_retries": "3",
        "retry_timeout": "60000ms",
    }


def test_defaults(tmp_path: Path) -> None:
    config = load_config(
        write(
            tmp_path,
            f'[site]\nendpoint = "https://s3.example.org"\n'
            f'access_key = "a"\nsecret_key = "{SECRET}"\n',
        )
    )
    assert config.bucket == DEFAULT_BUCKET
    assert config.region == DEFAULT_REGION
    assert config.catalog_prefix == DEFAULT_CATALOG_PREFIX
    assert config.run == DEFAULT_RUN
    assert config.workers == DEFAULT_WORKERS
    assert config.batch_size == DEFAULT_BATCH
    assert config.corrections is None
    assert config.storage_options()["AWS_ALLOW_HTTP"] == "false"


def test_path_from_oods_config_then_cwd(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    elsewhere = write(tmp_path, FULL, "elsewhere.toml")
    monkeypatch.setenv("OODS_CONFIG", str(elsewhere))
    assert load_config().source == str(elsewhere)
    monkeypatch.delenv("OODS_CONFIG")
    write(Path.cwd(), FULL.replace('"summit"', '"from-cwd"'))
    config = load_config()
    assert config.source == "oods.toml"
    assert config.bucket == "from-cwd"


def test_env_overrides_toml(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = write(tmp_path, FULL)
    monkeypatch.setenv("OODS_ENDPOINT", "https://s3.dbb.example.org")
    monkeypatch.setenv("OODS_BUCKET", "dbb")
    monkeypatch.setenv("OODS_ACCESS_KEY", "env-user")
    monkeypatch.setenv("OODS_SECRET_KEY", "env-secret")
    monkeypatch.setenv("OODS_REGION", "us-west-2")
    config = load_config(path)
    assert config.endpoint == "https://s3.dbb.example.org"
    assert config.bucket == "dbb"
    assert config.access_key == "env-user"
    assert config.secret_key == "env-secret"
    assert config.region == "us-west-2"
    assert config.workers == 3  # not overridden: from the file


def test_empty_env_variable_does_not_override(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("OODS_BUCKET", "")
    assert load_config(write(tmp_path, FULL)).bucket == "summit"


def test_secrets_from_env_only(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = write(tmp_path, '[site]\nendpoint = "http://127.0.0.1:9000"\n')
    monkeypatch.setenv("OODS_ACCESS_KEY", "k")
    monkeypatch.setenv("OODS_SECRET_KEY", SECRET)
    config = load_config(path)
    assert (config.access_key, config.secret_key) == ("k", SECRET)


def test_aws_variables_are_the_last_resort(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = write(tmp_path, '[site]\nendpoint = "http://127.0.0.1:9000"\n')
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "aws-user")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "aws-secret")
    assert load_config(path).access_key == "aws-user"
    monkeypatch.setenv("OODS_ACCESS_KEY", "oods-user")
    assert load_config(path).access_key == "oods-user"


def test_environment_alone(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OODS_ENDPOINT", "http://127.0.0.1:9000")
    monkeypatch.setenv("OODS_ACCESS_KEY", "k")
    monkeypatch.setenv("OODS_SECRET_KEY", SECRET)
    config = load_config()
    assert config.endpoint == "http://127.0.0.1:9000"
    assert config.bucket == DEFAULT_BUCKET
    assert config.source == "environment"


def test_overrides_win_and_none_is_ignored(tmp_path: Path) -> None:
    config = load_config(write(tmp_path, FULL), bucket="override", workers=None)
    assert config.bucket == "override"
    assert config.workers == 3


def test_embedded_default_from_server_state(tmp_path: Path) -> None:
    home = tmp_path / "home"
    home.mkdir()
    (home / SERVER_STATE).write_text(
        json.dumps(
            {
                "port": 9123,
                "access_key": "oods-abc",
                "secret_key": SECRET,
                "pid": 1,
                "data_dir": str(home / "data"),
            }
        )
    )
    config = load_config()
    assert config.endpoint == "http://127.0.0.1:9123"
    assert (config.access_key, config.secret_key) == ("oods-abc", SECRET)
    assert config.bucket == DEFAULT_BUCKET


def test_nothing_configured() -> None:
    with pytest.raises(ConfigError, match="oods up"):
        load_config()


def test_missing_file(tmp_path: Path) -> None:
    missing = tmp_path / "nope.toml"
    with pytest.raises(ConfigError, match="not found") as info:
        load_config(missing)
    assert str(missing) in str(info.value)


def test_bad_toml(tmp_path: Path) -> None:
    path = write(tmp_path, f'[site\nsecret_key = "{SECRET}"\n')
    with pytest.raises(ConfigError, match="cannot read config") as info:
        load_config(path)
    assert str(path) in str(info.value)


@pytest.mark.parametrize(
    ("site_extra", "tail", "match"),
    [
        ('colour = "blue"', "", "unknown setting.*colour"),
        ('source = "forged"', "", "unknown setting.*source"),
        ("", "[ingest]\nwrokers = 4", r"unknown setting.*\[ingest\].*wrokers"),
        ("", '[replica]\ndbb = "x"', r"unknown section.*replica"),
    ],
)
def test_unknown_key_or_section(tmp_path: Path, site_extra: str, tail: str, match: str) -> None:
    text = (
        f'[site]\nendpoint = "http://127.0.0.1:9000"\naccess_key = "k"\n'
        f'secret_key = "{SECRET}"\n{site_extra}\n\n{tail}\n'
    )
    with pytest.raises(ConfigError, match=match) as info:
        load_config(write(tmp_path, text))
    assert SECRET not in str(info.value)


@pytest.mark.parametrize("endpoint", ["127.0.0.1:9000", "s3://bucket", "ftp://host", ""])
def test_bad_endpoint(tmp_path: Path, endpoint: str) -> None:
    path = write(
        tmp_path, f'[site]\nendpoint = "{endpoint}"\naccess_key = "k"\nsecret_key = "{SECRET}"\n'
    )
    with pytest.raises(ConfigError, match="http://") as info:
        load_config(path)
    assert SECRET not in str(info.value)


def test_endpoint_not_set(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="endpoint is not set"):
        load_config(write(tmp_path, '[site]\nbucket = "b"\n'))


@pytest.mark.parametrize(
    "fields",
    ['access_key = "k"', f'secret_key = "{SECRET}"', 'access_key = ""\nsecret_key = ""', ""],
)
def test_no_credentials(tmp_path: Path, fields: str) -> None:
    path = write(tmp_path, f'[site]\nendpoint = "http://127.0.0.1:9000"\n{fields}\n')
    with pytest.raises(ConfigError, match="no credentials") as info:
        load_config(path)
    assert SECRET not in str(info.value)


@pytest.mark.parametrize(
    ("text", "match"),
    [
        ("[site]\nendpoint = 9000\n", "endpoint must be a string"),
        ('[ingest]\nworkers = "8"\n', "workers must be an integer"),
        ("[ingest]\nworkers = true\n", "workers must be an integer"),
        ("[ingest]\nworkers = 0\n", "at least 1"),
        ("[ingest]\nbatch_size = -5\n", "at least 1"),
        ('[ingest]\nrun = "raw/all"\n', "instrument"),
        ('[site]\ncatalog_prefix = "/"\n', "catalog_prefix"),
        ('site = "http://127.0.0.1:9000"\n', "must be tables"),
    ],
)
def test_invalid_values(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, text: str, match: str
) -> None:
    monkeypatch.setenv("OODS_ACCESS_KEY", "k")
    monkeypatch.setenv("OODS_SECRET_KEY", SECRET)
    if "endpoint" not in text:
        monkeypatch.setenv("OODS_ENDPOINT", "http://127.0.0.1:9000")
    with pytest.raises(ConfigError, match=match) as info:
        load_config(write(tmp_path, text))
    assert SECRET not in str(info.value)


def test_config_error_is_a_value_error() -> None:
    assert issubclass(ConfigError, ValueError)


def test_repr_never_shows_the_secret(tmp_path: Path) -> None:
    config = load_config(write(tmp_path, FULL))
    assert SECRET not in repr(config)
    assert SECRET not in str(config)
    assert "summit-user" not in repr(config)  # the access key is kept out too
    assert "summit" in repr(config)


def test_config_is_frozen(tmp_path: Path) -> None:
    config = load_config(write(tmp_path, FULL))
    with pytest.raises(AttributeError):
        config.bucket = "other"  # type: ignore[misc]


@pytest.mark.parametrize("bucket", ["b0", "Upper", "-start", "a" * 64, "two..dots", "under_score"])
def test_invalid_bucket_names_are_config_errors(bucket: str) -> None:
    with pytest.raises(ConfigError, match="not a valid S3 bucket name"):
        SiteConfig(endpoint="http://127.0.0.1:9000", access_key="a", secret_key="b", bucket=bucket)


def test_non_utf8_file_is_a_config_error(tmp_path: Path) -> None:
    path = tmp_path / "oods.toml"
    path.write_bytes(b'[site]\nendpoint = "http://127.0.0.1:9000"\nbucket = "caf\xe9"\n')
    with pytest.raises(ConfigError, match="not UTF-8") as info:
        load_config(path)
    assert str(path) in str(info.value)


@pytest.mark.parametrize(
    ("endpoint", "match"),
    [
        ("http://[::1", "not a valid URL"),
        ("http://", "names no host"),
        ("http://:9000", "names no host"),
        ("http://127.0.0.1:99999", "not a valid URL"),
        ("http://127.0.0.1:port", "not a valid URL"),
    ],
)
def test_endpoint_needs_a_host_and_a_valid_port(endpoint: str, match: str) -> None:
    with pytest.raises(ConfigError, match=match):
        SiteConfig(endpoint=endpoint, access_key="a", secret_key=SECRET)


def test_valid_endpoints() -> None:
    for endpoint in ("http://127.0.0.1:9000", "https://s3.example.org", "http://[::1]:9000"):
        assert SiteConfig(endpoint=endpoint, access_key="a", secret_key=SECRET).endpoint


@pytest.mark.parametrize(
    "run", ["{instrument}/{0}", "{instrument}/../x", "{instrument}/a b", "{instrument}/{other}"]
)
def test_run_setting_is_validated(tmp_path: Path, run: str) -> None:
    text = FULL.replace("{instrument}/raw/summit", run)
    assert run in text
    with pytest.raises(ConfigError, match="invalid run"):
        load_config(write(tmp_path, text))


def test_embedded_state_found_from_any_directory(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("OODS_HOME")
    monkeypatch.setenv("XDG_STATE_HOME", str(tmp_path / "state"))
    home = tmp_path / "state" / "oods"
    home.mkdir(parents=True)
    (home / SERVER_STATE).write_text(
        json.dumps({"port": 9124, "access_key": "k", "secret_key": SECRET, "pid": None})
    )
    for directory in (tmp_path, home, tmp_path / "state"):
        monkeypatch.chdir(directory)
        assert load_config().endpoint == "http://127.0.0.1:9124"


def test_corrupt_embedded_state_is_a_config_error(tmp_path: Path) -> None:
    home = tmp_path / "home"
    home.mkdir()
    (home / SERVER_STATE).write_text("{not json")
    with pytest.raises(ConfigError, match="oods up"):
        load_config()


def test_a_server_started_in_this_folder_comes_first(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """`make demo` runs with OODS_HOME=.oods: from that folder, without OODS_HOME, its
    server is the one found (as ./oods.toml comes before the embedded default)."""
    monkeypatch.delenv("OODS_HOME")
    monkeypatch.setenv("XDG_STATE_HOME", str(tmp_path / "state"))
    user = tmp_path / "state" / "oods"
    user.mkdir(parents=True)
    (user / SERVER_STATE).write_text(
        json.dumps({"port": 9200, "access_key": "k", "secret_key": SECRET})
    )
    repo = tmp_path / "repo"
    (repo / ".oods").mkdir(parents=True)
    (repo / ".oods" / SERVER_STATE).write_text(
        json.dumps({"port": 9300, "access_key": "k", "secret_key": SECRET})
    )
    monkeypatch.chdir(repo)
    assert load_config().endpoint == "http://127.0.0.1:9300"
    monkeypatch.chdir(tmp_path)
    assert load_config().endpoint == "http://127.0.0.1:9200"


@pytest.mark.parametrize("value", ['"10"', "0", "true"])
def test_timeout_must_be_a_positive_number(tmp_path: Path, value: str) -> None:
    path = write(tmp_path, FULL.replace("timeout = 20", f"timeout = {value}"))
    with pytest.raises(ConfigError, match="timeout"):
        load_config(path)


def test_default_timeout_bounds_every_client() -> None:
    config = SiteConfig(endpoint="http://127.0.0.1:9000", access_key="a", secret_key="b")
    assert (config.timeout, config.connect_timeout) == (10.0, 5.0)
    assert config.storage_options()["timeout"] == "30000ms"
    client = Site(config).s3.meta.config
    assert (client.read_timeout, client.connect_timeout) == (10.0, 5.0)
    assert client.retries == {"total_max_attempts": 2, "mode": "standard"}
