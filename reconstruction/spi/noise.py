"""Noise level of single-pixel measurements, estimated from the data.

Three estimators of the standard deviation ``sigma`` of the noise on the
ideal (orthonormal) measurements ``y``:

`sigma_from_pairs`
    Differential pairs: ``r+ + r- = sum(x)`` for every pattern pair, so the
    spread of the pair sums is pure noise (plus slow source drift, removed by
    differencing consecutive sums). Unbiased by the scene; the method of choice
    for an acquisition with complementary patterns.
`sigma_from_repeats`
    Repeated acquisitions of the same measurements: pooled standard deviation.
`sigma_from_coefficients`
    Robust spread (MAD) of the highest-order measured coefficients, where the
    signal has decayed below the noise. Biased upward when the sampling
    stops before the signal does (low ratios); meaningless for random bases,
    whose every coefficient carries signal.

`noise_radius` turns ``sigma`` into the constraint radius ``eps`` of the
discrepancy principle.
"""

from __future__ import annotations

import numpy as np

from .bases import Basis

__all__ = [
    "estimate_noise",
    "noise_radius",
    "sigma_from_coefficients",
    "sigma_from_pairs",
    "sigma_from_repeats",
]

_MAD = 0.6744897501960817  # median(|N(0, 1)|)


def _mad_sigma(v: np.ndarray) -> float:
    v = np.asarray(v, dtype=float).ravel()
    v = v[np.isfinite(v)]
    if v.size == 0:
        raise ValueError("no finite value to estimate the noise from")
    return float(np.median(np.abs(v - np.median(v))) / _MAD)


def noise_radius(sigma: float, m: int, discrepancy: float = 1.0) -> float:
    """Constraint radius ``eps = discrepancy * sigma * sqrt(m)``.

    ``sigma**2 * m`` is the expected squared norm of white noise on ``m``
    measurements (Morozov's discrepancy principle with factor `discrepancy`).
    """
    if sigma < 0 or m < 0:
        raise ValueError("sigma and m must be >= 0")
    return float(discrepancy) * float(sigma) * float(np.sqrt(m))


def sigma_from_pairs(raw: np.ndarray, basis: Basis, start: int = 0) -> float:
    """Noise ``sigma`` of ``y = basis.combine(raw)`` from the pair sums.

    With independent bucket noise ``s`` on each reading,
    ``var(r+ + r-) = var(r+ - r-) = 2 s**2``, so
    ``sigma_j = beta_j * std(r+ + r-)``. Consecutive differences of the pair
    sums cancel slow drift: ``std(sum) = MAD(diff(sum)) / 0.674 / sqrt(2)``.

    Parameters
    ----------
    raw : ndarray, shape (2 k,)
        Readings of patterns ``2 start ..`` in acquisition order (k >= 3).
    basis : Basis
    start : int
        Index of the first measurement in `raw`.

    Returns
    -------
    float
        ``sigma`` for the median amplitude ``beta`` (all equal for Hadamard and
        random bases; for Fourier bases a few self-conjugate measurements have
        a smaller one).
    """
    raw = np.asarray(raw, dtype=float).ravel()
    if raw.size % 2 or raw.size < 6:
        raise ValueError("need an even number (>= 6) of raw readings")
    diffs = np.diff(raw[0::2] + raw[1::2])
    robust = _mad_sigma(diffs)
    kept = diffs[np.abs(diffs - np.median(diffs)) <= 5.0 * robust] if robust > 0 else diffs
    spread = float(np.sqrt(np.mean((kept - kept.mean()) ** 2))) / np.sqrt(2.0)
    k = raw.size // 2
    beta = float(np.median(basis.amplitudes[start : start + k]))
    return beta * spread


def sigma_from_repeats(ys: np.ndarray) -> float:
    """Pooled standard deviation of repeated measurement vectors, shape (r, m), r >= 2."""
    ys = np.asarray(ys, dtype=float)
    if ys.ndim != 2 or ys.shape[0] < 2:
        raise ValueError("need repeats as an array of shape (r >= 2, m)")
    return float(np.sqrt(np.mean(np.var(ys, axis=0, ddof=1))))


def sigma_from_coefficients(y: np.ndarray, tail: float = 0.1) -> float:
    """Robust noise estimate from the last `tail` fraction of the measurements.

    For low-to-high orderings (zigzag, sequency, cake, Russian doll, circular)
    these are the highest-order coefficients; their median absolute value over
    0.674 is ``sigma`` when the signal there is below the noise, an upper
    bound otherwise.
    """
    y = np.asarray(y, dtype=float).ravel()
    if not 0 < tail <= 1:
        raise ValueError(f"tail must be in (0, 1], got {tail}")
    k = min(y.size, max(32, int(round(tail * y.size))))
    v = y[-k:]
    v = v[np.isfinite(v)]
    if v.size == 0:
        raise ValueError("no finite measurement")
    return float(np.median(np.abs(v)) / _MAD)


def estimate_noise(
    y: np.ndarray | None = None,
    basis: Basis | None = None,
    raw: np.ndarray | None = None,
    repeats: np.ndarray | None = None,
) -> float:
    """Best available noise estimate: pairs, then repeats, then coefficients.

    Parameters
    ----------
    y : ndarray, optional
        Measurements (for the coefficient estimate).
    basis : Basis, optional
        Needed with `raw`.
    raw : ndarray, optional
        Raw bucket readings of complementary pairs.
    repeats : ndarray, optional
        Repeated measurement vectors, shape (r, m).
    """
    if raw is not None:
        if basis is None:
            raise ValueError("sigma from raw pairs needs the basis")
        return sigma_from_pairs(raw, basis)
    if repeats is not None:
        return sigma_from_repeats(repeats)
    if y is None:
        raise ValueError("give y, raw or repeats")
    if basis is not None and basis.kind == "random":
        raise ValueError(
            "the noise of a random basis cannot be read from its coefficients; "
            "give noise_sigma, raw pairs or repeats"
        )
    return sigma_from_coefficients(y)
