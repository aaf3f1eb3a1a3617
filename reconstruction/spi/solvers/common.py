"""Data-consistency building blocks for row-orthonormal measurement operators."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from ..operators import LinearOperator

__all__ = ["ball_projection", "check_measurements", "quadratic_prox"]


def check_measurements(op: LinearOperator, y: np.ndarray) -> np.ndarray:
    """`y` as a float vector of the operator's output shape."""
    y = np.asarray(y, dtype=float)
    if y.shape != op.shape_out:
        raise ValueError(f"expected measurements of shape {op.shape_out}, got {y.shape}")
    if not np.all(np.isfinite(y)):
        raise ValueError("measurements contain NaN or infinity")
    return y


def _require_orthonormal(op: LinearOperator) -> None:
    if not getattr(op, "orthonormal_rows", False):
        raise ValueError(f"{op!r} does not have orthonormal rows (A A^T = I)")


class _Coefficients:
    """Work arrays for the prox maps of ``A = S T`` (`LinearOperator.full_transform`)."""

    def __init__(self, op: LinearOperator, y: np.ndarray) -> None:
        size = int(np.prod(op.shape_in))
        # the maps do not depend on the order of the measurements: gather and scatter
        # them in increasing coefficient order (sequential memory access)
        order = np.argsort(op.index, kind="stable")
        self.op, self.y, self.index = op, y[order], op.index[order]
        self.coef = np.empty(size)
        self.work = np.empty(size)
        self.r = np.empty(y.shape)

    def analyse(self, v: np.ndarray) -> np.ndarray:
        """``T v`` into `coef`; returns ``r = A v - y`` (a work array)."""
        self.op.transform(v, out=self.coef, work=self.work)
        np.take(self.coef, self.index, out=self.r)
        self.r -= self.y
        return self.r

    def synthesise(self, r: np.ndarray, out: np.ndarray | None) -> np.ndarray:
        """Put ``y + r`` into the measured coefficients; return ``T^T coef``."""
        r += self.y
        self.coef[self.index] = r
        return self.op.inverse_transform(self.coef, out=out, work=self.work)


def ball_projection(
    op: LinearOperator, y: np.ndarray, eps: float
) -> Callable[..., np.ndarray]:
    """Projection onto ``{x : ||A x - y|| <= eps}`` for ``A A^T = I``.

    ``P(v) = v - A^T (r (1 - eps / ||r||))`` with ``r = A v - y`` when
    ``||r|| > eps`` (else ``v``): exact, two fast transforms. For ``A = S T``
    (`LinearOperator.full_transform`) it is computed on the coefficients,
    ``P(v) = T^T c`` with ``c = T v`` whose measured entries become
    ``y + r eps / ||r||``, in work arrays allocated once.

    Returns
    -------
    callable ``(v, tau, out=None) -> x``
        A proximal map (``tau`` is ignored, as for any indicator function);
        writes into `out` when given (which may be `v`).
    """
    _require_orthonormal(op)
    eps = float(eps)
    if eps < 0:
        raise ValueError(f"eps must be >= 0, got {eps}")
    coefficients = _Coefficients(op, y) if op.full_transform else None

    def project(v: np.ndarray, tau: float = 1.0, out: np.ndarray | None = None) -> np.ndarray:
        if coefficients is not None:
            r = coefficients.analyse(v)
        else:
            r = op.forward(v)
            r -= y
        nr = float(np.linalg.norm(r))
        if nr <= eps:
            if out is None:
                return v
            if out is not v:
                np.copyto(out, v)
            return out
        if coefficients is not None:
            r *= eps / nr
            return coefficients.synthesise(r, out)
        r *= 1.0 - eps / nr
        step = op.adjoint(r)
        return np.subtract(v, step, out=step if out is None else out)

    return project


def quadratic_prox(op: LinearOperator, y: np.ndarray) -> Callable[..., np.ndarray]:
    """Proximal map of ``tau ||A x - y||^2 / 2`` for ``A A^T = I``.

    ``(I + tau A^T A)^-1 (v + tau A^T y) = v + A^T (tau (y - A v) / (1 + tau))``;
    for ``A = S T`` on the coefficients: the measured ones move from ``A v``
    towards ``y`` by ``tau / (1 + tau)``.

    Returns
    -------
    callable ``(v, tau, out=None) -> x``
    """
    _require_orthonormal(op)
    coefficients = _Coefficients(op, y) if op.full_transform else None

    def prox(v: np.ndarray, tau: float, out: np.ndarray | None = None) -> np.ndarray:
        if coefficients is not None:
            r = coefficients.analyse(v)
            r *= 1.0 / (1.0 + tau)
            return coefficients.synthesise(r, out)
        w = y - op.forward(v)
        w *= tau / (1.0 + tau)
        step = op.adjoint(w)
        return np.add(v, step, out=step if out is None else out)

    return prox
