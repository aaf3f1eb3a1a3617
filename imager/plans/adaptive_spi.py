"""Adaptive single-pixel plan: low orders first, then the patterns the data asks for.

``[single_pixel] ordering = "adaptive"`` (Hadamard; read pattern by pattern or streamed).
The pattern count is the zigzag basis' at the recipe's ``ratio``. The scan
shows a share ``adaptive_first`` of the pairs in zigzag order, then, in
``adaptive_rounds`` rounds, reconstructs a TV preview from the readings so far
(noise from the pair sums) and shows the not yet measured coefficients the
preview's transform predicts strongest
(`reconstruction.spi.adaptive.choose_round`, the same rounds as the offline
`~reconstruction.spi.adaptive.adaptive_hadamard`). Each round's coefficients
go to the file (``/entry/basis/index``, document :data:`ADAPTIVE_ROUND`)
before its first pattern is shown, so a stopped scan resumes with the same
choices and any reader rebuilds the basis.

Streamed, every round ends with a buffer block (round edges on multiples of half
``block_patterns`` pairs), so the fitted values of a round are in hand before the
next is chosen. On a bar chart this gains +3.8 / +5.2 dB over zigzag at 10 / 25 % of the
patterns (``python benchmarks/spi_reconstruction.py --quick``); the lab time
is zigzag's, plus one TV preview per round of computer time.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from imager.plans.resume import Plan, ResumeFrom
from imager.plans.steps import Emit
from reconstruction.spi import sigma_from_pairs
from reconstruction.spi.adaptive import (
    IndexedHadamardBasis,
    choose_round,
    complete_index,
    round_sizes,
)
from reconstruction.spi.orderings import hadamard_order

ADAPTIVE_ROUND = "spi.adaptive_round"
"""Name of the document (``Emit``) with a round's choice: ``{"start": first pair,
"index": flat coefficient indices}``."""


def adaptive_basis(basis: Any, resume: ResumeFrom | None) -> Any:
    """The basis to load first: the recipe's (zigzag prefix), or for a resumed scan
    the coefficients its file recorded (the rounds not chosen yet filled in zigzag)."""
    if resume is None or "pattern_index" not in resume.state:
        return basis
    return IndexedHadamardBasis(basis.size, complete_index(basis.size,
                                                           resume.state["pattern_index"]))


def _preview_noise(raw: np.ndarray, basis: Any) -> float:
    """Noise of the measurements so far from the pair sums (0 with fewer than 3 pairs
    or no spread: the preview then fits the data exactly)."""
    try:
        sigma = float(sigma_from_pairs(raw, basis))
    except ValueError:
        return 0.0
    return sigma if np.isfinite(sigma) else 0.0


def round_edges(m: int, first: float, rounds: int, pairs_step: int = 1) -> list[int]:
    """First pair of every round, and ``m``: :func:`~reconstruction.spi.adaptive.
    round_sizes`, each inner edge moved to the nearest multiple of ``pairs_step`` (a
    streamed round ends with a buffer block); rounds left empty are dropped."""
    edges = np.concatenate([[0], np.cumsum(round_sizes(m, first, rounds))]).astype(int)
    step = max(int(pairs_step), 1)
    inner = [int(round(e / step)) * step for e in edges[1:-1]]
    return sorted({0, *(e for e in inner if 0 < e < m), int(m)})


def adaptive_rounds(recipe: Any, basis: Any, start: int, resume: ResumeFrom | None,
                    measure: Any, pairs_step: int = 1) -> Plan:
    """Choose and measure the adaptive rounds from pattern ``start`` on.

    ``basis``: the one :func:`adaptive_basis` gave; ``measure(basis, k0, k1, readings)``:
    the plan's steps that show and read patterns ``k0``..``k1 - 1`` of ``basis`` and put
    their X in ``readings`` (reads or streamed, :mod:`imager.plans.single_pixel`);
    ``pairs_step``: rounds end on multiples of this many pairs (streamed: half a block).
    """
    spi = recipe.sections["single_pixel"]
    n, m = basis.size, basis.m
    edges = round_edges(m, spi["adaptive_first"], spi["adaptive_rounds"], pairs_step)
    state = resume.state if resume is not None else {}
    chosen = np.array(state.get("pattern_index", np.full(m, -1)), dtype=np.int64)
    raw = np.array(state.get("raw_V", np.full(2 * m, np.nan)), dtype=float)
    for r, (p0, p1) in enumerate(zip(edges[:-1], edges[1:], strict=True)):
        if 2 * p1 <= start:
            continue
        if chosen[p0] < 0:  # this round's coefficients are not chosen yet
            if r == 0:
                new = hadamard_order(n, "zigzag")[:p1]
            else:
                done = IndexedHadamardBasis(n, chosen[:p0])
                measured = raw[: 2 * p0]
                new = choose_round(n, chosen[:p0], done.combine(measured),
                                   _preview_noise(measured, done), p1 - p0)
            chosen[p0:p1] = new
            yield Emit(ADAPTIVE_ROUND, {"start": int(p0), "index": new.copy()})
            if r > 0:  # the projector holds the zigzag guess for these
                basis = IndexedHadamardBasis(n, complete_index(n, chosen))
        yield from measure(basis, max(start, 2 * p0), 2 * p1, raw)
