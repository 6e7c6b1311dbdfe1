"""Hostile input at the header reader (issue 14): every case ends, in one clear line.

Run ``pytest -s -k summary tests/catalog/test_hostile_headers.py`` for the table of
inputs tried, by kind, and what each got.
"""

from __future__ import annotations

import collections
import io
import re
import signal
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from catalog import NotFitsError, read_header, read_primary_header
from catalog._layout import BITPIX_VALUES, MAX_HEADER_BLOCKS
from tests.catalog.hostile_corpus import (
    ACCEPT,
    BLOCK,
    Case,
    Hdu,
    base_hdus,
    card,
    cases,
    join,
    with_card,
)

#: Far beyond what any case needs (all of them together take about a second): a case
#: that loops is reported by name instead of hanging the suite.
_HANG_SECONDS = 20


@contextmanager
def _no_hang(name: str) -> Iterator[None]:
    def stop(signum: int, frame: object) -> None:
        raise TimeoutError(f"{name}: still reading after {_HANG_SECONDS}s")

    previous = signal.signal(signal.SIGALRM, stop)
    signal.setitimer(signal.ITIMER_REAL, _HANG_SECONDS)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)


def outcome(case: Case) -> str:
    """ACCEPT, or the refusal's reason; checks the contract of a refusal on the way."""
    with _no_hang(case.name):
        try:
            read_header(case.data, case.name)
        except NotFitsError as exc:
            reason = exc.reason
            assert exc.source == case.name
            assert str(exc) == f"{case.name}: {reason}"
            assert reason.isprintable() and len(reason) <= 300, reason  # one short line
            return reason
    return ACCEPT


def _check(case: Case) -> None:
    got = outcome(case)
    if case.expect == ACCEPT:
        assert got == ACCEPT, f"{case.name}: refused: {got}"
    elif case.expect is not None:
        assert got != ACCEPT, f"{case.name}: accepted, expected {case.expect!r}"
        assert case.expect in got, f"{case.name}: {got!r} lacks {case.expect!r}"


_ALL = list(cases())
_KINDS = sorted({c.kind for c in _ALL})


@pytest.mark.parametrize("kind", _KINDS)
def test_hostile_cases(kind: str) -> None:
    for case in _ALL:
        if case.kind == kind:
            _check(case)


def _reason_class(reason: str) -> str:
    """A reason without its numbers and names, to count alike refusals together."""
    text = re.sub(r"'[^']*'", "'…'", reason)
    text = re.sub(r"0x[0-9a-f]{2}", "#HEX#", text)
    text = re.sub(r"(?<![A-Z])-?\d+(\*\*\d+)?", "N", text)
    return text.replace("#HEX#", "0xHH")[:90]


def test_hostile_summary() -> None:
    """The table for the issue's closing note; run with -s to see it."""
    table: dict[str, collections.Counter[str]] = collections.defaultdict(collections.Counter)
    for case in _ALL:
        got = outcome(case)
        table[case.kind]["accepted" if got == ACCEPT else "refused"] += 1
        table[case.kind]["reasons:" + ("accepted" if got == ACCEPT else _reason_class(got))] += 1
    total = sum(c["accepted"] + c["refused"] for c in table.values())
    lines = [f"{'kind':28} {'cases':>5} {'accepted':>8} {'refused':>7}"]
    for kind, counts in sorted(table.items()):
        n = counts["accepted"] + counts["refused"]
        lines.append(f"{kind:28} {n:5} {counts['accepted']:8} {counts['refused']:7}")
        for key, count in counts.most_common():
            if key.startswith("reasons:") and key != "reasons:accepted":
                lines.append(f"{'':30}{count:4} x {key.removeprefix('reasons:')}")
    lines.append(f"{'total':28} {total:5}")
    print("\n" + "\n".join(lines))
    assert total >= 300
    assert table["issue 14 regression"]["refused"] == 3


# Regressions: each of these failed (hung, merged, crashed) before the fix.


@pytest.mark.timeout(30)
def test_negative_data_size_is_refused_not_looped_on() -> None:
    primary = [card("SIMPLE", "T"), card("BITPIX", "8"), card("NAXIS", "0")]
    extension = [
        card("XTENSION", "'IMAGE   '"),
        card("BITPIX", "8"),
        card("NAXIS", "1"),
        card("NAXIS1", "-2880"),
        card("PCOUNT", "0"),
        card("GCOUNT", "1"),
    ]
    data = join([Hdu(primary, b""), Hdu(extension, b"")])
    assert len(data) == 2 * BLOCK  # the 2-block file of the issue
    with pytest.raises(NotFitsError, match="NAXIS1 -2880 is negative"):
        read_header(data, "hang.fits")


