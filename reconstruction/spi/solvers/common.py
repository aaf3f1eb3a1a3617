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


def ball_projection(
    op: LinearOperator, y: np.ndarray, eps: float
) -> Callable[[np.ndarray, float], np.ndarray]:
    """Projection onto ``{x : ||A x - y|| <= eps}`` for ``A A^T = I``.

    ``P(v) = v - A^T (r (1 - eps / ||r||))`` with ``r = A v - y`` when
    ``||r|| > eps`` (else ``v``): exact, two fast transforms.

    Returns
    -------
    callable ``(v, tau) -> x``
        A proximal map (``tau`` is ignored, as for any indicator function).
    """
    _require_orthonormal(op)
    eps = float(eps)
    if eps < 0:
        raise ValueError(f"eps must be >= 0, got {eps}")

    def project(v: np.ndarray, tau: float = 1.0) -> np.ndarray:
        r = op.forward(v)
        r -= y
        nr = float(np.linalg.norm(r))
        if nr <= eps:
            return v
        r *= 1.0 - eps / nr
        out = op.adjoint(r)
        np.subtract(v, out, out=out)
        return out

    return project


def quadratic_prox(op: LinearOperator, y: np.ndarray) -> Callable[[np.ndarray, float], np.ndarray]:
    """Proximal map of ``tau ||A x - y||^2 / 2`` for ``A A^T = I``.

    ``(I + tau A^T A)^-1 (v + tau A^T y) = v + A^T (tau (y - A v) / (1 + tau))``.
    """
    _require_orthonormal(op)

    def prox(v: np.ndarray, tau: float) -> np.ndarray:
        w = y - op.forward(v)
        w *= tau / (1.0 + tau)
        out = op.adjoint(w)
        out += v
        return out

    return prox
