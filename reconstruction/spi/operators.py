"""Matrix-free linear operators with forward and adjoint (no dense N x N matrices).

Every operator maps arrays of ``shape_in`` to arrays of ``shape_out`` and has
an exact adjoint; `dottest` checks ``<A x, y> == <x, A^T y>``.

The single-pixel measurement operators have orthonormal rows
(``A A^T = I``): ``A^T`` is the minimum-norm inverse and, for a complete basis,
the exact inverse.
"""

from __future__ import annotations

import numpy as np

from .transforms import fwht

__all__ = [
    "FourierOperator",
    "Gradient",
    "HadamardOperator",
    "LinearOperator",
    "RandomOperator",
    "dottest",
]


class LinearOperator:
    """Base class: a real linear map given by `forward` and `adjoint`.

    Attributes
    ----------
    shape_in, shape_out : tuple of int
        Array shapes of the domain and the range.
    norm : float
        An upper bound of the operator 2-norm (used for step sizes).
    orthonormal_rows : bool
        ``A A^T = I`` (all single-pixel measurement operators): the solvers
        then project onto ``||A x - y|| <= eps`` in closed form.
    full_transform : bool
        ``A = S T`` with ``T`` an orthonormal ``N x N`` transform given by
        `transform` / `inverse_transform` and ``S`` keeping the entries
        `index` (Hadamard and random operators): the solvers then work on the
        ``N`` coefficients in place, two transforms and no temporaries per step.
    """

    shape_in: tuple[int, ...] = ()
    shape_out: tuple[int, ...] = ()
    norm: float = 1.0
    orthonormal_rows: bool = False
    full_transform: bool = False

    def forward(self, x: np.ndarray) -> np.ndarray:  # pragma: no cover - abstract
        raise NotImplementedError

    def adjoint(self, y: np.ndarray) -> np.ndarray:  # pragma: no cover - abstract
        raise NotImplementedError

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.shape_in} -> {self.shape_out})"


def dottest(op: LinearOperator, rng: np.random.Generator | int | None = 0) -> float:
    """Adjoint dot-test: relative mismatch of ``<A x, y>`` and ``<x, A^T y>``.

    Parameters
    ----------
    op : LinearOperator
    rng : Generator or int, optional
        Source of the random test vectors.

    Returns
    -------
    float
        ``|<Ax, y> - <x, A^T y>| / (||Ax|| ||y|| + ||x|| ||A^T y||)``; of the
        order of machine precision for a correct adjoint.
    """
    rng = np.random.default_rng(rng)
    x = rng.standard_normal(op.shape_in)
    y = rng.standard_normal(op.shape_out)
    ax = op.forward(x)
    aty = op.adjoint(y)
    lhs = float(np.vdot(ax, y))
    rhs = float(np.vdot(x, aty))
    scale = np.linalg.norm(ax) * np.linalg.norm(y) + np.linalg.norm(x) * np.linalg.norm(aty)
    return abs(lhs - rhs) / max(scale, np.finfo(float).tiny)


def _flat_out(out: np.ndarray, n: int) -> np.ndarray:
    """The flat view of an ``(n, n)`` output array (it must be C-contiguous to be one)."""
    if out.shape != (n, n) or not out.flags.c_contiguous:
        raise ValueError(f"out must be a C-contiguous array of shape {(n, n)}")
    return out.reshape(-1)


def _square(x: np.ndarray, n: int) -> np.ndarray:
    x = np.asarray(x)
    if x.shape != (n, n):
        raise ValueError(f"expected an image of shape {(n, n)}, got {x.shape}")
    return x


