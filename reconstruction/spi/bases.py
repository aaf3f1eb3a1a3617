"""Single-pixel pattern bases: Walsh-Hadamard, Fourier and structurally random.

A basis is a small specification (kind, size, ordering, ratio, seed): it is
what a scan file stores (`Basis.spec`, `basis_from_spec`); patterns and
operators are regenerated from it, never stored as a dense matrix.

Every basis has ``m`` real, orthonormal measurement functions ``b_j`` (rows of
the operator, ``A A^T = I``). The ideal measurement is ``y_j = <b_j, x>``
(`Basis.forward`). A binary projector cannot show the signed ``b_j``: each
measurement is acquired as a complementary pair of 0/1 patterns

    ``P+ = (1 + b_j / beta_j) / 2``,  ``P- = 1 - P+``,  ``beta_j = max |b_j|``

(for Hadamard and random bases ``b_j / beta_j`` is +-1, so the pair is exact;
for Fourier bases it is a cosine or sine dithered to 0/1). With bucket readings
``r+- = <P+-, x>`` the measurement is ``y_j = beta_j (r+ - r-)`` (`Basis.combine`)
and ``r+ + r- = sum(x)`` for every pair, which `reconstruction.spi.noise` uses to
measure the noise. Patterns are numbered ``2 j`` (P+) and ``2 j + 1`` (P-).

For a Fourier basis the two pairs of a frequency are the four-step phase-shifting
patterns ``(1 + cos(theta + phi)) / 2`` with ``phi = 0, pi`` (cosine) and
``3 pi / 2, pi / 2`` (sine); `reconstruction.spi.fourier.four_step` gives the
complex coefficient.
"""

from __future__ import annotations

from functools import cached_property
from typing import Any

import numpy as np

from .operators import HadamardOperator, LinearOperator, RandomOperator
from .orderings import HADAMARD_ORDERINGS, hadamard_order
from .transforms import hadamard_rows, is_power_of_two

__all__ = ["Basis", "HadamardBasis", "RandomBasis", "basis_from_spec"]


def _count(ratio: float, total: int) -> int:
    ratio = float(ratio)
    if not 0.0 < ratio <= 1.0:
        raise ValueError(f"ratio must be in (0, 1], got {ratio}")
    return max(1, min(total, int(round(ratio * total))))


