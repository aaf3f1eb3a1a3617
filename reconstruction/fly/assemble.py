"""Fly-scan image assembly: samples binned to pixels, optionally deconvolved first.

One function per line (`assemble_line`), called by the live acquisition as
each line ends and by `assemble_fly` for the offline re-assembly of a whole
scan with other bin edges or deconvolution settings. Deconvolution works in
time, before binning, so it does not care how the stage moved (run-up,
turnaround): the deconvolved value of the interval ``(t_{k-1}, t_k]`` is
placed at the position at its middle, ``t_k - dt/2`` (raw samples at ``t_k``).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from .deconvolve import WienerDeconvolution
from .lockin_filter import LockInFilter

__all__ = ["FlyLine", "assemble_fly", "assemble_line", "bin_samples"]

_UNIFORM_RTOL = 1e-3  # sample intervals may differ from their median by this fraction


@dataclass(frozen=True)
class FlyLine:
    """The raw data of one fly-scan line.

    Attributes
    ----------
    t_s : ndarray, shape (k,)
        Sample times, s (uniform for deconvolution).
    x_um : ndarray, shape (k,)
        Stage position at each sample time, um.
    values_V : ndarray, shape (k,)
        Lock-in X (or Y) samples, V.
    direction : int
        +1 (towards increasing x) or -1.
    """

    t_s: np.ndarray
    x_um: np.ndarray
    values_V: np.ndarray
    direction: int = 1


def _edges(edges_um: np.ndarray) -> np.ndarray:
    e = np.asarray(edges_um, dtype=float)
    if e.ndim != 1 or e.size < 2 or not np.isfinite(e).all() or np.any(np.diff(e) <= 0.0):
        raise ValueError("edges_um must be a finite, strictly increasing 1-D array of >= 2 "
                         f"edges, got shape {e.shape}")
    return e


def bin_samples(
    x_um: np.ndarray, values: np.ndarray, edges_um: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """Mean and count of the samples falling in each bin.

    Bin ``i`` holds ``edges_um[i] <= x < edges_um[i + 1]`` (the last bin also its
    right edge, as ``numpy.histogram``). Samples outside the edges or with a
    NaN value or position are left out.

    Parameters
    ----------
    x_um : array_like, shape (k,)
        Sample positions, um.
    values : array_like, shape (k,)
        Sample values.
    edges_um : array_like, shape (nx + 1,)
        Strictly increasing bin edges, um.

    Returns
    -------
    mean : ndarray of float, shape (nx,)
        NaN where a bin is empty.
    count : ndarray of int, shape (nx,)

    Examples
    --------
    >>> bin_samples([0.5, 1.5, 1.7, 9.0], [1.0, 2.0, 4.0, 5.0], [0.0, 1.0, 2.0, 3.0])
    (array([ 1.,  3., nan]), array([1, 2, 0]))
    """
    e = _edges(edges_um)
    x = np.asarray(x_um, dtype=float).ravel()
    v = np.asarray(values, dtype=float).ravel()
    if x.size != v.size:
        raise ValueError(f"x_um and values must have the same length, got {x.size}, {v.size}")
    nx = e.size - 1
    idx = np.searchsorted(e, x, side="right") - 1
    idx[x == e[-1]] = nx - 1
    ok = (idx >= 0) & (idx < nx) & np.isfinite(v) & np.isfinite(x)
    count = np.bincount(idx[ok], minlength=nx)
    total = np.bincount(idx[ok], weights=v[ok], minlength=nx)
    with np.errstate(invalid="ignore", divide="ignore"):
        mean = np.where(count > 0, total / np.maximum(count, 1), np.nan)
    return mean, count


def assemble_line(
    t_s: np.ndarray,
    x_um: np.ndarray,
    values_V: np.ndarray,
    edges_um: np.ndarray,
    *,
    direction: int | None = None,
    deconvolve: bool = False,
    tau_s: float | None = None,
    n_poles: int | None = None,
    noise_rms_V: float | None = None,
    noise: str = "filtered",
    reg_weight: float | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """One image row from one line's samples: mean and count per pixel.

    Parameters
    ----------
    t_s, x_um, values_V : array_like, shape (k,)
        Sample times (s), positions (um) and values (V) of the line, in time
        order. With `deconvolve`, the times must be uniform and the line must
        start settled (the buffer started in the run-up, before the first pixel).
    edges_um : array_like, shape (nx + 1,)
        Pixel edges, increasing (for either direction).
    direction : {+1, -1}, optional
        Checked against the net motion ``x_um[-1] - x_um[0]`` if given.
    deconvolve : bool
        Take the lock-in filter out first (`WienerDeconvolution`); needs
        `tau_s` and `n_poles`.
    tau_s : float, optional
        Lock-in time constant, s.
    n_poles : int, optional
        Filter stages, ``slope_dB_per_oct / 6``.
    noise_rms_V, noise, reg_weight
        Passed to `WienerDeconvolution` (default: noise estimated from the
        line, lock-in output noise, weight by maximum likelihood).

    Returns
    -------
    mean : ndarray, shape (nx,)
        Per pixel, NaN where no sample fell.
    count : ndarray of int, shape (nx,)
    """
    t = np.asarray(t_s, dtype=float).ravel()
    x = np.asarray(x_um, dtype=float).ravel()
    v = np.asarray(values_V, dtype=float).ravel()
    if not t.size == x.size == v.size:
        raise ValueError(f"t_s, x_um and values_V must have the same length, got {t.size}, "
                         f"{x.size}, {v.size}")
    if direction is not None:
        if direction not in (1, -1):
            raise ValueError(f"direction must be +1 or -1, got {direction!r}")
        if x.size >= 2 and (x[-1] - x[0]) * direction < 0.0:
            raise ValueError(f"direction is {direction:+d} but the line moves from "
                             f"{x[0]:g} to {x[-1]:g} um")
    if not deconvolve:
        return bin_samples(x, v, edges_um)
    if tau_s is None or n_poles is None:
        raise ValueError("deconvolve=True needs tau_s and n_poles")
    if t.size < int(n_poles) + 4:
        return bin_samples(x[:0], v[:0], edges_um)  # too short to deconvolve: nothing
    steps = np.diff(t)
    dt = float(np.median(steps))
    if not (dt > 0.0 and np.all(np.abs(steps - dt) <= _UNIFORM_RTOL * dt)):
        raise ValueError("deconvolve=True needs uniform, increasing sample times (t_s)")
    ok = np.isfinite(v)
    if not ok.all():  # a lost sample: fill it from its neighbours (the filter is smooth)
        if not ok.any():
            return bin_samples(x[:0], v[:0], edges_um)
        v = np.interp(t, t[ok], v[ok])
    solver = WienerDeconvolution(LockInFilter(tau_s, n_poles, dt), noise=noise,
                                 noise_rms_V=noise_rms_V, reg_weight=reg_weight)
    u = solver.solve(v)
    x_mid = np.interp(t - 0.5 * dt, t, x)
    return bin_samples(x_mid, u, edges_um)


def _as_line(line: object, row: int) -> FlyLine:
    if isinstance(line, FlyLine):
        return line
    if isinstance(line, dict):
        return FlyLine(**line)
    try:
        return FlyLine(*line)  # type: ignore[misc]
    except TypeError:
        raise ValueError(f"lines[{row}] must be a FlyLine, a (t_s, x_um, values_V, direction) "
                         f"tuple or None, got {type(line).__name__}") from None


def assemble_fly(
    lines: Sequence[FlyLine | tuple | dict | None],
    edges_um: np.ndarray,
    *,
    ny: int | None = None,
    deconvolve: bool = False,
    tau_s: float | None = None,
    n_poles: int | None = None,
    noise_rms_V: float | None = None,
    noise: str = "filtered",
    reg_weight: float | None = None,
) -> np.ndarray:
    """A fly-scan image from its lines (live, or offline with other settings).

    Parameters
    ----------
    lines : sequence of FlyLine, tuple, dict or None
        Row ``iy`` of the image from ``lines[iy]``: a `FlyLine`, a
        ``(t_s, x_um, values_V, direction)`` tuple or a dict of those fields;
        ``None`` for a row not measured (partial scan).
    edges_um : array_like, shape (nx + 1,)
        Pixel edges along the scan direction, increasing.
    ny : int, optional
        Number of rows (default ``len(lines)``); rows without a line are NaN.
    deconvolve, tau_s, n_poles, noise_rms_V, noise, reg_weight
        As `assemble_line`.

    Returns
    -------
    ndarray, shape (ny, nx)
        Per-pixel means, NaN where nothing was measured.
    """
    nx = _edges(edges_um).size - 1
    ny = len(lines) if ny is None else int(ny)
    if ny < len(lines):
        raise ValueError(f"ny={ny} is smaller than the number of lines ({len(lines)})")
    image = np.full((ny, nx), math.nan)
    for iy, raw in enumerate(lines):
        if raw is None:
            continue
        line = _as_line(raw, iy)
        try:
            image[iy], _ = assemble_line(
                line.t_s, line.x_um, line.values_V, edges_um, direction=line.direction,
                deconvolve=deconvolve, tau_s=tau_s, n_poles=n_poles, noise_rms_V=noise_rms_V,
                noise=noise, reg_weight=reg_weight)
        except ValueError as exc:
            raise ValueError(f"lines[{iy}]: {exc}") from None
    return image
