"""Pure grid assembly: scattered raster points -> image and measured mask."""

from __future__ import annotations

import numpy as np

__all__ = ["assemble_grid"]


def assemble_grid(
    ix: np.ndarray,
    iy: np.ndarray,
    values: np.ndarray,
    shape: tuple[int, int],
) -> tuple[np.ndarray, np.ndarray]:
    """Place point values on a 2D grid.

    Parameters
    ----------
    ix, iy : array_like of int, shape (n,)
        Column and row index of each point.
    values : array_like of float, shape (n,)
        The value of each point.
    shape : tuple of int
        ``(ny, nx)``.

    Returns
    -------
    image : ndarray of float, shape (ny, nx)
        Values on the grid, NaN where no point falls. When a pixel occurs
        more than once, the last occurrence wins.
    measured : ndarray of bool, shape (ny, nx)
        True where at least one point falls.

    Raises
    ------
    ValueError
        If the lengths differ or an index lies outside the grid.
    """
    ny, nx = (int(s) for s in shape)
    ix = np.asarray(ix).ravel()
    iy = np.asarray(iy).ravel()
    values = np.asarray(values, dtype=float).ravel()
    if not (ix.size == iy.size == values.size):
        raise ValueError(
            f"ix, iy and values must have the same length, got {ix.size}, {iy.size}, {values.size}"
        )
    image = np.full((ny, nx), np.nan)
    measured = np.zeros((ny, nx), dtype=bool)
    if ix.size == 0:
        return image, measured
    if not (np.issubdtype(ix.dtype, np.integer) and np.issubdtype(iy.dtype, np.integer)):
        raise ValueError("ix and iy must be integers")
    bad = (ix < 0) | (ix >= nx) | (iy < 0) | (iy >= ny)
    if bad.any():
        k = int(np.flatnonzero(bad)[0])
        raise ValueError(
            f"point {k} at (ix={int(ix[k])}, iy={int(iy[k])}) is outside the {ny}x{nx} grid"
        )
    flat = iy.astype(np.int64) * nx + ix.astype(np.int64)
    # Last occurrence of each pixel: first occurrence in the reversed sequence.
    _, first_in_reversed = np.unique(flat[::-1], return_index=True)
    keep = flat.size - 1 - first_in_reversed
    image.ravel()[flat[keep]] = values[keep]
    measured.ravel()[flat[keep]] = True
    return image, measured
