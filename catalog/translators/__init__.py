"""Per-instrument header translators; add an instrument by adding one module here."""

from __future__ import annotations

from .base import Translator
from .lsstcam import LSSTCamTranslator

#: Tried in order; the first whose ``can_translate`` accepts a header translates it.
TRANSLATORS: tuple[type[Translator], ...] = (LSSTCamTranslator,)

__all__ = ["TRANSLATORS", "Translator"]