class Basis:
    """Common interface of the single-pixel bases (see the module docstring).

    Attributes
    ----------
    kind : str
        ``"hadamard"``, ``"fourier"`` or ``"random"``.
    size : int
        Pattern side ``n``; images are ``n x n``.
    ratio : float
        Requested sampling ratio ``m / n**2``.
    m : int
        Number of (real) measurements.
    n_patterns : int
        Number of physical patterns, ``2 m``.
    """

    kind = ""

    def __init__(self, size: int, ordering: str, ratio: float, seed: int | None) -> None:
        self.size = int(size)
        self.ordering = str(ordering)
        self.ratio = float(ratio)
        self.seed = None if seed is None else int(seed)
        self.m = 0

    # -- description ------------------------------------------------------
    def spec(self) -> dict[str, Any]:
        """Plain JSON-able description; `basis_from_spec` rebuilds the basis."""
        return {
            "kind": self.kind,
            "size": self.size,
            "ordering": self.ordering,
            "ratio": self.ratio,
            "seed": self.seed,
        }

    def __repr__(self) -> str:
        args = ", ".join(f"{k}={v!r}" for k, v in self.spec().items() if k != "kind")
        return f"{type(self).__name__}({args})"

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Basis) and self.spec() == other.spec()

    def __hash__(self) -> int:
        return hash(tuple(sorted(self.spec().items())))

    @property
    def shape(self) -> tuple[int, int]:
        """Image shape ``(n, n)``."""
        return (self.size, self.size)

    @property
    def n_patterns(self) -> int:
        return 2 * self.m

    # -- operator -----------------------------------------------------------
    @cached_property
    def operator(self) -> LinearOperator:
        """The matrix-free measurement operator ``A`` (``m`` orthonormal rows)."""
        return self._make_operator()

    def _make_operator(self) -> LinearOperator:  # pragma: no cover - abstract
        raise NotImplementedError

    def forward(self, image: np.ndarray) -> np.ndarray:
        """Ideal measurements ``y = A x`` (differential-equivalent, orthonormal)."""
        return self.operator.forward(np.asarray(image, dtype=float))

    def adjoint(self, y: np.ndarray) -> np.ndarray:
        """``A^T y``: the minimum-norm image consistent with ``y`` (exact when complete)."""
        y = np.asarray(y, dtype=float)
        if y.shape != (self.m,):
            raise ValueError(f"expected {self.m} measurements, got shape {y.shape}")
        return self.operator.adjoint(y)

    # -- physical patterns ------------------------------------------------
    @cached_property
    def amplitudes(self) -> np.ndarray:
        """``beta_j = max |b_j|`` of each measurement function, shape (m,)."""
        return np.full(self.m, 1.0 / self.size)

    def _signed(self, j: np.ndarray) -> np.ndarray:  # pragma: no cover - abstract
        """``b_j / beta_j`` for measurements ``j``, shape (k, n, n), values in [-1, 1]."""
        raise NotImplementedError

    def _binarize(self, gray: np.ndarray) -> np.ndarray:
        return np.rint(gray).astype(np.uint8)

    def patterns(self, k0: int = 0, k1: int | None = None, binary: bool = True) -> np.ndarray:
        """Physical patterns ``k0 <= k < k1`` in acquisition order.

        Parameters
        ----------
        k0, k1 : int
            Pattern range, ``0 <= k0 <= k1 <= n_patterns`` (default: all).
        binary : bool
            0/1 patterns for a DMD (default); otherwise grey levels in
            ``[0, 1]`` (identical for Hadamard and random bases).

        Returns
        -------
        ndarray, shape (k1 - k0, n, n)
            uint8 0/1 when `binary`, else float. Pattern ``2 j`` is ``P+`` of
            measurement ``j``, ``2 j + 1`` its complement ``P-``.
        """
        k1 = self.n_patterns if k1 is None else int(k1)
        k0 = int(k0)
        if not 0 <= k0 <= k1 <= self.n_patterns:
            raise ValueError(f"pattern range [{k0}, {k1}) outside [0, {self.n_patterns})")
        j0, j1 = k0 // 2, -(-k1 // 2)
        if j1 == j0:
            dtype = np.uint8 if binary else float
            return np.zeros((0, self.size, self.size), dtype=dtype)
        plus = 0.5 * (1.0 + self._signed(np.arange(j0, j1)))
        if binary:
            plus = self._binarize(plus)
        pairs = np.stack([plus, 1 - plus], axis=1).reshape(-1, self.size, self.size)
        return pairs[k0 - 2 * j0 : k1 - 2 * j0]

    def raw(self, image: np.ndarray) -> np.ndarray:
        """Noise-free bucket readings ``<P_k, x>`` of all patterns, by the fast transform.

        ``r+- = (sum(x) +- y_j / beta_j) / 2`` for the grey-level patterns
        (exactly the binary ones for Hadamard and random bases; dithered
        Fourier patterns differ by their quantisation error). For simulation.

        Returns
        -------
        ndarray, shape (n_patterns,)
        """
        image = np.asarray(image, dtype=float)
        y = self.forward(image)
        total = float(image.sum())
        out = np.empty(self.n_patterns)
        out[0::2] = 0.5 * (total + y / self.amplitudes)
        out[1::2] = 0.5 * (total - y / self.amplitudes)
        return out

    def combine(self, raw: np.ndarray, start: int = 0) -> np.ndarray:
        """Measurements from raw bucket readings of complementary pairs.

        Parameters
        ----------
        raw : ndarray, shape (..., 2 k)
            Readings of patterns ``2 start .. 2 (start + k) - 1`` in order.
        start : int
            Index of the first measurement.

        Returns
        -------
        ndarray, shape (..., k)
            ``y_j = beta_j (r+ - r-)``.
        """
        raw = np.asarray(raw, dtype=float)
        if raw.shape[-1] % 2:
            raise ValueError("raw readings come in pairs (even length)")
        k = raw.shape[-1] // 2
        if start < 0 or start + k > self.m:
            raise ValueError(f"measurements [{start}, {start + k}) outside [0, {self.m})")
        beta = self.amplitudes[start : start + k]
        return beta * (raw[..., 0::2] - raw[..., 1::2])


