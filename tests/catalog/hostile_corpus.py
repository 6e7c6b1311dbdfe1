"""A corpus of hostile FITS inputs, generated (same seed, same bytes) from a valid file.

Each case is bytes with a kind (for the summary table) and what the header reader must
do with it: refuse with a reason containing ``expect``, accept it (``ACCEPT``), or
either (``None``: random inputs, where only the contract of a one-line error holds).
The tests feed the cases to ``read_header`` directly, to astropy for the differential
test, and as files on disk to a real ingest.
"""

from __future__ import annotations

import dataclasses
import io
import random
from collections.abc import Callable, Iterator

import numpy as np
from astropy.io import fits

BLOCK = 2880
CARD = 80
ACCEPT = "accept"
#: A header over the reader's cap (1000 blocks) of this many bytes, once in the corpus.
HUGE_HEADER_BYTES = 30 * 2**20


@dataclasses.dataclass(frozen=True)
class Case:
    kind: str
    name: str
    data: bytes
    expect: str | None  # a substring of the refusal, ACCEPT, or None (either)


@dataclasses.dataclass
class Hdu:
    """One HDU as cards (80 bytes each, END excluded) and its data bytes (unpadded)."""

    cards: list[bytes]
    data: bytes


def card(keyword: str, value: str, comment: str = "") -> bytes:
    """A fixed-format card; ``value`` is written as given (quote strings yourself)."""
    text = f"{keyword:<8}= {value:>20}"
    if comment:
        text += f" / {comment}"
    return text.encode("latin-1").ljust(CARD)[:CARD]


def base_hdus() -> list[Hdu]:
    """A small valid raw-like file: a primary header with plain cards, two images."""
    primary = fits.PrimaryHDU()
    header = primary.header
    header["INSTRUME"] = "LSSTCam"
    header["OBSID"] = "MC_O_20250601_000001"
    header["EXPTIME"] = 15.0
    header["FILTER"] = "r_57"
    header["HIERARCH STUTTER ROWS"] = 3
    header["SEEING"] = None
    header["SHUTTER"] = True
    images = [fits.ImageHDU(np.arange(64, dtype=np.int32).reshape(8, 8)) for _ in range(2)]
    buffer = io.BytesIO()
    fits.HDUList([primary, *images]).writeto(buffer)
    return split(buffer.getvalue())


def split(data: bytes) -> list[Hdu]:
    """The HDUs of a valid file (sizes from its own cards)."""
    hdus, offset = [], 0
    while offset < len(data):
        cards = []
        while True:
            c = data[offset : offset + CARD]
            offset += CARD
            if c.rstrip() == b"END":
                break
            cards.append(c)
        offset += -offset % BLOCK
        values = {c[:8].rstrip(): c[10:].split(b"/")[0].strip() for c in cards}
        naxis = int(values[b"NAXIS"])
        elements = 1
        for n in range(1, naxis + 1):
            elements *= int(values[b"NAXIS%d" % n])
        size = abs(int(values[b"BITPIX"])) // 8 * elements if naxis else 0
        hdus.append(Hdu(cards, data[offset : offset + size]))
        offset += size + (-size % BLOCK)
    return hdus


def join(hdus: list[Hdu], end: bool | list[bool] = True) -> bytes:
    """A file from HDUs; ``end=False`` (or per HDU) leaves the END card out."""
    ends = end if isinstance(end, list) else [end] * len(hdus)
    out = bytearray()
    for hdu, with_end in zip(hdus, ends, strict=True):
        header = b"".join(hdu.cards) + (b"END".ljust(CARD) if with_end else b"")
        out += header + b" " * (-len(header) % BLOCK)
        out += hdu.data + b"\0" * (-len(hdu.data) % BLOCK)
    return bytes(out)


def with_card(hdus: list[Hdu], index: int, keyword: str, new: bytes | None) -> list[Hdu]:
    """A copy with the card ``keyword`` of HDU ``index`` replaced by ``new`` (or removed)."""
    copy = [Hdu(list(h.cards), h.data) for h in hdus]
    cards = copy[index].cards
    at = next(i for i, c in enumerate(cards) if c[:8].rstrip() == keyword.encode())
    if new is None:
        del cards[at]
    else:
        cards[at] = new
    return copy