class HadamardOperator(LinearOperator):
    """Selected rows of the orthonormal 2D Walsh-Hadamard transform.

    ``forward(x) = (H_n x H_n)[index]`` (flat, natural order) by the fast WHT.

    Parameters
    ----------
    n : int
        Image side, a power of two.
    index : array_like of int, shape (m,)
        Flat coefficient indices ``u * n + v``, in measurement order.
    """

    orthonormal_rows = True
    full_transform = True

    def __init__(self, n: int, index: np.ndarray) -> None:
        self.n = int(n)
        self.index = np.asarray(index, dtype=np.int64)
        self.shape_in = (self.n, self.n)
        self.shape_out = (self.index.size,)

    def forward(self, x: np.ndarray) -> np.ndarray:
        return self.transform(x)[self.index]

    def adjoint(self, y: np.ndarray) -> np.ndarray:
        c = np.zeros(self.n * self.n, dtype=np.result_type(y, np.float64))
        c[self.index] = y
        return self.inverse_transform(c)

    def transform(
        self, x: np.ndarray, out: np.ndarray | None = None, work: np.ndarray | None = None
    ) -> np.ndarray:
        """All ``n * n`` coefficients ``T x`` (flat; `out`, `work`: as for `fwht`)."""
        x = _square(x, self.n)
        return fwht(x.reshape(-1), out=out, work=work)

    def inverse_transform(
        self, c: np.ndarray, out: np.ndarray | None = None, work: np.ndarray | None = None
    ) -> np.ndarray:
        """The image ``T^T c`` of flat coefficients `c` (`out`: an ``(n, n)`` array)."""
        if out is None:
            return fwht(c, work=work).reshape(self.n, self.n)
        fwht(c, out=_flat_out(out, self.n), work=work)
        return out


class RandomOperator(LinearOperator):
    """Structurally random +-1 patterns: ``A = S H_N D P`` (Do et al., IEEE TSP 60, 2012).

    ``P`` permutes the pixels, ``D`` flips their signs at random, ``H_N`` is
    the orthonormal WHT of the whole image and ``S`` keeps the rows `index`.
    Every row is a +-1/n pattern whose entries are marginally Bernoulli(1/2)
    and look white; rows are orthonormal and applied in ``O(N log N)``.

    Parameters
    ----------
    n : int
        Image side, a power of two.
    index : array_like of int, shape (m,)
        Rows of ``H_N`` kept, in measurement order.
    perm : array_like of int, shape (n * n,)
        Pixel permutation: the transform sees ``x.ravel()[perm]``.
    signs : array_like of {-1, +1}, shape (n * n,)
        Sign flips applied after the permutation.
    """

    orthonormal_rows = True
    full_transform = True

    def __init__(self, n: int, index: np.ndarray, perm: np.ndarray, signs: np.ndarray) -> None:
        self.n = int(n)
        self.index = np.asarray(index, dtype=np.int64)
        self.perm = np.asarray(perm, dtype=np.int64)
        self.signs = np.asarray(signs, dtype=float)
        self.shape_in = (self.n, self.n)
        self.shape_out = (self.index.size,)

    def forward(self, x: np.ndarray) -> np.ndarray:
        return self.transform(x)[self.index]

    def adjoint(self, y: np.ndarray) -> np.ndarray:
        c = np.zeros(self.n * self.n, dtype=np.result_type(y, np.float64))
        c[self.index] = y
        return self.inverse_transform(c)

    def transform(
        self, x: np.ndarray, out: np.ndarray | None = None, work: np.ndarray | None = None
    ) -> np.ndarray:
        """All ``n * n`` coefficients ``H_N D P x`` (flat; `out`, `work`: as for `fwht`)."""
        x = _square(x, self.n)
        if out is None:
            out = np.empty(self.n * self.n, dtype=np.result_type(x, np.float64))
        elif out.shape != (self.n * self.n,) or not out.flags.c_contiguous:
            raise ValueError(f"out must be a C-contiguous array of shape {(self.n * self.n,)}")
        if x.dtype != out.dtype:
            x = x.astype(out.dtype)
        np.take(x.reshape(-1), self.perm, out=out)
        out *= self.signs
        return fwht(out, out=out, work=work)

    def inverse_transform(
        self, c: np.ndarray, out: np.ndarray | None = None, work: np.ndarray | None = None
    ) -> np.ndarray:
        """The image ``P^T D H_N c`` of flat coefficients `c` (`out`: an ``(n, n)`` array).

        `work` (size ``n * n``) receives the transform before the permutation.
        """
        if out is None:
            out = np.empty((self.n, self.n), dtype=np.result_type(c, np.float64))
        flat = _flat_out(out, self.n)
        z = fwht(c, out=work, work=flat)
        z *= self.signs
        flat[self.perm] = z
        return out


