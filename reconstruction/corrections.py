"""Corrections of raster images: snake-scan lock-in lag, background, flat field.

All functions take and return float arrays of shape ``(ny, nx)`` (axis 0 is y,
axis 1 is x) and never modify their input. NaN marks unmeasured pixels and is
preserved.

The snake-lag functions live in `reconstruction.snake_lag` (sign convention,
estimator with its uncertainty, when a correction is applied) and are
re-exported here.

Background
----------
``subtract_background(image, "plane")`` fits a plane to the *background*
pixels only: those at the image's dominant flat level (the opaque parts of a
chart), found by `fit_background_plane`, not to the chart's bright features
(a plane fitted to everything tilts the image by the chart's own layout).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import numpy as np

from .snake_lag import (
    SnakeLag,
    _as_image,
    _valid,
    correct_snake_lag,
    estimate_snake_lag,
    estimate_snake_lag_px,
    shift_rows,
)

__all__ = [
    "BackgroundPlane",
    "SnakeLag",
    "correct_snake_lag",
    "estimate_snake_lag",
    "estimate_snake_lag_px",
    "fit_background_plane",
    "flat_field",
    "shift_rows",
    "subtract_background",
]

BackgroundMethod = Literal["plane", "median", "row_median", "percentile"]


# ------------------------------------------------------------------ background


@dataclass(frozen=True)
class BackgroundPlane:
    """A background plane ``offset + slope_x_per_px * ix + slope_y_per_px * iy``.

    Attributes
    ----------
    offset : float
        Value at pixel ``(iy, ix) = (0, 0)``, image units.
    slope_x_per_px, slope_y_per_px : float
        Change per column and per row, image units per pixel.
    mask : ndarray of bool, shape (ny, nx)
        The pixels the plane was fitted to (the background).
    noise : float
        Pixel noise estimated from neighbouring-pixel differences (robust).
    """

    offset: float
    slope_x_per_px: float
    slope_y_per_px: float
    mask: np.ndarray
    noise: float

    def evaluate(self, shape: tuple[int, int]) -> np.ndarray:
        """The plane on a grid of ``shape = (ny, nx)`` pixels."""
        gy, gx = np.indices(shape, dtype=float)
        return self.offset + self.slope_x_per_px * gx + self.slope_y_per_px * gy


def _pixel_noise(img: np.ndarray, ok: np.ndarray) -> float:
    """Noise of one pixel from differences of horizontal (else vertical) neighbours.

    The median absolute deviation of the differences ignores edges (few) and a
    slope (a constant difference)."""
    for axis in (1, 0):
        a = np.moveaxis(img, axis, 1)
        m = np.moveaxis(ok, axis, 1)
        both = m[:, 1:] & m[:, :-1]
        if both.sum() >= 2:
            d = (a[:, 1:] - a[:, :-1])[both]
            return float(1.4826 * np.median(np.abs(d - np.median(d))) / np.sqrt(2.0))
    return 0.0


def _otsu(values: np.ndarray, bins: int = 256) -> float:
    """Otsu's threshold: the split of a histogram with the largest between-class variance."""
    counts, edges = np.histogram(values, bins=bins)
    centres = 0.5 * (edges[1:] + edges[:-1])
    w0 = np.cumsum(counts)[:-1].astype(float)
    w1 = counts.sum() - w0
    s0 = np.cumsum(counts * centres)[:-1]
    with np.errstate(invalid="ignore", divide="ignore"):
        m0 = s0 / w0
        m1 = (np.sum(counts * centres) - s0) / w1
        between = w0 * w1 * (m0 - m1) ** 2
    between[~np.isfinite(between)] = -1.0
    return float(edges[int(np.argmax(between)) + 1])


_EDGE_PX = 2  # background pixels this close to a feature are left out (blurred edges)


