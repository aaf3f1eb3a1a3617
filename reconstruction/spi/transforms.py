"""Fast orthonormal transforms: Walsh-Hadamard (blocked radix-16) and Walsh sequency.

The Walsh-Hadamard transform of length ``N = 2**b`` in natural (Sylvester)
order is ``H_N = H_2 (x) H_2 (x) ... (x) H_2``.  Grouping the ``b`` factors in
blocks of at most four gives ``H_N = H_f1 (x) H_f2 (x) ... `` with small
``f <= 16``; each block is applied along its own axis of the reshaped array by
a matrix product with a 16 x 16 (at most) Hadamard matrix, so the cost is
``O(N * sum(f))`` = ``O(16 N log16 N)``, dominated by a few efficient GEMMs
rather than ``log2 N`` Python-level butterfly passes.

The 2D transform of an ``n x n`` image in natural order is the 1D transform of
its row-major flattening (``H_n (x) H_n = H_{n^2}``), so coefficient
``u * n + v`` belongs to the pattern ``outer(h_u, h_v)``.
"""

from __future__ import annotations

from functools import lru_cache

import numpy as np

from ..threads import one_blas_thread

__all__ = [
    "fwht",
    "hadamard_rows",
    "is_power_of_two",
    "sequency",
    "sylvester",
]

_MAX_BLOCK_BITS = 4


def is_power_of_two(n: int) -> bool:
    """Whether ``n`` is a positive integral power of two (1 included)."""
    return isinstance(n, int | np.integer) and n >= 1 and (n & (n - 1)) == 0


@lru_cache(maxsize=32)
def sylvester(n: int, dtype: str = "float64") -> np.ndarray:
    """Orthonormal Sylvester-Hadamard matrix ``H_n / sqrt(n)`` (read-only).

    Parameters
    ----------
    n : int
        Order, a power of two.
    dtype : str
        Floating dtype name.

    Returns
    -------
    ndarray, shape (n, n)
        Symmetric orthonormal matrix with entries ``+-1/sqrt(n)``.
    """
    if not is_power_of_two(n):
        raise ValueError(f"Hadamard order must be a power of two, got {n}")
    h = np.ones((1, 1))
    while h.shape[0] < n:
        h = np.block([[h, h], [h, -h]])
    out = (h / np.sqrt(n)).astype(dtype)
    out.flags.writeable = False
    return out


def _blocks(bits: int) -> list[int]:
    """Split ``bits`` into near-equal blocks of at most ``_MAX_BLOCK_BITS``."""
    if bits == 0:
        return []
    count = -(-bits // _MAX_BLOCK_BITS)
    base, extra = divmod(bits, count)
    return [base + 1 if i < extra else base for i in range(count)]


@one_blas_thread
def fwht(x: np.ndarray) -> np.ndarray:
    """Orthonormal fast Walsh-Hadamard transform along the last axis (natural order).

    The transform is symmetric and orthonormal, hence its own inverse and
    adjoint: ``fwht(fwht(x)) == x``.

    Parameters
    ----------
    x : ndarray, shape (..., N)
        Real input; ``N`` a power of two.

    Returns
    -------
    ndarray, shape (..., N)
        ``x @ H_N / sqrt(N)``, a new array of the same floating dtype
        (float64 for integer input).
    """
    x = np.asarray(x)
    if not np.issubdtype(x.dtype, np.floating):
        x = x.astype(float)
    shape = x.shape
    n = shape[-1]
    if not is_power_of_two(n):
        raise ValueError(f"transform length must be a power of two, got {n}")
    batch = x.size // n if n else 0
    out = np.array(x, copy=True, order="C").reshape(batch, n)
    lead = batch
    dtype = out.dtype.name
    for bits in _blocks(n.bit_length() - 1):
        f = 1 << bits
        rest = out.size // (lead * f)
        h = sylvester(f, dtype)
        if rest == 1:
            out = out.reshape(lead, f) @ h
        elif lead == 1:
            out = h @ out.reshape(f, rest)
        else:
            out = np.matmul(h, out.reshape(lead, f, rest))
        lead *= f
    return out.reshape(shape)


def sequency(n: int) -> np.ndarray:
    """Sequency (number of sign changes) of each natural-order Walsh function of length n.

    Parameters
    ----------
    n : int
        Length, a power of two.

    Returns
    -------
    ndarray of int64, shape (n,)
        ``s[h]`` is the number of sign changes of row ``h`` of ``H_n``;
        a permutation of ``0..n-1`` (gray decoding of the bit-reversed index).
    """
    if not is_power_of_two(n):
        raise ValueError(f"length must be a power of two, got {n}")
    bits = n.bit_length() - 1
    h = np.arange(n, dtype=np.int64)
    rev = np.zeros_like(h)
    for b in range(bits):
        rev |= ((h >> b) & 1) << (bits - 1 - b)
    s = rev.copy()
    shift = 1
    while shift < bits:
        s ^= s >> shift
        shift <<= 1
    return s


def hadamard_rows(index: np.ndarray, n: int) -> np.ndarray:
    """Rows of the (unnormalised) natural-order Hadamard matrix ``H_n``.

    Parameters
    ----------
    index : array_like of int, shape (k,)
        Row indices in ``0..n-1``.
    n : int
        Order, a power of two.

    Returns
    -------
    ndarray of int8, shape (k, n)
        Entries ``(-1)**popcount(index & j)``.
    """
    idx = np.asarray(index, dtype=np.int64)[:, None]
    j = np.arange(n, dtype=np.int64)[None, :]
    v = idx & j
    parity = np.zeros(v.shape, dtype=np.int64)
    while np.any(v):
        parity ^= v & 1
        v = v >> 1
    return (1 - 2 * parity).astype(np.int8)
