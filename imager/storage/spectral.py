"""Write a spectral raster (a raster at several MIR wavelengths) to one HDF5 file.

The layout is :data:`reconstruction.schema_spectral.SPECTRAL_RASTER`: the cube
``/entry/data/X_V[iw, iy, ix]`` as NXdata with three axes, the points table, the MIR
power and the blank spot's reading at each wavelength, and (simulated scans) the
truth. One record and one cube element are written and flushed per reading, as
for a raster (:class:`imager.storage.base.FileWriter`).
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import h5py
import numpy as np

from imager.plans.raster import RasterGrid
from imager.storage.base import FileWriter
from imager.storage.header import _text, build_layout, chart_data, create_from, write_header
from reconstruction.schema import BASIS, CALIBRATION, DATA, SCAN, TRUTH, X_EDGES
from reconstruction.schema_spectral import (
    BLANK,
    MATERIAL_TRANSMISSION,
    MATERIALS,
    POWER,
    SPECTRAL_RASTER,
    SPECTRAL_SINGLE_PIXEL,
    TRANSMISSION,
    WAVELENGTH,
)


class SpectralWriter(FileWriter):
    """Create a spectral raster's file and append its readings, flushing after each.

    Parameters
    ----------
    path : Path
        New file; an existing file is never overwritten (FileExistsError).
    grid : RasterGrid
        The raster measured at every wavelength.
    wavelengths_um : sequence of float
        The wavelengths, in the order of the cube's first axis.
    order : {"image", "point"}
        The loop order (:mod:`reconstruction.schema_spectral`).
    x_edges_um : ndarray, optional
        A fly scan's pixel bin edges (``/entry/data/x_edges_um``).
    recipe_text, dwell_s, instruments, lab, calibration, lab_start_s
        As for :class:`imager.storage.writer.ScanWriter`.
    truth : mapping, optional
        Simulated scans: ``truth_V`` (the noise-free cube) and ``chart_truth`` (an
        object with ``names``, ``labels``, ``material_transmission``, ``transmission``;
        None for a chart without materials).
    chart : object, optional
        The test chart stored with the scan (``/entry/sample/chart``).
    """

    layout = SPECTRAL_RASTER

    def __init__(self, path: str | Path, grid: RasterGrid, wavelengths_um: Any, order: str, *,
                 recipe_text: str, dwell_s: float, instruments: Mapping[str, Mapping[str, Any]],
                 lab: Mapping[str, Any], truth: Mapping[str, Any] | None = None,
                 chart: Any = None, calibration: Mapping[str, Any] | None = None,
                 lab_start_s: float = 0.0, scan_attrs: Mapping[str, Any] | None = None,
                 x_edges_um: np.ndarray | None = None) -> None:
        wavelengths = np.asarray(wavelengths_um, dtype=float)
        self.grid, self.wavelengths_um, self.order = grid, wavelengths, order
        self.lab_start_s = float(lab_start_s)
        nw = wavelengths.size
        sizes = {"nx": grid.nx, "ny": grid.ny, "nw": nw, "points_total": nw * grid.n_points}
        attrs, data = chart_data(chart)
        attrs[SCAN] = {"nx": grid.nx, "ny": grid.ny, "nw": nw, "order": order,
                       "raster_order": grid.order, "dwell_s": dwell_s,
                       "points_total": nw * grid.n_points, "lab_start_s": self.lab_start_s,
                       **(scan_attrs or {})}
        if calibration is not None:
            attrs[CALIBRATION] = calibration
        truth = truth or {}
        data.update({WAVELENGTH: wavelengths, f"{DATA}/x_um": grid.x_um,
                     f"{DATA}/y_um": grid.y_um, TRUTH: truth.get("truth_V")})
        _add_materials(truth.get("chart_truth"), sizes, attrs, data)

        sizes["edges"] = grid.nx + 1

        def build(f: h5py.File) -> None:
            write_header(f, SPECTRAL_RASTER.kind, recipe_text, instruments, lab)
            build_layout(f, SPECTRAL_RASTER, sizes, attrs, data)
            if x_edges_um is not None:  # a fly scan's pixel edges
                create_from(f, X_EDGES, sizes, x_edges_um)

        super().__init__(path, build=build)
        self._open_outputs()

    @classmethod
    def reopen(cls, path: str | Path) -> SpectralWriter:
        """Continue a stopped spectral raster in its own file (see ``ScanWriter.reopen``).

        Raises
        ------
        ScanFileError
            The file is not a spectral raster the writer can continue (nothing written).
        """
        def sizes(f: h5py.File) -> dict[str, int]:
            nx, ny = f[f"{DATA}/x_um"].shape[0], f[f"{DATA}/y_um"].shape[0]
            nw = f[WAVELENGTH].shape[0]
            return {"nx": nx, "ny": ny, "nw": nw, "points_total": nx * ny * nw}

        def attach(self: SpectralWriter) -> None:
            x_um, y_um = self.file[f"{DATA}/x_um"][()], self.file[f"{DATA}/y_um"][()]
            scan = self.file[SCAN].attrs
            self.grid = RasterGrid(float(x_um[0]), float(x_um[-1]), x_um.size,
                                   float(y_um[0]), float(y_um[-1]), y_um.size,
                                   _text(scan.get("raster_order", "snake")))
            self.wavelengths_um = self.file[WAVELENGTH][()]
            self.order = _text(scan.get("order", "image"))

        return cls._reopened(path, sizes, attach)

    def add_power(self, row: tuple) -> None:
        """Append a ``/entry/spectral/power`` row ``(iw, wavelength_um, power_mW, t_lab_s)``."""
        self.append_rows(SPECTRAL_RASTER[POWER], np.array([row], SPECTRAL_RASTER[POWER].dtype))

    def add_blank(self, row: tuple) -> None:
        """Append a ``/entry/spectral/blank`` row (``BLANK_DTYPE``)."""
        self.append_rows(SPECTRAL_RASTER[BLANK], np.array([row], SPECTRAL_RASTER[BLANK].dtype))


class SpectralSinglePixelWriter(FileWriter):
    """Create a spectral single-pixel scan's file (:data:`SPECTRAL_SINGLE_PIXEL`) and append
    its readings, flushing after each.

    Parameters are those of :class:`imager.storage.single_pixel.SinglePixelWriter`, with
    ``wavelengths_um`` and ``truth`` as for :class:`SpectralWriter` (``truth_V`` of shape
    ``(nw, size, size)``).
    """

    layout = SPECTRAL_SINGLE_PIXEL

    def __init__(self, path: str | Path, *, basis_spec: Mapping[str, Any], n_patterns: int,
                 wavelengths_um: Any, fov_um: float, center_um: tuple[float, float],
                 order: str = "image",
                 recipe_text: str, dwell_s: float,
                 instruments: Mapping[str, Mapping[str, Any]], lab: Mapping[str, Any],
                 truth: Mapping[str, Any] | None = None, chart: Any = None,
                 calibration: Mapping[str, Any] | None = None,
                 lab_start_s: float = 0.0) -> None:
        wavelengths = np.asarray(wavelengths_um, dtype=float)
        self.lab_start_s = float(lab_start_s)
        size, nw = int(basis_spec["size"]), wavelengths.size
        sizes = {"n_patterns": int(n_patterns), "size": size, "nw": nw,
                 "points_total": nw * int(n_patterns)}
        attrs, data = chart_data(chart)
        attrs[BASIS] = {**basis_spec, "n_patterns": int(n_patterns)}
        attrs[SCAN] = {"dwell_s": dwell_s, "points_total": nw * int(n_patterns), "nw": nw,
                       "order": order, "fov_um": fov_um, "center_x_um": center_um[0],
                       "center_y_um": center_um[1], "lab_start_s": self.lab_start_s}
        if calibration is not None:
            attrs[CALIBRATION] = calibration
        pixels = (np.arange(size) - (size - 1) / 2) * (fov_um / size)
        truth = truth or {}
        data.update({WAVELENGTH: wavelengths, f"{DATA}/pattern": np.arange(n_patterns),
                     f"{DATA}/x_um": center_um[0] + pixels,
                     f"{DATA}/y_um": center_um[1] + pixels, TRUTH: truth.get("truth_V")})
        _add_materials(truth.get("chart_truth"), sizes, attrs, data)

        def build(f: h5py.File) -> None:
            write_header(f, SPECTRAL_SINGLE_PIXEL.kind, recipe_text, instruments, lab)
            build_layout(f, SPECTRAL_SINGLE_PIXEL, sizes, attrs, data)

        super().__init__(path, build=build)
        self._open_outputs()

    @classmethod
    def reopen(cls, path: str | Path) -> SpectralSinglePixelWriter:
        """Continue a stopped spectral single-pixel scan in its own file."""
        def sizes(f: h5py.File) -> dict[str, int]:
            nw, n = f[WAVELENGTH].shape[0], f[f"{DATA}/pattern"].shape[0]
            return {"nw": nw, "n_patterns": n, "points_total": nw * n,
                    "size": f[f"{DATA}/x_um"].shape[0]}

        return cls._reopened(path, sizes)

    def add_power(self, row: tuple) -> None:
        """Append a ``/entry/spectral/power`` row ``(iw, wavelength_um, power_mW, t_lab_s)``."""
        spec = SPECTRAL_SINGLE_PIXEL[POWER]
        self.append_rows(spec, np.array([row], spec.dtype))


def _add_materials(materials: Any, sizes: dict, attrs: dict, data: dict) -> None:
    """The chart's material labels and spectra (simulated scans), for ``build_layout``."""
    if materials is None:
        return
    sizes["materials"] = len(materials.names)
    data.update({MATERIALS: materials.labels,
                 MATERIAL_TRANSMISSION: materials.material_transmission,
                 TRANSMISSION: materials.transmission})
    attrs[MATERIALS] = {"names": json.dumps(list(materials.names))}
