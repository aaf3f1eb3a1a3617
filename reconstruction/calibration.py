"""Calibration fits (pure): responsivity, detection limit, Boltzmann ratio, lifetimes.

These are the fits an experimenter does on calibration data; the same
functions serve hardware and the simulated lab. Arrays in, small result
dataclasses out, every value with its uncertainty.
"""

from __future__ import annotations

import math
import os
from dataclasses import asdict, dataclass, fields
from pathlib import Path
from typing import Any

import h5py
import numpy as np

K_B_CM1_PER_K = 0.6950348
"""Boltzmann constant in cm^-1/K (CODATA 2018: 0.695 034 800 cm^-1 K^-1)."""


@dataclass(frozen=True)
class LinearFit:
    """``y = slope * x + intercept`` with 1-sigma uncertainties and R^2."""

    slope: float
    slope_err: float
    intercept: float
    intercept_err: float
    r_squared: float
    n: int

    def as_dict(self) -> dict[str, float]:
        return asdict(self)


def fit_line(x: np.ndarray, y: np.ndarray, y_err: np.ndarray | None = None) -> LinearFit:
    """Weighted least-squares straight line.

    Parameters
    ----------
    x, y : ndarray
        Data (same length, at least 3 points with two distinct x).
    y_err : ndarray, optional
        1-sigma errors of ``y``. Without them the errors are estimated from the
        residual scatter (ordinary least squares).

    Returns
    -------
    LinearFit
        With parameter uncertainties from the covariance matrix. When ``y_err``
        is given and the reduced chi^2 exceeds 1, the uncertainties are scaled
        up by sqrt(chi^2_red) (never down), so a misfit is not hidden.
    """
    x = np.asarray(x, dtype=float).ravel()
    y = np.asarray(y, dtype=float).ravel()
    if x.size != y.size or x.size < 3 or np.ptp(x) == 0:
        raise ValueError("fit_line needs >= 3 points with at least two distinct x values")
    if y_err is None:
        w = np.ones_like(y)
    else:
        w = 1.0 / np.maximum(np.asarray(y_err, dtype=float), 1e-300) ** 2
    design = np.column_stack([x, np.ones_like(x)])
    cov_inv = design.T @ (design * w[:, None])
    params = np.linalg.solve(cov_inv, design.T @ (w * y))
    resid = y - design @ params
    dof = x.size - 2
    chi2_red = float(np.sum(w * resid**2) / dof) if dof > 0 else 0.0
    cov = np.linalg.inv(cov_inv)
    if y_err is None:
        cov = cov * chi2_red
    elif chi2_red > 1.0:
        cov = cov * chi2_red
    ss_tot = float(np.sum((y - y.mean()) ** 2))
    r2 = 1.0 - float(np.sum(resid**2)) / ss_tot if ss_tot > 0 else 1.0
    return LinearFit(float(params[0]), float(math.sqrt(cov[0, 0])), float(params[1]),
                     float(math.sqrt(cov[1, 1])), r2, int(x.size))


@dataclass(frozen=True)
class Responsivity:
    """Lock-in response to MIR intensity and the resulting detection limit.

    Attributes
    ----------
    slope_V_per_W_per_um2, slope_err_V_per_W_per_um2 : float
        Fitted responsivity dV/dI and its 1-sigma uncertainty.
    offset_V, offset_err_V : float
        Signal at zero MIR intensity.
    noise_V : float
        Standard deviation of single readings at zero MIR (the noise floor).
    nei_W_per_um2 : float
        Noise-equivalent intensity ``noise_V / slope``: the detection limit at
        SNR = 1 (the paper's definition).
    r_squared : float
        Linearity of the calibration.
    """

    slope_V_per_W_per_um2: float
    slope_err_V_per_W_per_um2: float
    offset_V: float
    offset_err_V: float
    noise_V: float
    nei_W_per_um2: float
    r_squared: float
    n_levels: int

    def to_W_per_um2(self, signal_V: np.ndarray) -> np.ndarray:
        """Convert lock-in readings to MIR intensity with this calibration."""
        return (np.asarray(signal_V, dtype=float) - self.offset_V) / self.slope_V_per_W_per_um2

    def as_dict(self) -> dict[str, float]:
        return asdict(self)


