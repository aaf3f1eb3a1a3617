"""Fourier single-pixel basis: four-step phase shifting, conjugate symmetry, dithering."""

from __future__ import annotations

from functools import cached_property
from typing import Any

import numpy as np

from .bases import Basis, _count
from .dither import DITHERS, dither
from .operators import FourierOperator, LinearOperator
from .orderings import FOURIER_ORDERINGS, fourier_frequencies

__all__ = ["FourierBasis", "four_step"]


def four_step(d0: np.ndarray, d1: np.ndarray, d2: np.ndarray, d3: np.ndarray) -> np.ndarray:
    """Complex Fourier coefficient from four-step phase-shifted readings.

    With patterns ``a + b cos(theta + phi)`` at ``phi = 0, pi/2, pi, 3 pi/2``
    and readings ``d0..d3``, ``(d0 - d2) + 1j (d1 - d3) = 2 b F`` where
    ``F = sum(x * exp(-1j theta))`` is the ``numpy.fft.fft2`` coefficient.

    Parameters
    ----------
    d0, d1, d2, d3 : array_like
        Readings at phases 0, pi/2, pi, 3 pi/2.

    Returns
    -------
    ndarray of complex
        ``(d0 - d2) + 1j (d1 - d3)``; divide by ``2 b`` (1 for the patterns
        ``(1 + cos(theta + phi)) / 2`` used here).
    """
    d0, d1, d2, d3 = (np.asarray(d, dtype=float) for d in (d0, d1, d2, d3))
    return (d0 - d2) + 1j * (d1 - d3)


class FourierBasis(Basis):
    """Fourier single-pixel basis of real, orthonormal cosine/sine measurements.

    Frequencies come in the order of `ordering`; each non-self-conjugate one
    gives two measurements (cosine then sine: four patterns, the four-step
    phase shifts), a self-conjugate one (DC, Nyquist) one measurement. Only
    one of each conjugate pair is acquired (a real image has a Hermitian
    spectrum). ``m`` is the smallest whole number of frequencies reaching
    ``ratio * n**2`` measurements.

    Parameters
    ----------
    size : int
        Pattern side ``n`` (even).
    ordering : str
        One of `reconstruction.spi.orderings.FOURIER_ORDERINGS`.
    ratio : float
        Sampling ratio.
    seed : int
        Seed of the ``random`` ordering.
    dither : str
        Binarisation of the grey patterns for a DMD, one of
        `reconstruction.spi.dither.DITHERS`.
    """

    kind = "fourier"

    def __init__(
        self,
        size: int,
        ordering: str = "circular",
        ratio: float = 1.0,
        seed: int | None = 0,
        dither: str = "floyd-steinberg",
    ) -> None:
        if int(size) < 2 or int(size) % 2:
            raise ValueError(f"Fourier size must be even and >= 2, got {size}")
        if ordering not in FOURIER_ORDERINGS:
            raise ValueError(f"unknown ordering {ordering!r}; use one of {FOURIER_ORDERINGS}")
        if dither not in DITHERS:
            raise ValueError(f"unknown dither {dither!r}; use one of {DITHERS}")
        super().__init__(size, ordering, ratio, seed)
        self.dither = dither
        target = _count(ratio, self.size**2)
        ku, kv, sine = self._all_measurements()
        # never split the cosine and sine of one frequency
        self.m = target + 1 if target < ku.size and sine[target] else target
        self._ku, self._kv, self._sine = ku[: self.m], kv[: self.m], sine[: self.m]

    def _all_measurements(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        n, half = self.size, self.size // 2
        ku, kv = fourier_frequencies(n, self.ordering, self.seed)
        selfconj = np.isin(ku, (0, half)) & np.isin(kv, (0, half))
        reps = np.where(selfconj, 1, 2)
        ku_m = np.repeat(ku, reps)
        kv_m = np.repeat(kv, reps)
        first = np.concatenate([[0], np.cumsum(reps)[:-1]])
        sine = np.ones(ku_m.size, dtype=bool)
        sine[first] = False
        return ku_m, kv_m, sine

    def spec(self) -> dict[str, Any]:
        out = super().spec()
        out["dither"] = self.dither
        return out

    @property
    def frequencies(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """``(ku, kv, sine)`` of every measurement (``rfft2`` half-spectrum indices)."""
        return self._ku, self._kv, self._sine

    def _make_operator(self) -> LinearOperator:
        return FourierOperator(self.size, self._ku, self._kv, self._sine)

    @cached_property
    def amplitudes(self) -> np.ndarray:
        return self.operator.weight.copy()

    def _signed(self, j: np.ndarray) -> np.ndarray:
        n = self.size
        i = np.arange(n)
        theta = (
            2 * np.pi * (np.outer(self._ku[j], i) % n)[:, :, None] / n
            + 2 * np.pi * (np.outer(self._kv[j], i) % n)[:, None, :] / n
        )
        return np.where(self._sine[j, None, None], np.sin(theta), np.cos(theta))

    def _binarize(self, gray: np.ndarray) -> np.ndarray:
        return dither(gray, self.dither)

    def coefficients(self, y: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Complex ``fft2`` coefficients of the fully measured frequencies.

        Parameters
        ----------
        y : ndarray, shape (m,)

        Returns
        -------
        ku, kv : ndarray of int
            Half-spectrum indices.
        coeff : ndarray of complex
            ``numpy.fft.fft2(x)[ku, kv]`` (a frequency whose sine part is not
            measured, at the end of a truncated acquisition, is left out).
        """
        y = np.asarray(y, dtype=float)
        cos = np.flatnonzero(~self._sine)
        has_sine = np.zeros(cos.size, dtype=bool)
        nxt = cos + 1
        ok = nxt < self.m
        has_sine[ok] = self._sine[nxt[ok]]
        weight = self.amplitudes
        selfconj = weight[cos] < 1.5 / self.size
        keep = selfconj | has_sine
        cos, has_sine = cos[keep], has_sine[keep]
        re = y[cos] / weight[cos]
        im = np.where(has_sine, -y[np.minimum(cos + 1, self.m - 1)] / weight[cos], 0.0)
        return self._ku[cos], self._kv[cos], re + 1j * im
