"""Store a single-pixel reconstruction in its scan file (NeXus NXprocess with NXdata).

``mirimager reconstruct`` computes the image, writes its PNG/TIFF, then calls
:func:`store_reconstruction`: the file gains ``/entry/reconstruction_{k}`` (k = 1, 2,
...; never reused, nothing overwritten), an NXprocess with the program, version, date,
method, ratio, noise level and the solver's parameters, and the image as NXdata inside
it; ``/entry@default`` then names it, so silx, nexusformat or h5web plot the image
instead of the bucket trace. The layout is declared in
:data:`reconstruction.schema.STORED_RECONSTRUCTION`; :func:`stored_reconstructions`
lists what a file holds (``mirimager info``).

The measured data are never touched. The file is opened for writing only after the
reconstruction is computed, with HDF5 file locking (a scan still writing the file holds
its lock: refused), and after checking that the bucket readings used are still those in
the file. The new group is written and flushed before ``/entry@default`` moves to it; on
any error the new group is deleted and ``@default`` put back, so the file holds what it
held before. (A kill during the final flush is the one moment HDF5 itself cannot make
safe; a group a kill left half-written is listed as incomplete and never made the
default.)

Pure h5py and NumPy: no ``imager`` import.
"""

from __future__ import annotations

import datetime as _dt
import errno
import os
import re
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import h5py
import numpy as np

from .errors import ScanFileError
from .hdf5_read import _py
from .schema import (
    DATA,
    ENTRY,
    POINTS,
    RECONSTRUCTION,
    RECONSTRUCTION_PREFIX,
    STORED_RECONSTRUCTION,
    TEXT,
    DatasetSpec,
    GroupSpec,
    check_root,
    member,
)

if TYPE_CHECKING:
    from .spifile import SinglePixelImage, SinglePixelScan

__all__ = ["StoredReconstruction", "next_index", "store_reconstruction",
           "stored_reconstructions"]

_NAME = re.compile(rf"{RECONSTRUCTION_PREFIX}([1-9][0-9]*)")
#: ``reconstruct(..., return_info=True)`` key -> parameter name in the file.
_SOLVER_FIELDS = {"eps": "eps_V", "lam": "lam", "iterations": "iterations",
                  "converged": "converged", "residual": "residual_V", "seconds": "solve_s"}
_NOT_PARAMETERS = {"method", "sigma", *_SOLVER_FIELDS}
_WRITE_ERRORS = (OSError, RuntimeError, KeyError, ValueError, TypeError)


def _one_line(exc: BaseException) -> str:
    return " ".join(str(exc).split()) or type(exc).__name__


def _version() -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("mirimager")
    except PackageNotFoundError:
        return "unknown"


def _number(value: Any, missing: float = float("nan")) -> float:
    return missing if value is None else float(value)


def _contents(rec: SinglePixelImage, program: str, version: str | None
              ) -> tuple[dict[str, Any], dict[str, Any]]:
    """``(values, extras)``: the value of each declared dataset (by its path template), and
    the solver's other parameters by name."""
    p, d = RECONSTRUCTION, f"{RECONSTRUCTION}/data"
    solver = dict(getattr(rec, "solver", None) or {})
    iterations = solver.get("iterations")
    values: dict[str, Any] = {
        f"{p}/program": program,
        f"{p}/version": version or _version(),
        f"{p}/date": _dt.datetime.now(_dt.UTC).isoformat(timespec="seconds"),
        f"{p}/method": rec.method,
        f"{p}/measurements": int(rec.measurements),
        f"{p}/ratio": float(rec.ratio),
        f"{p}/noise_sigma_V": _number(getattr(rec, "noise_sigma_V", None)),
        f"{p}/parameters/eps_V": _number(solver.get("eps")),
        f"{p}/parameters/lam": _number(solver.get("lam")),
        f"{p}/parameters/iterations": -1 if iterations is None else int(iterations),
        f"{p}/parameters/converged": int(bool(solver.get("converged", True))),
        f"{p}/parameters/residual_V": _number(solver.get("residual")),
        f"{p}/parameters/solve_s": _number(solver.get("seconds")),
        f"{d}/image": np.asarray(rec.image, dtype=float),
        f"{d}/x_um": np.asarray(rec.x_um, dtype=float),
        f"{d}/y_um": np.asarray(rec.y_um, dtype=float),
        "title": f"single-pixel, {rec.method}, {int(rec.measurements)} measurements "
                 f"(ratio {float(rec.ratio):.3g})",
    }
    extras = {str(k): v for k, v in solver.items() if k not in _NOT_PARAMETERS
              and isinstance(v, str | bool | int | float | np.number) and str(k).isidentifier()}
    return values, extras