def fit_responsivity(intensity_W_per_um2: np.ndarray, readings_V: np.ndarray) -> Responsivity:
    """Fit the responsivity from repeated readings at several MIR intensities.

    Parameters
    ----------
    intensity_W_per_um2 : ndarray, shape (k,)
        MIR intensity of each level; one level must be 0 (MIR off) to measure
        the noise floor.
    readings_V : ndarray, shape (k, r)
        ``r >= 2`` repeated lock-in readings per level.

    Returns
    -------
    Responsivity
    """
    intensity = np.asarray(intensity_W_per_um2, dtype=float).ravel()
    readings = np.asarray(readings_V, dtype=float)
    if readings.ndim != 2 or readings.shape[0] != intensity.size or readings.shape[1] < 2:
        raise ValueError("readings_V must have shape (levels, repeats >= 2)")
    zero = np.flatnonzero(intensity == 0.0)
    if zero.size == 0:
        raise ValueError("one calibration level must be zero MIR intensity (noise floor)")
    means = readings.mean(axis=1)
    sem = readings.std(axis=1, ddof=1) / math.sqrt(readings.shape[1])
    floor = float(np.median(sem[sem > 0])) if np.any(sem > 0) else 1e-30
    fit = fit_line(intensity, means, np.maximum(sem, floor))
    noise_V = float(readings[zero].std(ddof=1))
    return Responsivity(
        slope_V_per_W_per_um2=fit.slope,
        slope_err_V_per_W_per_um2=fit.slope_err,
        offset_V=fit.intercept,
        offset_err_V=fit.intercept_err,
        noise_V=noise_V,
        nei_W_per_um2=noise_V / abs(fit.slope) if fit.slope else math.inf,
        r_squared=fit.r_squared,
        n_levels=int(intensity.size),
    )


@dataclass(frozen=True)
class BoltzmannFit:
    """``ln R = ln C - dE / (k_B T)`` fitted to band ratios at several temperatures."""

    energy_gap_cm1: float
    energy_gap_err_cm1: float
    prefactor: float
    prefactor_err: float
    r_squared: float

    def ratio(self, T_K: np.ndarray) -> np.ndarray:
        """Ratio predicted by the fit."""
        return self.prefactor * np.exp(-self.energy_gap_cm1 / (K_B_CM1_PER_K * np.asarray(T_K)))

    def as_dict(self) -> dict[str, float]:
        return asdict(self)


def fit_boltzmann(T_K: np.ndarray, ratio: np.ndarray) -> BoltzmannFit:
    """Fit a thermal (Boltzmann) band ratio: slope of ln R against 1/T gives the gap."""
    T_K = np.asarray(T_K, dtype=float).ravel()
    ratio = np.asarray(ratio, dtype=float).ravel()
    if np.any(ratio <= 0) or np.any(T_K <= 0):
        raise ValueError("ratios and temperatures must be positive")
    fit = fit_line(1.0 / T_K, np.log(ratio))
    gap = -fit.slope * K_B_CM1_PER_K
    return BoltzmannFit(gap, fit.slope_err * K_B_CM1_PER_K, math.exp(fit.intercept),
                        math.exp(fit.intercept) * fit.intercept_err, fit.r_squared)


@dataclass(frozen=True)
class DecayFit:
    """Single-exponential decay ``A exp(-t / tau) + c`` fitted to a trace."""

    tau_s: float
    tau_err_s: float
    amplitude: float
    baseline: float


