"""Facts of the tunable MIR quantum-cascade laser (QCL): tuning range and tuning time.

Shared by the recipe schema (the range a ``[spectral]`` wavelength may take), the
spectral plan (the lab time a tune costs) and the simulated source.

Sources
-------
* Tuning range 6.8-8.6 um: the QCL window the paper's film responds in (DESIGN.md:
  "film responds across 6.8-8.6 um"); the simulated source enforces it.
* Tuning time: an external-cavity QCL moves its grating with a motor and then lets the
  emission and its power settle. ``TUNE_RATE_UM_PER_S`` and ``TUNE_SETTLE_S`` are
  **chosen** (a step-and-measure move of ~0.1 um taking a few hundred ms is typical of
  grating-tuned EC-QCLs such as the Daylight MIRcat, whose driver here waits for
  ``IsTuned``); replace them with your laser's measured figures. Recipes may set the
  settling time (``[spectral] settle_s``).
"""

from __future__ import annotations

TUNING_RANGE_UM = (6.8, 8.6)
"""Wavelengths the source tunes to, um."""
TUNE_RATE_UM_PER_S = 1.0
"""Grating motion during a tune, um of wavelength per second (chosen)."""
TUNE_SETTLE_S = 0.2
"""Wait after a tune for emission and power to settle, s (chosen; recipe default)."""


def tune_time_s(from_um: float, to_um: float, settle_s: float = TUNE_SETTLE_S) -> float:
    """Lab time of a tune from ``from_um`` to ``to_um``: the grating's move, then
    ``settle_s`` (no time when the wavelength does not change)."""
    step_um = abs(float(to_um) - float(from_um))
    if step_um == 0.0:
        return 0.0
    return step_um / TUNE_RATE_UM_PER_S + float(settle_s)
