"""Total-variation reconstruction (isotropic, Neumann boundary).

Constrained (noise level known): ``min TV(x)`` s.t. ``||A x - y|| <= eps``.
Penalised: ``min lam TV(x) + ||A x - y||^2 / 2``.

Discretisations of the isotropic TV:

``"forward"``
    The classical ``sum_ij |(x[i+1,j] - x[i,j], x[i,j+1] - x[i,j])|``.
    It pairs the two differences on one side of each pixel, so it is not
    invariant to a half turn of the image and blurs/dents edges unevenly.
``"symmetric"`` (default)
    ``(TV_forward + TV_backward) / 2``: the backward scheme pairs
    ``(x[i,j] - x[i-1,j], x[i,j] - x[i,j-1])``. Invariant to a half turn, at
    about 1.7x the cost per iteration; measured on the camera image at 128^2
    (zigzag Hadamard, sigma 0.01): +0.06 / +0.09 / +0.16 dB at 5 / 10 / 25 %.

Both by the adaptive, over-relaxed Chambolle-Pock iteration of
`reconstruction.spi.solvers.primaldual` with ``K = grad`` (or
``[grad, S grad] / 2``, ``S`` the one-pixel shift that turns forward into
backward differences), ``F = ||.||_{2,1}`` and ``G`` the data term, whose
proximal map is exact for row-orthonormal operators (`ball_projection`,
`quadratic_prox`). It runs fused, with work arrays allocated once and the
dual in cache-sized strips (`reconstruction.spi.solvers.tv_kernel`);
``reference=True`` runs the same iteration through the generic
`PrimalDual` class (slower, for cross-checks).

Stopping rule
-------------
Both relative primal-dual residuals (Goldstein, Li & Yuan) at most ``tol``
(default 3e-4), checked every 5 iterations, and not before ``min_iter``
(default 20) iterations. Measured against the same problem run to 1000
iterations (``benchmarks/tv_speed.py``; 128^2, zigzag Hadamard, sigma 0.01):
the bar chart of `reconstruction.spi.phantoms` ends within 0.01 dB at 5, 10
and 25 %, so do Shepp-Logan and scikit-image's camera, astronaut and moon;
even ``tol = 3e-3`` stays within 0.07 dB there. Larger bar charts have a slow
tail the residuals hardly see (the adaptive step ratio ends far on the dual
side; the TV objective moves by 0.02 % while the bars' edges sharpen): at 256^2
/ 10 % the run stops after 495 iterations 0.05 dB below 1000 iterations and
0.10 dB below 3000; at 1024^2 / 10 % after 860 iterations 0.04 dB below 1000
but 0.31 dB below 2850. Pass a smaller ``tol`` (or a larger ``min_iter``) for
such charts.
"""

from __future__ import annotations

import numpy as np

from ...threads import one_blas_thread
from ..operators import Gradient, LinearOperator, divergence
from .common import ball_projection, check_measurements, quadratic_prox
from .primaldual import AdaptiveSteps, PrimalDual, SolverInfo
from .tv_kernel import tv_iterate

__all__ = ["DISCRETIZATIONS", "TotalVariation", "total_variation"]

DISCRETIZATIONS = ("symmetric", "forward")


def _shift(g: np.ndarray) -> np.ndarray:
    """Forward differences ``(2, n0, n1)`` -> backward differences (one-pixel shift)."""
    b = np.zeros_like(g)
    b[0, 1:, :] = g[0, :-1, :]
    b[1, :, 1:] = g[1, :, :-1]
    return b


def _shift_adjoint(b: np.ndarray, out: np.ndarray) -> np.ndarray:
    """``out += S^T b``."""
    out[0, :-1, :] += b[0, 1:, :]
    out[1, :, :-1] += b[1, :, 1:]
    return out


def _pair_norms(g: np.ndarray) -> np.ndarray:
    return np.sqrt(g[0] ** 2 + g[1] ** 2)


def total_variation(x: np.ndarray, discretization: str = "symmetric") -> float:
    """Isotropic TV of `x` with the solvers' discretisation (see the module docstring)."""
    if discretization not in DISCRETIZATIONS:
        raise ValueError(f"unknown discretization {discretization!r}")
    g = Gradient(np.shape(x)).forward(np.asarray(x, dtype=float))
    if discretization == "forward":
        return float(_pair_norms(g).sum())
    return 0.5 * float(_pair_norms(g).sum() + _pair_norms(_shift(g)).sum())


class _DataTermSolver:
    """Shared set-up of the constrained / penalised first-order solvers."""

    def __init__(
        self,
        operator: LinearOperator,
        eps: float | None,
        lam: float | None,
        tol: float,
        maxiter: int,
        relax: float,
    ) -> None:
        if (eps is None) == (lam is None):
            raise ValueError("give exactly one of eps (constrained) or lam (penalised)")
        if eps is not None and eps < 0:
            raise ValueError(f"eps must be >= 0, got {eps}")
        if lam is not None and lam <= 0:
            raise ValueError(f"lam must be > 0, got {lam}")
        self.operator = operator
        self.eps = None if eps is None else float(eps)
        self.lam = None if lam is None else float(lam)
        self.tol, self.maxiter, self.relax = float(tol), int(maxiter), float(relax)
        self.info = SolverInfo()

    def _data_prox(self, y: np.ndarray):
        if self.eps is not None:
            return ball_projection(self.operator, y, self.eps)
        return quadratic_prox(self.operator, y)

    @property
    def _bound(self) -> float:
        """Radius of the dual ball: 1 (constrained) or ``lam`` (penalised)."""
        return 1.0 if self.lam is None else self.lam

    def _start(self, y: np.ndarray, x0: np.ndarray | None) -> np.ndarray:
        if x0 is None:
            return self.operator.adjoint(y)
        x0 = np.asarray(x0, dtype=float)
        if x0.shape != self.operator.shape_in:
            raise ValueError(f"x0 has shape {x0.shape}, expected {self.operator.shape_in}")
        return x0


