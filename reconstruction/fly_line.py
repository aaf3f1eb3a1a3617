"""Fly-scan lines and files: from the lock-in's samples to binned pixels, live and offline.

:func:`assemble_fly_line` is what the fly plan calls as each line ends: the samples'
positions come from the stage's trapezoidal motion profile, its start time fitted to
the stage's polled read-backs; the lock-in's n-pole filter is deconvolved from the
samples (optional) and they are averaged between the pixel edges
(:func:`reconstruction.fly.assemble_line`). :func:`reassemble_fly_file` does it
again from a saved fly scan's ``/entry/stream`` with other pixel edges or
deconvolution settings.
"""

from __future__ import annotations

import os
from dataclasses import dataclass

import h5py
import numpy as np

from reconstruction import schema
from reconstruction.errors import ScanFileError
from reconstruction.fly import assemble_line, bin_samples, fit_move_start, trapezoid_position


@dataclass(frozen=True)
class BinnedLine:
    """A line's sample positions and its pixels (in edge order, ascending x)."""

    x_um: np.ndarray
    """Position of every sample (um)."""
    t_s: np.ndarray
    """Time of every sample (as given, or from the motion profile for triggered samples)."""
    bin_x_um: np.ndarray
    """Mean sample position in each pixel (NaN if none)."""
    X_V: np.ndarray
    Y_V: np.ndarray
    bin_t_s: np.ndarray
    """Mean sample time in each pixel (same clock as the samples)."""
    counts: np.ndarray


def assemble_fly_line(t_s: np.ndarray, x_V: np.ndarray, y_V: np.ndarray,
                      track: tuple[np.ndarray, np.ndarray, np.ndarray], x_from_um: float,
                      x_to_um: float, velocity_um_per_s: float, acceleration_um_per_s2: float,
                      t_move_s: float, edges_um: np.ndarray, tau_s: float, n_poles: int, *,
                      deconvolve: bool = True, x_um: np.ndarray | None = None) -> BinnedLine:
    """Bin one line's lock-in samples into pixels.

    Parameters
    ----------
    t_s, x_V, y_V : ndarray
        The samples (lab times, s; X and Y, V), uniformly spaced in time.
    track : (t_s, x_um, y_um)
        The stage's read-backs during the move (times on the same clock).
    x_from_um, x_to_um, velocity_um_per_s, acceleration_um_per_s2
        The commanded move (a trapezoidal profile).
    t_move_s : float
        When the move was commanded (the fit starts from it).
    edges_um : ndarray
        Pixel edges, ascending (nx + 1).
    tau_s, n_poles
        The lock-in's output filter (time constant, RC stages).
    deconvolve : bool
        Take the filter's response out of the samples before binning.
    x_um : ndarray, optional
        The samples' positions when they are known (one sample per position trigger,
        all on the constant-velocity part of the move); their times then come from
        the fitted profile (a lock-in's triggered buffer has no time stamps).

    Returns
    -------
    BinnedLine
    """
    t_s = np.asarray(t_s, dtype=float)
    t_read, x_read, _ = track
    t_start = fit_move_start(t_read, x_read, x_from_um, x_to_um, velocity_um_per_s,
                             acceleration_um_per_s2, t_move_s)
    if x_um is None:
        x_um = trapezoid_position(t_s, x_from_um, x_to_um, velocity_um_per_s,
                                  acceleration_um_per_s2, t_start)
    else:  # cruise: accelerate to v over v^2 / 2a in v / a, then travel at v
        x_um = np.asarray(x_um, dtype=float)
        t_s = (t_start + velocity_um_per_s / acceleration_um_per_s2
               + (np.abs(x_um - x_from_um) - velocity_um_per_s**2 / (2 * acceleration_um_per_s2))
               / velocity_um_per_s)
    options = {"deconvolve": deconvolve and t_s.size > 2, "tau_s": tau_s, "n_poles": n_poles}
    X, counts = assemble_line(t_s, x_um, x_V, edges_um, **options)
    Y, _ = assemble_line(t_s, x_um, y_V, edges_um, **options)
    bx, _ = bin_samples(x_um, x_um, edges_um)
    bt, _ = bin_samples(x_um, t_s, edges_um)
    return BinnedLine(x_um, t_s, bx, X, Y, bt, counts)


def reassemble_fly_file(path: str | os.PathLike[str], *, nx: int | None = None,
                        deconvolve: bool = True) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Assemble a saved fly scan's image again from its raw samples.

    Parameters
    ----------
    path : path
        A fly scan file (raster kind, ``/entry/stream`` and ``/entry/lines``).
    nx : int, optional
        Pixels per line (default: the scan's); the field (first to last edge) stays.
    deconvolve : bool
        Take the lock-in filter out (its time constant and poles are in the file).

    Returns
    -------
    image_V : ndarray, shape (ny, nx)
        Lock-in X per pixel (NaN where no sample fell, or a line is missing).
    x_um : ndarray, shape (nx,)
        Pixel centres.
    y_um : ndarray, shape (ny,)

    Raises
    ------
    ScanFileError
        Not a fly scan file (one line).
    """
    path = os.fspath(path)
    with h5py.File(path, "r", locking=False) as f:
        scan = dict(f[schema.SCAN].attrs) if schema.SCAN in f else {}
        if scan.get("mode") != "fly" or schema.STREAM not in f:
            raise ScanFileError(f"{path}: not a fly scan (no {schema.STREAM})")
        stream = f[schema.STREAM][()]
        edges = f[f"{schema.DATA}/x_edges_um"][()]
        y_um = f[f"{schema.DATA}/y_um"][()]
    tau_s, n_poles = float(scan["time_constant_s"]), int(scan["filter_poles"])
    if nx is not None:
        edges = np.linspace(edges[0], edges[-1], int(nx) + 1)
    image = np.full((y_um.size, edges.size - 1), np.nan)
    for iy in range(y_um.size):
        rows = stream[stream["line"] == iy]
        if rows.size:
            image[iy], _ = assemble_line(rows["t_lab_s"], rows["x_um"], rows["X_V"], edges,
                                         deconvolve=deconvolve and rows.size > 2, tau_s=tau_s,
                                         n_poles=n_poles)
    return image, (edges[:-1] + edges[1:]) / 2, y_um
