"""Mid-infrared transmission spectra of polymer films in the QCL window (6.8-8.6 um).

Reference spectra for the chemical test chart of the simulated lab and for unmixing a
spectral cube into material maps. Each material is a list of absorption bands near
the window (1163-1471 cm^-1), each a **Lorentzian in decadic absorbance**::

    A(nu) = thickness_um * sum_i a_i / (1 + ((nu - nu_i) / (w_i / 2))**2)
    T(nu) = 10**(-A(nu))

with ``nu_i`` the band position (cm^-1), ``a_i`` its peak absorbance per um of film
and ``w_i`` its FWHM (cm^-1). Bands just outside the window are kept where their wings
reach into it. The transmittance is that of the absorbing film alone: reflection at
its faces, interference fringes and a broadband baseline are left out (so "clear", no
film, is exactly 1, and a reference cube taken through no sample divides out the
source, the optics and the upconversion film's own responsivity).

Sources (band positions from the spectroscopic literature; strengths and widths read
off published optical constants, the extinction coefficient ``k`` converted to the
decadic absorbance per um ``a = 4 pi k / (lambda_um ln 10)`` and fitted, band by band,
with Lorentzians at the literature positions (+-3 cm^-1) plus a constant baseline that
is then dropped, by least squares over 1100-1530 cm^-1):

* **Polystyrene** (atactic): positions C. Y. Liang and S. Krimm, "Infrared spectra of
  high polymers. VI. Polystyrene", J. Polym. Sci. 27, 241 (1958); the 1452/1493 cm^-1
  pair are the CH2 scissoring and the ring semicircle stretch. Strengths: X. Zhang,
  J. Qiu, J. Zhao, X. Li, L. Liu, "Complex refractive indices measurements of polymers
  in infrared bands", J. Quant. Spectrosc. Radiat. Transf. 252, 107063 (2020)
  (tabulated on refractiveindex.info, ``(C8H8)n - polystyrene/nk/Zhang``).
* **PMMA**: positions and shapes S. Tsuda, S. Yamaguchi, Y. Kanamori, H. Yugami,
  "Spectral and angular shaping of infrared radiation in a polymer resonator with
  molecular vibrational modes", Opt. Express 26, 6899 (2018), Table 2 (Brendel-Bormann
  oscillators of a spin-coated PMMA film; tabulated on refractiveindex.info,
  ``nk/Tsuda-BB``): CH3/CH2 deformations 1482-1435, alpha-CH3 1388, C-C-O and C-O-C
  stretches 1270/1241 and 1191/1149 cm^-1. Zhang et al. (2020) measured the same bands
  within ~15 % in strength (checked here by the same fit).
* **Polyethylene** (LDPE / LLDPE): positions S. Krimm, C. Y. Liang, G. B. B. M.
  Sutherland, "Infrared spectra of high polymers. II. Polyethylene", J. Chem. Phys. 25,
  549 (1956): CH2 bending doublet 1473/1463, CH3 symmetric deformation 1378 (the
  branches of low-density PE), amorphous CH2 wagging 1368/1352/1303 cm^-1. Strengths:
  M. David et al., "Structure and mid-infrared optical properties of spin-coated
  polyethylene films developed for integrated photonics applications", Opt. Mater.
  Express 12, 2168 (2022) (LLDPE; refractiveindex.info ``(C2H4)n - polyethylene/nk/David``).

Where a band is not resolved in those data its strength is **estimated** (said so at
the band). Pure: NumPy only.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from numpy.typing import ArrayLike

MATERIAL_NAMES: tuple[str, ...] = ("clear", "polystyrene", "pmma", "polyethylene")
"""The materials of the library, in the order :func:`library` returns them by default."""

WINDOW_UM: tuple[float, float] = (6.8, 8.6)
"""The QCL tuning window the library is built for, um."""


@dataclass(frozen=True)
class Band:
    """One absorption band: a Lorentzian in decadic absorbance.

    Attributes
    ----------
    position_cm1 : float
        Band centre, cm^-1.
    absorbance_per_um : float
        Peak decadic absorbance per um of film thickness.
    fwhm_cm1 : float
        Full width at half maximum, cm^-1.
    source : str
        Where the numbers come from (short form; full references in the module docstring).
    """

    position_cm1: float
    absorbance_per_um: float
    fwhm_cm1: float
    source: str


_LK58 = "Liang & Krimm 1958 (position); Zhang et al. 2020 k, Lorentzian fit (strength, width)"
_TS18 = "Tsuda et al. 2018 Table 2 (position); their n,k, Lorentzian fit (strength, width)"
_KLS56 = ("Krimm, Liang & Sutherland 1956 (position); David et al. 2022 k, Lorentzian fit "
          "(strength, width)")

BANDS: dict[str, tuple[Band, ...]] = {
    "clear": (),
    "polystyrene": (
        Band(1493.0, 0.0388, 13.1, _LK58),  # ring stretch, outside the window: its wing
        Band(1452.0, 0.0388, 18.6, _LK58),  # CH2 scissoring + ring, 6.89 um
        Band(1372.0, 0.0099, 30.3, _LK58),  # CH bending, 7.29 um (weak)
        # 1328 cm^-1 (weak, Liang & Krimm): not resolved above the baseline in Zhang et
        # al.'s data; strength ESTIMATED as 1/5 of the 1372 band, width as the 1452 band's.
        Band(1328.0, 0.0020, 18.6, "Liang & Krimm 1958 (position); strength estimated"),
        # 1181 cm^-1 (weak, ring CH in-plane bend): not resolved in Zhang et al.; strength
        # ESTIMATED as half the 1155 band's peak, width as the 1452 band's.
        Band(1181.0, 0.0019, 18.6, "Liang & Krimm 1958 (position); strength estimated"),
        Band(1155.0, 0.0038, 35.9, _LK58),  # ring CH in-plane bend, 8.66 um
    ),
    "pmma": (
        Band(1482.3, 0.0494, 23.6, _TS18),  # CH2 scissoring / CH3 asym. deformation
        Band(1450.7, 0.0619, 24.6, _TS18),  # CH3 asym. deformation (O-CH3, alpha-CH3)
        Band(1434.7, 0.0497, 13.3, _TS18),  # O-CH3 deformation
        Band(1388.3, 0.0223, 16.0, _TS18),  # alpha-CH3 symmetric deformation, 7.20 um
        Band(1366.5, 0.0134, 74.5, _TS18),  # CH2 wagging (broad)
        Band(1269.7, 0.0723, 26.5, _TS18),  # C-C-O stretch, 7.88 um
        Band(1240.5, 0.0883, 23.0, _TS18),  # C-C-O stretch, 8.06 um
        Band(1190.6, 0.1241, 25.4, _TS18),  # C-O-C stretch, 8.40 um
        Band(1149.4, 0.2070, 33.4, _TS18),  # C-O-C stretch, 8.70 um (wing into the window)
    ),
    "polyethylene": (
        Band(1473.0, 0.0186, 8.2, _KLS56),   # CH2 bending (crystalline component), 6.79 um
        Band(1463.0, 0.0570, 15.8, _KLS56),  # CH2 bending, 6.84 um
        Band(1378.0, 0.0078, 9.6, _KLS56),   # CH3 symmetric deformation (branches)
        Band(1368.0, 0.0031, 17.7, _KLS56),  # CH2 wagging (amorphous)
        Band(1352.0, 0.0038, 8.6, _KLS56),   # CH2 wagging (amorphous)
        Band(1303.0, 0.0013, 52.4, _KLS56),  # CH2 wagging (amorphous, broad)
    ),
}
"""The bands of each material (see the module docstring for the sources)."""

DEFAULT_THICKNESS_UM: dict[str, float] = {
    "clear": 0.0,
    "polystyrene": 10.0,
    "pmma": 4.0,
    "polyethylene": 12.0,
}
"""Film thickness of each material on the chart, um: CHOSEN (not measured) so that each
polymer's strongest band in 6.8-8.6 um takes 60-81 % of the light (transmittance minima
0.40 polystyrene at 6.89 um, 0.23 PMMA at 8.40 um, 0.19 polyethylene at 6.83 um) and its
weak bands still show (~22 % dips near 7.26-7.29 um); free-standing or spin-coated films
of such thicknesses are usual in IR transmission spectroscopy."""


def _known(material: str) -> tuple[Band, ...]:
    bands = BANDS.get(material)
    if bands is None:
        raise ValueError(f"unknown material {material!r}; known: {', '.join(MATERIAL_NAMES)}")
    return bands


def wavenumber_cm1(wavelength_um: ArrayLike) -> np.ndarray:
    """Wavenumber ``1e4 / wavelength_um`` in cm^-1 (wavelengths must be positive, finite).

    Raises
    ------
    ValueError
        If any wavelength is not a positive finite number.
    """
    lam = np.asarray(wavelength_um, dtype=float)
    if not np.all(np.isfinite(lam) & (lam > 0.0)):
        raise ValueError("wavelength_um must be positive and finite")
    return 1e4 / lam


def _thickness(material: str, thickness_um: float | None) -> float:
    t = DEFAULT_THICKNESS_UM[material] if thickness_um is None else float(thickness_um)
    if not (math.isfinite(t) and t >= 0.0):
        raise ValueError(f"thickness_um of {material!r} must be >= 0, got {thickness_um!r}")
    return t


def absorbance(material: str, wavelength_um: ArrayLike,
               thickness_um: float | None = None) -> np.ndarray:
    """Decadic absorbance of a film of ``material`` at ``wavelength_um``.

    Parameters
    ----------
    material : str
        One of :data:`MATERIAL_NAMES`.
    wavelength_um : array_like
        Wavelengths, um (any shape; the result has the same shape).
    thickness_um : float, optional
        Film thickness; default :data:`DEFAULT_THICKNESS_UM` of the material.

    Returns
    -------
    numpy.ndarray
        ``-log10(transmittance)``, >= 0.

    Raises
    ------
    ValueError
        Unknown material (the message lists the known ones), a wavelength that is not
        positive, or a negative thickness.
    """
    bands = _known(material)
    t = _thickness(material, thickness_um)
    nu = wavenumber_cm1(wavelength_um)
    out = np.zeros(nu.shape)
    for band in bands:
        x = (nu - band.position_cm1) / (0.5 * band.fwhm_cm1)
        out += band.absorbance_per_um / (1.0 + x * x)
    return out * t


def transmission(material: str, wavelength_um: ArrayLike,
                 thickness_um: float | None = None) -> np.ndarray:
    """Transmittance ``10**(-absorbance)`` of a film of ``material`` (see :func:`absorbance`).

    Returns
    -------
    numpy.ndarray
        Values in (0, 1], the shape of ``wavelength_um``; exactly 1 for ``"clear"``.
    """
    return np.power(10.0, -absorbance(material, wavelength_um, thickness_um))


def library(wavelength_um: ArrayLike, names: Sequence[str] = MATERIAL_NAMES) -> np.ndarray:
    """Transmittance of each material at its default thickness, shape ``(len(names), nw)``.

    Parameters
    ----------
    wavelength_um : array_like
        Wavelengths, um (flattened to ``nw`` values).
    names : sequence of str
        Materials (default all of :data:`MATERIAL_NAMES`, in that order).

    Raises
    ------
    ValueError
        An unknown material or a wavelength that is not positive.
    """
    lam = np.atleast_1d(np.asarray(wavelength_um, dtype=float)).ravel()
    rows = [transmission(name, lam) for name in names]
    return np.array(rows).reshape(len(rows), lam.size)
