"""The band of a physical filter, as the Butler derives it from the instrument's filters.

The Butler's exposure record carries both ``physical_filter`` and ``band``; the band is
not in the header but implied by the filter (obs_lsst's filter definitions). OODS keeps
the derivation in one function so that ingest, corrections, migrations and the Butler
export agree.
"""

from __future__ import annotations

#: The survey's bands (obs_lsst's ``band`` values besides ``white``).
BANDS = frozenset("ugrizy")


def band_of(physical_filter: str) -> str:
    """The band a physical filter belongs to, by obs_lsst's naming: ``r_57`` -> ``r``,
    ``SDSSr_65mm~empty`` -> ``r``, ``empty`` -> ``white``; otherwise the name itself
    (obs_lsst's rule for filters it does not know: the band is the filter's name)."""
    parts = [p for p in physical_filter.split("~") if p not in ("empty", "none")]
    if not parts:
        return "white"
    stem = parts[0].split("_")[0]
    if stem in BANDS:
        return stem
    if stem.startswith("SDSS") and stem[4:] in BANDS:
        return stem[4:]
    return physical_filter
