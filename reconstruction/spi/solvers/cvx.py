"""cvxpy reference solvers (exact interior-point optimum on small problems).

The measurement ``A x`` is written separably, never as a dense ``m x N``
matrix: for a Hadamard basis ``C = H_n X H_n`` through an auxiliary variable
``W = H_n X`` (two sparse-in-structure products with ``n x n`` matrices), then
the measured entries of ``C``; a random basis permutes and flips ``vec(X)``
first; a Fourier basis uses the real cosine/sine matrices. The TV is the same
discretisation as `reconstruction.spi.solvers.tv` (forward differences,
Neumann boundary, isotropic), so both solve exactly the same problem.

Requires the optional dependency ``cvxpy`` (with the Clarabel solver, its
default for second-order cone programs).
"""

from __future__ import annotations

import numpy as np

from ..bases import Basis
from ..transforms import sylvester

__all__ = ["cvxpy_tv", "measurements", "tv_expression"]


def _cp():
    try:
        import cvxpy as cp
    except ImportError as exc:  # pragma: no cover - depends on the environment
        raise ImportError(
            "method 'cvxpy-tv' needs cvxpy: pip install cvxpy (Clarabel is its default solver)"
        ) from exc
    return cp


def _separable(cp, left: np.ndarray, x, right: np.ndarray, constraints: list):
    """``left @ x @ right`` with an auxiliary variable for ``left @ x``."""
    w = cp.Variable((left.shape[0], x.shape[1]))
    constraints.append(w == left @ x)
    return w @ right


def measurements(basis: Basis, x, constraints: list):
    """cvxpy expression of ``basis.forward(x)`` for an ``(n, n)`` variable ``x``.

    Auxiliary variables and their equality constraints are appended to
    `constraints`.
    """
    cp = _cp()
    n = basis.size
    if basis.kind == "hadamard":
        h = np.asarray(sylvester(n))
        return cp.vec(_separable(cp, h, x, h, constraints), order="C")[basis.index]
    if basis.kind == "random":
        op = basis.operator
        z = cp.reshape(cp.multiply(op.signs, cp.vec(x, order="C")[op.perm]), (n, n), order="C")
        h = np.asarray(sylvester(n))
        return cp.vec(_separable(cp, h, z, h, constraints), order="C")[op.index]
    if basis.kind == "fourier":
        ku, kv, sine = basis.frequencies
        k = np.arange(n)
        phase = 2 * np.pi * np.outer(k, k) / n
        c, s = np.cos(phase), np.sin(phase)
        wc = cp.Variable((n, n))
        ws = cp.Variable((n, n))
        constraints += [wc == c @ x, ws == s @ x]
        # fft2(x) = (C - iS) X (C - iS)^T: real part C X C - S X S, minus imag S X C + C X S
        re = cp.vec(wc @ c - ws @ s, order="C")
        mim = cp.vec(ws @ c + wc @ s, order="C")
        flat = ku * n + kv
        weight = basis.amplitudes
        cos_rows, sin_rows = np.flatnonzero(~sine), np.flatnonzero(sine)
        expr_cos = cp.multiply(weight[cos_rows], re[flat[cos_rows]])
        expr_sin = cp.multiply(weight[sin_rows], mim[flat[sin_rows]])
        order = np.argsort(np.concatenate([cos_rows, sin_rows]), kind="stable")
        return cp.hstack([expr_cos, expr_sin])[order]
    raise ValueError(f"no cvxpy model for basis kind {basis.kind!r}")


def tv_expression(x, discretization: str = "symmetric"):
    """Isotropic TV of an ``(n0, n1)`` cvxpy expression, as `total_variation`."""
    cp = _cp()
    d0 = x[1:, :] - x[:-1, :]  # d0[i, j] = x[i+1, j] - x[i, j]
    d1 = x[:, 1:] - x[:, :-1]  # d1[i, j] = x[i, j+1] - x[i, j]

    def pairs(a, b):
        return cp.sum(cp.norm(cp.vstack([cp.vec(a, order="C"), cp.vec(b, order="C")]), 2, axis=0))

    # forward: pixel (i, j) pairs d0[i, j] with d1[i, j]; last row / column single
    forward = pairs(d0[:, :-1], d1[:-1, :]) + cp.sum(cp.abs(d0[:, -1])) + cp.sum(cp.abs(d1[-1, :]))
    if discretization == "forward":
        return forward
    # backward: pixel (i, j) pairs d0[i-1, j] with d1[i, j-1]; first row / column single
    backward = pairs(d0[:, 1:], d1[1:, :]) + cp.sum(cp.abs(d0[:, 0])) + cp.sum(cp.abs(d1[0, :]))
    return 0.5 * (forward + backward)


def _solve(cp, objective, constraints, x, solver: str | None, verbose: bool) -> np.ndarray:
    problem = cp.Problem(cp.Minimize(objective), constraints)
    kwargs = {"solver": solver} if solver else {}
    problem.solve(verbose=verbose, **kwargs)
    if x.value is None:
        raise RuntimeError(f"cvxpy did not solve the problem: status {problem.status}")
    return np.asarray(x.value, dtype=float)


def cvxpy_tv(
    y: np.ndarray,
    basis: Basis,
    eps: float | None = None,
    lam: float | None = None,
    solver: str | None = "CLARABEL",
    verbose: bool = False,
    discretization: str = "symmetric",
) -> np.ndarray:
    """TV reconstruction with cvxpy: constrained (`eps`) or penalised (`lam`).

    Constrained: ``min TV(x)`` s.t. ``||A x - y|| <= eps``.
    Penalised: ``min lam TV(x) + ||A x - y||^2 / 2``.

    Parameters
    ----------
    y : ndarray, shape (m,)
    basis : Basis
    eps, lam : float
        Exactly one must be given.
    solver : str, optional
        cvxpy solver name (default Clarabel).
    verbose : bool
    discretization : str
        ``"symmetric"`` or ``"forward"``, as `TotalVariation`.

    Returns
    -------
    ndarray, shape (n, n)
    """
    return _reference(
        y, basis, eps, lam, solver, verbose, lambda x: tv_expression(x, discretization)
    )


def _reference(y, basis, eps, lam, solver, verbose, penalty) -> np.ndarray:
    cp = _cp()
    if (eps is None) == (lam is None):
        raise ValueError("give exactly one of eps (constrained) or lam (penalised)")
    y = np.asarray(y, dtype=float)
    x = cp.Variable(basis.shape)
    constraints: list = []
    ax = measurements(basis, x, constraints)
    if eps is not None:
        constraints.append(cp.norm(ax - y, 2) <= float(eps))
        objective = penalty(x)
    else:
        objective = float(lam) * penalty(x) + 0.5 * cp.sum_squares(ax - y)
    return _solve(cp, objective, constraints, x, solver, verbose)
