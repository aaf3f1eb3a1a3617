"""Read single-pixel scan files and reconstruct their image (no hardware imports)."""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import h5py
import numpy as np

from .display import SinglePixelImageDisplay, SinglePixelScanDisplay
from .hdf5_read import (
    ScanFileError,
    _attrs,
    _attrs_no_class,
    _axis,
    _optional_group,
    _py,
    _read_text,
    _settings,
)
from .metrics import compare
from .reference import normalise_by_reference, read_reference
from .scanfile import read_scan_file
from .schema import (
    BASIS,
    CALIBRATION,
    DATA,
    LAB,
    POINTS,
    RECIPE,
    SCAN,
    TRUTH,
    check_root,
    member,
)
from .spi import basis_from_spec, estimate_noise, reconstruct

METHODS = ("pinv", "tikhonov", "tv", "wavelet", "cvxpy-tv", "pnp-nlm")


@dataclass
class SinglePixelScan(SinglePixelScanDisplay):
    """A single-pixel scan as stored.

    Attributes
    ----------
    raw_V : ndarray, shape (n_patterns,)
        Bucket reading (lock-in X) per projected pattern, NaN where unmeasured.
    basis_spec : dict
        The pattern basis (``reconstruction.basis_from_spec`` rebuilds it).
    truth_V : ndarray or None
        Noise-free lock-in X per lit pixel, (n, n) (simulated scans).
    x_um, y_um : ndarray
        Pixel centres on the film.
    reference_V : ndarray or None
        The MIR reference channel's X per pattern (NaN where none), or None if the
        scan had no reference channel.
    reference_applied : ndarray or None
        Per pattern: its reading is already normalised by the reference (streamed).
    """

    raw_V: np.ndarray
    basis_spec: dict[str, Any]
    x_um: np.ndarray
    y_um: np.ndarray
    truth_V: np.ndarray | None
    exit_status: str
    attrs: dict[str, Any]
    settings: dict[str, dict[str, Any]]
    recipe_toml: str
    path: Path
    kind: str = "single_pixel"
    lab: dict[str, Any] = field(default_factory=dict)
    scan_attrs: dict[str, Any] = field(default_factory=dict)
    calibration: dict[str, Any] | None = None
    reference_V: np.ndarray | None = None
    reference_applied: np.ndarray | None = None

    @property
    def basis(self):
        return basis_from_spec(self.basis_spec)

    @property
    def points_done(self) -> int:
        return int(np.isfinite(self.raw_V).sum())

    @property
    def points_total(self) -> int:
        return int(self.raw_V.size)

    @property
    def pairs_measured(self) -> int:
        """Complete complementary pairs measured from the first pattern on."""
        finite = np.isfinite(self.raw_V)
        first_gap = int(np.argmin(finite)) if not finite.all() else finite.size
        return first_gap // 2


def load_single_pixel(path: str | os.PathLike[str]) -> SinglePixelScan:
    """Read a single-pixel scan file (also a partial or killed one).

    Parameters
    ----------
    path : str or path-like
        The HDF5 scan file (``docs/scanfile.md``, single-pixel section).

    Returns
    -------
    SinglePixelScan
        Readings NaN where not yet measured.

    Raises
    ------
    ScanFileError
        One line naming the file (and the dataset or attribute at fault) if the file is
        missing, unreadable, not a single-pixel scan, or malformed: a basis specification
        that does not rebuild, a point table that does not match it, pixel axes
        (``/entry/data/x_um``, ``y_um``) that are not ``size`` finite, strictly monotonic
        values, a ``truth`` image that is not ``size`` x ``size``, a broken link.
    """
    return read_scan_file(path, _read)


def scan_kind(path: str | os.PathLike[str]) -> str:
    """The ``kind`` of a mirimager file ("raster", "single_pixel", "calibration")."""
    return read_scan_file(path, lambda f, p: str(_py(check_root(f, p).attrs.get("kind", ""))))


def _read(f: h5py.File, path: Path) -> SinglePixelScan:
    entry = check_root(f, path)
    attrs = _attrs(entry)
    if attrs.get("kind") != "single_pixel":
        raise ScanFileError(f"{path}: scan kind is {attrs.get('kind')!r}, not 'single_pixel'")
    groups = {name: member(f, name, path) for name in (BASIS, DATA, SCAN)}
    for name, group in groups.items():
        if not isinstance(group, h5py.Group):
            raise ScanFileError(f"{path}: missing {name} group")
    spec = _attrs_no_class(groups[BASIS])
    spec.pop("n_patterns", None)
    chosen = groups[BASIS].get("index")
    if isinstance(chosen, h5py.Dataset):  # an adaptive scan's coefficients
        if chosen.dtype.kind not in "iu" or chosen.ndim != 1:
            raise ScanFileError(f"{path}: {BASIS}/index must be a 1-D integer array, got "
                                f"{chosen.dtype} of shape {chosen.shape}")
        try:
            spec["index"] = np.asarray(chosen[...], np.int64).tolist()
        except (TypeError, ValueError, OSError) as exc:
            raise ScanFileError(f"{path}: {BASIS}/index does not read: {exc}") from exc
    data = groups[DATA]
    points = member(f, POINTS, path)
    if not isinstance(points, h5py.Dataset):
        raise ScanFileError(f"{path}: missing {POINTS}")
    records = points[...]
    missing = [n for n in ("X_V", "done") if n not in (records.dtype.names or ())]
    if missing or records.ndim != 1:
        raise ScanFileError(f"{path}: {POINTS} is not a 1-D table with fields "
                            "X_V and done" + (f" (lacks {', '.join(missing)})" if missing else ""))
    raw = np.where(records["done"] == 1, records["X_V"], np.nan).astype(float)
    try:
        basis = basis_from_spec(spec)
    except (ValueError, TypeError, KeyError, OverflowError) as exc:
        shown = {**spec, "index": f"<{len(spec['index'])} entries>"} if "index" in spec else spec
        raise ScanFileError(f"{path}: bad basis specification {shown!r}: {exc}") from exc
    if basis.n_patterns != raw.size:
        raise ScanFileError(f"{path}: basis has {basis.n_patterns} patterns, file {raw.size}")
    n = basis.size
    x_um = _axis(data, "x_um", path, n)
    y_um = _axis(data, "y_um", path, n)
    truth, truth_ds = None, member(f, TRUTH, path)
    if isinstance(truth_ds, h5py.Dataset):
        truth = np.asarray(truth_ds[...], float)
        if truth.shape != (n, n):
            raise ScanFileError(f"{path}: {TRUTH} has shape {truth.shape}, expected {(n, n)}")
    recipe = member(f, RECIPE, path)
    return SinglePixelScan(
        raw_V=raw, basis_spec=spec, x_um=x_um, y_um=y_um, truth_V=truth,
        exit_status=str(attrs.get("exit_status", "unknown")), attrs=attrs,
        settings=_settings(entry, path),
        recipe_toml=_read_text(recipe) if isinstance(recipe, h5py.Dataset) else "",
        path=path, lab=_optional_group(f, LAB, path) or {},
        scan_attrs=_attrs(groups[SCAN]), calibration=_optional_group(f, CALIBRATION, path),
        **_reference_fields(f, raw.size))


