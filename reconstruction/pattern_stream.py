"""Bucket values of patterns shown in sequence, from the lock-in's recorded output.

When a projector shows patterns every ``dwell`` seconds while the lock-in's
buffer records, the lock-in's input is piecewise constant: pattern ``j``'s
bucket value ``b_j`` from its switch time ``s_j`` to the next. The output is that
input through the known n-pole filter (time constant ``tau``), so with the
step response ``S(t) = 1 - exp(-t/tau) sum_{m<n} (t/tau)^m / m!``

    y(t) = sum_j b_j [S(t - s_j) - S(t - s_{j+1})],   S(t - s_0) = 1 (settled start)

a linear model in the ``b_j``, solved by least squares. Unlike a single reading
per pattern (which at 3 time constants still holds ~20 % of the previous
pattern's bucket), every sample counts and the filter's memory is taken out:
patterns can be shown at 1-2 time constants. Each column is nonzero only from
its switch time to a few time constants after the next switch, so the normal
equations are banded and sparse.
"""

from __future__ import annotations

import math

import numpy as np

from reconstruction.fly import LockInFilter


def step_response(t_s: np.ndarray, tau_s: float, n_poles: int) -> np.ndarray:
    """``S(t)``: the n-pole RC cascade's response to a unit step at ``t = 0`` (0 before);
    :meth:`reconstruction.fly.LockInFilter.step_response`."""
    return LockInFilter(tau_s, n_poles, tau_s).step_response(t_s)


def pattern_values(t_s: np.ndarray, signal_V: np.ndarray, switch_s: np.ndarray, tau_s: float,
                   n_poles: int, *, tail_tc: float = 30.0) -> np.ndarray:
    """Least-squares bucket value of every pattern from the recorded lock-in output.

    Parameters
    ----------
    t_s : ndarray, shape (k,)
        Sample times (any clock, the same as ``switch_s``).
    signal_V : ndarray, shape (k,)
        Lock-in output samples (X or Y).
    switch_s : ndarray, shape (J,)
        When each pattern appeared; the first was on, and the filter settled, before
        the first sample.
    tau_s, n_poles
        The lock-in's output filter.
    tail_tc : float
        A pattern's influence is cut ``tail_tc`` time constants after the next switch
        (``S`` is then 1 to ~1e-9 at 12-24 dB/oct).

    Returns
    -------
    ndarray, shape (J,)
        ``b_j``; NaN for a pattern no sample constrains.
    """
    from scipy import sparse
    from scipy.sparse.linalg import spsolve

    t = np.asarray(t_s, dtype=float)
    y = np.asarray(signal_V, dtype=float)
    s = np.asarray(switch_s, dtype=float)
    n_patterns = s.size
    ends = np.append(s[1:], np.inf)
    rows, cols, vals = [], [], []
    tail = tail_tc * tau_s
    for j in range(n_patterns):
        lo = np.searchsorted(t, s[j], side="right") if j > 0 else 0
        hi = np.searchsorted(t, ends[j] + tail, side="right") if math.isfinite(ends[j]) else t.size
        k = np.arange(lo, hi)
        on = np.ones(k.size) if j == 0 else step_response(t[k] - s[j], tau_s, n_poles)
        off = step_response(t[k] - ends[j], tau_s, n_poles) if math.isfinite(ends[j]) else 0.0
        column = on - off
        keep = np.abs(column) > 1e-12
        rows.append(k[keep])
        cols.append(np.full(int(keep.sum()), j))
        vals.append(column[keep])
    a = sparse.csr_matrix((np.concatenate(vals), (np.concatenate(rows), np.concatenate(cols))),
                          shape=(t.size, n_patterns))
    normal = (a.T @ a).tocsc()
    seen = np.asarray(normal.diagonal()) > 0
    values = np.full(n_patterns, np.nan)
    if seen.any():
        idx = np.flatnonzero(seen)
        values[idx] = spsolve(normal[idx][:, idx], (a.T @ y)[idx])
    return values
