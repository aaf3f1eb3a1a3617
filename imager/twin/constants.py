"""Physical constants and fixed spectroscopic facts used by the film twin.

Every number here is either a CODATA constant or a standard spectroscopic
value of Er3+/Yb3+ in fluoride hosts; the source is given next to it.
"""

from __future__ import annotations

import math

import numpy as np

H_J_S = 6.62607015e-34
"""Planck constant (CODATA 2018, exact)."""
C_M_PER_S = 299792458.0
"""Speed of light (exact)."""
Q_E_C = 1.602176634e-19
"""Elementary charge (exact)."""
K_B_J_PER_K = 1.380649e-23
"""Boltzmann constant (exact)."""
K_B_CM1_PER_K = 0.6950348
"""Boltzmann constant in cm^-1/K (CODATA 2018: 0.695 034 800 cm^-1 K^-1)."""
HC_CM1_TO_J = H_J_S * C_M_PER_S * 100.0
"""Energy of one cm^-1, joules."""

BANDS = ("525", "545", "660")
"""Emission bands, keyed by nominal wavelength in nm."""

BAND_LEVELS = {"525": "2H11/2", "545": "4S3/2", "660": "4F9/2"}
"""Er3+ level emitting each band (transition to the 4I15/2 ground state)."""

BAND_WAVELENGTH_NM = {"525": 525.0, "545": 545.0, "660": 660.0}

DEGENERACY_2H11_2 = 12
"""2J+1 of 2H11/2 (J = 11/2)."""
DEGENERACY_4S3_2 = 4
"""2J+1 of 4S3/2 (J = 3/2)."""

PUMP_WAVELENGTH_NM = 980.0
"""Pump wavelength (Yb3+ 2F7/2 -> 2F5/2 absorption)."""


def photon_energy_J(wavelength_nm: float) -> float:
    """Energy of one photon of vacuum wavelength ``wavelength_nm``, J."""
    return H_J_S * C_M_PER_S / (wavelength_nm * 1e-9)


def phonon_occupation(energy_cm1: float, T_K: float | np.ndarray) -> float | np.ndarray:
    """Bose-Einstein occupation ``1 / (exp(E / k T) - 1)`` of a mode of ``energy_cm1``."""
    return 1.0 / np.expm1(energy_cm1 / (K_B_CM1_PER_K * np.asarray(T_K, dtype=float)))


def gaussian_peak_per_um2(fwhm_um: float) -> float:
    """Peak of a unit-power round Gaussian with intensity FWHM ``fwhm_um``, 1/um^2."""
    return 4.0 * math.log(2.0) / (math.pi * fwhm_um * fwhm_um)
