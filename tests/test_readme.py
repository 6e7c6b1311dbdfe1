"""The README, run as a newcomer runs it: every command block, in order, as written.

The blocks are read from README.md, never copied here. Rule: every ```bash and
```python block runs, in the order of the file (the python blocks of one section in one
session, as in a notebook), unless the line before its opening fence
is an HTML comment starting ``<!-- not run`` (the make targets, benchmarks, and commands
that write outside the working folder). Bash blocks run with ``set -euo pipefail``,
Python blocks with this interpreter, all in one fresh folder with ``oods`` on the PATH
and no OODS_* or AWS variables, so the tour's ``oods up`` starts the embedded default
(a real MinIO, its state in ./.oods) and later blocks use it; ``oods down`` stops it
whatever happens. A non-zero exit of any command fails the test, and so does a file the
README makes (raw.fits) that is missing, or one it shows (`cat FILE` followed by
``#   line`` comments) that says something else.

Also here: the project reads nothing beside its checkout, and the Makefile's demo
targets follow $OODS_HOME.
"""

from __future__ import annotations

import dataclasses
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from tests.catalog.corpus import CORPUS, EXPECTED_FILE
from tests.conftest import OODS_VARIABLES

REPO = Path(__file__).resolve().parents[1]
README = REPO / "README.md"
BIN = Path(sys.executable).parent
#: Generous: each `oods` command spends seconds importing; a loaded machine is slow.
BLOCK_TIMEOUT = 600

_FENCE = re.compile(r"^```(\w*)\s*$")
_NOT_RUN = "<!-- not run"
_SHOWN = re.compile(r"^cat (\S+)\n((?:#   .*\n)+)", re.MULTILINE)


@dataclasses.dataclass(frozen=True)
class Block:
    """One fenced command block of the README, with where it is."""

    language: str
    code: str
    line: int  # of the opening fence, from 1
    section: str


def runnable_blocks(text: str) -> list[Block]:
    """The bash and python blocks to run, in order (see the module docstring's rule)."""
    blocks: list[Block] = []
    lines = text.splitlines()
    section, index = "", 0
    while index < len(lines):
        line = lines[index]
        if line.startswith("#"):
            section = line.lstrip("# ").strip()
        fence = _FENCE.match(line)
        if not fence:
            index += 1
            continue
        end = next(i for i in range(index + 1, len(lines)) if lines[i].startswith("```"))
        before = lines[index - 1].strip() if index else ""
        if fence.group(1) in ("bash", "python") and not before.startswith(_NOT_RUN):
            code = "\n".join(lines[index + 1 : end]) + "\n"
            last = blocks[-1] if blocks else None
            if last and fence.group(1) == last.language == "python" and last.section == section:
                # A notebook: a section's python blocks go on in the same session.
                blocks[-1] = dataclasses.replace(last, code=last.code + code)
            else:
                blocks.append(Block(fence.group(1), code, index + 1, section))
        index = end + 1
    return blocks


def newcomer_env(home: Path) -> dict[str, str]:
    """A shell as after `source .venv/bin/activate`, with nothing of ours configured."""
    env = {k: v for k, v in os.environ.items() if k not in OODS_VARIABLES}
    env["PATH"] = f"{BIN}{os.pathsep}{env.get('PATH', '')}"
    env["VIRTUAL_ENV"] = str(BIN.parent)
    env["HOME"] = str(home)  # nothing of the developer's ~/.config, ~/.aws
    return env


