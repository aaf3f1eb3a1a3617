"""A block of buffered lock-in samples and the points measured from it (a fly-scan line, a
run of single-pixel patterns), as a plan hands it to the sinks.

The file sink writes the block whole, then flushes: the raw samples to
``/entry/stream``, one row to ``/entry/lines`` (what a resume needs: when the
block started and ended), and the points' records and signal values. Live views
fill each point's place (``at``); the progress bar counts them.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

STREAM_BLOCK = "stream_block"
"""Name of the document (``Emit``) carrying a :class:`StreamBlock`."""


@dataclass(frozen=True)
class BlockPoint:
    """One point measured from a block: its plan index, the kind's leading record fields
    (``head``), position, X and Y, lab time (s since the scan's start), where its
    value goes in the signal array (``at``) and the MIR reference channel's X fitted
    the same way (NaN: no reference channel; with one, ``X_V`` and ``Y_V`` were fitted
    from the samples normalised by the reference's, sample by sample)."""

    index: int
    head: tuple
    x_um: float
    y_um: float
    X_V: float
    Y_V: float
    t_lab_s: float
    at: tuple
    ref_X_V: float = float("nan")


@dataclass(frozen=True)
class StreamBlock:
    """Samples (``reconstruction.schema.STREAM_DTYPE`` rows), the block's
    ``/entry/lines`` row (``LINE_DTYPE`` fields but ``t_wall_s``) and its points."""

    line: int
    samples: np.ndarray
    line_row: tuple
    points: list[BlockPoint]

    def line_record(self, t_wall_s: float) -> tuple[Any, ...]:
        return (*self.line_row, t_wall_s)


def pick_rate(recipe: Any, key: str, requested_Hz: float, rates_Hz: tuple[float, ...]) -> float:
    """The fastest buffer rate the lock-in offers up to ``requested_Hz``.

    Raises
    ------
    RecipeError
        Every rate is faster (one line naming the recipe key ``key``).
    """
    offered = [r for r in rates_Hz if r <= requested_Hz * (1 + 1e-9)]
    if not offered:
        raise recipe.error(f"{key}: {requested_Hz:g} Hz is below this lock-in's slowest buffer "
                           f"rate, {min(rates_Hz):g} Hz")
    return max(offered)


def stream_rows(line: int, t_s: np.ndarray, x_V: np.ndarray, y_V: np.ndarray, x_um: Any,
                y_um: float, lab_start_s: float) -> np.ndarray:
    """``STREAM_DTYPE`` rows of a block's samples (times relative to the scan's start)."""
    from reconstruction.schema import STREAM_DTYPE

    rows = np.empty(len(t_s), STREAM_DTYPE)
    rows["line"], rows["t_lab_s"], rows["x_um"] = line, np.asarray(t_s) - lab_start_s, x_um
    rows["y_um"], rows["X_V"], rows["Y_V"] = y_um, x_V, y_V
    return rows
