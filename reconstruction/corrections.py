"""Corrections of raster images: snake-scan lock-in lag, background, flat field.

All functions take and return float arrays of shape ``(ny, nx)`` (axis 0 is y,
axis 1 is x) and never modify their input. NaN marks unmeasured pixels and is
preserved.

Snake lag convention
--------------------
In a snake scan even rows (``iy`` = 0, 2, ...) run towards increasing column
index and odd rows towards decreasing index. The lock-in output lags the
stage, so a feature appears displaced *along the scan direction*: by ``+lag``
columns in even rows and by ``-lag`` columns in odd rows. ``lag_px`` is that
one-way displacement (positive for a delayed response), so the two row
families are offset from each other by ``2 * lag_px``. `correct_snake_lag`
moves even rows by ``-lag_px`` and odd rows by ``+lag_px``, which puts both on
the true (lag-free) positions if the lag is the same in both directions.
"""

from __future__ import annotations

from typing import Literal

import numpy as np
from scipy import ndimage, optimize

__all__ = [
    "correct_snake_lag",
    "estimate_snake_lag_px",
    "flat_field",
    "shift_rows",
    "subtract_background",
]

BackgroundMethod = Literal["plane", "median", "row_median", "percentile"]


def _as_image(image: np.ndarray) -> np.ndarray:
    a = np.array(image, dtype=float)  # copy
    if a.ndim != 2:
        raise ValueError(f"expected a 2D image, got shape {a.shape}")
    return a


def _valid(image: np.ndarray, measured: np.ndarray | None) -> np.ndarray:
    ok = np.isfinite(image)
    if measured is not None:
        measured = np.asarray(measured, dtype=bool)
        if measured.shape != image.shape:
            raise ValueError(f"measured has shape {measured.shape}, image {image.shape}")
        ok &= measured
    return ok


# ------------------------------------------------------------------ sub-pixel row shifts


def _shift_segment(values: np.ndarray, shift: float, order: int) -> np.ndarray:
    """``out[x] = values[x - shift]`` by spline interpolation, nearest-value extension."""
    if values.size == 1 or shift == 0.0:
        return values.copy()
    return ndimage.shift(values, shift, order=min(order, values.size - 1), mode="nearest")


def _shift_row(row: np.ndarray, shift: float, order: int) -> np.ndarray:
    """Shift one row, NaN-aware.

    Each run of finite values is shifted on its own. Positions whose source
    ``x - shift`` falls outside the run are NaN, except beyond the ends of the
    row, where the nearest value is repeated (so a full row stays full).
    """
    finite = np.isfinite(row)
    if finite.all():
        return _shift_segment(row, shift, order)
    out = np.full_like(row, np.nan)
    if not finite.any():
        return out
    n = row.size
    edges = np.diff(np.concatenate(([0], finite.astype(np.int8), [0])))
    starts = np.flatnonzero(edges == 1)
    stops = np.flatnonzero(edges == -1)  # exclusive
    x = np.arange(n)
    for a, b in zip(starts, stops, strict=True):
        # The run, extended with its edge values to the whole row, shifted.
        padded = np.concatenate((np.full(a, row[a]), row[a:b], np.full(n - b, row[b - 1])))
        shifted = _shift_segment(padded, shift, order)
        src = x - shift
        lo = -np.inf if a == 0 else a - 1e-9
        hi = np.inf if b == n else b - 1 + 1e-9
        inside = (src >= lo) & (src <= hi)
        out[inside] = shifted[inside]
    return out


def shift_rows(image: np.ndarray, shifts: np.ndarray, order: int = 3) -> np.ndarray:
    """Shift each row of an image by a sub-pixel amount along x.

    Parameters
    ----------
    image : ndarray, shape (ny, nx)
        Input; NaN marks missing pixels.
    shifts : array_like, shape (ny,)
        Shift of each row in pixels; ``out[y, x] = image[y, x - shifts[y]]``.
    order : int
        Spline order (1 = linear, 3 = cubic).

    Returns
    -------
    ndarray, shape (ny, nx)
        Shifted image. Beyond the ends of a row the edge value is repeated;
        next to a run of NaN the output is NaN where its source is missing.
    """
    img = _as_image(image)
    shifts = np.broadcast_to(np.asarray(shifts, dtype=float), (img.shape[0],))
    out = np.empty_like(img)
    for iy in range(img.shape[0]):
        out[iy] = _shift_row(img[iy], float(shifts[iy]), order)
    return out


def _family_shifts(ny: int, lag_px: float) -> np.ndarray:
    """Correction shifts: ``-lag`` for even (forward) rows, ``+lag`` for odd rows."""
    return np.where(np.arange(ny) % 2 == 0, -lag_px, lag_px)


# ------------------------------------------------------------------ snake lag