def store_reconstruction(path: str | os.PathLike[str], rec: SinglePixelImage,
                         scan: SinglePixelScan | None = None, *, program: str = "mirimager",
                         version: str | None = None) -> str:
    """Write a reconstructed image into its single-pixel scan file as a new NXprocess.

    Parameters
    ----------
    path : str or path-like
        The single-pixel scan file the image was reconstructed from.
    rec : SinglePixelImage
        From :func:`reconstruction.spifile.reconstruct_single_pixel`.
    scan : SinglePixelScan, optional
        The scan as read for ``rec``: the bucket readings it used must still be those in
        the file (a scan resumed meanwhile would make them differ).
    program, version : str
        Recorded in the NXprocess (default version: the installed ``mirimager``'s).

    Returns
    -------
    str
        The new group, ``/entry/reconstruction_{k}``; ``/entry@default`` names it.

    Raises
    ------
    ScanFileError
        One line naming the file: it is locked (a scan still writing it, or another
        program holding it open for writing), read-only, not a single-pixel scan, not the
        data ``rec`` was made from, or the write failed (the file is then as it was).
    """
    values, extras = _contents(rec, program, version)  # everything before the file opens
    return store_new_group(
        path, "the reconstruction", ("single_pixel",), RECONSTRUCTION_PREFIX,
        lambda f, group_path, k: _fill(f, group_path, k, values, extras),
        check=lambda f, entry, p: _check_target(f, entry, p, rec, scan))


def store_new_group(path: str | os.PathLike[str], what: str, kinds: tuple[str, ...],
                    prefix: str, fill: Any, *, check: Any = None,
                    make_default: bool = True) -> str:
    """Add a new group ``/entry/{prefix}{k}`` to a scan file, never overwriting.

    Opens the file for writing with HDF5 file locking (refused: locked, read-only), checks
    its kind is one of ``kinds`` and that no scan can still be writing it, then
    ``check(f, entry, path)`` (raises ScanFileError), takes ``k`` one above the highest
    there, ``fill(f, group_path, k)`` writes the group, and with ``make_default``
    ``/entry@default`` names it. On any error the new group is removed and
    ``@default`` restored: the file is as it was. ``what`` ("the reconstruction") names
    the result in the one-line errors. Returns the group's path.
    """
    path = Path(os.fspath(path))
    f = _open_for_writing(path, what)
    try:
        with f:
            entry = check_root(f, path)
            kind, status = _py(entry.attrs.get("kind", "")), _py(entry.attrs.get("exit_status",
                                                                                  ""))
            if kind not in kinds:
                allowed = " or ".join(repr(k) for k in kinds)
                raise ScanFileError(f"{path}: scan kind is {kind!r}, not {allowed}; {what} "
                                    "was not stored in it")
            if status == "running" and _locking_off():
                raise ScanFileError(f"{path}: the scan has not ended (exit_status running) "
                                    "and HDF5 file locking is off (HDF5_USE_FILE_LOCKING), so "
                                    "a scan still writing it cannot be ruled out; "
                                    f"{what} was not stored")
            if check is not None:
                check(f, entry, path)
            k = next_index(entry, prefix)
            return _write(f, entry, f"{ENTRY}/{prefix}{k}", lambda g: fill(f, g, k),
                          make_default, what)
    except ScanFileError:
        raise
    except _WRITE_ERRORS as exc:
        raise ScanFileError(f"{path}: cannot store {what}: {_one_line(exc)}; "
                            "the file is as it was") from exc