def _erode(mask: np.ndarray, keep: np.ndarray) -> np.ndarray:
    """Drop the pixels of ``mask`` next to (4-neighbour) a pixel outside it; pixels in
    ``keep`` (unmeasured) and beyond the image count as inside."""
    p = np.pad(mask | keep, 1, constant_values=True)
    inner = p[1:-1, 1:-1] & p[:-2, 1:-1] & p[2:, 1:-1] & p[1:-1, :-2] & p[1:-1, 2:]
    return mask & inner


def fit_background_plane(
    image: np.ndarray,
    measured: np.ndarray | None = None,
    n_sigma: float = 3.0,
    max_iterations: int = 30,
) -> BackgroundPlane:
    """Fit a plane to the background of an image, not to its features.

    Parameters
    ----------
    image : ndarray, shape (ny, nx)
        Input; NaN pixels are ignored.
    measured : ndarray of bool, optional
        Only these (finite) pixels are considered.
    n_sigma : float
        Background pixels lie within this many noise sigmas of the plane.
    max_iterations : int
        Bound on the fit/select iterations.

    Returns
    -------
    BackgroundPlane

    Raises
    ------
    ValueError
        Fewer than three valid pixels.

    Notes
    -----
    Start from the least-squares plane of all valid pixels. Then repeat: split
    the residuals in two by Otsu's threshold; if the two classes are apart by
    more than 5 pixel-noise sigmas (an image with features), the larger class
    is the background (the image's dominant level: the opaque part of a
    chart). Keep the pixels within ``n_sigma`` noise sigmas (from neighbour
    differences inside that class) of its median, drop those within 2 pixels
    of a feature (mixed pixels at blurred edges, while at least a tenth
    remain), and refit the plane to the rest,
    until the selection no longer changes. An image without separated
    features (noise on a plane) is fitted by least squares over every pixel.
    The background must cover most of the field; for a chart that is mostly
    open use a reference scan (`flat_field` with ``dark``) instead.
    """
    img = _as_image(image)
    ok = _valid(img, measured)
    if np.count_nonzero(ok) < 3:
        raise ValueError("plane background needs at least 3 valid pixels")
    gy, gx = np.indices(img.shape, dtype=float)

    def fit(mask: np.ndarray) -> np.ndarray:
        a = np.column_stack((np.ones(np.count_nonzero(mask)), gx[mask], gy[mask]))
        coef, *_ = np.linalg.lstsq(a, img[mask], rcond=None)
        return coef

    noise = _pixel_noise(img, ok)
    values = img[ok]
    floor = 1e-9 * max(float(np.ptp(values)), float(np.max(np.abs(values))), 1e-300)
    selected = ok.copy()
    coef = fit(selected)
    for _ in range(max_iterations):
        r = img - (coef[0] + coef[1] * gx + coef[2] * gy)
        rv = r[ok]
        if float(np.ptp(rv)) <= floor:
            break
        low = ok & (r < _otsu(rv))
        high = ok & ~low
        if not low.any() or not high.any():
            break
        gap = float(np.mean(r[high]) - np.mean(r[low]))
        if gap <= max(5.0 * noise, floor):  # no features above the noise: every pixel
            if np.array_equal(selected, ok):
                break
            selected = ok.copy()
            coef = fit(selected)
            continue
        cls = low if np.count_nonzero(low) >= np.count_nonzero(high) else high
        centre = float(np.median(r[cls]))
        spread = _pixel_noise(np.where(cls, r, np.nan), cls) or noise
        new = cls & (np.abs(r - centre) <= n_sigma * max(spread, floor))
        for _ in range(_EDGE_PX):  # away from features, as long as enough pixels remain
            eroded = _erode(new, ~ok)
            if np.count_nonzero(eroded) < max(3, 0.1 * np.count_nonzero(new)):
                break
            new = eroded
        if np.count_nonzero(new) < 3 or np.array_equal(new, selected):
            break
        selected = new
        coef = fit(selected)
    return BackgroundPlane(float(coef[0]), float(coef[1]), float(coef[2]), selected, noise)