def estimate_snake_lag_px(
    image: np.ndarray,
    measured: np.ndarray | None = None,
    max_lag_px: float | None = None,
) -> float:
    """Estimate the lock-in lag of a snake scan, in pixels.

    Parameters
    ----------
    image : ndarray, shape (ny, nx)
        Raw snake-scan image (even rows scanned towards +x).
    measured : ndarray of bool, optional
        Measured-pixel mask; rows are used only if fully measured and finite.
    max_lag_px : float, optional
        Largest lag searched; default ``nx / 8`` clipped to 1..16.

    Returns
    -------
    float
        The one-way lag ``lag_px`` (see the module docstring for the sign
        convention), or 0.0 when fewer than one pair of adjacent full rows
        exists or the rows carry no structure.

    Notes
    -----
    Every pair of vertically adjacent full rows (one even, one odd) is used;
    pairs above and below each row are both taken so that a slanted edge
    biases the two kinds of pair in opposite directions and cancels. Each
    row has its mean removed. The lag minimises the mean squared difference
    between even rows shifted by ``-lag`` and odd rows shifted by ``+lag``
    (cubic-spline shifts, the same as `correct_snake_lag`), over the columns
    that are unaffected by the row ends: first on a 0.5-pixel grid, then
    refined by a bounded scalar minimisation.
    """
    img = _as_image(image)
    ny, nx = img.shape
    full = _valid(img, measured).all(axis=1)
    pairs = [(y, y + 1) for y in range(ny - 1) if full[y] and full[y + 1]]
    if not pairs or nx < 4:
        return 0.0
    if max_lag_px is None:
        max_lag_px = float(np.clip(nx / 8, 1.0, 16.0))
    margin = int(np.ceil(max_lag_px)) + 2
    if nx - 2 * margin < 4:
        margin = max(1, (nx - 4) // 2)
        max_lag_px = max(0.5, margin - 2.0)
    even_rows = sorted({a if a % 2 == 0 else b for a, b in pairs})
    odd_rows = sorted({b if a % 2 == 0 else a for a, b in pairs})
    even = img[even_rows] - img[even_rows].mean(axis=1, keepdims=True)
    odd = img[odd_rows] - img[odd_rows].mean(axis=1, keepdims=True)
    if not (np.ptp(even, axis=1) > 0).any() or not (np.ptp(odd, axis=1) > 0).any():
        return 0.0
    e_pos = {y: k for k, y in enumerate(even_rows)}
    o_pos = {y: k for k, y in enumerate(odd_rows)}
    even_idx = np.array([e_pos[a] if a % 2 == 0 else e_pos[b] for a, b in pairs])
    odd_idx = np.array([o_pos[b] if a % 2 == 0 else o_pos[a] for a, b in pairs])
    sl = slice(margin, nx - margin)

    def cost(lag: float) -> float:
        # A 2D cubic spline shifted by (0, s) equals shifting each row on its own.
        e = ndimage.shift(even, (0.0, -lag), order=3, mode="nearest")
        o = ndimage.shift(odd, (0.0, lag), order=3, mode="nearest")
        d = e[even_idx, sl] - o[odd_idx, sl]
        return float(np.mean(d * d))

    grid = np.arange(-max_lag_px, max_lag_px + 1e-9, 0.5)
    costs = np.array([cost(g) for g in grid])
    if not np.isfinite(costs).any():
        return 0.0
    k = int(np.nanargmin(costs))
    lo = grid[max(k - 1, 0)]
    hi = grid[min(k + 1, grid.size - 1)]
    if hi <= lo:
        return float(grid[k])
    res = optimize.minimize_scalar(cost, bounds=(lo, hi), method="bounded", options={"xatol": 1e-3})
    lag = float(res.x) if res.success and res.fun <= costs[k] else float(grid[k])
    return lag


def correct_snake_lag(
    image: np.ndarray,
    lag_px: float | None = None,
    measured: np.ndarray | None = None,
    order: int = 3,
) -> np.ndarray:
    """Undo the lock-in lag of a snake scan.

    Parameters
    ----------
    image : ndarray, shape (ny, nx)
        Raw snake-scan image; NaN marks unmeasured pixels.
    lag_px : float, optional
        One-way lag in pixels (module docstring); estimated with
        `estimate_snake_lag_px` when None.
    measured : ndarray of bool, optional
        Passed to the estimator.
    order : int
        Spline order of the sub-pixel shift (3 = cubic, 1 = linear).

    Returns
    -------
    ndarray, shape (ny, nx)
        Even rows shifted by ``-lag_px`` and odd rows by ``+lag_px`` columns.
        NaN pixels stay NaN; pixels next to a NaN run whose source is missing
        become NaN; at the row ends the edge value is repeated.
    """
    img = _as_image(image)
    if lag_px is None:
        lag_px = estimate_snake_lag_px(img, measured)
    if lag_px == 0.0:
        return img
    return shift_rows(img, _family_shifts(img.shape[0], float(lag_px)), order=order)


# ------------------------------------------------------------------ background


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
        ``plane``: least-squares plane ``a + b*x + c*y`` (pixel units);
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
        yy, xx = np.nonzero(ok)
        if yy.size < 3:
            raise ValueError("plane background needs at least 3 valid pixels")
        a = np.column_stack((np.ones(yy.size), xx, yy)).astype(float)
        coef, *_ = np.linalg.lstsq(a, img[yy, xx], rcond=None)
        gy, gx = np.indices(img.shape, dtype=float)
        return img - (coef[0] + coef[1] * gx + coef[2] * gy)
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
