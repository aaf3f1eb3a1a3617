"""Spectra and images from a calibrated cube (pure: arrays in, arrays out).

The cube is ``values[iw, iy, ix]`` with its 1-sigma ``sigma`` of the same shape (from
:mod:`reconstruction.spectral.calibrate`), NaN where not measured; ``x_um`` and ``y_um``
are the pixel centres. ``sigma`` is the part of the uncertainty independent between
pixels, which averages down over a region; ``common_rel`` (per wavelength, relative) the
part all pixels of a wavelength share (a blank-spot reading, the power meter), which does
not: a spectrum's sigma is ``hypot(sigma of the mean, |mean| * common_rel)``.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

__all__ = ["Spectrum", "band_image", "material_spectra", "nearest_pixel", "pixel_spectrum",
           "rectangle_mask", "region_spectrum", "relabel", "score", "spectral_correlation"]


@dataclass(frozen=True)
class Spectrum:
    """A spectrum with its uncertainty.

    Attributes
    ----------
    values, sigma : ndarray, shape (nw,)
        Mean over the pixels, and the 1-sigma uncertainty of that mean (from the
        readings' sigma; NaN where no pixel was measured).
    spread : ndarray, shape (nw,)
        Standard deviation over the pixels (0 for one pixel).
    n_pixels : ndarray of int, shape (nw,)
        Measured pixels averaged at each wavelength.
    """

    values: np.ndarray
    sigma: np.ndarray
    spread: np.ndarray
    n_pixels: np.ndarray


def nearest_pixel(x_um: np.ndarray, y_um: np.ndarray, x: float, y: float) -> tuple[int, int]:
    """``(ix, iy)`` of the pixel whose centre is nearest ``(x, y)`` (micrometres).

    Raises
    ------
    ValueError
        The point lies outside the grid (beyond half a pitch from the outer centres).
    """
    out = []
    for axis, value, name in ((np.asarray(x_um, float), x, "x"), (np.asarray(y_um, float), y,
                                                                     "y")):
        half = 0.5 * abs(axis[-1] - axis[0]) / (axis.size - 1) if axis.size > 1 else 0.5
        lo, hi = float(axis.min()) - half, float(axis.max()) + half
        if not lo <= value <= hi:
            raise ValueError(f"{name} = {value:g} um is outside the scan ({lo:g} to {hi:g} um)")
        out.append(int(np.argmin(np.abs(axis - value))))
    return out[0], out[1]


def _common(common_rel: np.ndarray | None, nw: int) -> np.ndarray:
    return np.zeros(nw) if common_rel is None else np.asarray(common_rel, float)


def _mean(values: np.ndarray, sigma: np.ndarray, mask: np.ndarray,
          common_rel: np.ndarray | None = None) -> Spectrum:
    """Mean over the pixels of ``mask`` of each wavelength's image."""
    v = values[:, mask]  # (nw, n)
    s = sigma[:, mask]
    ok = np.isfinite(v)
    n = ok.sum(axis=1)
    with np.errstate(invalid="ignore", divide="ignore"):
        mean = np.where(n > 0, np.nansum(np.where(ok, v, 0), axis=1) / n, np.nan)
        sem = np.sqrt(np.nansum(np.where(ok, s, 0) ** 2, axis=1)) / n
        spread = np.sqrt(np.nansum(np.where(ok, (v - mean[:, None]) ** 2, 0), axis=1)
                         / np.maximum(n - 1, 1))
    sem = np.where(n > 0, np.hypot(sem, np.abs(mean) * _common(common_rel, v.shape[0])),
                   np.nan)
    spread = np.where(n > 0, spread, np.nan)
    return Spectrum(mean, sem, spread, n.astype(int))


def pixel_spectrum(values: np.ndarray, sigma: np.ndarray, x_um: np.ndarray, y_um: np.ndarray,
                   x: float, y: float, common_rel: np.ndarray | None = None
                   ) -> tuple[Spectrum, tuple[int, int]]:
    """The spectrum at the pixel nearest ``(x, y)`` um.

    Parameters
    ----------
    values, sigma : ndarray, shape (nw, ny, nx)
    x_um, y_um : ndarray
        Pixel centres.
    x, y : float
        Where, micrometres.
    common_rel : ndarray, shape (nw,), optional
        Relative uncertainty shared by all pixels (module docstring).

    Returns
    -------
    (Spectrum, (ix, iy))
        The spectrum and the pixel used.

    Raises
    ------
    ValueError
        ``(x, y)`` is outside the scan.
    """
    ix, iy = nearest_pixel(x_um, y_um, x, y)
    mask = np.zeros(values.shape[1:], bool)
    mask[iy, ix] = True
    return _mean(values, sigma, mask, common_rel), (ix, iy)


def rectangle_mask(x_um: np.ndarray, y_um: np.ndarray, x0: float, x1: float, y0: float,
                   y1: float) -> np.ndarray:
    """Pixels whose centres lie in ``[x0, x1] x [y0, y1]`` um (either order), ``(ny, nx)``.

    Raises
    ------
    ValueError
        No pixel centre lies in the rectangle.
    """
    xs = (np.asarray(x_um) >= min(x0, x1)) & (np.asarray(x_um) <= max(x0, x1))
    ys = (np.asarray(y_um) >= min(y0, y1)) & (np.asarray(y_um) <= max(y0, y1))
    mask = ys[:, None] & xs[None, :]
    if not mask.any():
        raise ValueError(f"no pixel centre in x {x0:g}..{x1:g}, y {y0:g}..{y1:g} um (the scan: "
                         f"x {np.min(x_um):g}..{np.max(x_um):g}, y {np.min(y_um):g}.."
                         f"{np.max(y_um):g} um)")
    return mask


def region_spectrum(values: np.ndarray, sigma: np.ndarray, mask: np.ndarray,
                    common_rel: np.ndarray | None = None) -> Spectrum:
    """The mean spectrum over a region.

    Parameters
    ----------
    values, sigma : ndarray, shape (nw, ny, nx)
    mask : ndarray of bool, shape (ny, nx)
        The region (e.g. :func:`rectangle_mask`, or a material's pixels).
    common_rel : ndarray, shape (nw,), optional
        Relative uncertainty shared by all pixels (module docstring).

    Returns
    -------
    Spectrum
        Mean of the measured pixels; sigma of the mean (the readings' noise over the
        pixels, and the shared part), and the pixels' spread.
    """
    mask = np.asarray(mask, bool)
    if mask.shape != values.shape[1:]:
        raise ValueError(f"mask is {mask.shape}, the images {values.shape[1:]}")
    return _mean(values, sigma, mask, common_rel)


def band_image(values: np.ndarray, wavelength_um: np.ndarray, lo_um: float, hi_um: float,
               sigma: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray | None]:
    """Mean image over the wavelengths in ``[lo_um, hi_um]``.

    Parameters
    ----------
    values : ndarray, shape (nw, ny, nx)
    wavelength_um : ndarray, shape (nw,)
    lo_um, hi_um : float
        The band (either order).
    sigma : ndarray, optional
        Same shape as ``values``: the image's sigma is returned too.

    Returns
    -------
    (image, sigma_image)
        ``(ny, nx)`` each (``sigma_image`` None without ``sigma``); NaN where no
        wavelength of the band was measured.

    Raises
    ------
    ValueError
        No wavelength of the scan lies in the band.
    """
    w = np.asarray(wavelength_um, float)
    lo, hi = min(lo_um, hi_um), max(lo_um, hi_um)
    pick = (w >= lo - 1e-9) & (w <= hi + 1e-9)
    if not pick.any():
        raise ValueError(f"no wavelength of the scan in {lo:g}-{hi:g} um (the scan has "
                         f"{w.min():g}-{w.max():g} um)")
    v = values[pick]
    ok = np.isfinite(v)
    n = ok.sum(axis=0)
    with np.errstate(invalid="ignore", divide="ignore"):
        image = np.where(n > 0, np.where(ok, v, 0).sum(axis=0) / n, np.nan)
        if sigma is None:
            return image, None
        s = np.where(ok, sigma[pick], 0)
        return image, np.where(n > 0, np.sqrt((s**2).sum(axis=0)) / n, np.nan)


def material_spectra(values: np.ndarray, labels: np.ndarray, n_materials: int,
                     sigma: np.ndarray | None = None, common_rel: np.ndarray | None = None
                     ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Mean spectrum of each class of a label map.

    Parameters
    ----------
    values : ndarray, shape (nw, ny, nx)
    labels : ndarray of int, shape (ny, nx)
        Class of each pixel (negative: none).
    n_materials : int
    sigma : ndarray, optional
        The readings' sigma (shape of ``values``), independent between pixels.
    common_rel : ndarray, shape (nw,), optional
        Relative uncertainty shared by all pixels (module docstring).

    Returns
    -------
    (spectra, sigma, counts)
        ``(n_materials, nw)`` means and their 1-sigma (the larger of the propagated
        noise and the spread over the class's pixels, divided by sqrt(n), combined with
        the shared part), and the pixels per class; NaN rows for empty classes.
    """
    nw = values.shape[0]
    spectra = np.full((n_materials, nw), np.nan)
    errors = np.full((n_materials, nw), np.nan)
    counts = np.zeros(n_materials, int)
    sigma = np.zeros_like(values) if sigma is None else sigma
    for m in range(n_materials):
        mask = labels == m
        counts[m] = int(mask.sum())
        if counts[m]:
            s = _mean(values, sigma, mask)
            spectra[m] = s.values
            independent = np.fmax(s.sigma, s.spread / np.sqrt(np.maximum(s.n_pixels, 1)))
            errors[m] = np.hypot(independent, np.abs(s.values) * _common(common_rel, nw))
    return spectra, errors, counts


def spectral_correlation(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Pearson correlation of each row of ``a`` with the same row of ``b`` (over the
    wavelengths where both are finite); NaN for rows with fewer than 2 or constant."""
    a, b = np.atleast_2d(np.asarray(a, float)), np.atleast_2d(np.asarray(b, float))
    out = np.full(a.shape[0], np.nan)
    for k in range(a.shape[0]):
        ok = np.isfinite(a[k]) & np.isfinite(b[k])
        if ok.sum() >= 2 and np.ptp(a[k][ok]) > 0 and np.ptp(b[k][ok]) > 0:
            out[k] = float(np.corrcoef(a[k][ok], b[k][ok])[0, 1])
    return out


def score(labels: np.ndarray, truth_labels: np.ndarray) -> float:
    """Fraction of the pixels (those with a truth label >= 0) classified as the truth."""
    truth = np.asarray(truth_labels)
    labels = np.asarray(labels)
    if labels.shape != truth.shape:
        raise ValueError(f"labels are {labels.shape}, the truth {truth.shape}")
    valid = truth >= 0
    if not valid.any():
        return float("nan")
    return float(np.mean(labels[valid] == truth[valid]))


def relabel(labels: np.ndarray, names: tuple[str, ...] | list[str],
            to_names: tuple[str, ...] | list[str]) -> np.ndarray:
    """Labels indexing ``names`` as indices into ``to_names`` (-1 where a name is not in
    ``to_names``, and for negative labels)."""
    lookup = np.array([list(to_names).index(n) if n in to_names else -1 for n in names] + [-1])
    labels = np.asarray(labels)
    return lookup[np.where(labels < 0, len(names), labels)].astype(np.int16)
