"""The [retention] section: classes, marks and capacity, checked with one-line errors."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest

from oods import load_config
from oods.errors import ConfigError
from oods.retention_classes import RetentionSettings, load_retention, size_bytes

SITE = '[site]\nendpoint = "http://127.0.0.1:9000"\naccess_key = "a"\nsecret_key = "b"\n'


def write(folder: Path, retention: str) -> Path:
    path = folder / "oods.toml"
    path.write_text(SITE + "\n[retention]\n" + retention)
    return path


def test_defaults_without_a_file_or_a_section(clean_env: Path) -> None:
    assert load_retention() == RetentionSettings(classes={"cache": 30})
    (clean_env / "oods.toml").write_text(SITE)
    settings = load_retention()
    assert settings.classes == {"cache": 30} and settings.release_to == "cache"
    assert settings.capacity is None and (settings.low_water, settings.high_water) == (0.8, 0.9)


def test_a_full_section_is_read_and_the_site_config_still_loads(clean_env: Path) -> None:
    path = write(
        clean_env,
        'classes = { cache = 30, scratch = 2020-01-01 }\nrelease_to = "cache"\n'
        'capacity = "2TB"\nhigh_water = "95%"\nlow_water = 0.7\n',
    )
    settings = load_retention(path)
    assert settings.classes == {"cache": 30, "scratch": dt.date(2020, 1, 1)}
    assert settings.capacity == 2 * 10**12
    assert (settings.high_water, settings.low_water) == (0.95, 0.7)
    assert settings.is_expiring("scratch") and not settings.is_expiring("hold")
    assert load_config(path).endpoint == "http://127.0.0.1:9000"  # the section is allowed


@pytest.mark.parametrize(
    ("retention", "message"),
    [
        ("classes = { hold = 3 }", "'hold' is a fixed class that never expires"),
        ("classes = { pinned = 3 }", "'pinned' is a fixed class that never expires"),
        ("classes = { Cache = 3 }", "class name 'Cache' must be lower-case"),
        ("classes = { cache = 0 }", "class 'cache' must keep files at least 1 day"),
        ('classes = { cache = "30" }', "class 'cache' needs a number of days or a date"),
        ("classes = { scratch = 7 }", "release_to 'cache' is not an expiring class"),
        ('capacity = "lots"', "capacity: 'lots' is not a size"),
        ('low_water = "95%"', "low_water (95%) is above high_water (90%)"),
        ('high_water = "150%"', "high_water: '150%' must be between 0% and 100%"),
        ("days = 3", "unknown setting(s) days"),
    ],
)
def test_bad_values_name_the_file_and_the_reason(
    clean_env: Path, retention: str, message: str
) -> None:
    path = write(clean_env, retention + "\n")
    with pytest.raises(ConfigError) as caught:
        load_retention(path)
    assert str(caught.value).startswith(f"{path} [retention]")
    assert message in str(caught.value) and "\n" not in str(caught.value)


@pytest.mark.parametrize(
    ("text", "expected"),
    [("2TB", 2 * 10**12), ("500GiB", 500 * 2**30), ("1.5T", 15 * 10**11), (1024, 1024)],
)
def test_sizes(text: object, expected: int) -> None:
    assert size_bytes(text, "capacity") == expected