def _reference_fields(f: h5py.File, n: int) -> dict[str, Any]:
    got = read_reference(f, n)
    return {} if got is None else {"reference_V": got[0], "reference_applied": got[1]}


@dataclass
class SinglePixelImage(SinglePixelImageDisplay):
    """A reconstructed single-pixel image and how it was made."""

    image: np.ndarray
    x_um: np.ndarray
    y_um: np.ndarray
    method: str
    measurements: int
    ratio: float
    metrics: dict[str, float] | None
    noise_sigma_V: float = float("nan")
    """Noise of one measurement: the solver's (given or estimated from the pair sums), or
    for ``pinv``, which has no noise model, the pair-sum estimate (NaN if none)."""
    solver: dict[str, Any] = field(default_factory=dict)
    """What the solver reports (``reconstruct(..., return_info=True)``): eps, lam,
    iterations, converged, residual, seconds."""


def reconstruct_single_pixel(scan: SinglePixelScan, method: str = "tv",
                             ratio: float | None = None,
                             noise_sigma: float | None = None,
                             reference: bool = True) -> SinglePixelImage:
    """Reconstruct the image from the measured complementary pairs.

    Parameters
    ----------
    scan : SinglePixelScan
    method : {"pinv", "tikhonov", "tv", "wavelet", "cvxpy-tv", "pnp-nlm"}
    ratio : float, optional
        Use only the first ``ratio * n^2`` measurements (in acquisition order),
        to see what a shorter acquisition would have given. Default: all
        measured pairs.
    noise_sigma : float, optional
        Noise of one reading; default estimated from the pair sums.
    reference : bool
        Divide each reading by the MIR reference channel's (normalised to its
        mean; :mod:`reconstruction.reference`) when the scan has one. Default on.
        Streamed patterns were normalised sample by sample when acquired: they
        stay as they are either way.

    Returns
    -------
    SinglePixelImage
        With PSNR/SSIM/correlation against ``truth`` when the scan has one.
    """
    if method not in METHODS:
        raise ValueError(f"method must be one of {', '.join(METHODS)}, got {method!r}")
    full = scan.basis
    pairs = scan.pairs_measured
    if ratio is not None:
        if not 0.0 < ratio <= full.ratio:
            raise ValueError(f"ratio must be in (0, {full.ratio:g}] (the measured ratio), "
                             f"got {ratio:g}")
        pairs = min(pairs, max(1, int(round(ratio * full.size**2))))
    if pairs < 1:
        raise ValueError(f"{scan.path}: no complete pattern pair measured yet")
    prefix = {**scan.basis_spec, "ratio": pairs / full.size**2}
    if "index" in prefix:  # adaptive: the coefficients of the pairs measured
        prefix["index"] = list(prefix["index"][:pairs])
    basis = basis_from_spec(prefix)
    if basis.m != pairs:  # ratio rounding: keep the measured prefix exactly
        raise ValueError(f"cannot form a {pairs}-measurement basis from {scan.basis_spec}")
    raw = scan.raw_V
    applied = scan.reference_applied is not None and bool(scan.reference_applied.any())
    if reference and scan.reference_V is not None and not applied:
        raw = normalise_by_reference(raw, scan.reference_V)
    raw = raw[: 2 * pairs]
    y = basis.combine(raw)
    kwargs: dict[str, Any] = {"noise_sigma": noise_sigma}
    if method in ("tv", "wavelet", "cvxpy-tv", "pnp-nlm") and noise_sigma is None:
        kwargs = {"raw": raw}
    image, info = reconstruct(y, basis, method=method, return_info=True, **kwargs)
    info["reference_normalised"] = int(applied or bool(reference and scan.reference_V is not None))
    sigma = info.get("sigma")
    if sigma is None:  # pinv: no noise model; the level is still worth recording
        sigma = noise_sigma
    if sigma is None:
        try:
            sigma = estimate_noise(y, basis, raw=raw)
        except ValueError:
            sigma = float("nan")
    metrics = compare(image, scan.truth_V) if scan.truth_V is not None else None
    return SinglePixelImage(image, scan.x_um, scan.y_um, method, pairs,
                            pairs / full.size**2, metrics, float(sigma), info)
