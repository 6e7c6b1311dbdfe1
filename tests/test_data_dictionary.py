"""docs/data-dictionary.md describes every column of every table and view, no more."""

from __future__ import annotations

import re
from pathlib import Path

from oods import Site, ingest, simulate_night

DICTIONARY = Path(__file__).resolve().parents[1] / "docs" / "data-dictionary.md"
_SECTION = re.compile(r"^## `(\w+)`")
_ROW = re.compile(r"^\| `(\w+)`(?: … `(\w+)`)? \|([^|]*)\|[^|]*\|([^|]*)\|")
_SAME_AS = re.compile(r"As in `(\w+)`")


def documented() -> dict[str, list[tuple[str, str]]]:
    """Each section's (column, type), ranges (`a` … `b`, "As in `t`") expanded."""
    sections: dict[str, list[tuple[str, str]]] = {}
    current: list[tuple[str, str]] | None = None
    for line in DICTIONARY.read_text().splitlines():
        if heading := _SECTION.match(line):
            current = sections.setdefault(heading.group(1), [])
        elif current is not None and (row := _ROW.match(line)):
            first, last, kind, meaning = row.groups()
            if last is None:
                current.append((first, kind.strip()))
                continue
            same = _SAME_AS.search(meaning)
            assert same, line
            names = [name for name, _ in sections[same.group(1)]]
            chosen = sections[same.group(1)][names.index(first) : names.index(last) + 1]
            current.extend(chosen)
    return sections


def test_every_column_of_every_table_and_view_is_documented(site: Site, tmp_path: Path) -> None:
    night = simulate_night(tmp_path / "night", detectors=2, exposures=2, seed=3, size=4)
    assert not ingest(site, night.files).failed
    columns = (
        site.snapshot()
        .connection.sql(
            "SELECT table_name, column_name, data_type FROM information_schema.columns "
            "ORDER BY table_name, ordinal_position"
        )
        .fetchall()
    )
    found: dict[str, list[tuple[str, str]]] = {}
    for table, column, kind in columns:
        found.setdefault(table, []).append((column, kind))
    history = {t for t in found if t.endswith("_history")}
    for table in history:  # T_history has T's columns (documented once, under T)
        assert found.pop(table) == found[table.removesuffix("_history")], table
    in_docs = documented()
    assert {t: sorted(c) for t, c in found.items()} == {t: sorted(c) for t, c in in_docs.items()}
    assert len(found) == 9 and all(len(c) >= 4 for c in found.values())