def inserted(hdus: list[Hdu], index: int, new: bytes, at: int | None = None) -> list[Hdu]:
    copy = [Hdu(list(h.cards), h.data) for h in hdus]
    cards = copy[index].cards
    cards.insert(len(cards) if at is None else at, new)
    return copy


def cases() -> Iterator[Case]:
    """Every hostile case, in a fixed order."""
    base = base_hdus()
    valid = join(base)
    for maker in (
        _random_bytes,
        _truncations,
        _missing_keys,
        _duplicated_keys,
        _absurd_values,
        _gigantic_data,
        _unprintable_bytes,
        _path_like_values,
        _long_names,
        _huge_headers,
        _regressions,
    ):
        yield from maker(base, valid)


Maker = Callable[[list[Hdu], bytes], Iterator[Case]]


def _random_bytes(base: list[Hdu], valid: bytes) -> Iterator[Case]:
    rng = random.Random(14)
    sizes = [0, 1, 9, 79, 80, 2879, 2880, 2881, 5760, 8640]
    for i in range(40):
        size = sizes[i] if i < len(sizes) else rng.randrange(1, 20000)
        noise = rng.randbytes(size)
        yield Case("random bytes", f"random_{i:02d}.fits", noise, None)
        yield Case("random bytes", f"simple_random_{i:02d}.fits", b"SIMPLE  =" + noise, None)
    printable = bytes(range(32, 127))
    for i in range(20):
        noise = bytes(rng.choice(printable) for _ in range(rng.randrange(80, 9000)))
        head = card("SIMPLE", "T")
        yield Case("random bytes", f"printable_random_{i:02d}.fits", head + noise, None)


def _truncations(base: list[Hdu], valid: bytes) -> Iterator[Case]:
    boundaries = {0}
    offset = 0
    for hdu in base:
        header = len(join([Hdu(hdu.cards, b"")]))
        offset += header + len(hdu.data) + (-len(hdu.data) % BLOCK)
        boundaries.add(offset)
    cuts = sorted(
        set(range(0, len(valid), 180))
        | {b + d for b in boundaries for d in (-1, 1)}
        | {1, 8, 9, 80, 2800}
    )
    for cut in cuts:
        if not 0 <= cut < len(valid):
            continue
        if cut in boundaries:
            expect = "empty file" if cut == 0 else ACCEPT
        elif cut < 9:
            expect = "not a FITS file"
        else:
            expect = "truncated"
        yield Case("truncated FITS", f"cut_{cut:05d}.fits", valid[:cut], expect)


def _missing_keys(base: list[Hdu], valid: bytes) -> Iterator[Case]:
    # An extension header without END runs into its data: refused at the first NUL.
    for name, ends, expect in (
        ("no_end_primary", [False, True, True], "no END card"),
        ("no_end_ext1", [True, False, True], "header at byte 2880"),
        ("no_end_last", [True, True, False], "header at byte 8640"),
        ("no_end_at_all", [False, False, False], "no END card"),
    ):
        yield Case("missing key", f"{name}.fits", join(base, ends), expect)
    for keyword in ("BITPIX", "NAXIS", "NAXIS1", "NAXIS2"):
        for index in (0, 1) if keyword.startswith("NAXIS") is False else (1, 2):
            hdus = with_card(base, index, keyword, None)
            yield Case("missing key", f"no_{keyword}_{index}.fits", join(hdus), f"lacks {keyword}")
    for keyword in ("PCOUNT", "GCOUNT"):
        hdus = with_card(base, 1, keyword, None)
        yield Case("missing key", f"no_{keyword}.fits", join(hdus), f"lacks {keyword}")
    hdus = with_card(base, 0, "NAXIS", None)
    yield Case("missing key", "primary_no_NAXIS.fits", join(hdus), "lacks NAXIS")
    for keyword in ("INSTRUME", "OBSID", "EXPTIME"):  # descriptive: the reader accepts
        hdus = with_card(base, 0, keyword, None)
        yield Case("missing key", f"no_{keyword}.fits", join(hdus), ACCEPT)
    # The first extension without XTENSION is no extension: the rest is trailing bytes.
    hdus = with_card(base, 1, "XTENSION", None)
    yield Case("missing key", "no_XTENSION.fits", join(hdus), ACCEPT)
    simple_false = with_card(base, 0, "SIMPLE", card("SIMPLE", "F"))
    yield Case("missing key", "simple_false.fits", join(simple_false), "SIMPLE is not T")
    glued = with_card(base, 0, "SIMPLE", b"SIMPLE  =T".ljust(CARD))
    yield Case("missing key", "simple_no_space.fits", join(glued), "SIMPLE is not T")
    no_value = with_card(base, 1, "XTENSION", b"XTENSION  'IMAGE'".ljust(CARD))
    yield Case("missing key", "xtension_no_value.fits", join(no_value), "start with XTENSION")


