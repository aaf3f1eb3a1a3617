"""Spectral results in files others read: TIFF stacks, per-pixel spectra, and an NXprocess.

* :func:`save_cube_tiff`, :func:`save_maps_tiff`: float32 ImageJ stacks, one page per
  wavelength (or material), the pixel pitch in um in the resolution tags, the wavelengths
  (or material names) in the ImageDescription (``wavelengths_um=6.8,7,...``) and as
  ImageJ slice labels.
* :func:`save_spectra`: one row per pixel, ``x_um, y_um`` then one column per wavelength
  (header: the wavelengths in um), as CSV or as a ``.npy`` array of the same table.
* :func:`store_analysis`: the analysis into its scan file as ``/entry/spectral_analysis_K``
  (K = 1, 2, ...; never reused, nothing overwritten), an NXprocess holding the method,
  library, normalisation, material maps as NXdata with axes (material, y_um, x_um), the
  material spectra (material, wavelength_um) and the residual. Written as
  :mod:`reconstruction.nxprocess` writes reconstructions (HDF5 file locking, flushed,
  removed again on any error), except that ``/entry@default`` is left alone: the cube
  (``/entry/data``) stays the file's default plot.
"""

from __future__ import annotations

import datetime as _dt
import os
from pathlib import Path
from typing import TYPE_CHECKING, Any

import h5py
import numpy as np

from ..errors import ScanFileError

if TYPE_CHECKING:
    from .calibrate import CalibratedCube
    from .unmix import SpectralAnalysis

__all__ = ["ANALYSIS_PREFIX", "save_cube_tiff", "save_maps_tiff", "save_spectra",
           "store_analysis"]

ANALYSIS_PREFIX = "spectral_analysis_"
_TIFF_PITCH_UM = (1e-9, 1e9)
_WRITE_ERRORS = (OSError, RuntimeError, KeyError, ValueError, TypeError)


def _pitch(axis: np.ndarray) -> float:
    axis = np.asarray(axis, float).ravel()
    return abs(float(axis[-1] - axis[0])) / (axis.size - 1) if axis.size > 1 else 0.0


def _stack(path: str | os.PathLike[str], stack: np.ndarray, x_um: np.ndarray,
           y_um: np.ndarray, labels: list[str], extra: dict[str, str]) -> Path:
    import tifffile

    stack = np.asarray(stack, dtype=float)
    if stack.ndim != 3 or stack.shape[1:] != (np.size(y_um), np.size(x_um)):
        raise ValueError(f"stack of shape {stack.shape} does not match {np.size(y_um)} y and "
                         f"{np.size(x_um)} x values")
    dx, dy = _pitch(x_um), _pitch(y_um)
    dx = dx or dy or 1.0
    dy = dy or dx
    for name, pitch in (("x", dx), ("y", dy)):
        if not _TIFF_PITCH_UM[0] <= pitch <= _TIFF_PITCH_UM[1]:
            raise ValueError(f"{name} pixel pitch {pitch:g} um cannot be stored in a TIFF")
    x0, y0 = float(np.ravel(x_um)[0]), float(np.ravel(y_um)[0])
    with np.errstate(over="ignore"):
        data = stack.astype(np.float32)
    path = Path(os.fspath(path))
    tifffile.imwrite(path, data, imagej=True, resolution=(1.0 / dx, 1.0 / dy),
                     metadata={"axes": "ZYX", "unit": "um", "xorigin": -x0 / dx,
                               "yorigin": -y0 / dy, "Labels": labels, **extra})
    return path


