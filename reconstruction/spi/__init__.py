"""Single-pixel imaging: pattern bases, matrix-free operators, reconstruction solvers.

Pure (no hardware): a basis is a small JSON-able spec; its patterns, operator
and reconstruction are regenerated from it.

>>> from reconstruction.spi import HadamardBasis, reconstruct
>>> basis = HadamardBasis(size=64, ordering="zigzag", ratio=0.25)
>>> y = basis.forward(image)                      # doctest: +SKIP
>>> x = reconstruct(y, basis, method="tv")        # doctest: +SKIP
"""

from .adaptive import IndexedHadamardBasis, adaptive_hadamard, next_hadamard_patterns
from .api import METHODS, reconstruct
from .bases import Basis, HadamardBasis, RandomBasis, basis_from_spec
from .fourier import FourierBasis, four_step
from .noise import (
    estimate_noise,
    noise_radius,
    sigma_from_coefficients,
    sigma_from_pairs,
    sigma_from_repeats,
)
from .operators import dottest
from .orderings import FOURIER_ORDERINGS, HADAMARD_ORDERINGS

__all__ = [
    "FOURIER_ORDERINGS",
    "HADAMARD_ORDERINGS",
    "METHODS",
    "Basis",
    "FourierBasis",
    "HadamardBasis",
    "IndexedHadamardBasis",
    "RandomBasis",
    "adaptive_hadamard",
    "basis_from_spec",
    "dottest",
    "estimate_noise",
    "four_step",
    "next_hadamard_patterns",
    "noise_radius",
    "reconstruct",
    "sigma_from_coefficients",
    "sigma_from_pairs",
    "sigma_from_repeats",
]
