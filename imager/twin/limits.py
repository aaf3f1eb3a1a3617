"""Pump power limits per illumination mode, each from a stated source.

Two ways the 980 nm pump reaches the film:

* **focused spot** (step/fly raster, calibration): a Gaussian spot of FWHM
  ``pump_fwhm_um``; its peak intensity ``P / A_eff`` (``A_eff = pi FWHM^2 /
  (4 ln 2)``) must stay below the film's tolerated intensity, and the power below
  the focused pump laser's range.
* **patterned** (single-pixel, DMD): the pump fills the DMD array and is imaged
  flat-top onto a ``fov_um`` square; the DMD's power handling bounds the power on
  its array, the film's tolerated intensity bounds ``P / fov^2``, and the
  patterned-path laser bounds the power.

Every number below says where it comes from (or that it is chosen). The limits are
the minimum of the applicable terms; :func:`pump_limit_mW` computes them and
:func:`check_pump_mW` refuses a power above them with a one-line message.
"""

from __future__ import annotations

import math

MODES = ("spot", "patterned")

FILM_MAX_INTENSITY_W_PER_CM2 = 2.0e7
"""Highest 980 nm intensity the film may see, W/cm^2: 20 MW/cm^2.

Source: single NaYF4-based upconversion nanoparticles measured under 980 nm
irradiance of 20 MW/cm^2 (Nat. Commun. 2025, doi:10.1038/s41467-025-59452-4,
Fig. 5b). That is a demonstrated, survived intensity, not a measured damage
threshold: a conservative bound (no source found here shows the film surviving
more). The twin's pump heating at that intensity in a 1 um spot is ~1.4 K, so the
limit is not thermal in the model."""

SPOT_LASER_MAX_MW = 500.0
"""Focused-spot pump laser range top, mW: the design card's 10 uW to 500 mW pump."""

PATTERNED_LASER_MAX_MW = 5000.0
"""Patterned-path pump laser, mW. Chosen: a fibre-coupled multimode 980 nm diode
(5-10 W class); a DMD field needs no single-mode beam. Not a measured lab value."""

DMD_ARRAY_CM2 = 1024 * 768 * (13.68e-4) ** 2
"""Active area of the twin's DMD, cm^2: ViALUX V-7000 = TI DLP7000, 1024 x 768
micromirrors at 13.68 um pitch (1.47 cm^2)."""

DMD_MAX_W_PER_CM2 = 2.0
"""Illumination power density on the DMD array, W/cm^2. Chosen, anchored on TI's
own example: the DLP4500 data sheet's array-temperature calculation uses "a power
density of 2 W/cm2, an illumination area of 0.725 cm2" (TI DLP4500 data sheet, "Micromirror
Array Temperature Calculation"). TI's DMD limits are thermal (array temperature,
TI white paper DLPA027 "Laser Power Handling for DMDs"); the NIR rating of the DMD
a lab actually uses (a visible-window DLP7000 is not rated for 980 nm; NIR parts
such as the DLP650LNIR are) must replace this number: the data sheets'
recommended-operating-conditions tables could not be read here."""


def spot_area_um2(pump_fwhm_um: float) -> float:
    """Effective area ``pi FWHM^2 / (4 ln 2)`` of a Gaussian spot, um^2."""
    return math.pi * pump_fwhm_um * pump_fwhm_um / (4.0 * math.log(2.0))


def pump_limit_mW(mode: str, *, pump_fwhm_um: float = 1.0, fov_um: float = 400.0) -> float:
    """Largest allowed pump power in ``mode``, mW.

    Parameters
    ----------
    mode : {"spot", "patterned"}
        Focused spot (raster, calibration) or DMD-patterned field (single-pixel).
    pump_fwhm_um : float
        FWHM of the focused spot (``"spot"``).
    fov_um : float
        Side of the patterned field on the film (``"patterned"``).

    Returns
    -------
    float
        ``min(laser, film intensity x area[, DMD density x DMD area])``.
    """
    film_W_per_um2 = FILM_MAX_INTENSITY_W_PER_CM2 * 1e-8
    if mode == "spot":
        return min(SPOT_LASER_MAX_MW, film_W_per_um2 * spot_area_um2(pump_fwhm_um) * 1e3)
    if mode == "patterned":
        return min(PATTERNED_LASER_MAX_MW, DMD_MAX_W_PER_CM2 * DMD_ARRAY_CM2 * 1e3,
                   film_W_per_um2 * fov_um * fov_um * 1e3)
    raise ValueError(f"mode must be one of {MODES}, got {mode!r}")


def check_pump_mW(mode: str, power_mW: float, *, pump_fwhm_um: float = 1.0,
                  fov_um: float = 400.0, field: str = "pump.power_mW") -> float:
    """Return ``power_mW`` if allowed in ``mode``; else raise ValueError (one line).

    The message names ``field``, the allowed range and why (the binding limit).
    """
    limit = pump_limit_mW(mode, pump_fwhm_um=pump_fwhm_um, fov_um=fov_um)
    value = float(power_mW)
    if not 0.0 <= value <= limit:  # also rejects NaN
        where = (f"{pump_fwhm_um:g} um focused spot" if mode == "spot"
                 else f"{fov_um:g} um DMD field")
        raise ValueError(f"{field} must be within [0, {limit:.4g}] mW for a {where} "
                         f"(film, DMD and laser limits, imager.twin.limits), got {power_mW!r}")
    return value


SPOT_LIMIT_MW = pump_limit_mW("spot")
"""Focused-spot limit at the default 1 um FWHM, mW (227: the film's 20 MW/cm^2)."""
PATTERNED_LIMIT_MW = pump_limit_mW("patterned")
"""Patterned limit at the default 400 um field, mW (2944: the DMD's 2 W/cm^2)."""
PUMP_MAX_MW = max(SPOT_LIMIT_MW, PATTERNED_LIMIT_MW)
"""The simulated pump's own cap: the larger mode limit (per-mode checks refine it)."""
