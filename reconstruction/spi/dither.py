"""Binary dithering of grey-level patterns for a binary projector (DMD).

A DMD mirror is on or off; a grey-level Fourier pattern is shown as a binary
pattern whose local average follows the grey level. Error diffusion
(Floyd-Steinberg) pushes the quantisation error to high spatial frequencies
(blue noise), which a single-pixel measurement of a smooth scene averages out;
ordered (Bayer) dithering is faster but puts the error in a few periodic
frequencies.
"""

from __future__ import annotations

import numpy as np

__all__ = ["DITHERS", "bayer", "dither", "floyd_steinberg"]

DITHERS = ("floyd-steinberg", "bayer")


def floyd_steinberg(gray: np.ndarray) -> np.ndarray:
    """Floyd-Steinberg error diffusion (serpentine-free raster order).

    Parameters
    ----------
    gray : ndarray, shape (..., n0, n1)
        Grey levels in ``[0, 1]``; leading axes are independent patterns,
        processed together (the loop runs over pixels, not patterns).

    Returns
    -------
    ndarray of uint8, same shape
        0/1 pattern.
    """
    g = np.array(gray, dtype=float, copy=True)
    lead = g.shape[:-2]
    n0, n1 = g.shape[-2:]
    g = g.reshape(-1, n0, n1)
    out = np.zeros(g.shape, dtype=np.uint8)
    for i in range(n0):
        row = g[:, i, :]
        below = g[:, i + 1, :] if i + 1 < n0 else None
        for j in range(n1):
            v = row[:, j]
            q = v >= 0.5
            out[:, i, j] = q
            err = v - q
            if j + 1 < n1:
                row[:, j + 1] += err * (7 / 16)
            if below is not None:
                if j > 0:
                    below[:, j - 1] += err * (3 / 16)
                below[:, j] += err * (5 / 16)
                if j + 1 < n1:
                    below[:, j + 1] += err * (1 / 16)
    return out.reshape(*lead, n0, n1)


def _bayer_matrix(order: int) -> np.ndarray:
    m = np.zeros((1, 1))
    while m.shape[0] < order:
        m = np.block([[4 * m, 4 * m + 2], [4 * m + 3, 4 * m + 1]])
    return (m + 0.5) / m.size


def bayer(gray: np.ndarray, order: int = 8) -> np.ndarray:
    """Ordered dithering with a Bayer threshold matrix.

    Parameters
    ----------
    gray : ndarray, shape (..., n0, n1)
        Grey levels in ``[0, 1]``.
    order : int
        Side of the threshold matrix, a power of two.

    Returns
    -------
    ndarray of uint8, same shape
    """
    g = np.asarray(gray, dtype=float)
    n0, n1 = g.shape[-2:]
    t = _bayer_matrix(order)
    reps = (-(-n0 // order), -(-n1 // order))
    thresh = np.tile(t, reps)[:n0, :n1]
    return (g >= thresh).astype(np.uint8)


def dither(gray: np.ndarray, method: str = "floyd-steinberg") -> np.ndarray:
    """Dither grey-level patterns to 0/1 with `method` (one of `DITHERS`)."""
    if method == "floyd-steinberg":
        return floyd_steinberg(gray)
    if method == "bayer":
        return bayer(gray)
    raise ValueError(f"unknown dither {method!r}; use one of {DITHERS}")
