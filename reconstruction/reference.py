"""Normalising readings by the MIR reference channel.

A scan taken with a reference detector on a pick-off of the MIR beam (a second
lock-in with the same filter) has one reference reading per point in
``/entry/reference`` (:data:`reconstruction.schema.REFERENCE_DTYPE`). The MIR
source's power fluctuation multiplies both alike, so

    value_normalised = value * mean(reference) / reference

takes it out while keeping the signal's scale (volts of an average-power reading).
Patterns read through the lock-in's buffer are normalised sample by sample before
their fit (exact for fluctuations slow against the time constant; dividing the
fitted values would leave the fluctuation the fit's deconvolution mixes between
neighbouring patterns): their rows say ``applied`` and they are left as they are.
"""

from __future__ import annotations

import h5py
import numpy as np

from .schema import REFERENCE

__all__ = ["normalise_by_reference", "read_reference"]


def read_reference(f: h5py.File, n_points: int) -> tuple[np.ndarray, np.ndarray] | None:
    """Reference X per point index and whether it is already applied, shapes
    ``(n_points,)`` (NaN / False where none was recorded); None if the scan has no
    reference channel. A point written twice (a resumed scan replays its last block)
    counts with its last row."""
    table = f.get(REFERENCE)
    if not isinstance(table, h5py.Dataset) or table.shape[0] == 0:
        return None
    rows = table[()]
    values, applied = np.full(int(n_points), np.nan), np.zeros(int(n_points), bool)
    index = rows["index"].astype(np.int64)
    keep = (index >= 0) & (index < n_points)
    values[index[keep]] = rows["X_V"][keep]  # later rows overwrite earlier ones
    if "applied" in (rows.dtype.names or ()):
        applied[index[keep]] = rows["applied"][keep] == 1
    return values, applied


def normalise_by_reference(values: np.ndarray, reference_V: np.ndarray) -> np.ndarray:
    """``values * mean(reference) / reference`` element by element.

    Parameters
    ----------
    values : ndarray
        Readings (NaN where unmeasured).
    reference_V : ndarray
        The reference channel's reading taken with each, same shape (NaN: none).

    Returns
    -------
    ndarray
        Normalised readings; where the reference is missing or not positive, the
        reading as it was.

    Raises
    ------
    ValueError
        If the shapes differ or no reference reading is positive.
    """
    values = np.asarray(values, float)
    ref = np.asarray(reference_V, float)
    if values.shape != ref.shape:
        raise ValueError(f"reference has shape {ref.shape}, readings {values.shape}")
    good = np.isfinite(ref) & (ref > 0.0)
    if not good.any():
        raise ValueError("no positive reference reading: is the MIR source on and the "
                         "reference detector in the beam?")
    mean = float(ref[good].mean())
    out = values.copy()
    out[good] = values[good] * (mean / ref[good])
    return out
