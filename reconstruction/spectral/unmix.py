"""Non-negative unmixing of a spectral cube against reference spectra (pure, vectorised).

Each pixel's spectrum ``s(l)`` is modelled as ``a * sum_m f_m T_m(l)``: reference
transmittances ``T_m``, fractions ``f_m >= 0`` summing to 1 and a free scale ``a`` per
pixel (the MIR beam profile, the film's local response: anything spectrally flat). That is
the non-negative least-squares problem ``min |s - T c|, c >= 0`` for the abundances
``c = a f``; then ``a = sum c`` and ``f = c / a``.

For a few materials (up to `EXACT_MAX` = 10) it is solved exactly for every pixel at once:
the NNLS solution is the unconstrained least-squares fit on its support, so the best
feasible fit over every subset of the materials is it (2^m - 1 small pseudo-inverses,
each applied to all pixels with one matrix product). More materials fall back to
:func:`scipy.optimize.nnls` pixel by pixel.

The reference spectra come from :func:`reference_spectra`: the built-in library
(:mod:`reconstruction.spectral.library`) at the scan's wavelengths, a CSV file, or the
material spectra stored in a simulated scan.
"""

from __future__ import annotations

import csv
import itertools
import os
import time
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

__all__ = ["EXACT_MAX", "SpectralAnalysis", "Unmixing", "analyse", "analyse_cube", "classify",
           "nnls_pixels", "read_csv_library", "reference_spectra", "unmix"]

EXACT_MAX = 10
"""Most materials solved by the exact subset enumeration (else scipy's nnls per pixel)."""


@dataclass(frozen=True)
class Unmixing:
    """The material maps of a cube.

    Attributes
    ----------
    names : tuple of str
        The materials, in the order of the maps' first axis.
    references : ndarray, shape (nmat, nw)
        The reference spectra used.
    abundances : ndarray, shape (nmat, ny, nx)
        Non-negative coefficients ``c`` (NaN where a pixel could not be fitted).
    fractions : ndarray, shape (nmat, ny, nx)
        ``c / sum(c)`` (NaN where the sum is 0 or not finite).
    scale : ndarray, shape (ny, nx)
        ``sum(c)``: the free per-pixel scale (beam profile).
    residual : ndarray, shape (ny, nx)
        RMS over the wavelengths of ``s - T c``, in the units of the cube.
    method : str
    seconds : float
        Time the fit took.
    """

    names: tuple[str, ...]
    references: np.ndarray
    abundances: np.ndarray
    fractions: np.ndarray
    scale: np.ndarray
    residual: np.ndarray
    method: str
    seconds: float