def save_cube_tiff(path: str | os.PathLike[str], values: np.ndarray,
                   wavelength_um: np.ndarray, x_um: np.ndarray, y_um: np.ndarray, *,
                   kind: str = "", units: str = "") -> Path:
    """Save a cube as a float32 ImageJ TIFF stack, one page per wavelength.

    Parameters
    ----------
    path : str or path-like
    values : ndarray, shape (nw, ny, nx)
        NaN preserved; row 0 is the first (top) TIFF row, as
        :func:`reconstruction.export.save_tiff`.
    wavelength_um, x_um, y_um : ndarray
        The cube's axes; the wavelengths go into the ImageDescription
        (``wavelengths_um=...``) and the slice labels (``"7.4 um"``).
    kind, units : str
        What the values are (``"relative transmittance"``, ``"1"``), in the description.

    Returns
    -------
    Path

    Raises
    ------
    ValueError
        Shapes that do not match, or a pitch a TIFF cannot hold.
    """
    w = np.asarray(wavelength_um, float).ravel()
    if w.size != np.shape(values)[0]:
        raise ValueError(f"{w.size} wavelengths for {np.shape(values)[0]} images")
    return _stack(path, values, x_um, y_um, [f"{v:g} um" for v in w],
                  {"wavelengths_um": ",".join(f"{v:.6g}" for v in w),
                   "values": kind, "value_units": units})


def save_maps_tiff(path: str | os.PathLike[str], maps: np.ndarray, names: tuple[str, ...],
                   x_um: np.ndarray, y_um: np.ndarray, *, what: str = "fraction") -> Path:
    """Save material maps ``(nmat, ny, nx)`` as a float32 ImageJ TIFF stack, one page per
    material (its name the slice label; ``materials=a,b,...`` in the description)."""
    if len(names) != np.shape(maps)[0]:
        raise ValueError(f"{len(names)} names for {np.shape(maps)[0]} maps")
    return _stack(path, maps, x_um, y_um, list(names),
                  {"materials": ",".join(names), "values": what})


def save_spectra(path: str | os.PathLike[str], values: np.ndarray, x_um: np.ndarray,
                 y_um: np.ndarray, wavelength_um: np.ndarray) -> Path:
    """Save the spectrum of every pixel: one row per pixel (x fastest), columns ``x_um``,
    ``y_um`` and one per wavelength.

    A ``.npy`` path gets that table as a float64 array ``(ny*nx, 2 + nw)``; any other a
    CSV file whose header row is ``x_um,y_um`` and the wavelengths in um (NaN: not
    measured).

    Returns
    -------
    Path
    """
    values = np.asarray(values, float)
    nw, ny, nx = values.shape
    xx, yy = np.meshgrid(np.asarray(x_um, float), np.asarray(y_um, float))
    table = np.column_stack([xx.ravel(), yy.ravel(), values.reshape(nw, -1).T])
    path = Path(os.fspath(path))
    if path.suffix.lower() == ".npy":
        with open(path, "wb") as handle:  # np.save(path) would append .npy to other names
            np.save(handle, table)
        return path
    header = ",".join(["x_um", "y_um", *(f"{w:.6g}" for w in np.ravel(wavelength_um))])
    np.savetxt(path, table, delimiter=",", header=header, comments="", fmt="%.9g")
    return path


# ------------------------------------------------------------------ NXprocess


def _version() -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("mirimager")
    except PackageNotFoundError:
        return "unknown"


def _text(group: h5py.Group, name: str, value: str) -> None:
    group.create_dataset(name, data=str(value), dtype=h5py.string_dtype())


def _array(group: h5py.Group, name: str, value: Any, units: str | None = None,
           long_name: str | None = None, dtype: Any = "<f8") -> h5py.Dataset:
    ds = group.create_dataset(name, data=np.asarray(value, dtype=dtype))
    if units is not None:
        ds.attrs["units"] = units
    if long_name is not None:
        ds.attrs["long_name"] = long_name
    return ds


def _nxdata(parent: h5py.Group, name: str, signal: str, axes: list[str], title: str
            ) -> h5py.Group:
    group = parent.create_group(name)
    group.attrs.update({"NX_class": "NXdata", "signal": signal, "title": title,
                        "axes": np.array(axes, "S")})
    for k, axis in enumerate(axes):
        group.attrs[f"{axis}_indices"] = k
    return group


