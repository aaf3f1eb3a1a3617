"""Adaptive primal-dual hybrid gradient (Chambolle-Pock) with a residual stopping rule.

Solves ``min_x F(K x) + G(x)`` through the saddle point
``min_x max_p <K x, p> - F*(p) + G(x)``:

    x+ = prox_{tau G}(x - tau K^T p)
    p+ = prox_{sigma F*}(p + sigma K (2 x+ - x))

with ``tau sigma ||K||^2 < 1`` (Chambolle & Pock, J. Math. Imaging Vis. 40,
2011). The ratio ``tau / sigma`` is balanced on the fly from the primal and
dual residuals (Goldstein, Li & Yuan, arXiv:1305.0546, 2015):

    r_P = (x - x+) / tau - K^T (p - p+)     (in the subdifferential of the primal)
    r_D = (p - p+) / sigma - K (x - x+)     (in the subdifferential of the dual)

Both vanish exactly at a saddle point. The stopping rule is
``||r_P|| <= tol ||K^T p+||`` and ``||r_D|| <= tol ||K x+||``: the optimality
conditions ``0 in dG(x) + K^T p`` and ``K x in dF*(p)`` hold to a relative
accuracy ``tol``, checked every ``check_every`` iterations and not before
``min_iter`` (`AdaptiveSteps`, shared with the fused TV iteration of
`reconstruction.spi.solvers.tv_kernel`).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np

from ...threads import one_blas_thread

__all__ = ["AdaptiveSteps", "PrimalDual", "SolverInfo"]

_TINY = 1e-300


@dataclass
class SolverInfo:
    """What a run did.

    Attributes
    ----------
    iterations : int
    converged : bool
        The stopping rule was met (else the iteration limit was reached).
    primal_residual, dual_residual : float
        Final relative residuals.
    history : list of tuple
        ``(iteration, primal_residual, dual_residual)`` every `check_every`.
    """

    iterations: int = 0
    converged: bool = False
    primal_residual: float = float("nan")
    dual_residual: float = float("nan")
    history: list[tuple[int, float, float]] = field(default_factory=list)


class AdaptiveSteps:
    """Step sizes ``tau, sigma`` balanced from the residuals, and the stopping rule.

    Parameters
    ----------
    norm : float
        Upper bound of ``||K||``: ``tau sigma = (0.99 / norm)**2``.
    scale : float
        Typical primal amplitude: the first ``tau / sigma = scale**2``.
    tol : float
        Relative tolerance of both residuals.
    adaptive : bool
        Balance ``tau / sigma`` (Goldstein, Li & Yuan): when one residual
        exceeds ``1.5`` times the other, move the ratio by ``1 / (1 - alpha)``,
        ``alpha`` starting at 0.5 and shrinking by 0.95 each time.
    min_iter : int
        No convergence is declared before this iteration.
    """

    def __init__(
        self, norm: float, scale: float, tol: float, adaptive: bool = True, min_iter: int = 0
    ) -> None:
        theta = 0.99 / float(norm)
        scale = scale if scale > 0 else 1.0
        self.tau, self.sigma = theta * scale, theta / scale
        self.tol, self.adaptive, self.min_iter = float(tol), adaptive, int(min_iter)
        self._alpha, self._eta, self._delta = 0.5, 0.95, 1.5

    def update(self, info: SolverInfo, it: int, rp: float, rd: float) -> bool:
        """Record the relative residuals of iteration `it`; True when converged,
        else adapt the steps."""
        info.history.append((it, float(rp), float(rd)))
        info.primal_residual, info.dual_residual = float(rp), float(rd)
        if rp <= self.tol and rd <= self.tol and it >= self.min_iter:
            info.converged = True
            return True
        if self.adaptive:
            a = self._alpha
            if rp > self._delta * rd:
                self.tau, self.sigma = self.tau / (1 - a), self.sigma * (1 - a)
                self._alpha *= self._eta
            elif rd > self._delta * rp:
                self.tau, self.sigma = self.tau * (1 - a), self.sigma / (1 - a)
                self._alpha *= self._eta
        return False


class PrimalDual:
    """Adaptive Chambolle-Pock solver for ``min_x F(K x) + G(x)``.

    Parameters
    ----------
    K, KT : callable
        The linear operator and its adjoint.
    norm : float
        Upper bound of ``||K||``.
    prox_g : callable ``(v, tau) -> x``
        Proximal map of ``tau G``.
    prox_fstar : callable ``(q, sigma) -> p``
        Proximal map of ``sigma F*`` (may work in place on ``q``).
    tol : float
        Relative tolerance of the residual stopping rule.
    maxiter : int
        Iteration limit.
    check_every : int
        Residuals are evaluated (and steps adapted) every this many iterations.
    adaptive : bool
        Balance ``tau / sigma`` from the residuals.
    relax : float
        Over-relaxation ``rho`` in ``(0, 2)``: ``x <- x + rho (x+ - x)``, same
        for ``p`` (Condat, J. Optim. Theory Appl. 158, 2013); 1 is plain
        Chambolle-Pock.
    min_iter : int
        No convergence is declared before this iteration.
    """

    def __init__(
        self,
        K: Callable[[np.ndarray], np.ndarray],
        KT: Callable[[np.ndarray], np.ndarray],
        norm: float,
        prox_g: Callable[[np.ndarray, float], np.ndarray],
        prox_fstar: Callable[[np.ndarray, float], np.ndarray],
        tol: float = 1e-3,
        maxiter: int = 1000,
        check_every: int = 5,
        adaptive: bool = True,
        relax: float = 1.0,
        min_iter: int = 0,
    ) -> None:
        self.K, self.KT, self.norm = K, KT, float(norm)
        self.min_iter = int(min_iter)
        self.prox_g, self.prox_fstar = prox_g, prox_fstar
        self.tol, self.maxiter = float(tol), int(maxiter)
        self.check_every = max(1, int(check_every))
        self.adaptive = adaptive
        if not 0.0 < relax < 2.0:
            raise ValueError(f"relax must be in (0, 2), got {relax}")
        self.relax = float(relax)
        self.info = SolverInfo()

    @one_blas_thread
    def solve(
        self, x0: np.ndarray, p0: np.ndarray | None = None, scale: float | None = None
    ) -> tuple[np.ndarray, np.ndarray]:
        """Run from ``(x0, p0)``; return the primal and dual solutions.

        Parameters
        ----------
        x0 : ndarray
            Starting primal point.
        p0 : ndarray, optional
            Starting dual point (default 0).
        scale : float, optional
            Typical primal amplitude, sets the first ``tau / sigma = scale**2``
            (default: RMS of ``x0``).
        """
        x = np.array(x0, dtype=float, copy=True)
        kx = self.K(x)
        p = np.zeros_like(kx) if p0 is None else np.array(p0, dtype=float, copy=True)
        if scale is None:
            scale = float(np.sqrt(np.mean(x * x)))
        steps = AdaptiveSteps(self.norm, scale, self.tol, self.adaptive, self.min_iter)
        ktp = self.KT(p)
        info = self.info = SolverInfo()
        rho = self.relax
        it = 0
        for it in range(1, self.maxiter + 1):
            tau, sigma = steps.tau, steps.sigma
            v = ktp * (-tau)
            v += x
            x_new = self.prox_g(v, tau)
            kx_new = self.K(x_new)
            q = kx_new * 2.0
            q -= kx
            q *= sigma
            q += p
            p_new = self.prox_fstar(q, sigma)
            ktp_new = self.KT(p_new)
            if it % self.check_every == 0 or it == self.maxiter:
                rp = np.linalg.norm((x - x_new) / tau - (ktp - ktp_new))
                rd = np.linalg.norm((p - p_new) / sigma - (kx - kx_new))
                rp /= max(float(np.linalg.norm(ktp_new)), _TINY)
                rd /= max(float(np.linalg.norm(kx_new)), _TINY)
                if steps.update(info, it, float(rp), float(rd)):
                    x, p = x_new, p_new
                    break
            if rho == 1.0:
                x, kx, p, ktp = x_new, kx_new, p_new, ktp_new
            else:
                for old, new in ((x, x_new), (kx, kx_new), (p, p_new), (ktp, ktp_new)):
                    old *= 1.0 - rho
                    new *= rho
                    old += new
        info.iterations = it
        return x, p