def _open_for_writing(path: Path, what: str = "the reconstruction") -> h5py.File:
    not_stored = f"{what} was not stored in it"
    if not path.is_file():
        raise ScanFileError(f"{path}: no such file; {not_stored}")
    if not os.stat(path).st_mode & 0o222:  # marked read-only: respected also by root
        raise ScanFileError(f"{path}: read-only file (mode {os.stat(path).st_mode & 0o777:o});"
                            f" {not_stored}")
    if not os.access(path, os.W_OK):
        try:
            read_only_fs = bool(os.statvfs(path).f_flag & os.ST_RDONLY)
        except (AttributeError, OSError):  # no statvfs (Windows)
            read_only_fs = False
        why = "on a read-only file system" if read_only_fs else "(no write permission)"
        raise ScanFileError(f"{path}: read-only file {why}; {not_stored}")
    try:
        return h5py.File(path, "r+", locking=True)
    except OSError as exc:
        text = str(exc)
        if isinstance(exc, BlockingIOError) or exc.errno in (errno.EAGAIN, errno.EWOULDBLOCK) \
                or "unable to lock file" in text:
            raise ScanFileError(f"{path}: locked by another process (a scan still writing "
                                f"it, or a program holding it open); {not_stored}") from exc
        if exc.errno == errno.EROFS or "Read-only file system" in text:
            raise ScanFileError(f"{path}: read-only file on a read-only file system; "
                                f"{not_stored}") from exc
        if exc.errno in (errno.EACCES, errno.EPERM) or "Permission denied" in text:
            raise ScanFileError(f"{path}: read-only file (permission denied); "
                                f"{not_stored}") from exc
        raise ScanFileError(f"{path}: cannot open for writing: {_one_line(exc)}; "
                            f"{not_stored}") from exc


def _locking_off() -> bool:
    return os.environ.get("HDF5_USE_FILE_LOCKING", "").strip().upper() in ("FALSE", "0", "NO")


def _check_target(f: h5py.File, entry: h5py.Group, path: Path, rec: SinglePixelImage,
                  scan: SinglePixelScan | None) -> None:
    """ScanFileError unless ``rec`` belongs in this file (its pixels, its readings)."""
    x_um = member(f, f"{DATA}/x_um", path)
    n = x_um.shape[0] if isinstance(x_um, h5py.Dataset) and x_um.ndim == 1 else None
    shape = np.shape(rec.image)
    if n is None or shape != (n, n):
        raise ScanFileError(f"{path}: the image is {shape}, the file's pixels "
                            f"{(n, n) if n else 'unknown'}; the reconstruction was not stored")
    if scan is None:
        return
    used = 2 * int(rec.measurements)
    points = member(f, POINTS, path)
    records = points[:used] if isinstance(points, h5py.Dataset) else None
    if records is None or len(records) != used:
        raise ScanFileError(f"{path}: {POINTS} lacks the {used} readings used")
    now = np.where(records["done"] == 1, records["X_V"], np.nan)
    if not np.array_equal(now, np.asarray(scan.raw_V[:used]), equal_nan=True):
        raise ScanFileError(f"{path}: the bucket readings changed since they were read (a "
                            "scan resumed?); the reconstruction was not stored")


def next_index(entry: h5py.Group, prefix: str = RECONSTRUCTION_PREFIX) -> int:
    """The ``k`` of the next ``{prefix}{k}`` (``reconstruction_{k}``) in ``entry``
    (1 + the highest there)."""
    pattern = _NAME if prefix == RECONSTRUCTION_PREFIX else \
        re.compile(rf"{re.escape(prefix)}([1-9][0-9]*)")
    found = [int(m.group(1)) for name in entry if (m := pattern.fullmatch(str(name)))]
    return max(found, default=0) + 1


def _write_dataset(f: h5py.File, spec: DatasetSpec, value: Any, **names: Any) -> h5py.Dataset:
    path = spec.path.format(**names)
    if spec.dtype == TEXT or isinstance(value, str):
        ds = f.create_dataset(path, data=str(value), dtype=h5py.string_dtype())
    else:
        array = np.asarray(value, dtype=spec.dtype)
        if spec.shape is not None and array.ndim != len(spec.shape):
            raise ValueError(f"{path}: data of shape {array.shape}, declared {spec.shape}")
        ds = f.create_dataset(path, data=array)
    for key, attr in spec.attrs.items():
        ds.attrs[key] = attr
    return ds


def _fill(f: h5py.File, group_path: str, k: int, values: Mapping[str, Any],
          extras: Mapping[str, Any]) -> None:
    """Write a single-pixel reconstruction's group (:data:`STORED_RECONSTRUCTION`)."""
    for item in STORED_RECONSTRUCTION.items:
        if isinstance(item, GroupSpec):
            group = f.create_group(item.path.format(k=k))
            group.attrs["NX_class"] = item.nx_class
            for key, attr in item.attrs.items():
                group.attrs[key] = attr
            if item.nx_class == "NXdata":  # the plot title silx shows
                group.attrs["title"] = values["title"]
        elif "{name}" in item.path:
            for name, value in extras.items():
                _write_dataset(f, item, value, k=k, name=name)
        elif item.path.endswith("/sequence_index"):
            _write_dataset(f, item, k, k=k)
        else:
            _write_dataset(f, item, values[item.path], k=k)