def fit_decay(t_s: np.ndarray, signal: np.ndarray) -> DecayFit:
    """Fit a single exponential to a decay trace (the experimenter's lifetime).

    The starting value of ``tau`` is the 1/e time of the trace; the fit is a
    non-linear least-squares on the whole trace with a free baseline.
    """
    t_s = np.asarray(t_s, dtype=float).ravel()
    signal = np.asarray(signal, dtype=float).ravel()
    if t_s.size < 5 or t_s.size != signal.size:
        raise ValueError("fit_decay needs >= 5 samples of equal length in t_s and signal")
    from scipy import optimize  # (here, not at import: SciPy loads in ~0.2 s)

    baseline0 = float(np.median(signal[-max(3, t_s.size // 10):]))
    amp0 = float(signal[0] - baseline0)
    below = np.flatnonzero(signal - baseline0 < amp0 / math.e)
    tau0 = float(t_s[below[0]] - t_s[0]) if below.size else float(np.ptp(t_s) / 3)
    tau0 = max(tau0, float(np.min(np.diff(t_s))))

    def model(t, amp, tau, base):
        return amp * np.exp(-(t - t_s[0]) / tau) + base

    params, cov = optimize.curve_fit(model, t_s, signal, p0=(amp0, tau0, baseline0),
                                     bounds=([-np.inf, 1e-15, -np.inf], [np.inf, np.inf, np.inf]),
                                     maxfev=10000)
    return DecayFit(float(params[1]), float(math.sqrt(cov[1, 1])), float(params[0]),
                    float(params[2]))


def _number(attrs: dict[str, Any], name: str) -> float:
    value = attrs[name]
    if isinstance(value, np.ndarray) and value.size == 1:
        value = value.item()
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise ValueError(f"calibration field {name} is {value!r}, not a number")
    try:
        return float(value)
    except OverflowError:
        raise ValueError(f"calibration field {name} is {value!r}, out of range") from None


def responsivity_from_attrs(attrs: dict[str, Any]) -> Responsivity:
    """Build a :class:`Responsivity` from stored attributes (extra keys ignored).

    Parameters
    ----------
    attrs : dict
        The attributes of a stored responsivity (``/entry/calibration`` of a scan file,
        ``/entry/calibration/responsivity`` of a calibration file): every field of
        `Responsivity`, as numbers.

    Returns
    -------
    Responsivity

    Raises
    ------
    ValueError
        One line naming the field, when a field is missing or not a number, the slope is
        zero or not finite, the offset is not finite, or ``n_levels`` is not a
        non-negative whole number.
    """
    names = [f.name for f in fields(Responsivity)]
    missing = [n for n in names if n not in attrs]
    if missing:
        raise ValueError(f"calibration lacks {', '.join(missing)}")
    values = {n: _number(attrs, n) for n in names}
    for name in ("slope_V_per_W_per_um2", "offset_V"):
        if not math.isfinite(values[name]):
            raise ValueError(f"calibration field {name} is {values[name]!r}, not finite")
    if values["slope_V_per_W_per_um2"] == 0:
        raise ValueError("calibration field slope_V_per_W_per_um2 is 0: no responsivity")
    n_levels = values["n_levels"]
    if not (math.isfinite(n_levels) and n_levels.is_integer() and n_levels >= 0):
        raise ValueError(f"calibration field n_levels is {attrs['n_levels']!r}, "
                         "not a whole number")
    return Responsivity(**{k: (int(v) if k == "n_levels" else v) for k, v in values.items()})


def load_calibration(path: str | os.PathLike[str]) -> tuple[Responsivity, dict[str, Any]]:
    """Read the responsivity of a calibration file (``mirimager calibrate``).

    Returns
    -------
    (Responsivity, dict)
        The fit, and its context (pump_mW, wavelength_um, the file path).

    Raises
    ------
    ValueError
        One line naming the file, when it is missing or not a calibration (a
        `ScanFileError` when it cannot be read as a mirimager file at all).
    """
    from .scanfile import read_scan_file

    path = Path(os.fspath(path))
    if path.is_dir():
        raise ValueError(f"{path}: is a directory, not a calibration file")
    if not path.exists():
        raise ValueError(f"{path}: no such calibration file")
    attrs = read_scan_file(path, _responsivity_attrs)
    try:
        fit = responsivity_from_attrs(attrs)
    except ValueError as exc:
        raise ValueError(f"{path}: {exc}") from None
    context = {"pump_mW": _optional_float(attrs.get("pump_mW")),
               "wavelength_um": _optional_float(attrs.get("wavelength_um")),
               "source_file": str(path)}
    return fit, context


def _responsivity_attrs(f: h5py.File, path: Path) -> dict[str, Any]:
    """Attributes of ``/entry/calibration/responsivity`` of a calibration file."""
    from .errors import ScanFileError
    from .hdf5_read import _py as as_python
    from .schema import ENTRY, RESPONSIVITY, check_root, member

    entry = member(f, ENTRY, path)
    kind = as_python(entry.attrs.get("kind")) if isinstance(entry, h5py.Group) else None
    group = member(f, RESPONSIVITY, path) if kind == "calibration" else None
    if not isinstance(group, h5py.Group):
        raise ScanFileError(f"{path}: not a calibration file (made by mirimager calibrate)")
    check_root(f, path)  # a layout version this reader knows
    return {k: (v.item() if hasattr(v, "item") and np.size(v) == 1 else v)
            for k, v in group.attrs.items()}


def _optional_float(value: Any) -> float:
    """A stored context number (pump power, wavelength), NaN if absent or not a number."""
    if isinstance(value, bool) or not isinstance(value, int | float | np.number):
        return math.nan
    try:
        return float(value)
    except OverflowError:
        return math.nan