def _duplicated_keys(base: list[Hdu], valid: bytes) -> Iterator[Case]:
    for index, keyword, value in (
        (0, "BITPIX", "16"),
        (0, "NAXIS", "0"),
        (1, "BITPIX", "32"),
        (1, "NAXIS", "2"),
        (1, "NAXIS1", "8"),
        (1, "NAXIS2", "9"),
        (2, "PCOUNT", "0"),
        (2, "GCOUNT", "1"),
    ):
        hdus = inserted(base, index, card(keyword, value))
        yield Case("duplicated key", f"dup_{keyword}_{index}.fits", join(hdus), "twice")
    hdus = inserted(base, 0, card("INSTRUME", "'LATISS'"))  # a later duplicate wins
    yield Case("duplicated key", "dup_INSTRUME.fits", join(hdus), ACCEPT)
    hdus = inserted(base, 0, card("SIMPLE", "T"))
    yield Case("duplicated key", "dup_SIMPLE.fits", join(hdus), "before the SIMPLE card")
    hdus = inserted(base, 0, card("XTENSION", "'IMAGE   '"))
    yield Case("duplicated key", "xtension_in_primary.fits", join(hdus), "before the XTENSION")
    hdus = inserted(base, 1, b"END".ljust(CARD), at=3)
    yield Case("duplicated key", "early_END_ext.fits", join(hdus), "not followed by blanks")
    hdus = inserted(base, 0, b"END     = 5".ljust(CARD))
    yield Case("duplicated key", "END_with_value.fits", join(hdus), "not followed by blanks")


def _absurd_values(base: list[Hdu], valid: bytes) -> Iterator[Case]:
    bad_bitpix = ["0", "7", "9", "-8", "-16", "128", str(2**70), "abc", "8.0", "1_6", "", "T"]
    for index in (0, 1):
        for value in bad_bitpix:
            hdus = with_card(base, index, "BITPIX", card("BITPIX", value))
            expect = "not one of" if value.lstrip("-").isdigit() else "BITPIX"
            name = f"bitpix_{index}_{value or 'blank'}.fits"
            yield Case("absurd value", name, join(hdus), expect)
    for index in (0, 1):
        for value in ("-1", "1000", str(10**9), "x", "2.0", "+-2"):
            hdus = with_card(base, index, "NAXIS", card("NAXIS", value))
            yield Case("absurd value", f"naxis_{index}_{value}.fits", join(hdus), "NAXIS")
    for index in (1, 2):
        for value in ("-2880", "-1", "-99999999999", str(2**63), str(10**30), "1e3", "0x10", "8 8"):
            hdus = with_card(base, index, "NAXIS1", card("NAXIS1", value))
            yield Case("absurd value", f"naxis1_{index}_{value}.fits", join(hdus), "NAXIS1")
    for keyword in ("PCOUNT", "GCOUNT"):
        for value in ("-1", "-2880", str(10**40), "one"):
            hdus = with_card(base, 1, keyword, card(keyword, value))
            yield Case("absurd value", f"{keyword.lower()}_{value}.fits", join(hdus), keyword)
    no_equals = with_card(base, 1, "NAXIS1", b"NAXIS1    8".ljust(CARD))
    yield Case("absurd value", "naxis1_no_value.fits", join(no_equals), "has no value")