def subtract_background(
    image: np.ndarray,
    method: BackgroundMethod = "plane",
    measured: np.ndarray | None = None,
    percentile: float = 5.0,
) -> np.ndarray:
    """Remove an additive background.

    Parameters
    ----------
    image : ndarray, shape (ny, nx)
        Input; NaN pixels are ignored and preserved.
    method : {"plane", "median", "row_median", "percentile"}
        ``plane``: the plane ``a + b*x + c*y`` (pixel units) fitted to the
        background pixels only (`fit_background_plane`);
        ``median``: the median of the image; ``row_median``: each row's own
        median (levels row-to-row drift); ``percentile``: the given percentile
        of the image (a dark level, so the result is mostly >= 0).
    measured : ndarray of bool, optional
        Only these (finite) pixels enter the fit.
    percentile : float
        Percentile for ``method="percentile"``, 0..100.

    Returns
    -------
    ndarray, shape (ny, nx)
        ``image - background``; pixels outside ``measured`` are corrected too.

    Raises
    ------
    ValueError
        Unknown method, or no valid pixel (for ``plane``, fewer than three).
    """
    img = _as_image(image)
    ok = _valid(img, measured)
    if method == "row_median":
        out = img.copy()
        for iy in range(img.shape[0]):
            if ok[iy].any():
                out[iy] -= np.median(img[iy, ok[iy]])
        return out
    if method == "plane":
        return img - fit_background_plane(img, ok).evaluate(img.shape)
    if not ok.any():
        raise ValueError("no valid pixel to estimate the background from")
    if method == "median":
        return img - np.median(img[ok])
    if method == "percentile":
        if not 0.0 <= percentile <= 100.0:
            raise ValueError(f"percentile must be within 0..100, got {percentile}")
        return img - np.percentile(img[ok], percentile)
    raise ValueError(
        f"unknown background method {method!r}; use plane, median, row_median or percentile"
    )


# ------------------------------------------------------------------ flat field


def flat_field(
    image: np.ndarray,
    reference: np.ndarray,
    dark: np.ndarray | float | None = None,
    eps: float = 0.02,
) -> np.ndarray:
    """Divide by a normalised reference (illumination) scan.

    Parameters
    ----------
    image : ndarray, shape (ny, nx)
        The image to correct.
    reference : ndarray, shape (ny, nx)
        A scan of the illumination alone (e.g. the same raster without the
        chart), in the same units as `image`.
    dark : ndarray or float, optional
        Additive offset (e.g. a scan with the MIR beam blocked) subtracted
        from both `image` and `reference` first.
    eps : float
        Pixels where the normalised reference is below ``eps`` (it is 1 on
        average) are set to NaN instead of being amplified.

    Returns
    -------
    ndarray, shape (ny, nx)
        ``(image - dark) / ((reference - dark) / mean(reference - dark))``: the
        image with the illumination profile removed, keeping its overall level
        (and units). NaN where either input is NaN or the reference is small.

    Raises
    ------
    ValueError
        Shape mismatch, or the reference has no positive mean.
    """
    img = _as_image(image)
    ref = _as_image(reference)
    if ref.shape != img.shape:
        raise ValueError(f"reference has shape {ref.shape}, image {img.shape}")
    if dark is not None:
        d = np.asarray(dark, dtype=float)
        img = img - d
        ref = ref - d
    finite = np.isfinite(ref)
    if not finite.any():
        raise ValueError("reference has no finite pixel")
    mean = float(np.mean(ref[finite]))
    if not mean > 0:
        raise ValueError(f"reference mean is {mean:g}; expected a positive illumination scan")
    norm = ref / mean
    with np.errstate(invalid="ignore", divide="ignore"):
        out = img / norm
    out[~(norm >= eps)] = np.nan  # also catches NaN in the reference
    return out