def run_block(block: Block, cwd: Path, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    command = (
        ["bash", "-euo", "pipefail", "-c", block.code]
        if block.language == "bash"
        else [sys.executable, "-c", block.code]
    )
    return subprocess.run(
        command, cwd=cwd, env=env, capture_output=True, text=True, timeout=BLOCK_TIMEOUT
    )


@pytest.mark.timeout(1800)
def test_every_readme_block_runs_as_written(tmp_path: Path) -> None:
    blocks = runnable_blocks(README.read_text())
    sections = {b.section for b in blocks}
    # The README's tour and walk-throughs are what must run; a lost block is a failure.
    for wanted in ("A quick tour", "Calibrations: a walk-through", "Correcting records"):
        assert wanted in sections, f"no runnable block in the README section {wanted!r}"
    workdir = tmp_path / "newcomer"
    workdir.mkdir()
    (tmp_path / "home").mkdir()
    env = newcomer_env(tmp_path / "home")
    try:
        for block in blocks:
            result = run_block(block, workdir, env)
            assert result.returncode == 0, (
                f"README.md line {block.line} ({block.section}, {block.language}) exited "
                f"{result.returncode}\n--- stdout\n{result.stdout[-3000:]}\n"
                f"--- stderr\n{result.stderr[-3000:]}"
            )
            assert "Traceback" not in result.stderr, result.stderr
    finally:
        subprocess.run(
            [str(BIN / "oods"), "down"], cwd=workdir, env=env, capture_output=True, timeout=60
        )
    raw = workdir / "raw.fits"
    assert raw.is_file() and raw.read_bytes()[:9] == b"SIMPLE  =", "curl did not fetch raw.fits"
    # What the README shows of a file (`cat FILE` then `#   line` comments) is what is there.
    for name, shown in _SHOWN.findall(README.read_text()):
        lines = [line.removeprefix("#   ") for line in shown.splitlines()]
        assert (workdir / name).read_text().splitlines() == lines, name


def test_the_block_rule_skips_only_marked_blocks() -> None:
    text = (
        "# Tour\n<!-- not run: make -->\n```bash\nmake demo\n```\n"
        "```bash\noods up\n```\n```toml\n[site]\n```\n## Notebook\n```python\nx = 1\n```\n"
        "```\nplain text\n```\n```python\nprint(x)\n```\n## Next\n```python\ny = 2\n```\n"
    )
    blocks = runnable_blocks(text)
    assert [(b.language, b.code, b.section) for b in blocks] == [
        ("bash", "oods up\n", "Tour"),
        ("python", "x = 1\nprint(x)\n", "Notebook"),
        ("python", "y = 2\n", "Next"),
    ]
    assert blocks[0].line == 6


def test_the_project_reads_nothing_beside_its_checkout() -> None:
    """Issue 8.1: the tests read the real-header corpus from a folder beside the clone."""
    assert CORPUS.is_relative_to(REPO / "tests" / "data") and EXPECTED_FILE.is_file()
    assert (REPO / "tests" / "data" / "README.md").is_file()
    outside = "..{}shared".format("/")  # spelled so as not to name the path itself
    offenders = [
        str(path.relative_to(REPO))
        for pattern in ("*.py", "*.toml", "*.cfg", "*.ini", "Makefile", "*.md", "*.sh")
        for path in REPO.rglob(pattern)
        if not path.relative_to(REPO).parts[0].startswith(".")
        and outside in path.read_text(errors="replace")
    ]
    assert offenders == []


def _make(target: str, home: Path, *flags: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if k not in OODS_VARIABLES}
    env["OODS_HOME"] = str(home)
    return subprocess.run(
        ["make", "--no-print-directory", "-C", str(REPO), *flags, target],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_make_demo_writes_its_night_under_oods_home(tmp_path: Path) -> None:
    home = tmp_path / "elsewhere"
    result = _make("demo", home, "-n")  # prints the commands, runs none
    assert result.returncode == 0, result.stderr
    assert f'--out "{home}/landing"' in result.stdout  # the camera writes, serve takes
    assert f'serve --landing "{home}/landing"' in result.stdout
    assert ".oods/" not in result.stdout


@pytest.mark.timeout(120)
def test_make_clean_demo_removes_the_demo_from_oods_home(tmp_path: Path) -> None:
    home = tmp_path / "elsewhere"
    for made in ("data/oods/x.part", "night/20250601/a.fits"):
        (home / made).parent.mkdir(parents=True)
        (home / made).write_text("x")
    (home / "notes.txt").write_text("mine")
    result = _make("clean-demo", home)
    assert result.returncode == 0, result.stderr
    assert sorted(p.name for p in home.iterdir()) == ["notes.txt"]
    (home / "notes.txt").unlink()
    assert _make("clean-demo", home).returncode == 0
    assert not home.exists()