def _gigantic_data(base: list[Hdu], valid: bytes) -> Iterator[Case]:
    for index in (0, 1):
        for axes in ([2**31, 2**31], [2**62, 2**62], [10**18, 10**18, 10**18], [2**40]):
            hdus = [Hdu(list(h.cards), h.data) for h in base]
            cards = [c for c in hdus[index].cards if not c.startswith(b"NAXIS")]
            at = 2
            structural = [card("NAXIS", str(len(axes)))]
            structural += [card(f"NAXIS{n}", str(v)) for n, v in enumerate(axes, 1)]
            hdus[index].cards = cards[:at] + structural + cards[at:]
            name = f"gigantic_{index}_{'x'.join(str(a) for a in axes)}.fits"
            yield Case("declared gigantic data", name, join(hdus), "truncated")
    # NAXIS 999, each of 2**62: a number with thousands of digits, never printed.
    hdus = [Hdu(list(h.cards), h.data) for h in base]
    axes = [card(f"NAXIS{n}", str(2**62)) for n in range(1, 1000)]
    hdus[1].cards = [*hdus[1].cards[:2], card("NAXIS", "999"), *axes, *hdus[1].cards[5:]]
    yield Case("declared gigantic data", "naxis_999_axes.fits", join(hdus), "2**63")


_BAD_BYTES = [0x00, 0x01, 0x09, 0x0A, 0x0D, 0x1B, 0x7F, 0x80, 0xE9, 0xFF]


def _unprintable_bytes(base: list[Hdu], valid: bytes) -> Iterator[Case]:
    for byte in _BAD_BYTES:
        for where, hdus in (
            ("value", with_card(base, 0, "OBSID", card("OBSID", f"'MC{chr(byte)}O'"))),
            ("keyword", inserted(base, 0, card(f"K{chr(byte)}Y", "1"))),
            ("comment", with_card(base, 0, "EXPTIME", card("EXPTIME", "15.0", f"s{chr(byte)}"))),
            ("extension", inserted(base, 1, card("EXTNAME", f"'A{chr(byte)}'"))),
        ):
            name = f"byte_{byte:02x}_in_{where}.fits"
            yield Case("non-ASCII or control byte", name, join(hdus), "not printable ASCII")
        after_end = bytearray(join(base))
        after_end[2870] = byte
        name = f"byte_{byte:02x}_after_END.fits"
        yield Case("non-ASCII or control byte", name, bytes(after_end), "not printable ASCII")
    utf8 = inserted(base, 0, b"OBSERVER= 'Jos\xc3\xa9'".ljust(CARD))
    yield Case("non-ASCII or control byte", "utf8_value.fits", join(utf8), "not printable ASCII")


def _path_like_values(base: list[Hdu], valid: bytes) -> Iterator[Case]:
    values = [
        "..",
        "../../etc/passwd",
        "/abs/path",
        "a/b/../../c",
        "%2e%2e%2f",
        "100%",
        "%00",
        "r_57/../g",
        "~root",
        "C:\\\\x",
    ]
    for i, value in enumerate(values):
        for keyword in ("OBSID", "FILTER", "INSTRUME"):
            hdus = with_card(base, 0, keyword, card(keyword, f"'{value}'"))
            yield Case("path-like value", f"path_{keyword}_{i}.fits", join(hdus), ACCEPT)
    for keyword in ("OBSID", "FILTER"):
        hdus = with_card(base, 0, keyword, card(keyword, "'a\x00b'"))
        name = f"nul_{keyword}.fits"
        yield Case("path-like value", name, join(hdus), "not printable ASCII")


