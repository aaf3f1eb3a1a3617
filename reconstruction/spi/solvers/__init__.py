"""Reconstruction solvers: small classes with ``solve(y)`` and a stopping rule (``info``)."""

from .linear import PseudoInverse, Tikhonov
from .primaldual import PrimalDual, SolverInfo
from .tv import TotalVariation, total_variation
from .wavelet import WaveletL1

__all__ = [
    "PrimalDual",
    "PseudoInverse",
    "SolverInfo",
    "Tikhonov",
    "TotalVariation",
    "WaveletL1",
    "total_variation",
]