class TotalVariation(_DataTermSolver):
    """Isotropic TV reconstruction, constrained by a noise level or penalised.

    Parameters
    ----------
    operator : LinearOperator
        Measurement operator with orthonormal rows (a basis' ``operator``).
    eps : float, optional
        Constraint radius ``||A x - y|| <= eps`` (typically
        ``sigma * sqrt(m)``, see `reconstruction.spi.noise.noise_radius`).
    lam : float, optional
        Penalty weight; exactly one of `eps` and `lam`.
    tol : float
        Relative primal-dual residual at which to stop.
    maxiter : int
        Iteration limit.
    relax : float
        Over-relaxation factor in ``(0, 2)``.
    discretization : str
        ``"symmetric"`` or ``"forward"`` (see the module docstring).
    min_iter : int
        No convergence before this many iterations.
    reference : bool
        Run the generic `PrimalDual` iteration instead of the fused one (same
        iterates up to rounding; slower).

    Examples
    --------
    >>> from reconstruction.spi import HadamardBasis
    >>> basis = HadamardBasis(32, "zigzag", 0.25)
    >>> image = np.zeros((32, 32)); image[8:24, 8:24] = 1.0
    >>> x = TotalVariation(basis.operator, eps=1e-3).solve(basis.forward(image))
    >>> bool(np.abs(x - image).max() < 0.05)
    True
    """

    def __init__(
        self,
        operator: LinearOperator,
        eps: float | None = None,
        lam: float | None = None,
        tol: float = 3e-4,
        maxiter: int = 3000,
        relax: float = 1.5,
        discretization: str = "symmetric",
        min_iter: int = 20,
        reference: bool = False,
    ) -> None:
        super().__init__(operator, eps, lam, tol, maxiter, relax)
        if discretization not in DISCRETIZATIONS:
            raise ValueError(
                f"unknown discretization {discretization!r}; use one of {DISCRETIZATIONS}"
            )
        if not 0.0 < self.relax < 2.0:
            raise ValueError(f"relax must be in (0, 2), got {relax}")
        self.discretization = discretization
        self.min_iter = int(min_iter)
        self.reference = bool(reference)

    @one_blas_thread
    def solve(self, y: np.ndarray, x0: np.ndarray | None = None) -> np.ndarray:
        """Reconstruct from measurements `y` (start: `x0`, default ``A^T y``).

        Returns
        -------
        ndarray
            The image; `info` tells iterations, convergence and residuals.
        """
        y = check_measurements(self.operator, y)
        x0 = self._start(y, x0)
        bound = self._bound
        symmetric = self.discretization == "symmetric"
        norm = 2.0 if symmetric else Gradient(self.operator.shape_in).norm
        scale = float(np.sqrt(np.mean(x0 * x0))) / bound
        if self.reference:
            return self._solve_generic(y, x0, norm, scale)
        steps = AdaptiveSteps(norm, scale, self.tol, min_iter=self.min_iter)
        x, self.info = tv_iterate(
            x0, self._data_prox(y), bound, symmetric, steps, self.maxiter, self.relax
        )
        return x

    def _solve_generic(self, y: np.ndarray, x0: np.ndarray, norm: float, scale: float):
        """The same iteration by the generic `PrimalDual` class (allocates per step)."""
        grad = Gradient(self.operator.shape_in)
        bound = self._bound
        symmetric = self.discretization == "symmetric"

        def prox_fstar(q: np.ndarray, sigma: float) -> np.ndarray:
            pairs = q.reshape(-1, 2, *q.shape[1:])
            nrm = pairs[:, 0] * pairs[:, 0]
            nrm += pairs[:, 1] * pairs[:, 1]
            np.sqrt(nrm, out=nrm)
            nrm *= 1.0 / bound
            np.maximum(nrm, 1.0, out=nrm)
            pairs /= nrm[:, None]
            return q

        def k(x: np.ndarray) -> np.ndarray:
            g = grad.forward(x)
            if not symmetric:
                return g
            out = np.concatenate([g, _shift(g)])
            out *= 0.5
            return out

        def kt(p: np.ndarray) -> np.ndarray:
            if symmetric:
                p = _shift_adjoint(p[2:], p[:2].copy())
                p *= 0.5
            out = divergence(p)
            np.negative(out, out=out)
            return out

        solver = PrimalDual(
            k,
            kt,
            norm,
            self._data_prox(y),
            prox_fstar,
            tol=self.tol,
            maxiter=self.maxiter,
            relax=self.relax,
            min_iter=self.min_iter,
        )
        x, _ = solver.solve(x0, scale=scale if scale > 0 else None)
        self.info = solver.info
        return x
