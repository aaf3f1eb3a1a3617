"""Orthonormal periodic 2D Daubechies wavelet transform (own, no PyWavelets).

Mallat's multilevel layout in one ``n x n`` array: after ``levels`` steps the
top-left ``n / 2**levels`` square holds the approximation, the rest the
detail bands. Each 1D step filters with the Daubechies low-pass ``h`` and
high-pass ``g[t] = (-1)**t h[L-1-t]`` with periodic wrap-around and keeps even
samples; the transform is orthonormal, so the inverse is the adjoint.
"""

from __future__ import annotations

import numpy as np

from .operators import LinearOperator

__all__ = ["WAVELETS", "Wavelet"]

_S3 = np.sqrt(3.0)
WAVELETS: dict[str, np.ndarray] = {
    "haar": np.array([1.0, 1.0]) / np.sqrt(2.0),
    "db2": np.array([1 + _S3, 3 + _S3, 3 - _S3, 1 - _S3]) / (4 * np.sqrt(2.0)),
    # Daubechies (1988), 8 taps (4 vanishing moments)
    "db4": np.array(
        [
            0.2303778133088965,
            0.7148465705529157,
            0.6308807679298589,
            -0.027983769416859854,
            -0.18703481171909309,
            0.030841381835560764,
            0.0328830116668852,
            -0.010597401785069032,
        ]
    ),
}


def _analysis(x: np.ndarray, h: np.ndarray, g: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """One periodic filter-and-decimate step along the last axis."""
    n = x.shape[-1]
    taps = h.size
    ext = np.concatenate([x, x[..., : taps - 1]], axis=-1) if taps > 1 else x
    a = np.zeros(x.shape[:-1] + (n // 2,), dtype=x.dtype)
    d = np.zeros_like(a)
    for t in range(taps):
        seg = ext[..., t : t + n : 2]
        a += h[t] * seg
        d += g[t] * seg
    return a, d


def _synthesis(a: np.ndarray, d: np.ndarray, h: np.ndarray, g: np.ndarray) -> np.ndarray:
    """Adjoint of `_analysis`."""
    n = 2 * a.shape[-1]
    taps = h.size
    ext = np.zeros(a.shape[:-1] + (n + taps - 1,), dtype=a.dtype)
    for t in range(taps):
        ext[..., t : t + n : 2] += h[t] * a + g[t] * d
    out = ext[..., :n].copy()
    out[..., : taps - 1] += ext[..., n:]
    return out


class Wavelet(LinearOperator):
    """Orthonormal periodic 2D wavelet transform of an ``n x n`` image.

    Parameters
    ----------
    shape : tuple of int
        Image shape; each side divisible by ``2**levels``.
    wavelet : str
        ``"haar"``, ``"db2"`` or ``"db4"``.
    levels : int, optional
        Decomposition levels; default: down to an approximation of about
        ``8 x 8`` (at least one level).
    """

    def __init__(self, shape: tuple[int, int], wavelet: str = "db2", levels: int | None = None):
        if wavelet not in WAVELETS:
            raise ValueError(f"unknown wavelet {wavelet!r}; use one of {sorted(WAVELETS)}")
        self.shape_in = self.shape_out = tuple(int(s) for s in shape)
        self.wavelet = wavelet
        self.h = WAVELETS[wavelet]
        self.g = ((-1.0) ** np.arange(self.h.size)) * self.h[::-1]
        small = min(self.shape_in)
        if levels is None:
            levels = max(1, int(np.log2(small)) - 3)
        levels = int(levels)
        if levels < 1 or any(s % (1 << levels) for s in self.shape_in):
            raise ValueError(f"{levels} levels do not divide the shape {self.shape_in}")
        self.levels = levels
        self.norm = 1.0

    def approximation_mask(self) -> np.ndarray:
        """Boolean mask of the approximation (coarsest low-pass) coefficients."""
        mask = np.zeros(self.shape_in, dtype=bool)
        r0, r1 = (s >> self.levels for s in self.shape_in)
        mask[:r0, :r1] = True
        return mask

    def forward(self, x: np.ndarray) -> np.ndarray:
        out = np.array(x, dtype=float, copy=True)
        n0, n1 = self.shape_in
        for _ in range(self.levels):
            block = out[:n0, :n1]
            a, d = _analysis(block, self.h, self.g)
            block = np.concatenate([a, d], axis=1)
            a, d = _analysis(block.T, self.h, self.g)
            out[:n0, :n1] = np.concatenate([a, d], axis=1).T
            n0, n1 = n0 // 2, n1 // 2
        return out

    def adjoint(self, c: np.ndarray) -> np.ndarray:
        out = np.array(c, dtype=float, copy=True)
        sizes = [(self.shape_in[0] >> k, self.shape_in[1] >> k) for k in range(self.levels)]
        for n0, n1 in reversed(sizes):
            block = out[:n0, :n1].T
            h0 = n0 // 2
            block = _synthesis(block[:, :h0], block[:, h0:], self.h, self.g).T
            h1 = n1 // 2
            out[:n0, :n1] = _synthesis(block[:, :h1], block[:, h1:], self.h, self.g)
        return out

    inverse = adjoint
