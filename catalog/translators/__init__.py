"""Per-instrument header translators; add an instrument by adding one module here.

``lsst`` holds what the Rubin cameras share; ``lsstcam``, ``comcam`` and ``latiss`` the
differences, each mirroring the obs_lsst translator of the same camera so that records
and dataset ids agree with a Butler repository. ``focalplane`` numbers the detectors;
``corrections`` applies per-observation header corrections before translation.

They match obs_lsst commit `OBS_LSST_COMMIT`; the header fixes that obs_lsst keeps
adding for given nights and sequence ranges are data, in ``night_fixes.toml``
(read by ``night_fixes``), so following a newer obs_lsst is mostly an edit there.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from .base import OBS_LSST_COMMIT, Translator
from .comcam import LSSTComCamTranslator
from .corrections import Corrections, load_corrections
from .latiss import LATISSTranslator
from .lsstcam import LSSTCamTranslator

#: Tried in order; the first whose ``can_translate`` accepts a header translates it.
#: Each test is strict (exact INSTRUME values), so the order does not matter.
TRANSLATORS: tuple[type[Translator], ...] = (
    LSSTCamTranslator,
    LSSTComCamTranslator,
    LATISSTranslator,
)


def find_translator(header: Mapping[str, Any]) -> type[Translator] | None:
    """The translator class that claims ``header``, or None for unknown instruments."""
    return next((t for t in TRANSLATORS if t.can_translate(header)), None)


__all__ = [
    "OBS_LSST_COMMIT",
    "TRANSLATORS",
    "Corrections",
    "LATISSTranslator",
    "LSSTCamTranslator",
    "LSSTComCamTranslator",
    "Translator",
    "find_translator",
    "load_corrections",
]