def _contents(group: h5py.Group, k: int, analysis: SpectralAnalysis, cal: CalibratedCube,
              program: str, version: str | None) -> None:
    u = analysis.unmixing
    names = list(u.names)
    group.attrs.update({"NX_class": "NXprocess", "default": "maps"})
    for name, value in (("program", program), ("version", version or _version()),
                        ("date", _dt.datetime.now(_dt.UTC).isoformat(timespec="seconds")),
                        ("method", u.method), ("library", analysis.library),
                        ("normalisation", cal.kind), ("units", cal.units),
                        ("notes", "\n".join(cal.notes))):
        _text(group, name, value)
    group.create_dataset("sequence_index", data=np.int64(k))
    group.create_dataset("material_names", data=names, dtype=h5py.string_dtype())
    _array(group, "reference_spectra", u.references, "1",
           "reference transmittance (material, wavelength)")
    if analysis.score is not None:
        _array(group, "classification_score", analysis.score, "1",
               "fraction of pixels classified as the truth")
    if analysis.correlation is not None:
        _array(group, "spectrum_correlation", analysis.correlation, "1",
               "correlation of each material's spectrum with its truth")
    material_axis = ("material", np.arange(len(names)), None,
                     "material index: " + ", ".join(f"{i} {n}" for i, n in enumerate(names)))
    maps = _nxdata(group, "maps", "fractions", ["material", "y_um", "x_um"],
                   f"material fractions ({u.method})")
    _array(maps, "fractions", u.fractions, "1", "fraction of each material")
    _array(maps, "abundances", u.abundances, cal.units, "non-negative coefficient")
    _array(maps, "labels", analysis.labels, None, "material of largest fraction (-1: none)",
           "<i2")
    _array(maps, material_axis[0], material_axis[1], None, material_axis[3], "<i8")
    _array(maps, "y_um", cal.y_um, "um")
    _array(maps, "x_um", cal.x_um, "um")
    spectra = _nxdata(group, "spectra", "spectra", ["material", "wavelength_um"],
                      f"mean {cal.kind} per material")
    _array(spectra, "spectra", analysis.spectra, cal.units, f"mean {cal.kind}")
    _array(spectra, "spectra_errors", analysis.spectra_sigma, cal.units, "1-sigma")
    _array(spectra, "pixels", analysis.counts, None, "pixels per material", "<i8")
    _array(spectra, material_axis[0], material_axis[1], None, material_axis[3], "<i8")
    _array(spectra, "wavelength_um", cal.wavelength_um, "um", "MIR wavelength")
    residual = _nxdata(group, "residual", "residual", ["y_um", "x_um"], "unmixing residual")
    _array(residual, "residual", u.residual, cal.units, "RMS over wavelengths of the misfit")
    _array(residual, "y_um", cal.y_um, "um")
    _array(residual, "x_um", cal.x_um, "um")


def store_analysis(path: str | os.PathLike[str], analysis: SpectralAnalysis,
                   cal: CalibratedCube, *, program: str = "mirimager",
                   version: str | None = None) -> str:
    """Write a spectral analysis into its scan file as a new NXprocess.

    Parameters
    ----------
    path : str or path-like
        The spectral scan file the analysis was made from.
    analysis : SpectralAnalysis
        From :func:`reconstruction.spectral.unmix.analyse`.
    cal : CalibratedCube
        The calibrated cube it analysed (its kind, units, notes and axes are recorded).
    program, version : str
        Recorded in the NXprocess.

    Returns
    -------
    str
        The new group, ``/entry/spectral_analysis_K``. ``/entry@default`` is unchanged.

    Raises
    ------
    ScanFileError
        One line naming the file: locked (a scan still writing it), read-only, not a
        spectral scan, not of the analysis's grid, or the write failed (the file is then
        as it was).
    """
    from ..nxprocess import store_new_group
    from ..schema import DATA, member

    def check(f: h5py.File, entry: h5py.Group, where: Path) -> None:
        x, y = member(f, f"{DATA}/x_um", where), member(f, f"{DATA}/y_um", where)
        grid = tuple(d.shape[0] if isinstance(d, h5py.Dataset) and d.ndim == 1 else None
                     for d in (y, x))
        if grid != analysis.labels.shape:
            raise ScanFileError(f"{where}: the maps are {analysis.labels.shape}, the file's "
                                f"grid {grid}; the spectral analysis was not stored")

    return store_new_group(
        path, "the spectral analysis", ("spectral", "spectral_single_pixel"), ANALYSIS_PREFIX,
        lambda f, group_path, k: _contents(f.create_group(group_path), k, analysis, cal,
                                           program, version),
        check=check, make_default=False)
