"""Running the `oods` command in-process against a test's own site (click's CliRunner)."""

from __future__ import annotations

from pathlib import Path

from click.testing import CliRunner, Result

from oods import Site
from oods.cli import main


def write_config(path: Path, endpoint: str, bucket: str, access: str, secret: str) -> Path:
    """An oods.toml naming one site, with its keys (tests only: real configs take the
    keys from the environment)."""
    path.write_text(
        "[site]\n"
        f'endpoint = "{endpoint}"\n'
        f'bucket = "{bucket}"\n'
        f'access_key = "{access}"\n'
        f'secret_key = "{secret}"\n'
    )
    return path


def site_config_file(site: Site, folder: Path) -> Path:
    """``folder/oods.toml`` pointing at ``site``."""
    c = site.config
    return write_config(folder / "oods.toml", c.endpoint, c.bucket, c.access_key, c.secret_key)


def run(config: Path | None, *args: str, env: dict[str, str | None] | None = None) -> Result:
    """``oods [--config CONFIG] ARGS`` in-process; no config: the embedded default."""
    prefix = ["--config", str(config)] if config is not None else []
    return CliRunner(env=env).invoke(main, [*prefix, *args])


def ok(config: Path | None, *args: str) -> Result:
    """``run`` that must exit 0 (the output and exception are shown if not)."""
    result = run(config, *args)
    assert result.exit_code == 0, (result.output, result.exception)
    return result