def test_primary_header_without_end_is_not_merged_with_the_next() -> None:
    hdus = base_hdus()
    data = join(hdus, [False, True, True])
    with pytest.raises(NotFitsError, match="no END card before the XTENSION card at byte 2880"):
        read_header(data, "merged.fits")
    with pytest.raises(NotFitsError, match="no END card before the XTENSION"):
        read_primary_header(data, "merged.fits")


def test_huge_header_is_read_only_up_to_the_cap(tmp_path: Path) -> None:
    path = tmp_path / "huge.fits"
    filler = b"COMMENT filler".ljust(80) * (100 * 2**20 // 80)  # the 100 MB
    path.write_bytes(card("SIMPLE", "T") + filler)

    class CountingFile(io.FileIO):
        read_bytes = 0

        def read(self, size: int = -1) -> bytes:
            data = super().read(size)
            self.read_bytes += len(data)
            return data

    with CountingFile(path) as file:
        with pytest.raises(NotFitsError, match=f"within {MAX_HEADER_BLOCKS} blocks"):
            read_header(file, "huge.fits")  # type: ignore[arg-type]
        assert file.read_bytes <= MAX_HEADER_BLOCKS * BLOCK + BLOCK


@pytest.mark.parametrize(
    ("value_card", "reason"),
    [
        ("X       = abc", "unreadable primary header: Unparsable card (X)"),
        ("X       = 'open", "unreadable primary header: Unparsable card (X)"),
        ("FOO     bar", "primary header is not valid FITS"),
        ("X       =1", "primary header is not valid FITS"),
    ],
)
def test_cards_astropy_cannot_read_are_one_line_refusals(value_card: str, reason: str) -> None:
    """Before: astropy's VerifyError escaped as a traceback; warnings went to stderr."""
    hdus = [Hdu([*base_hdus()[0].cards, value_card.encode().ljust(80)], b"")]
    with pytest.raises(NotFitsError) as info:
        read_header(join(hdus), "odd.fits")
    assert info.value.reason.startswith(reason) and "\n" not in info.value.reason


def test_trailing_part_of_an_extension_header_is_truncation() -> None:
    data = join(base_hdus())
    with pytest.raises(NotFitsError, match="truncated: HDU 1 at byte 2880 stops after 3"):
        read_header(data[: BLOCK + 3], "cut.fits")


# Property tests: whatever the structural values, the walk ends, and refuses in one line.

_structural = st.one_of(
    st.integers(min_value=-(2**70), max_value=2**70),
    st.integers(min_value=-3000, max_value=3000),
    st.sampled_from(["", "x", "1.0", "1e3", "0x10", "1_0", " 8 8", "T", "'8'"]),
)


@settings(max_examples=300, deadline=None)
@given(
    index=st.sampled_from([0, 1, 2]),
    keyword=st.sampled_from(["BITPIX", "NAXIS", "NAXIS1", "NAXIS2", "PCOUNT", "GCOUNT"]),
    value=_structural,
)
def test_any_structural_value_ends_in_a_header_or_one_line(
    index: int, keyword: str, value: int | str
) -> None:
    hdus = base_hdus()
    if not any(c.startswith(keyword.encode().ljust(8)) for c in hdus[index].cards):
        return  # the primary has no NAXIS1, PCOUNT or GCOUNT
    changed = with_card(hdus, index, keyword, card(keyword, str(value)))
    case = Case("property", f"{keyword}_{index}.fits", join(changed), None)
    if outcome(case) == ACCEPT:
        assert isinstance(value, int), value  # only a plain integer is accepted...
        if keyword == "BITPIX":
            assert value in BITPIX_VALUES
        else:
            assert value >= 0  # ...and never a negative size or count


@settings(max_examples=200, deadline=None)
@given(cut=st.integers(min_value=0, max_value=5 * BLOCK), junk=st.binary(max_size=400))
def test_cut_and_junk_ends_in_a_header_or_one_line(cut: int, junk: bytes) -> None:
    data = join(base_hdus())
    outcome(Case("property", "cut.fits", data[:cut] + junk, None))