class HadamardBasis(Basis):
    """2D Walsh-Hadamard basis (``size`` a power of two).

    Parameters
    ----------
    size : int
        Pattern side ``n``.
    ordering : str
        One of `reconstruction.spi.orderings.HADAMARD_ORDERINGS`.
    ratio : float
        Fraction of the ``n**2`` patterns acquired (prefix of the ordering).
    seed : int
        Seed of the ``random`` ordering.

    Examples
    --------
    >>> basis = HadamardBasis(size=64, ordering="zigzag", ratio=0.25)
    >>> basis.m, basis.n_patterns
    (1024, 2048)
    """

    kind = "hadamard"

    def __init__(
        self, size: int, ordering: str = "zigzag", ratio: float = 1.0, seed: int | None = 0
    ) -> None:
        if not is_power_of_two(int(size)) or int(size) < 2:
            raise ValueError(f"Hadamard size must be a power of two >= 2, got {size}")
        if ordering not in HADAMARD_ORDERINGS:
            raise ValueError(f"unknown ordering {ordering!r}; use one of {HADAMARD_ORDERINGS}")
        super().__init__(size, ordering, ratio, seed)
        self.m = _count(ratio, self.size**2)

    @cached_property
    def index(self) -> np.ndarray:
        """Flat natural-order coefficient index ``u * n + v`` of each measurement."""
        return hadamard_order(self.size, self.ordering, self.seed)[: self.m]

    def _make_operator(self) -> LinearOperator:
        return HadamardOperator(self.size, self.index)

    def _signed(self, j: np.ndarray) -> np.ndarray:
        u, v = np.divmod(self.index[j], self.size)
        rows = hadamard_rows(u, self.size)
        cols = hadamard_rows(v, self.size)
        return rows[:, :, None] * cols[:, None, :]


class RandomBasis(Basis):
    """Random +-1 (Bernoulli) patterns, structurally random: see `RandomOperator`.

    Parameters
    ----------
    size : int
        Pattern side ``n``, a power of two.
    ratio : float
        Sampling ratio ``m / n**2``.
    seed : int
        Seed of the pixel permutation, sign flips and row choice.
    """

    kind = "random"

    def __init__(self, size: int, ratio: float = 0.3, seed: int = 0, ordering: str = "random"):
        if not is_power_of_two(int(size)) or int(size) < 2:
            raise ValueError(f"random basis size must be a power of two >= 2, got {size}")
        if ordering != "random":
            raise ValueError("a random basis has only the 'random' ordering")
        if seed is None:
            raise ValueError("a random basis needs an integer seed")
        super().__init__(size, "random", ratio, seed)
        self.m = _count(ratio, self.size**2)

    @cached_property
    def _draw(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        total = self.size**2
        rng = np.random.default_rng(self.seed)
        perm = rng.permutation(total)
        signs = rng.integers(0, 2, total) * 2 - 1
        rows = rng.permutation(total)[: self.m]
        return rows, perm, signs

    def _make_operator(self) -> LinearOperator:
        rows, perm, signs = self._draw
        return RandomOperator(self.size, rows, perm, signs)

    def _signed(self, j: np.ndarray) -> np.ndarray:
        rows, perm, signs = self._draw
        u, v = np.divmod(rows[j], self.size)
        had = hadamard_rows(u, self.size)[:, :, None] * hadamard_rows(v, self.size)[:, None, :]
        out = np.empty((j.size, self.size**2), dtype=np.int8)
        out[:, perm] = had.reshape(j.size, -1) * signs.astype(np.int8)
        return out.reshape(j.size, self.size, self.size)


_SPEC_KEYS = {"kind", "size", "ordering", "ratio", "seed", "dither", "index"}


def basis_from_spec(spec: dict[str, Any]) -> Basis:
    """Rebuild a basis from `Basis.spec` output (e.g. read back from a scan file).

    Parameters
    ----------
    spec : dict
        ``{"kind", "size", "ordering", "ratio", "seed"}`` (+ ``"dither"`` for
        Fourier bases; + ``"index"``, the chosen coefficients, for an adaptive
        Hadamard scan: `reconstruction.spi.adaptive.IndexedHadamardBasis`, entries
        ``-1`` completed by `~reconstruction.spi.adaptive.complete_index`).

    Returns
    -------
    Basis

    Raises
    ------
    ValueError
        Unknown kind or key, or invalid values.
    """
    from .fourier import FourierBasis

    spec = dict(spec)
    unknown = set(spec) - _SPEC_KEYS
    if unknown:
        raise ValueError(f"unknown basis spec keys {sorted(unknown)}")
    kind = spec.pop("kind", None)
    if "index" in spec:
        from .adaptive import IndexedHadamardBasis, complete_index

        if kind != "hadamard":
            raise ValueError(f"an index list needs kind 'hadamard', got {kind!r}")
        size = int(spec["size"])
        return IndexedHadamardBasis(size, complete_index(size, spec["index"]))
    classes: dict[str, type[Basis]] = {
        "hadamard": HadamardBasis,
        "fourier": FourierBasis,
        "random": RandomBasis,
    }
    if kind not in classes:
        raise ValueError(f"unknown basis kind {kind!r}; use one of {sorted(classes)}")
    return classes[kind](**spec)
