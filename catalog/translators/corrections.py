"""Per-observation header corrections, as obs_lsst ships them.

A folder holds YAML files named ``<instrument>-<obs_id>.yaml`` (for example
``LSSTCam-MC_O_20250415_000060.yaml``), each a mapping of header card to the value it
should have had. Before translation the Butler overwrites those cards
(``astro_metadata_translator.fix_header``); OODS does the same, so a corrected raw gets
the same records and id here as in a Butler repository. The file's bytes are never
changed: corrections apply to the header as read, at every translation.

Files are indexed by name when loaded and parsed on first use, since obs_lsst has
thousands of them and most ingests need none.
"""

from __future__ import annotations

import dataclasses
import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from ..errors import HeaderError

_SUFFIXES = (".yaml", ".yml")


@dataclasses.dataclass
class Corrections:
    """The correction files of one folder, by (instrument, obs_id)."""

    files: dict[tuple[str, str], Path]
    _parsed: dict[tuple[str, str], dict[str, Any]] = dataclasses.field(
        default_factory=dict, repr=False
    )

    def __len__(self) -> int:
        return len(self.files)

    def __contains__(self, key: object) -> bool:
        return key in self.files

    def lookup(self, instrument: str, obs_id: str) -> dict[str, Any]:
        """The corrected cards for one observation ({} when there are none).

        Raises:
            HeaderError: the correction file is not a YAML mapping of card to value.
        """
        key = (instrument, obs_id)
        if key not in self.files:
            return {}
        if key not in self._parsed:
            self._parsed[key] = _read(self.files[key])
        return self._parsed[key]

    def apply(
        self, header: Mapping[str, Any], instrument: str, obs_id: str
    ) -> tuple[dict[str, Any], list[str]]:
        """A corrected copy of ``header`` and the cards whose value it changed.

        Args:
            header: the raw's primary header (card -> value); left unchanged.
            instrument: the Butler's instrument name, e.g. ``"LSSTCam"``.
            obs_id: the observation id, e.g. ``"MC_O_20250415_000060"``.

        Returns:
            (corrected header, changed cards in file order); a card already holding
            the corrected value is not reported.

        Raises:
            HeaderError: the correction file is unreadable.

        Example:
            >>> fixed, keys = corrections.apply(header, "LATISS", "AT_O_20200217_000237")
            >>> keys
            ['ROTPA']
        """
        corrected = dict(header)
        changed = []
        for card, value in self.lookup(instrument, obs_id).items():
            if card not in corrected or corrected[card] != value:
                changed.append(card)
            corrected[card] = value
        return corrected, changed

    def correct(self, header: Mapping[str, Any]) -> tuple[dict[str, Any], list[str]]:
        """Like `apply`, finding the instrument and obs_id from the header itself.

        Headers of unknown instruments, or without an obs_id, come back unchanged
        (translation will then report what is wrong with them).
        """
        from . import find_translator  # the registry imports this module

        translator = find_translator(header)
        if translator is None:
            return dict(header), []
        obs_id = header.get("OBSID") or header.get("IMGNAME")
        if obs_id is None:
            return dict(header), []
        return self.apply(header, translator.instrument, str(obs_id))


def load_corrections(folder: str | os.PathLike[str]) -> Corrections:
    """Index the correction files in ``folder`` (not recursive).

    Args:
        folder: a directory such as obs_lsst's ``corrections/``. Files not named
            ``<instrument>-<obs_id>.yaml`` are ignored (READMEs and the like).

    Raises:
        FileNotFoundError: ``folder`` is not a directory.

    Example:
        >>> corrections = load_corrections("/opt/obs_lsst/corrections")
        >>> fixed, keys = corrections.correct(header)
    """
    root = Path(folder)
    if not root.is_dir():
        raise FileNotFoundError(f"corrections folder {root} is not a directory")
    files: dict[tuple[str, str], Path] = {}
    for path in sorted(root.iterdir()):
        if path.suffix not in _SUFFIXES or not path.is_file():
            continue
        instrument, sep, obs_id = path.stem.partition("-")
        if sep and instrument and obs_id:
            files[(instrument, obs_id)] = path
    return Corrections(files)


def _read(path: Path) -> dict[str, Any]:
    # PyYAML is needed only by sites that configure corrections.
    import yaml

    try:
        content = yaml.safe_load(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, yaml.YAMLError) as exc:
        raise HeaderError(str(path), f"unreadable header correction file: {exc}") from None
    if not isinstance(content, Mapping) or not all(isinstance(k, str) for k in content):
        raise HeaderError(str(path), "header correction file is not a mapping of card to value")
    return dict(content)
