"""`reconstruct`: one call from measurements and basis to an image."""

from __future__ import annotations

import time
from typing import Any

import numpy as np

from ..threads import one_blas_thread
from .bases import Basis
from .noise import estimate_noise, noise_radius
from .solvers.linear import PseudoInverse, Tikhonov
from .solvers.tv import TotalVariation
from .solvers.wavelet import WaveletL1

__all__ = ["METHODS", "reconstruct"]

METHODS = ("pinv", "tikhonov", "tv", "wavelet", "cvxpy-tv", "pnp-nlm")


@one_blas_thread
def reconstruct(
    y: np.ndarray,
    basis: Basis,
    method: str = "tv",
    noise_sigma: float | None = None,
    *,
    raw: np.ndarray | None = None,
    lam: float | None = None,
    discrepancy: float = 1.0,
    tol: float | None = None,
    maxiter: int | None = None,
    x0: np.ndarray | None = None,
    return_info: bool = False,
    **options: Any,
) -> np.ndarray | tuple[np.ndarray, dict[str, Any]]:
    """Reconstruct an image from single-pixel measurements.

    Parameters
    ----------
    y : ndarray, shape (m,)
        Ideal measurements (``basis.forward(image)`` plus noise, or
        ``basis.combine(raw)``).
    basis : Basis
        The basis they were acquired with.
    method : str
        ``"pinv"`` (``A^T y``: exact inverse of a complete basis),
        ``"tikhonov"`` (gradient-regularised least squares), ``"tv"``
        (total-variation compressed sensing), ``"wavelet"`` (wavelet-l1),
        ``"cvxpy-tv"`` (the TV problem solved by cvxpy: exact reference,
        small sizes; needs cvxpy), ``"pnp-nlm"`` (TV, then plug-and-play
        ADMM with non-local means: keeps repeated structure; ~0.5 s at
        128^2; needs scikit-image).
    noise_sigma : float, optional
        Standard deviation of the noise on each measurement. Default:
        estimated from `raw` when given (pair sums,
        `reconstruction.spi.noise.sigma_from_pairs`, reliable), else from the
        high-order coefficients of `y` (`sigma_from_coefficients`: an upper
        bound when the signal has not decayed below the noise there, which
        then over-smooths; not available for random bases).
    raw : ndarray, optional
        The raw bucket readings of the complementary pairs `y` came from.
    lam : float, optional
        Penalty weight: solves the penalised problem instead of the
        noise-constrained one (``tikhonov``, ``tv``, ``wavelet``, ``cvxpy-tv``,
        ``pnp-nlm``).
    discrepancy : float
        Constraint radius ``eps = discrepancy * noise_sigma * sqrt(m)``.
    tol, maxiter : optional
        Stopping rule of the iterative solvers (their defaults otherwise).
    x0 : ndarray, optional
        Starting image of ``tv`` and ``wavelet``.
    return_info : bool
        Also return a dict: method, sigma, eps, lam, iterations, converged,
        residual norm, seconds.
    **options
        ``wavelet``, ``levels`` and ``shifts`` for ``method="wavelet"``;
        ``relax`` for ``tv``/``wavelet``; ``discretization``, ``min_iter`` for
        ``tv``; ``solver`` for ``cvxpy-tv``; ``strength``, ``decay``,
        ``iterations``, ``patch_size``, ``patch_distance`` for ``pnp-nlm``.

    Returns
    -------
    ndarray, shape (n, n)
        The image (and the info dict when `return_info`).

    Examples
    --------
    >>> from reconstruction import HadamardBasis, reconstruct
    >>> basis = HadamardBasis(size=32, ordering="zigzag", ratio=0.25)
    >>> image = np.zeros((32, 32)); image[8:24, 8:24] = 1.0
    >>> x = reconstruct(basis.forward(image), basis, method="tv", noise_sigma=1e-4)
    >>> x.shape
    (32, 32)
    """
    if method not in METHODS:
        raise ValueError(f"unknown method {method!r}; use one of {METHODS}")
    if not isinstance(basis, Basis):
        raise TypeError(f"basis must be a Basis, got {type(basis).__name__}")
    y = np.asarray(y, dtype=float)
    if y.shape != (basis.m,):
        raise ValueError(f"expected {basis.m} measurements for {basis!r}, got shape {y.shape}")
    if not np.all(np.isfinite(y)):
        raise ValueError("measurements contain NaN or infinity")
    start = time.perf_counter()
    op = basis.operator
    sigma = eps = None
    if method != "pinv" and lam is None:
        if noise_sigma is None:
            noise_sigma = estimate_noise(y, basis, raw=raw)
        sigma = float(noise_sigma)
        eps = noise_radius(sigma, basis.m, discrepancy)
    iterative: dict[str, Any] = {}
    if tol is not None:
        iterative["tol"] = tol
    if maxiter is not None:
        iterative["maxiter"] = maxiter
    lam_used = lam

    if method == "pinv":
        solver: Any = PseudoInverse(op)
        x = solver.solve(y)
    elif method == "tikhonov":
        solver = Tikhonov(op, eps=eps, lam=lam, **iterative)
        x = solver.solve(y)
        lam_used = float(solver.lam_used)
    elif method == "tv":
        solver = TotalVariation(op, eps=eps, lam=lam, **iterative, **options)
        x = solver.solve(y, x0)
    elif method == "wavelet":
        solver = WaveletL1(op, eps=eps, lam=lam, **iterative, **options)
        x = solver.solve(y, x0)
    elif method == "pnp-nlm":
        from .solvers.pnp import PlugAndPlayNLM

        solver = PlugAndPlayNLM(op, eps=eps, lam=lam, tv_options=iterative, **options)
        x = solver.solve(y, x0)
    else:
        from .solvers.cvx import cvxpy_tv

        solver = None
        x = cvxpy_tv(y, basis, eps=eps, lam=lam, **options)

    if not return_info:
        return x
    info = solver.info if solver is not None else None
    details: dict[str, Any] = {
        "method": method,
        "sigma": sigma,
        "eps": eps,
        "lam": lam_used,
        "iterations": None if info is None else info.iterations,
        "converged": True if info is None else info.converged,
        "residual": float(np.linalg.norm(op.forward(x) - y)),
        "seconds": time.perf_counter() - start,
    }
    return x, details