def _long_names(base: list[Hdu], valid: bytes) -> Iterator[Case]:
    long_key = ("HIERARCH " + "LONG " * 12 + "= 1").encode().ljust(CARD)
    yield Case("long name", "hierarch_long.fits", join(inserted(base, 0, long_key)), ACCEPT)
    no_value = ("HIERARCH " + "X" * 71).encode()
    yield Case("long name", "hierarch_no_value.fits", join(inserted(base, 0, no_value)), None)
    for keyword in ("A.B", "A B", "a", "ABCDEFGH", "-_-", "9"):
        hdus = inserted(base, 0, card(keyword, "1"))
        yield Case("long name", f"keyword_{keyword.replace(' ', '_')}.fits", join(hdus), None)
    long_value = fits.Card("LONGSTR", "x" * 500).image.encode()  # CONTINUE cards
    cards = [long_value[i : i + CARD] for i in range(0, len(long_value), CARD)]
    hdus = [Hdu(list(h.cards), h.data) for h in base]
    hdus[0].cards += cards
    yield Case("long name", "continue_long_string.fits", join(hdus), ACCEPT)
    hdus = [Hdu(list(h.cards), h.data) for h in base]
    hdus[0].cards += cards[1:]  # CONTINUE cards with no string before them
    yield Case("long name", "orphan_continue.fits", join(hdus), None)
    yield Case("long name", "x" * 4000 + ".fits", b"PK\x03\x04", "not a FITS file")


def _huge_headers(base: list[Hdu], valid: bytes) -> Iterator[Case]:
    def padded_to(blocks: int, end: bool) -> bytes:
        hdus = [Hdu(list(h.cards), h.data) for h in base]
        room = blocks * (BLOCK // CARD) - len(hdus[0].cards) - (1 if end else 0)
        hdus[0].cards += [card("COMMENT", "")[:8] + b" filler".ljust(72)] * room
        return join(hdus, [end, True, True])

    yield Case("huge header", "header_1000_blocks.fits", padded_to(1000, True), ACCEPT)
    yield Case("huge header", "header_1001_blocks.fits", padded_to(1001, True), "1000 blocks")
    yield Case("huge header", "header_1000_blocks_no_end.fits", padded_to(1000, False), "no END")
    filler = b"COMMENT filler".ljust(CARD) * (HUGE_HEADER_BYTES // CARD)
    yield Case("huge header", "header_30MB.fits", card("SIMPLE", "T") + filler, "1000 blocks")
    with_end = card("SIMPLE", "T") + card("BITPIX", "8") + card("NAXIS", "0") + filler
    with_end += b"END".ljust(CARD)
    with_end += b" " * (-len(with_end) % BLOCK)
    yield Case("huge header", "header_30MB_with_END.fits", with_end, "1000 blocks")


def _regressions(base: list[Hdu], valid: bytes) -> Iterator[Case]:
    """The files of issue 14: the 2-block hang (item 3), the merged headers (item 6)."""
    primary = [card("SIMPLE", "T"), card("BITPIX", "8"), card("NAXIS", "0"), card("EXTEND", "T")]
    extension = [
        card("XTENSION", "'IMAGE   '"),
        card("BITPIX", "8"),
        card("NAXIS", "1"),
        card("NAXIS1", "-2880"),
        card("PCOUNT", "0"),
        card("GCOUNT", "1"),
    ]
    hang = join([Hdu(primary, b""), Hdu(extension, b"")])
    yield Case("issue 14 regression", "hang_negative_naxis1.fits", hang, "NAXIS1 -2880")
    empty = [*extension[:3], card("NAXIS1", "0"), *extension[4:]]
    merged = join([Hdu([*primary, card("INSTRUME", "'X'")], b""), Hdu(empty, b"")], [False, True])
    expect = "no END card before the XTENSION"
    yield Case("issue 14 regression", "merged_headers.fits", merged, expect)
    # Random groups: NAXIS1 = 0 marks them; the data is GCOUNT x (PCOUNT + 1 x 4) reals.
    groups = [
        card("SIMPLE", "T"),
        card("BITPIX", "-32"),
        card("NAXIS", "3"),
        card("NAXIS1", "0"),
        card("NAXIS2", "1"),
        card("NAXIS3", "4"),
        card("GROUPS", "T"),
        card("PCOUNT", "1"),
        card("GCOUNT", "3"),
    ]
    data = np.arange(15, dtype=">f4").tobytes()
    yield Case("issue 14 regression", "random_groups.fits", join([Hdu(groups, data)]), ACCEPT)
    short = join([Hdu(groups, data)])[: BLOCK + 40]
    yield Case("issue 14 regression", "random_groups_cut.fits", short, "truncated")
