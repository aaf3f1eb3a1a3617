"""Linear reconstructions: minimum-norm least squares and gradient Tikhonov.

For row-orthonormal operators (``A A^T = I``) the minimum-norm least-squares
solution is ``A^T y``: the exact inverse of a complete basis, the zero-filled
(pseudo-inverse) image of an incomplete one.

Tikhonov: ``min ||A x - y||^2 + lam ||grad x||^2`` by conjugate gradients on
``(A^T A + lam grad^T grad) x = A^T y``. Without `lam`, ``lam`` follows
Morozov's discrepancy principle ``||A x_lam - y|| = eps`` (the residual grows
monotonically with ``lam``), found by a secant search on ``log lam``.
"""

from __future__ import annotations

import numpy as np

from ...threads import one_blas_thread
from ..operators import Gradient, LinearOperator, divergence
from .common import check_measurements
from .primaldual import SolverInfo

__all__ = ["PseudoInverse", "Tikhonov", "conjugate_gradient"]


class PseudoInverse:
    """``x = A^T y``: exact for complete bases, zero-filled otherwise."""

    def __init__(self, operator: LinearOperator) -> None:
        if not getattr(operator, "orthonormal_rows", False):
            raise ValueError("PseudoInverse needs an operator with orthonormal rows")
        self.operator = operator
        self.info = SolverInfo(iterations=0, converged=True)

    @one_blas_thread
    def solve(self, y: np.ndarray) -> np.ndarray:
        return self.operator.adjoint(check_measurements(self.operator, y))


def conjugate_gradient(apply, b: np.ndarray, x0: np.ndarray, tol: float, maxiter: int):
    """Conjugate gradients for a symmetric positive (semi-)definite map.

    Stops when ``||b - apply(x)|| <= tol ||b||``. Returns ``(x, iterations)``.
    """
    x = x0.copy()
    r = b - apply(x)
    p = r.copy()
    rr = float(np.vdot(r, r))
    target = (tol * float(np.linalg.norm(b))) ** 2
    it = 0
    while it < maxiter and rr > target:
        ap = apply(p)
        alpha = rr / float(np.vdot(p, ap))
        x += alpha * p
        r -= alpha * ap
        rr_new = float(np.vdot(r, r))
        p *= rr_new / rr
        p += r
        rr = rr_new
        it += 1
    return x, it


class Tikhonov:
    """Gradient-regularised least squares, weight given or by the discrepancy principle.

    Parameters
    ----------
    operator : LinearOperator
    eps : float, optional
        Target residual norm (noise level); used when `lam` is None.
    lam : float, optional
        Regularisation weight.
    tol : float
        Relative residual of the conjugate-gradient solves.
    maxiter : int
        Iteration limit of each solve.
    rtol_discrepancy : float
        Relative accuracy of ``||A x - y|| = eps``.
    """

    def __init__(
        self,
        operator: LinearOperator,
        eps: float | None = None,
        lam: float | None = None,
        tol: float = 1e-6,
        maxiter: int = 500,
        rtol_discrepancy: float = 0.02,
    ) -> None:
        if eps is None and lam is None:
            raise ValueError("give eps (discrepancy principle) or lam")
        self.operator = operator
        self.eps = None if eps is None else float(eps)
        self.lam = None if lam is None else float(lam)
        self.tol, self.maxiter = float(tol), int(maxiter)
        self.rtol_discrepancy = float(rtol_discrepancy)
        self.info = SolverInfo()
        self.lam_used = float("nan")

    def _solve_lam(self, aty: np.ndarray, lam: float, x0: np.ndarray) -> tuple[np.ndarray, int]:
        op = self.operator
        grad = Gradient(op.shape_in)

        def normal(x: np.ndarray) -> np.ndarray:
            out = op.adjoint(op.forward(x))
            out -= lam * divergence(grad.forward(x))
            return out

        return conjugate_gradient(normal, aty, x0, self.tol, self.maxiter)

    @one_blas_thread
    def solve(self, y: np.ndarray) -> np.ndarray:
        """Reconstruct from `y`; `lam_used` and `info` tell what was done."""
        op = self.operator
        y = check_measurements(op, y)
        aty = op.adjoint(y)
        info = self.info = SolverInfo()
        if self.lam is not None:
            x, it = self._solve_lam(aty, self.lam, aty)
            info.iterations, info.converged, self.lam_used = it, True, self.lam
            return x

        def residual(x: np.ndarray) -> float:
            return float(np.linalg.norm(op.forward(x) - y))

        eps = self.eps
        # lam in units of ||A||^2 / ||grad||^2 = 1/8; bracket the root in log space
        lo, hi = -12.0, 6.0
        x = aty.copy()
        total = 0
        x_lo, it = self._solve_lam(aty, 10.0**lo, x)
        total += it
        if residual(x_lo) >= eps:
            info.iterations, info.converged, self.lam_used = total, True, 10.0**lo
            return x_lo
        f_lo = np.log(residual(x_lo) / eps)
        x_hi, it = self._solve_lam(aty, 10.0**hi, x)
        total += it
        f_hi = np.log(max(residual(x_hi), 1e-300) / eps)
        if f_hi <= 0:
            info.iterations, info.converged, self.lam_used = total, True, 10.0**hi
            return x_hi
        x_mid, mid = x_lo, lo
        for _ in range(40):
            # secant step in (log10 lam, log residual), safeguarded by bisection
            mid = hi - f_hi * (hi - lo) / (f_hi - f_lo)
            if not lo + 0.05 * (hi - lo) < mid < hi - 0.05 * (hi - lo):
                mid = 0.5 * (lo + hi)
            x_mid, it = self._solve_lam(aty, 10.0**mid, x_mid)
            total += it
            f_mid = np.log(max(residual(x_mid), 1e-300) / eps)
            if abs(f_mid) <= self.rtol_discrepancy:
                info.converged = True
                break
            if f_mid < 0:
                lo, f_lo = mid, f_mid
            else:
                hi, f_hi = mid, f_mid
        info.iterations, self.lam_used = total, 10.0**mid
        return x_mid