class FourierOperator(LinearOperator):
    """Real orthonormal Fourier measurements of a real ``n x n`` image.

    For a half-spectrum frequency ``(ku, kv)`` with phase
    ``theta = 2 pi (ku i + kv j) / n`` the two real basis functions are
    ``sqrt(2) cos(theta) / n`` and ``sqrt(2) sin(theta) / n``; a
    self-conjugate frequency (both indices in ``{0, n/2}``) has only the
    cosine, ``cos(theta) / n``. Applied with ``rfft2`` / ``irfft2``.

    Parameters
    ----------
    n : int
        Image side, even.
    ku, kv : array_like of int, shape (m,)
        Half-spectrum indices of each measurement (see
        `reconstruction.spi.orderings.fourier_frequencies`).
    sine : array_like of bool, shape (m,)
        True for the sine component, False for the cosine one.
    """

    orthonormal_rows = True

    def __init__(self, n: int, ku: np.ndarray, kv: np.ndarray, sine: np.ndarray) -> None:
        self.n = n = int(n)
        self.ku = np.asarray(ku, dtype=np.int64)
        self.kv = np.asarray(kv, dtype=np.int64)
        self.sine = np.asarray(sine, dtype=bool)
        half = n // 2
        self.width = half + 1
        self.flat = self.ku * self.width + self.kv
        selfconj = np.isin(self.ku, (0, half)) & np.isin(self.kv, (0, half))
        if np.any(self.sine & selfconj):
            raise ValueError("a self-conjugate frequency has no sine component")
        self.weight = np.where(selfconj, 1.0, np.sqrt(2.0)) / n
        self.shape_in = (n, n)
        self.shape_out = (self.ku.size,)

    def forward(self, x: np.ndarray) -> np.ndarray:
        x = _square(x, self.n)
        r = np.fft.rfft2(x).reshape(-1)[self.flat]
        return self.weight * np.where(self.sine, -r.imag, r.real)

    def adjoint(self, y: np.ndarray) -> np.ndarray:
        n, half = self.n, self.n // 2
        c = self.weight * np.asarray(y, dtype=float)
        z = np.zeros(n * self.width, dtype=complex)
        cos = ~self.sine
        z[self.flat[cos]] += c[cos]
        z[self.flat[self.sine]] += -1j * c[self.sine]
        z = z.reshape(n, self.width)
        z[:, 1:half] *= 0.5
        mirror = (-np.arange(n)) % n
        for col in (0, half):
            edge = z[:, col].copy()
            z[:, col] = 0.5 * (edge + np.conj(edge[mirror]))
        return np.fft.irfft2(z, s=(n, n)) * (n * n)


class Gradient(LinearOperator):
    """Forward differences with Neumann boundary: ``(n0, n1) -> (2, n0, n1)``.

    ``forward(x)[0]`` differences along axis 0 (last row 0), ``[1]`` along
    axis 1 (last column 0). The adjoint is minus the divergence; the norm is
    at most ``sqrt(8)``.
    """

    def __init__(self, shape: tuple[int, int]) -> None:
        self.shape_in = tuple(int(s) for s in shape)
        self.shape_out = (2, *self.shape_in)
        self.norm = float(np.sqrt(8.0))

    def forward(self, x: np.ndarray) -> np.ndarray:
        g = np.zeros(self.shape_out, dtype=np.result_type(x, np.float64))
        np.subtract(x[1:, :], x[:-1, :], out=g[0, :-1, :])
        np.subtract(x[:, 1:], x[:, :-1], out=g[1, :, :-1])
        return g

    def adjoint(self, g: np.ndarray) -> np.ndarray:
        return -divergence(g)


def divergence(g: np.ndarray, out: np.ndarray | None = None) -> np.ndarray:
    """Discrete divergence, the negative adjoint of `Gradient`.

    Parameters
    ----------
    g : ndarray, shape (2, n0, n1)
    out : ndarray, shape (n0, n1), optional

    Returns
    -------
    ndarray, shape (n0, n1)
    """
    g0, g1 = g[0], g[1]
    if out is None:
        out = np.empty(g.shape[1:], dtype=g.dtype)
    out[0, :] = g0[0, :]
    np.subtract(g0[1:-1, :], g0[:-2, :], out=out[1:-1, :])
    out[-1, :] = -g0[-2, :]
    out[:, 0] += g1[:, 0]
    out[:, 1:-1] += g1[:, 1:-1] - g1[:, :-2]
    out[:, -1] -= g1[:, -2]
    return out
