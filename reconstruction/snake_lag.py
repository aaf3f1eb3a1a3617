"""Snake-scan lock-in lag: sub-pixel row shifts, a robust estimator, the correction.

All functions take and return float arrays of shape ``(ny, nx)`` (axis 0 is y,
axis 1 is x) and never modify their input. NaN marks unmeasured pixels and is
preserved.

Sign convention
---------------
In a snake scan even rows (``iy`` = 0, 2, ...) run towards increasing column
index and odd rows towards decreasing index. The lock-in output lags the
stage, so a feature appears displaced *along the scan direction*: by ``+lag``
columns in even rows and by ``-lag`` columns in odd rows. ``lag_px`` is that
one-way displacement (positive for a delayed response), so the two row
families are offset from each other by ``2 * lag_px``. `correct_snake_lag`
moves even rows by ``-lag_px`` and odd rows by ``+lag_px``, which puts both on
the true (lag-free) positions if the lag is the same in both directions.

When to correct
---------------
A sub-pixel shift is an interpolation: on sharp, barely sampled structure (the
centre of a Siemens star) shifting by even 0.05 px costs more than it gains.
`estimate_snake_lag` therefore gives the lag *with its uncertainty* (from
independent blocks of rows), and `SnakeLag.significant` says whether it is
worth applying: only a lag well above its uncertainty and above a small
fraction of a pixel. On a scan without real lag the correction is a no-op.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

__all__ = [
    "MIN_LAG_PX",
    "N_SIGMA",
    "SnakeLag",
    "correct_snake_lag",
    "estimate_snake_lag",
    "estimate_snake_lag_px",
    "shift_rows",
]

#: Smallest lag worth a correction, pixels (below it the interpolation costs as much).
MIN_LAG_PX = 0.02
#: A lag is applied only if it exceeds this many standard uncertainties.
N_SIGMA = 3.0
_BLOCK_ROWS = 3  # rows per block: two row pairs of opposite family order (slant bias cancels)
_COARSE_PX = 0.5  # grid step of the first search
_FINE_PX = 0.05  # grid step of the refinement (then a parabola through the minimum)


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
    from scipy import ndimage  # (here, not at import: SciPy loads in ~0.2 s)

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


# ------------------------------------------------------------------ estimation


@dataclass(frozen=True)
class SnakeLag:
    """A snake-lag estimate.

    Attributes
    ----------
    lag_px : float
        One-way lag (module docstring): the median of the block estimates;
        0.0 when nothing could be estimated.
    uncertainty_px : float
        Standard uncertainty of `lag_px` (from the spread of the block
        estimates); ``inf`` with fewer than three blocks.
    n_blocks : int
        Independent blocks of rows that gave an estimate.
    """

    lag_px: float
    uncertainty_px: float
    n_blocks: int

    def significant(self, min_lag_px: float = MIN_LAG_PX, n_sigma: float = N_SIGMA) -> bool:
        """Whether the lag is worth correcting.

        Parameters
        ----------
        min_lag_px : float
            Smallest lag corrected, pixels.
        n_sigma : float
            The lag must exceed this many standard uncertainties.

        Returns
        -------
        bool
            ``abs(lag_px) > max(min_lag_px, n_sigma * uncertainty_px)``.
        """
        return abs(self.lag_px) > max(min_lag_px, n_sigma * self.uncertainty_px)

    def __str__(self) -> str:
        return f"{self.lag_px:+.3f} +/- {self.uncertainty_px:.3f} px ({self.n_blocks} blocks)"


def _blocks(full: np.ndarray) -> tuple[list[int], int]:
    """First rows of disjoint blocks of fully measured rows, and the block height.

    Blocks of three rows hold one (even, odd) and one (odd, even) pair, so the
    bias of a slanted edge cancels within each block; without any, single pairs."""
    for rows in (_BLOCK_ROWS, 2):
        starts, y = [], 0
        while y + rows <= full.size:
            if full[y:y + rows].all():
                starts.append(y)
                y += rows
            else:
                y += 1
        if starts:
            return starts, rows
    return [], 0


def estimate_snake_lag(
    image: np.ndarray,
    measured: np.ndarray | None = None,
    max_lag_px: float | None = None,
) -> SnakeLag:
    """Estimate the lock-in lag of a snake scan, with its uncertainty.

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
    SnakeLag
        ``lag_px = 0.0`` with no block (fewer than two adjacent full rows, or
        rows without structure).

    Notes
    -----
    The full rows are cut into disjoint blocks of three adjacent rows (an
    even-odd and an odd-even pair, so a slanted edge biases the two pairs in
    opposite directions and cancels). Each row has its mean removed. In each
    block the lag minimises the mean squared difference between even rows
    shifted by ``-lag`` and odd rows shifted by ``+lag`` (cubic-spline shifts,
    as `correct_snake_lag`), over the columns unaffected by the row ends:
    first on a 0.5 px grid over the whole range, then on a 0.05 px grid around
    the median with a parabola through the minimum. The lag is the median of
    the block estimates, its uncertainty ``1.253 * 1.483 * MAD / sqrt(n)``:
    periodic or aliased structure (the centre of a Siemens star) gives a few
    blocks a false minimum and moves neither.
    """
    from scipy import ndimage  # (here, not at import: SciPy loads in ~0.2 s)

    img = _as_image(image)
    ny, nx = img.shape
    full = _valid(img, measured).all(axis=1)
    starts, rows = _blocks(full)
    nothing = SnakeLag(0.0, math.inf, 0)
    if not starts or nx < 4:
        return nothing
    if max_lag_px is None:
        max_lag_px = float(np.clip(nx / 8, 1.0, 16.0))
    margin = int(np.ceil(max_lag_px)) + 2
    if nx - 2 * margin < 4:
        margin = max(1, (nx - 4) // 2)
        max_lag_px = max(0.5, margin - 2.0)
    z = np.where(full[:, None], img, 0.0)
    z = z - z.mean(axis=1, keepdims=True)
    structured = [a for a in starts if (np.ptp(z[a:a + rows], axis=1) > 0).all()]
    if not structured:
        return nothing
    first = np.array(structured)
    sl = slice(margin, nx - margin)

    def block_costs(lags: np.ndarray) -> np.ndarray:
        """Mean squared pair difference, shape (n_blocks, n_lags)."""
        out = np.empty((first.size, lags.size))
        shifted = np.empty_like(z)
        for j, g in enumerate(lags):
            shifted[0::2] = ndimage.shift(z[0::2], (0.0, -g), order=3, mode="nearest")
            shifted[1::2] = ndimage.shift(z[1::2], (0.0, g), order=3, mode="nearest")
            pair = np.mean((shifted[1:, sl] - shifted[:-1, sl]) ** 2, axis=1)  # rows y, y+1
            out[:, j] = sum(pair[first + k] for k in range(rows - 1))
        return out

    coarse = np.arange(-max_lag_px, max_lag_px + 1e-9, _COARSE_PX)
    est = coarse[np.argmin(block_costs(coarse), axis=1)]
    centre = float(np.median(est))
    fine = np.arange(centre - 2 * _COARSE_PX, centre + 2 * _COARSE_PX + 1e-9, _FINE_PX)
    costs = block_costs(fine)
    k = np.clip(np.argmin(costs, axis=1), 1, fine.size - 2)
    b = np.arange(first.size)
    c0, c1, c2 = costs[b, k - 1], costs[b, k], costs[b, k + 1]
    curvature = c0 - 2 * c1 + c2
    step = np.where(curvature > 0, 0.5 * (c0 - c2) / np.where(curvature > 0, curvature, 1.0), 0)
    refined = fine[k] + np.clip(step, -1.0, 1.0) * _FINE_PX
    near = np.abs(est - centre) <= _COARSE_PX * 1.01  # others keep their (outlying) minimum
    est = np.where(near, refined, est)
    lag = float(np.median(est))
    n = est.size
    if n < 3:
        return SnakeLag(lag, math.inf, n)
    mad = float(np.median(np.abs(est - lag)))
    return SnakeLag(lag, 1.2533 * 1.4826 * mad / math.sqrt(n), n)


def estimate_snake_lag_px(
    image: np.ndarray,
    measured: np.ndarray | None = None,
    max_lag_px: float | None = None,
) -> float:
    """The lag of `estimate_snake_lag` alone, in pixels (0.0 if nothing to estimate)."""
    return estimate_snake_lag(image, measured, max_lag_px).lag_px


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
        One-way lag in pixels (module docstring), applied as given. When None
        it is estimated (`estimate_snake_lag`) and applied only if
        significant (`SnakeLag.significant`); otherwise the image is returned
        unchanged.
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
        estimate = estimate_snake_lag(img, measured)
        lag_px = estimate.lag_px if estimate.significant() else 0.0
    if lag_px == 0.0:
        return img
    return shift_rows(img, _family_shifts(img.shape[0], float(lag_px)), order=order)
