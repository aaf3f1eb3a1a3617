"""Store a spectral single-pixel scan's reconstructed cube in its file.

As :func:`reconstruction.nxprocess.store_reconstruction` does for one image: the file
gains ``/entry/reconstruction_{k}`` (never reused, nothing overwritten), an NXprocess
with the program, version, date, method, and per wavelength the measurements, ratio and
noise level, around NXdata holding the cube with three axes (wavelength, y, x), units on
each; ``/entry@default`` then names it, so silx and nexusformat show the cube. The
readings used must still be those in the file; on any error the file is left as it was.
"""

from __future__ import annotations

import datetime as _dt
import os
from pathlib import Path
from typing import Any

import h5py
import numpy as np

from ..errors import ScanFileError
from ..nxprocess import _version, store_new_group
from ..schema import POINTS, RECONSTRUCTION_PREFIX, member
from ..schema_spectral import SPI_KIND
from .singlepixel import readings


def store_cube(path: str | os.PathLike[str], images: Any, scan: Any, *,
               program: str = "mirimager") -> str:
    """Write ``images`` (:class:`~reconstruction.spectral.singlepixel.SpectralImages` of
    ``scan``) into the scan file as a new NXprocess; returns its path.

    Raises
    ------
    ScanFileError
        One line naming the file: locked, read-only, not a spectral single-pixel scan,
        readings changed since ``scan`` was read, or the write failed (file as it was).
    """
    def check(f: h5py.File, entry: h5py.Group, where: Path) -> None:
        now = readings(member(f, POINTS, where)[()], *scan.raw_V.shape)
        if not np.array_equal(now, scan.raw_V, equal_nan=True):
            raise ScanFileError(f"{where}: the readings changed since they were read (a "
                                "scan resumed?); the cube was not stored")

    return store_new_group(path, "the cube", (SPI_KIND,), RECONSTRUCTION_PREFIX,
                           lambda f, group_path, k: _fill(f, group_path, k, images, program),
                           check=check)


def _fill(f: h5py.File, group_path: str, k: int, images: Any, program: str) -> None:
    text = h5py.string_dtype()
    g = f.create_group(group_path)
    g.attrs.update({"NX_class": "NXprocess", "default": "data"})
    for name, value in (("program", program), ("version", _version()),
                        ("date", _dt.datetime.now(_dt.UTC).isoformat(timespec="seconds")),
                        ("method", images.method)):
        g.create_dataset(name, data=value, dtype=text)
    g.create_dataset("sequence_index", data=k)
    per = images.images
    for name, values, units in (
            ("measurements", [im.measurements for im in per], None),
            ("ratio", [im.ratio for im in per], "1"),
            ("noise_sigma_V", [im.noise_sigma_V for im in per], "V")):
        ds = g.create_dataset(name, data=np.asarray(values))
        if units:
            ds.attrs["units"] = units
    d = g.create_group("data")
    nw = images.cube.shape[0]
    d.attrs.update({"NX_class": "NXdata", "signal": "cube",
                    "axes": np.array(["wavelength_um", "y_um", "x_um"], "S"),
                    "wavelength_um_indices": 0, "y_um_indices": 1, "x_um_indices": 2,
                    "title": f"spectral single-pixel, {images.method}, {nw} wavelengths"})
    for name, values, units, long_name in (
            ("cube", images.cube, "V", "lock-in X per lit pixel, reconstructed"),
            ("wavelength_um", images.wavelengths_um, "um", "MIR wavelength"),
            ("y_um", images.y_um, "um", None), ("x_um", images.x_um, "um", None)):
        ds = d.create_dataset(name, data=np.asarray(values, dtype=float))
        ds.attrs["units"] = units
        if long_name:
            ds.attrs["long_name"] = long_name
