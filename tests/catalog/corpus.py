"""The real-header corpus: camera primary headers (YAML/JSON) and the Butler's
translation of each, turned into real FITS files for the tests.

``write_corpus_fits`` keeps every descriptive card (HIERARCH ones with spaces too) and
drops the structural ones, whose values described the original compressed image HDU
and would make astropy build a different file.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import yaml
from astropy.io import fits

#: Shipped with the tests (public obs_lsst test data; see tests/data/README.md), so a
#: fresh clone runs them with nothing beside it.
CORPUS = Path(__file__).resolve().parents[1] / "data" / "real-headers"
EXPECTED_FILE = CORPUS / "expected.json"

#: Structural or checksum cards, and the JSON dump's own marker, never copied.
_STRUCTURAL = re.compile(
    r"^(SIMPLE|BITPIX|NAXIS\d*|EXTEND|XTENSION|PCOUNT|GCOUNT|TFIELDS|TFORM\d+|TTYPE\d+"
    r"|TUNIT\d+|THEAP|Z\w*|CHECKSUM|DATASUM|BSCALE|BZERO|BLANK|INHERIT|END|__CONTENT__)$"
)
_COMMENTARY = ("COMMENT", "HISTORY", "")


def corpus_files() -> list[Path]:
    """Every corpus header file that expected.json describes, in name order."""
    return [CORPUS / name for name in sorted(load_expected())]


def load_expected() -> dict[str, dict[str, Any]]:
    """The Butler's ObservationInfo properties for each corpus file, by file name."""
    return json.loads(EXPECTED_FILE.read_text())


def load_corpus_header(corpus_file: Path) -> dict[str, Any]:
    """A corpus file's card -> value mapping, exactly as stored."""
    text = corpus_file.read_text()
    data = json.loads(text) if corpus_file.suffix == ".json" else yaml.safe_load(text)
    if not isinstance(data, dict):
        raise ValueError(f"{corpus_file}: not a mapping of card to value")
    return data


def corpus_cards(header: dict[str, Any]) -> list[fits.Card]:
    """The cards a camera would have written, as astropy cards (null -> undefined)."""
    cards = []
    for key, value in header.items():
        if _STRUCTURAL.match(key):
            continue
        if key in _COMMENTARY:
            cards.append(fits.Card(key, str(value)))
            continue
        card_key = key if len(key) <= 8 and " " not in key else f"HIERARCH {key}"
        card_value = fits.card.UNDEFINED if value is None else value
        cards.append(fits.Card(card_key, card_value))
    return cards


def write_corpus_fits(corpus_file: str | Path, out_path: str | Path) -> Path:
    """Write a corpus header as the primary header of a small, valid FITS file.

    The file has one tiny image extension, as a raw has amplifier HDUs, so ingest
    sees a realistic multi-HDU layout; its pixels mean nothing.

    Returns:
        ``out_path``, as a Path.
    """
    out = Path(out_path)
    header = fits.Header(corpus_cards(load_corpus_header(Path(corpus_file))))
    primary = fits.PrimaryHDU(header=header)
    image = fits.ImageHDU(data=None, name="Segment10")
    fits.HDUList([primary, image]).writeto(out, overwrite=True, output_verify="exception")
    return out
