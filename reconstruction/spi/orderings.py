"""Acquisition orderings of 2D Walsh-Hadamard and Fourier single-pixel bases.

An ordering is a permutation of the flat coefficient indices of a complete
basis; a sampling ratio keeps its first ``m`` entries.

Hadamard (coefficient ``r = u * n + v`` is the pattern ``outer(h_u, h_v)`` of
natural-order rows; ``su``, ``sv`` are their sequencies, i.e. the number of
sign changes along axis 0 and axis 1):

``natural``
    Sylvester order, ``r = 0, 1, 2, ...``.
``sequency``
    Walsh order on each axis, row-major: ``(su, sv)`` increases
    lexicographically.
``zigzag`` (alias ``tv``)
    ``su + sv`` non-decreasing (total variation of the pattern grows), each
    anti-diagonal traversed in alternating direction as in JPEG.
``cake``
    Cake-cutting (Yu et al., Sensors 19, 4122, 2019): the number of connected
    blocks of the pattern, ``(su + 1) * (sv + 1)``, non-decreasing; ties in
    natural order.
``russian-doll``
    Russian dolls (Sun et al., Sci. Rep. 7, 3464, 2017): the first ``4**k``
    patterns are exactly the Hadamard basis at resolution ``2**k x 2**k``
    (constant on ``n/2**k`` blocks), so any prefix of length ``4**k`` gives
    the block-averaged image; zigzag within each level.
``random``
    The mean (DC) pattern first, then a seeded uniform permutation of the rest.

Fourier (frequency ``(fu, fv)`` with ``-n/2 < f <= n/2``; only one of each
conjugate pair is listed):

``circular``
    ``fu**2 + fv**2`` non-decreasing (low radial frequency first).
``diamond``
    ``|fu| + |fv|`` non-decreasing.
``random``
    DC first, then a seeded uniform permutation.
"""

from __future__ import annotations

import numpy as np

from .transforms import is_power_of_two, sequency

__all__ = [
    "FOURIER_ORDERINGS",
    "HADAMARD_ORDERINGS",
    "fourier_frequencies",
    "hadamard_order",
    "hadamard_sequencies",
]

HADAMARD_ORDERINGS = ("natural", "sequency", "zigzag", "tv", "cake", "russian-doll", "random")
FOURIER_ORDERINGS = ("circular", "diamond", "random")


def hadamard_sequencies(n: int) -> tuple[np.ndarray, np.ndarray]:
    """Sequencies ``(su, sv)`` of every flat 2D coefficient index ``u * n + v``.

    Returns
    -------
    su, sv : ndarray of int64, shape (n * n,)
    """
    s = sequency(n)
    return np.repeat(s, n), np.tile(s, n)


def _dc_first_permutation(total: int, seed: int) -> np.ndarray:
    rest = np.random.default_rng(seed).permutation(total - 1) + 1
    return np.concatenate([[0], rest]).astype(np.int64)


def _bit_length(a: np.ndarray) -> np.ndarray:
    out = np.zeros_like(a)
    v = a.copy()
    while np.any(v):
        nz = v > 0
        out[nz] += 1
        v >>= 1
    return out


def hadamard_order(n: int, ordering: str = "natural", seed: int | None = None) -> np.ndarray:
    """Permutation of flat 2D Hadamard coefficient indices in acquisition order.

    Parameters
    ----------
    n : int
        Pattern side, a power of two.
    ordering : str
        One of `HADAMARD_ORDERINGS` (see the module docstring).
    seed : int, optional
        Seed of the ``random`` ordering (required there).

    Returns
    -------
    ndarray of int64, shape (n * n,)
        ``order[k]`` is the flat coefficient index acquired k-th.
    """
    if not is_power_of_two(n):
        raise ValueError(f"Hadamard size must be a power of two, got {n}")
    total = n * n
    natural = np.arange(total, dtype=np.int64)
    su, sv = hadamard_sequencies(n)
    if ordering == "natural":
        return natural
    if ordering == "sequency":
        return np.lexsort((sv, su))
    if ordering in ("zigzag", "tv"):
        diag = su + sv
        along = np.where(diag % 2 == 0, sv, su)
        return np.lexsort((along, diag))
    if ordering == "cake":
        return np.lexsort((natural, (su + 1) * (sv + 1)))
    if ordering == "russian-doll":
        level = np.maximum(_bit_length(su), _bit_length(sv))
        diag = su + sv
        along = np.where(diag % 2 == 0, sv, su)
        return np.lexsort((along, diag, level))
    if ordering == "random":
        if seed is None:
            raise ValueError("the random ordering needs a seed")
        return _dc_first_permutation(total, seed)
    raise ValueError(f"unknown Hadamard ordering {ordering!r}; use one of {HADAMARD_ORDERINGS}")


def fourier_frequencies(
    n: int, ordering: str = "circular", seed: int | None = None
) -> tuple[np.ndarray, np.ndarray]:
    """The non-redundant frequencies of a real ``n x n`` image, in acquisition order.

    Frequencies are indices into the ``rfft2`` half-spectrum (shape
    ``(n, n // 2 + 1)``): row ``ku`` in ``0..n-1`` (signed ``fu = ku`` or
    ``ku - n``), column ``kv`` in ``0..n/2``. Of each conjugate pair in the
    columns ``kv = 0`` and ``kv = n/2`` only the one with ``fu >= 0`` is kept,
    so every real image is determined by exactly these coefficients.

    Parameters
    ----------
    n : int
        Image side, even.
    ordering : str
        One of `FOURIER_ORDERINGS`.
    seed : int, optional
        Seed of the ``random`` ordering.

    Returns
    -------
    ku, kv : ndarray of int64
        Half-spectrum indices in acquisition order (``ku[0], kv[0]`` is DC).
    """
    if n < 2 or n % 2:
        raise ValueError(f"Fourier size must be even, got {n}")
    half = n // 2
    ku, kv = np.meshgrid(np.arange(n), np.arange(half + 1), indexing="ij")
    ku, kv = ku.ravel(), kv.ravel()
    fu = np.where(ku > half, ku - n, ku)
    edge = (kv == 0) | (kv == half)
    keep = ~edge | (fu >= 0)
    ku, kv, fu = ku[keep], kv[keep], fu[keep]
    angle = np.arctan2(fu, kv)
    if ordering == "circular":
        order = np.lexsort((angle, fu * fu + kv * kv))
    elif ordering == "diamond":
        order = np.lexsort((angle, np.abs(fu) + kv))
    elif ordering == "random":
        if seed is None:
            raise ValueError("the random ordering needs a seed")
        order = _dc_first_permutation(ku.size, seed)  # index 0 is DC
    else:
        raise ValueError(f"unknown Fourier ordering {ordering!r}; use one of {FOURIER_ORDERINGS}")
    return ku[order].astype(np.int64), kv[order].astype(np.int64)
