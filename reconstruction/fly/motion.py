"""Sample positions from a known motion profile and timestamped position readbacks.

A servo controller (Thorlabs KDC101) moves on a trapezoidal velocity profile:
constant acceleration to the cruise velocity, cruise, constant deceleration; a
triangle when the move is too short to reach the cruise velocity. The profile
is known from the move's parameters; only its start time is not (command
latency, transport, the controller's own loop). `fit_move_start` finds it from
the position readbacks the controller reports (~10 Hz for thorlabs-apt-device
status updates), and the lock-in's sample positions are then the profile at the
sample times. Same formulas as ``stages/simulated.py`` (``_start_move``,
``position_at``).
"""

from __future__ import annotations

import math

import numpy as np

__all__ = ["fit_move_start", "move_duration_s", "trapezoid_position"]


def _phases(x0_um: float, x1_um: float, v: float, a: float) -> tuple[float, float, float]:
    """``(t_acc, v_peak, t_cruise)`` of the move."""
    if not (math.isfinite(v) and v > 0.0):
        raise ValueError(f"v_um_per_s must be > 0, got {v!r}")
    if not (math.isfinite(a) and a > 0.0):
        raise ValueError(f"a_um_per_s2 must be > 0, got {a!r}")
    d = abs(x1_um - x0_um)
    if d * a <= v * v:  # triangular profile: never reaches v
        t_acc = math.sqrt(d / a)
        return t_acc, a * t_acc, 0.0
    t_acc = v / a
    return t_acc, v, (d - v * t_acc) / v


def move_duration_s(x0_um: float, x1_um: float, v_um_per_s: float, a_um_per_s2: float) -> float:
    """Duration of the move from rest to rest, s."""
    t_acc, _, t_cruise = _phases(x0_um, x1_um, v_um_per_s, a_um_per_s2)
    return 2.0 * t_acc + t_cruise


def trapezoid_position(
    t_s: np.ndarray,
    x0_um: float,
    x1_um: float,
    v_um_per_s: float,
    a_um_per_s2: float,
    t_start_s: float,
) -> np.ndarray:
    """Position on a trapezoidal move from ``x0_um`` to ``x1_um`` started at ``t_start_s``.

    Parameters
    ----------
    t_s : array_like
        Times, s.
    x0_um, x1_um : float
        Start and end of the move (at rest at both), um.
    v_um_per_s : float
        Cruise velocity (> 0).
    a_um_per_s2 : float
        Acceleration and deceleration (> 0).
    t_start_s : float
        When the move starts, s.

    Returns
    -------
    ndarray
        Positions, um, the shape of `t_s`: ``x0_um`` before the start,
        ``x1_um`` after the end.

    Examples
    --------
    >>> float(trapezoid_position(1.0, 0.0, 1000.0, 100.0, 1000.0, 0.0))
    95.0
    """
    t_acc, v_peak, t_cruise = _phases(x0_um, x1_um, float(v_um_per_s), float(a_um_per_s2))
    a = float(a_um_per_s2)
    direction = 1.0 if x1_um >= x0_um else -1.0
    tau = np.asarray(t_s, dtype=float) - float(t_start_s)
    t_end = 2.0 * t_acc + t_cruise
    accel = 0.5 * a * np.minimum(np.maximum(tau, 0.0), t_acc) ** 2
    cruise = v_peak * np.clip(tau - t_acc, 0.0, t_cruise)
    rem = np.clip(t_end - tau, 0.0, t_acc)
    decel = 0.5 * a * (t_acc * t_acc - rem * rem)
    s = accel + cruise + decel
    out = x0_um + direction * s
    return np.where(tau >= t_end, float(x1_um), out)


def fit_move_start(
    t_read_s: np.ndarray,
    x_read_um: np.ndarray,
    x0_um: float,
    x1_um: float,
    v_um_per_s: float,
    a_um_per_s2: float,
    t_guess_s: float,
    *,
    search_s: float = 1.0,
) -> float:
    """Fit the start time of a known trapezoidal move to timestamped position readbacks.

    Least squares on the one parameter: a grid over ``t_guess_s +- search_s``
    (steps of 1/400 of the window), then a bounded Brent search around the best
    point to 1 us. Encoder quantisation (uniform, zero mean while moving) and
    timestamp jitter average out over the readbacks; at cruise velocity ``v``
    each readback fixes the start to ``quantum / (v sqrt(12))``.

    Parameters
    ----------
    t_read_s, x_read_um : array_like, shape (k,)
        Readback times (s) and positions (um), e.g. the controller's ~10 Hz
        status updates from before the move until after it.
    x0_um, x1_um, v_um_per_s, a_um_per_s2 : float
        The commanded move (`trapezoid_position`).
    t_guess_s : float
        When the move was commanded, s.
    search_s : float
        Half-width of the searched window, s (> 0).

    Returns
    -------
    float
        The move's start time, s (latency = result - time of the command).

    Raises
    ------
    ValueError
        If the inputs are not finite, of equal length, or no readback falls
        inside the move for the best start time (nothing to fit).
    """
    from scipy.optimize import minimize_scalar

    t = np.asarray(t_read_s, dtype=float).ravel()
    x = np.asarray(x_read_um, dtype=float).ravel()
    if t.size != x.size or t.size < 2:
        raise ValueError(f"t_read_s and x_read_um need the same length >= 2, got {t.size}, "
                         f"{x.size}")
    if not (np.isfinite(t).all() and np.isfinite(x).all()):
        raise ValueError("t_read_s and x_read_um must be finite")
    if not (math.isfinite(search_s) and search_s > 0.0):
        raise ValueError(f"search_s must be > 0, got {search_s!r}")
    args = (float(x0_um), float(x1_um), float(v_um_per_s), float(a_um_per_s2))

    def cost(t0: float) -> float:
        r = trapezoid_position(t, *args, t0) - x
        return float(np.dot(r, r))

    grid = np.linspace(t_guess_s - search_s, t_guess_s + search_s, 801)
    costs = np.array([cost(t0) for t0 in grid])
    best = int(np.argmin(costs))
    step = grid[1] - grid[0]
    res = minimize_scalar(cost, bounds=(grid[best] - step, grid[best] + step),
                          method="bounded", options={"xatol": 1e-6})
    t0 = float(res.x) if res.fun <= costs[best] else float(grid[best])
    duration = move_duration_s(*args)
    if not np.any((t > t0) & (t < t0 + duration)):
        raise ValueError("fit_move_start: no readback falls inside the move "
                         f"({t0:.3f} ... {t0 + duration:.3f} s); cannot fit its start")
    return t0