def nnls_pixels(A: np.ndarray, B: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Solve ``min |A c - b|, c >= 0`` for every column ``b`` of ``B``.

    Parameters
    ----------
    A : ndarray, shape (nw, m)
        The reference spectra as columns.
    B : ndarray, shape (nw, n)
        One spectrum per column (finite).

    Returns
    -------
    (C, sq_residual)
        ``(m, n)`` coefficients and ``(n,)`` squared residual norms.
    """
    nw, m = A.shape
    n = B.shape[1]
    if m > EXACT_MAX:
        from scipy.optimize import nnls

        C = np.zeros((m, n))
        res = np.zeros(n)
        for j in range(n):
            C[:, j], r = nnls(A, B[:, j])
            res[j] = r**2
        return C, res
    best_C = np.zeros((m, n))
    best = np.sum(B**2, axis=0)  # the empty support: c = 0
    scale = max(float(np.abs(A).max()), 1e-300)
    for size in range(1, m + 1):
        for support in itertools.combinations(range(m), size):
            cols = list(support)
            coef = np.linalg.pinv(A[:, cols]) @ B  # (size, n)
            feasible = (coef >= -1e-12 * scale).all(axis=0)
            res = np.sum((B - A[:, cols] @ coef) ** 2, axis=0)
            better = feasible & (res < best * (1 - 1e-12))
            if better.any():
                best = np.where(better, res, best)
                best_C[:, better] = 0.0
                best_C[np.ix_(cols, np.flatnonzero(better))] = np.maximum(coef[:, better], 0)
    return best_C, best


def unmix(values: np.ndarray, references: np.ndarray, names: tuple[str, ...] | list[str],
          sigma: np.ndarray | None = None) -> Unmixing:
    """Non-negative unmixing of every pixel, with a free per-pixel scale.

    Parameters
    ----------
    values : ndarray, shape (nw, ny, nx)
        Spectra proportional to the transmittance (e.g. a relative transmittance; see
        :func:`reconstruction.spectral.calibrate.spectral_shape`); NaN where not measured.
    references : ndarray, shape (nmat, nw)
        Reference transmittance of each material at the cube's wavelengths.
    names : sequence of str
        The materials' names.
    sigma : ndarray, optional
        The readings' 1-sigma (shape of ``values``): wavelengths are weighted by
        ``1 / median sigma`` (the same weights for every pixel).

    Returns
    -------
    Unmixing
        A pixel is fitted over the wavelengths measured there (at least 2); else NaN.
    """
    start = time.perf_counter()
    values = np.asarray(values, float)
    refs = np.asarray(references, float)
    nw, ny, nx = values.shape
    if refs.shape != (len(names), nw) or not np.isfinite(refs).all():
        raise ValueError(f"references must be finite, shape ({len(names)}, {nw}); got "
                         f"{refs.shape}")
    weights = np.ones(nw)
    if sigma is not None:
        with np.errstate(all="ignore"), warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)  # a wavelength never measured
            typical = np.nanmedian(np.where(np.isfinite(values), sigma, np.nan).reshape(nw, -1),
                                   axis=1)
        ok = np.isfinite(typical) & (typical > 0)
        if ok.any():
            weights = np.where(ok, 1.0 / np.where(ok, typical, 1.0), 0.0)
            weights /= weights[ok].mean()
    m = len(names)
    pixels = values.reshape(nw, -1)
    C = np.full((m, pixels.shape[1]), np.nan)
    rms = np.full(pixels.shape[1], np.nan)
    finite = np.isfinite(pixels) & (weights[:, None] > 0)
    patterns, which = np.unique(finite.T, axis=0, return_inverse=True)
    for p, pattern in enumerate(patterns):  # pixels measured at the same wavelengths
        if pattern.sum() < 2:
            continue
        cols = np.flatnonzero(which.ravel() == p)
        w = weights[pattern]
        A = refs[:, pattern].T * w[:, None]
        B = pixels[np.ix_(pattern, cols)]
        C[:, cols], _ = nnls_pixels(A, B * w[:, None])
        rms[cols] = np.sqrt(np.mean((B - refs[:, pattern].T @ C[:, cols]) ** 2, axis=0))
    scale = C.sum(axis=0)
    with np.errstate(invalid="ignore", divide="ignore"):
        fractions = np.where(scale > 0, C / scale, np.nan)
    shape = (m, ny, nx)
    method = "nnls (exact over supports)" if m <= EXACT_MAX else "nnls (scipy, per pixel)"
    return Unmixing(tuple(names), refs, C.reshape(shape), fractions.reshape(shape),
                    scale.reshape(ny, nx), rms.reshape(ny, nx),
                    method + ", free per-pixel scale", time.perf_counter() - start)


def classify(fractions: np.ndarray) -> np.ndarray:
    """The material of largest fraction at each pixel, ``(ny, nx)`` int16; -1 where the
    fractions are not finite (not measured, or nothing fitted)."""
    fractions = np.asarray(fractions, float)
    ok = np.isfinite(fractions).all(axis=0)
    labels = np.argmax(np.where(np.isfinite(fractions), fractions, -np.inf), axis=0)
    return np.where(ok, labels, -1).astype(np.int16)


# ------------------------------------------------------------------ reference spectra


def read_csv_library(path: str | os.PathLike[str], wavelength_um: np.ndarray
                     ) -> tuple[tuple[str, ...], np.ndarray]:
    """Reference spectra from a CSV file, interpolated onto ``wavelength_um``.

    The file: a header row (first cell the wavelength column's name, then one name per
    material), then rows of numbers, the first column the wavelength in um and one
    transmittance per material.

    Returns
    -------
    (names, spectra)
        ``spectra`` of shape ``(nmat, nw)`` (linear interpolation).

    Raises
    ------
    ValueError
        One line naming the file: unreadable, malformed (row and column said), or not
        covering the scan's wavelengths.
    """
    path = Path(os.fspath(path))
    try:
        with open(path, newline="", encoding="utf-8") as handle:
            rows = [r for r in csv.reader(handle) if r and any(c.strip() for c in r)]
    except (OSError, UnicodeDecodeError) as exc:
        raise ValueError(f"{path}: cannot read ({exc.__class__.__name__}: "
                         f"{getattr(exc, 'strerror', None) or exc})") from None
    if len(rows) < 3 or len(rows[0]) < 2:
        raise ValueError(f"{path}: needs a header row (wavelength_um, material names...) "
                         "and at least 2 rows of numbers")
    names = tuple(c.strip() for c in rows[0][1:])
    if any(not n for n in names) or len(set(names)) != len(names):
        raise ValueError(f"{path}: header row must name each material once, got {names}")
    table = np.empty((len(rows) - 1, len(names) + 1))
    for i, row in enumerate(rows[1:], start=2):
        if len(row) != len(names) + 1:
            raise ValueError(f"{path}: row {i} has {len(row)} columns, the header "
                             f"{len(names) + 1}")
        try:
            table[i - 2] = [float(c) for c in row]
        except ValueError:
            raise ValueError(f"{path}: row {i} is not all numbers: {','.join(row)}") from None
    if not np.isfinite(table).all():
        raise ValueError(f"{path}: values must be finite numbers")
    table = table[np.argsort(table[:, 0])]
    w = table[:, 0]
    if np.unique(w).size != w.size:
        raise ValueError(f"{path}: repeated wavelengths")
    want = np.asarray(wavelength_um, float)
    outside = (want < w[0] - 1e-9) | (want > w[-1] + 1e-9)
    if outside.any():
        raise ValueError(f"{path}: covers {w[0]:g}-{w[-1]:g} um; the scan's "
                         f"{', '.join(f'{v:g}' for v in want[outside])} um lie outside")
    spectra = np.array([np.interp(want, w, table[:, 1 + k]) for k in range(len(names))])
    return names, spectra


def reference_spectra(wavelength_um: np.ndarray, library: str = "builtin",
                      cube=None) -> tuple[tuple[str, ...], np.ndarray]:
    """The reference spectra at the scan's wavelengths.

    Parameters
    ----------
    wavelength_um : ndarray, shape (nw,)
    library : str
        ``"builtin"`` (:func:`reconstruction.spectral.library.library`), ``"file"`` (the
        material spectra stored in the scan file, ``cube.material_transmission``) or the
        path of a CSV file (:func:`read_csv_library`).
    cube : SpectralCube, optional
        Needed for ``"file"``.

    Returns
    -------
    (names, spectra)
        ``spectra`` of shape ``(nmat, nw)``.

    Raises
    ------
    ValueError
        One line: the file stores no material spectra, or the CSV file is bad.
    """
    w = np.asarray(wavelength_um, float)
    if library == "builtin":
        from .library import MATERIAL_NAMES
        from .library import library as builtin

        return tuple(MATERIAL_NAMES), np.asarray(builtin(w, MATERIAL_NAMES), float)
    if library == "file":
        if cube is None or cube.material_transmission is None or not cube.material_names:
            where = getattr(cube, "path", "the scan file")
            raise ValueError(f"{where} stores no material spectra "
                             "(/entry/sample/material_transmission and materials@names)")
        return tuple(cube.material_names), np.asarray(cube.material_transmission, float)
    return read_csv_library(library, w)


# ------------------------------------------------------------------ the whole analysis


@dataclass(frozen=True)
class SpectralAnalysis:
    """Material maps and spectra of a cube, and (simulated scans) how they compare with
    the truth.

    Attributes
    ----------
    unmixing : Unmixing
    labels : ndarray of int16, shape (ny, nx)
        :func:`classify` of the fractions (-1: not measured).
    spectra, spectra_sigma : ndarray, shape (nmat, nw)
        Mean measured spectrum of each class, and its 1-sigma.
    counts : ndarray of int, shape (nmat,)
        Pixels per class.
    library : str
        Where the references came from (``"builtin"``, ``"file"`` or the CSV path).
    score : float or None
        Fraction of the pixels classified as the truth (None without truth labels).
    correlation : ndarray (nmat,) or None
        Correlation of each class's spectrum with the truth spectrum of that material
        (NaN where the truth has no such material, or its spectrum is flat).
    """

    unmixing: Unmixing
    labels: np.ndarray
    spectra: np.ndarray
    spectra_sigma: np.ndarray
    counts: np.ndarray
    library: str
    score: float | None = None
    correlation: np.ndarray | None = None


def analyse(values: np.ndarray, sigma: np.ndarray, names: tuple[str, ...],
            references: np.ndarray, library: str = "builtin",
            truth_labels: np.ndarray | None = None, truth_names: tuple[str, ...] = (),
            truth_spectra: np.ndarray | None = None, common_rel: np.ndarray | None = None
            ) -> SpectralAnalysis:
    """Unmix, classify, average each class's spectrum and compare with a truth.

    Parameters
    ----------
    values, sigma : ndarray, shape (nw, ny, nx)
        Spectra proportional to the transmittance, and their 1-sigma (independent between
        pixels).
    names, references
        The materials and their spectra ``(nmat, nw)`` (:func:`reference_spectra`).
    library : str
        Recorded with the result.
    truth_labels, truth_names, truth_spectra : optional
        A simulated scan's material labels ``(ny, nx)`` (indices into ``truth_names``)
        and spectra ``(ntruth, nw)``; matched to ``names`` by name.
    common_rel : ndarray, shape (nw,), optional
        Relative uncertainty shared by all pixels of a wavelength (the class spectra's
        sigma includes it; see :mod:`reconstruction.spectral.analysis`).

    Returns
    -------
    SpectralAnalysis
    """
    from .analysis import material_spectra, relabel, score, spectral_correlation

    common = np.zeros(values.shape[0]) if common_rel is None else np.asarray(common_rel)
    total = np.hypot(sigma, np.abs(values) * common[:, None, None])
    result = unmix(values, references, names, total)
    labels = classify(result.fractions)
    spectra, errors, counts = material_spectra(values, labels, len(names), sigma, common)
    fraction = correlation = None
    if truth_labels is not None and truth_names:
        fraction = score(relabel(labels, names, truth_names), truth_labels)
        if truth_spectra is not None:
            truth = np.full_like(spectra, np.nan)
            for k, name in enumerate(names):
                if name in truth_names:
                    truth[k] = truth_spectra[list(truth_names).index(name)]
            correlation = spectral_correlation(spectra, truth)
    return SpectralAnalysis(result, labels, spectra, errors, counts, library, fraction,
                            correlation)


def analyse_cube(cube: Any, library: str = "builtin", reference: Any = None,
                 responsivity: Any = None) -> tuple[Any, SpectralAnalysis]:
    """A spectral scan from its cube to material maps, as ``mirimager reconstruct
    --spectra`` does by default: the best calibration the inputs allow
    (:func:`~reconstruction.spectral.calibrate.calibrate`), unmixed against ``library``.

    Returns
    -------
    (CalibratedCube, SpectralAnalysis)
    """
    from .calibrate import calibrate, spectral_shape

    with warnings.catch_warnings(), np.errstate(all="ignore"):
        warnings.simplefilter("ignore", RuntimeWarning)
        warnings.simplefilter("ignore", UserWarning)  # the calibration's notes say it
        cal = calibrate(cube, reference=reference, responsivity=responsivity)
        values, sigma = spectral_shape(cal)
        names, refs = reference_spectra(cube.wavelength_um, library, cube)
        result = analyse(values, sigma, names, refs, library, cube.labels,
                         cube.material_names, cube.material_transmission, cal.common_rel)
    return cal, result
