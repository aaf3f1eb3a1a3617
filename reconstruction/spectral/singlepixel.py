"""Spectral single-pixel scans: read them, and reconstruct the image at every wavelength.

A spectral single-pixel file (``kind = "spectral_single_pixel"``,
:data:`reconstruction.schema_spectral.SPECTRAL_SINGLE_PIXEL`) holds the bucket
readings ``X_V[iw, k]`` of every pattern ``k`` at every wavelength. Each wavelength is
an ordinary single-pixel problem: :meth:`SpectralSinglePixelScan.at` gives it as a
:class:`~reconstruction.spifile.SinglePixelScan`, and :func:`reconstruct_cube` solves
all of them, one after another or as independent tasks on a ``dask.distributed``
client (one BLAS thread each), and stacks the images into a cube.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import h5py
import numpy as np

from ..errors import ScanFileError
from ..hdf5_read import _attrs, _attrs_no_class, _axis, _optional_group, _read_text, _settings
from ..scanfile import read_scan_file
from ..schema import BASIS, CALIBRATION, DATA, LAB, POINTS, RECIPE, SCAN, TRUTH, check_root, member
from ..schema_spectral import (
    MATERIAL_TRANSMISSION,
    MATERIALS,
    POWER,
    SPI_KIND,
    WAVELENGTH,
)


@dataclass(repr=False)
class SpectralSinglePixelScan:
    """A spectral single-pixel scan as stored.

    Attributes
    ----------
    raw_V : ndarray, shape (nw, n_patterns)
        Bucket reading per pattern at each wavelength, NaN where unmeasured.
    wavelengths_um : ndarray, shape (nw,)
    power_mW : ndarray, shape (nw,)
        Mean MIR power measured at each wavelength (NaN: none recorded).
    truth_V : ndarray or None, shape (nw, n, n)
        Simulated scans: the noise-free signal per lit pixel at each wavelength.
    labels, material_names, material_transmission
        Simulated scans of a chart of materials: the material at each pixel, their
        names and their transmittance at the scan's wavelengths (else None).
    """

    raw_V: np.ndarray
    wavelengths_um: np.ndarray
    power_mW: np.ndarray
    basis_spec: dict[str, Any]
    x_um: np.ndarray
    y_um: np.ndarray
    truth_V: np.ndarray | None
    exit_status: str
    attrs: dict[str, Any]
    settings: dict[str, dict[str, Any]]
    recipe_toml: str
    path: Path
    kind: str = SPI_KIND
    lab: dict[str, Any] = field(default_factory=dict)
    scan_attrs: dict[str, Any] = field(default_factory=dict)
    calibration: dict[str, Any] | None = None
    labels: np.ndarray | None = None
    material_names: tuple[str, ...] | None = None
    material_transmission: np.ndarray | None = None

    @property
    def points_done(self) -> int:
        return int(np.isfinite(self.raw_V).sum())

    @property
    def points_total(self) -> int:
        return int(self.raw_V.size)

    def at(self, iw: int):
        """The single-pixel scan at wavelength ``iw`` (a
        :class:`~reconstruction.spifile.SinglePixelScan`)."""
        from ..spifile import SinglePixelScan

        return SinglePixelScan(
            raw_V=self.raw_V[iw].copy(), basis_spec=dict(self.basis_spec), x_um=self.x_um,
            y_um=self.y_um, truth_V=None if self.truth_V is None else self.truth_V[iw],
            exit_status=self.exit_status, attrs=self.attrs, settings=self.settings,
            recipe_toml=self.recipe_toml, path=self.path, lab=self.lab,
            scan_attrs={**self.scan_attrs, "wavelength_um": float(self.wavelengths_um[iw])},
            calibration=self.calibration)

    def __repr__(self) -> str:
        nw, n = self.raw_V.shape
        return (f"<SpectralSinglePixelScan {self.path.name}: {nw} wavelengths x {n} patterns, "
                f"{self.points_done}/{self.points_total} readings, {self.exit_status}>")


def load_spectral_single_pixel(path: str | os.PathLike[str]) -> SpectralSinglePixelScan:
    """Read a spectral single-pixel scan file (also a partial or killed one).

    Raises
    ------
    ScanFileError
        One line naming the file and the dataset at fault.
    """
    return read_scan_file(path, _read)


def wavelength_count(path: str | os.PathLike[str]) -> int:
    """Wavelengths of a spectral single-pixel file; 0 for a file of another kind."""
    def count(f: h5py.File, p: Path) -> int:
        entry = check_root(f, p)
        if _attrs(entry).get("kind") != SPI_KIND:
            return 0
        wl = member(f, WAVELENGTH, p)
        return int(wl.shape[0]) if isinstance(wl, h5py.Dataset) and wl.ndim == 1 else 0

    return read_scan_file(path, count)


def _read(f: h5py.File, path: Path) -> SpectralSinglePixelScan:
    from ..spi import basis_from_spec

    entry = check_root(f, path)
    attrs = _attrs(entry)
    if attrs.get("kind") != SPI_KIND:
        raise ScanFileError(f"{path}: scan kind is {attrs.get('kind')!r}, not {SPI_KIND!r}")
    groups = {name: member(f, name, path) for name in (BASIS, DATA, SCAN)}
    for name, group in groups.items():
        if not isinstance(group, h5py.Group):
            raise ScanFileError(f"{path}: missing {name} group")
    spec = _attrs_no_class(groups[BASIS])
    spec.pop("n_patterns", None)
    try:
        basis = basis_from_spec(spec)
    except (ValueError, TypeError, KeyError, OverflowError) as exc:
        raise ScanFileError(f"{path}: bad basis specification {spec!r}: {exc}") from exc
    wl = member(f, WAVELENGTH, path)
    if not isinstance(wl, h5py.Dataset) or wl.ndim != 1 or wl.shape[0] < 1:
        raise ScanFileError(f"{path}: {WAVELENGTH} is not a 1-D list of wavelengths")
    wavelengths = np.asarray(wl[()], float)
    nw, n = wavelengths.size, basis.n_patterns
    points = member(f, POINTS, path)
    if not isinstance(points, h5py.Dataset) or points.ndim != 1 or points.shape[0] != nw * n \
            or not {"X_V", "done", "iw", "pattern"} <= set(points.dtype.names or ()):
        raise ScanFileError(f"{path}: {POINTS} is not the {nw * n}-record table of "
                            f"{nw} wavelengths x {n} patterns")
    raw = readings(points[()], nw, n)
    size = basis.size
    x_um, y_um = _axis(groups[DATA], "x_um", path, size), _axis(groups[DATA], "y_um", path, size)
    truth = _optional_array(f, TRUTH, path, (nw, size, size))
    names, labels, spectra = _materials(f, path, nw, (size, size))
    recipe = member(f, RECIPE, path)
    return SpectralSinglePixelScan(
        raw_V=raw, wavelengths_um=wavelengths, power_mW=_power(f, path, nw),
        basis_spec=spec, x_um=x_um, y_um=y_um, truth_V=truth,
        exit_status=str(attrs.get("exit_status", "unknown")), attrs=attrs,
        settings=_settings(entry, path),
        recipe_toml=_read_text(recipe) if isinstance(recipe, h5py.Dataset) else "",
        path=path, lab=_optional_group(f, LAB, path) or {}, scan_attrs=_attrs(groups[SCAN]),
        calibration=_optional_group(f, CALIBRATION, path), labels=labels,
        material_names=names, material_transmission=spectra)


def readings(records: np.ndarray, nw: int, n: int) -> np.ndarray:
    """``X_V[iw, pattern]`` of the done records of a spectral single-pixel points table
    (NaN where not measured), whatever the loop order."""
    raw = np.full((nw, n), np.nan)
    done = records[records["done"] == 1]
    iw, k = done["iw"].astype(np.intp), done["pattern"].astype(np.intp)
    ok = (iw >= 0) & (iw < nw) & (k >= 0) & (k < n)
    raw[iw[ok], k[ok]] = done["X_V"][ok]
    return raw


def _optional_array(f: h5py.File, name: str, path: Path, shape: tuple) -> np.ndarray | None:
    ds = member(f, name, path)
    if ds is None:
        return None
    if not isinstance(ds, h5py.Dataset) or ds.shape != shape:
        raise ScanFileError(f"{path}: {name} is not an array of shape {shape}")
    return np.asarray(ds[()], float)


def _power(f: h5py.File, path: Path, nw: int) -> np.ndarray:
    """Mean measured MIR power per wavelength (NaN where none)."""
    table = member(f, POWER, path)
    out = np.full(nw, np.nan)
    if table is None:
        return out
    if not isinstance(table, h5py.Dataset) or not {"iw", "power_mW"} <= set(
            table.dtype.names or ()):
        raise ScanFileError(f"{path}: {POWER} is not a table with fields iw, power_mW")
    rows = table[()]
    for iw in range(nw):
        values = rows["power_mW"][(rows["iw"] == iw) & np.isfinite(rows["power_mW"])]
        if values.size:
            out[iw] = float(values.mean())
    return out


def _materials(f: h5py.File, path: Path, nw: int, shape: tuple[int, int]):
    labels_ds = member(f, MATERIALS, path)
    if labels_ds is None:
        return None, None, None
    try:
        names = tuple(json.loads(str(_attrs(labels_ds).get("names", "[]"))))
    except ValueError:
        raise ScanFileError(f"{path}: {MATERIALS} attribute names is not a JSON list") from None
    labels = np.asarray(labels_ds[()])
    spectra = _optional_array(f, MATERIAL_TRANSMISSION, path, (len(names), nw))
    if labels.shape != shape or spectra is None:
        raise ScanFileError(f"{path}: {MATERIALS} is not a {shape} label map with spectra")
    return names, labels, spectra


@dataclass(repr=False)
class SpectralImages:
    """The image at every wavelength of a spectral single-pixel scan.

    ``cube[iw]`` is the reconstruction at ``wavelengths_um[iw]``; ``images`` keeps each
    :class:`~reconstruction.spifile.SinglePixelImage` (method, noise, solver, metrics).
    """

    cube: np.ndarray
    wavelengths_um: np.ndarray
    x_um: np.ndarray
    y_um: np.ndarray
    images: list[Any]
    method: str

    def __repr__(self) -> str:
        nw, ny, nx = self.cube.shape
        return f"<SpectralImages {nw} wavelengths x {ny}x{nx}, {self.method}>"


def _solve_one(path: str, iw: int, method: str, ratio: float | None) -> Any:
    """One wavelength (a task): open the file, reconstruct, return the image."""
    from ..spifile import reconstruct_single_pixel
    from ..threads import one_blas_thread

    with one_blas_thread():
        return reconstruct_single_pixel(load_spectral_single_pixel(path).at(iw), method,
                                        ratio=ratio)


def reconstruct_cube(scan: SpectralSinglePixelScan, method: str = "tv",
                     ratio: float | None = None, client: Any = None) -> SpectralImages:
    """Reconstruct the image at every wavelength of ``scan``.

    Parameters
    ----------
    scan : SpectralSinglePixelScan
    method, ratio
        As :func:`reconstruction.spifile.reconstruct_single_pixel`.
    client : dask.distributed.Client, optional
        Solve the wavelengths as independent tasks on it (each worker opens the file and
        solves one wavelength with one BLAS thread); default: here, one after another.

    Returns
    -------
    SpectralImages
    """
    nw = scan.wavelengths_um.size
    if client is None:
        from ..spifile import reconstruct_single_pixel
        from ..threads import one_blas_thread

        with one_blas_thread():
            images = [reconstruct_single_pixel(scan.at(iw), method, ratio=ratio)
                      for iw in range(nw)]
    else:
        futures = client.map(_solve_one, [str(scan.path)] * nw, range(nw),
                             [method] * nw, [ratio] * nw, pure=False)
        images = client.gather(futures)
    cube = np.stack([im.image for im in images])
    return SpectralImages(cube, scan.wavelengths_um, images[0].x_um, images[0].y_um, images,
                          method)


def analyse_images(scan: SpectralSinglePixelScan, images: SpectralImages,
                   library: str = "builtin") -> tuple[Any, Any]:
    """Material maps and spectra of a spectral single-pixel scan's reconstructed cube, as
    :func:`reconstruction.spectral.unmix.analyse_cube` for a raster: the images divided by
    the MIR power at each wavelength (relative to its mean), unmixed against ``library``.

    The noise of each wavelength's image is estimated from the image itself (the median
    absolute difference of neighbouring pixels), and the film's spectral responsivity is
    not removed (a single-pixel scan has no blank spot): the notes say so.

    Returns
    -------
    (CalibratedCube, SpectralAnalysis)
    """
    from .calibrate import CalibratedCube
    from .unmix import analyse, reference_spectra

    power = scan.power_mW
    ok = np.isfinite(power) & (power > 0)
    p_rel = np.where(ok, power / power[ok].mean(), 1.0) if ok.any() else np.ones_like(power)
    values = images.cube / p_rel[:, None, None]
    steps = np.concatenate([np.diff(values, axis=1).reshape(values.shape[0], -1),
                            np.diff(values, axis=2).reshape(values.shape[0], -1)], axis=1)
    noise = np.median(np.abs(steps - np.median(steps, axis=1, keepdims=True)), axis=1) \
        / (0.6745 * np.sqrt(2.0))
    sigma = np.broadcast_to(np.maximum(noise, 1e-30)[:, None, None], values.shape).copy()
    notes = ("single-pixel images (one reconstruction per wavelength), divided by the MIR "
             "power; the film's spectral responsivity is not removed",
             "noise per wavelength estimated from neighbouring-pixel differences")
    cal = CalibratedCube(values, sigma, "power-normalised V", "V", images.wavelengths_um,
                         images.x_um, images.y_um, power_rel=p_rel,
                         common_rel=np.zeros_like(p_rel), notes=notes)
    names, refs = reference_spectra(images.wavelengths_um, library, scan)
    result = analyse(values, sigma, names, refs, library, scan.labels,
                     scan.material_names or (), scan.material_transmission, cal.common_rel)
    return cal, result