def _write(f: h5py.File, entry: h5py.Group, group_path: str, fill: Any, make_default: bool,
           what: str) -> str:
    had_default, previous = "default" in entry.attrs, entry.attrs.get("default")
    moved = False
    try:
        fill(group_path)
        f.flush()
        if make_default:
            moved = True
            entry.attrs["default"] = group_path.rsplit("/", 1)[1]
            f.flush()
    except BaseException as exc:
        problem = _roll_back(f, entry, group_path, moved, had_default, previous)
        if problem is not None and isinstance(exc, _WRITE_ERRORS):
            raise ScanFileError(f"{f.filename}: cannot store {what}: "
                                f"{_one_line(exc)}; undoing it failed too ({problem}): "
                                f"{group_path} may be left incomplete (the measured data "
                                "were not touched)") from exc
        raise
    return group_path


def _roll_back(f: h5py.File, entry: h5py.Group, group_path: str, moved: bool,
               had_default: bool, previous: Any) -> str | None:
    """Undo a store that failed: the new group goes, ``@default`` is as it was. Returns
    what could not be undone (None: all was)."""
    try:
        if moved:
            if had_default:
                entry.attrs["default"] = previous
            elif "default" in entry.attrs:
                del entry.attrs["default"]
        if group_path in f:
            del f[group_path]
        f.flush()
    except Exception as exc:  # the file may be unwritable by now: say so, keep the cause
        return _one_line(exc)
    return None


# ------------------------------------------------------------------ reading


@dataclass(frozen=True)
class StoredReconstruction:
    """A reconstruction stored in a single-pixel file (``/entry/reconstruction_{k}``)."""

    name: str
    index: int
    method: str
    measurements: int | None
    ratio: float
    noise_sigma_V: float
    date: str
    version: str
    shape: tuple[int, ...] | None
    """Of the image; None: incomplete (a store cut off by a kill)."""
    default: bool
    """``/entry@default`` names it (NeXus viewers plot it)."""

    def summary(self) -> str:
        """One line for ``mirimager info``."""
        if self.shape is None:
            return f"{self.name}: incomplete (no image: its store was interrupted)"
        size = "x".join(str(s) for s in self.shape)
        return (f"{self.name}: {self.method} {size}, {self.measurements} measurements "
                f"(ratio {self.ratio:.3g}), noise {self.noise_sigma_V:.3g} V, {self.date}, "
                f"mirimager {self.version}" + (" (default plot)" if self.default else ""))


def _scalar(group: h5py.Group, name: str, path: Path, default: Any) -> Any:
    ds = member(group, name, path)
    if not isinstance(ds, h5py.Dataset) or ds.shape != ():
        return default
    value = _py(ds[()])
    if isinstance(default, float):
        return float(value) if isinstance(value, int | float) else default
    return value


def stored_reconstructions(path: str | os.PathLike[str]) -> list[StoredReconstruction]:
    """The reconstructions stored in a scan file, in the order they were made.

    Raises
    ------
    ScanFileError
        The file cannot be read (one line naming it).
    """
    from .scanfile import read_scan_file

    return read_scan_file(path, _list)


def _list(f: h5py.File, path: Path) -> list[StoredReconstruction]:
    entry = check_root(f, path)
    default = _py(entry.attrs.get("default", ""))
    out = []
    for name in entry:
        match = _NAME.fullmatch(str(name))
        group = member(entry, name, path) if match else None
        if not isinstance(group, h5py.Group):
            continue
        image = member(group, "data/image", path)
        shape = image.shape if isinstance(image, h5py.Dataset) and image.ndim == 2 else None
        measurements = _scalar(group, "measurements", path, None)
        out.append(StoredReconstruction(
            name=str(name), index=int(match.group(1)),
            method=str(_scalar(group, "method", path, "?")),
            measurements=measurements if isinstance(measurements, int) else None,
            ratio=_scalar(group, "ratio", path, float("nan")),
            noise_sigma_V=_scalar(group, "noise_sigma_V", path, float("nan")),
            date=str(_scalar(group, "date", path, "")),
            version=str(_scalar(group, "version", path, "")),
            shape=shape, default=name == default and shape is not None))
    return sorted(out, key=lambda r: r.index)
