"""The layout of a spectral scan file: a raster at each of several MIR wavelengths.

A spectral raster (``kind = "spectral"``) measures the grid of a raster recipe at
every wavelength of its ``[spectral]`` section, in the order the recipe chooses
(``image``: a whole image per wavelength; ``point``: every wavelength at each
position). Its signal is the cube ``/entry/data/X_V[iw, iy, ix]``, NXdata with
three axes (wavelength, y, x), so NeXus viewers show the cube as the default plot.
Besides the readings it records the MIR power the power meter measured at each
wavelength (``/entry/spectral/power``) and, when the recipe names a blank spot
(no sample), the reading there at each wavelength (``/entry/spectral/blank``).
Simulated scans also store the truth: the noise-free cube, the chart's
transmittance cube on the grid and its material labels and spectra.

Plan index of a reading: ``iw * n_pixels + k`` in ``image`` order and
``k * n_wavelengths + iw`` in ``point`` order, ``k`` being the raster point's index.
Pure: NumPy and names (see :mod:`reconstruction.schema`).
"""

from __future__ import annotations

import numpy as np

from .schema import (
    BASIS,
    CALIBRATION,
    DATA,
    ENTRY,
    POINTS,
    SAMPLE,
    SCAN,
    SIGNAL,
    TRUTH,
    DatasetSpec,
    GroupSpec,
    Layout,
    capped,
)

KIND = "spectral"
WAVELENGTH = f"{DATA}/wavelength_um"
SPECTRAL = "/entry/spectral"
POWER = f"{SPECTRAL}/power"
BLANK = f"{SPECTRAL}/blank"
MATERIALS = f"{SAMPLE}/materials"
MATERIAL_TRANSMISSION = f"{SAMPLE}/material_transmission"
TRANSMISSION = f"{SAMPLE}/transmission"

SPECTRAL_POINT_DTYPE = np.dtype([
    ("index", "<i8"), ("iw", "<i4"), ("ix", "<i4"), ("iy", "<i4"), ("wavelength_um", "<f8"),
    ("x_set_um", "<f8"), ("y_set_um", "<f8"), ("x_um", "<f8"), ("y_um", "<f8"),
    ("X_V", "<f8"), ("Y_V", "<f8"), ("status", "<u4"), ("t_lab_s", "<f8"),
    ("t_wall_s", "<f8"), ("done", "u1")])
"""One reading of a spectral raster (``/entry/scan/points``): plan index, wavelength and
grid indices, wavelength, commanded and read-back position, lock-in X/Y and status, lab
and wall time, ``done``."""

POWER_DTYPE = np.dtype([("iw", "<i4"), ("wavelength_um", "<f8"), ("power_mW", "<f8"),
                        ("t_lab_s", "<f8")])
"""The MIR power measured at wavelength ``iw`` (``/entry/spectral/power``; one row each
time the scan tunes there and measures, so ``point`` order may have several)."""

BLANK_DTYPE = np.dtype([("iw", "<i4"), ("wavelength_um", "<f8"), ("x_um", "<f8"),
                        ("y_um", "<f8"), ("X_V", "<f8"), ("Y_V", "<f8"), ("status", "<u4"),
                        ("t_lab_s", "<f8")])
"""The lock-in reading at the recipe's blank spot (no sample) at wavelength ``iw``
(``/entry/spectral/blank``): the source, film and detector spectrum the cube is divided
by to give a transmittance."""

EMPTY_SPECTRAL_POINT = np.array([(-1, -1, -1, -1, *[np.nan] * 7, 0, np.nan, np.nan, 0)],
                                SPECTRAL_POINT_DTYPE)[0]

_F8 = np.dtype("<f8")


def _units(units: str, long_name: str) -> dict[str, str]:
    return {"units": units, "long_name": long_name}


SPECTRAL_RASTER = Layout(KIND, (
    GroupSpec(SAMPLE, "NXsample", optional=True),
    DatasetSpec(f"{SAMPLE}/chart", np.dtype("<f4"), attrs={"units": "1"}, optional=True,
                gzip=4),
    DatasetSpec(MATERIALS, np.dtype("<i2"), ("ny", "nx"), optional=True,
                attrs={"long_name": "material at each grid point (index into names)"}),
    DatasetSpec(MATERIAL_TRANSMISSION, _F8, ("materials", "nw"), optional=True,
                attrs=_units("1", "transmittance of each material at the scan's wavelengths")),
    DatasetSpec(TRANSMISSION, _F8, ("nw", "ny", "nx"), optional=True, gzip=4,
                attrs=_units("1", "chart transmittance at each grid point")),
    GroupSpec(SCAN, "NXcollection"),
    DatasetSpec(POINTS, SPECTRAL_POINT_DTYPE, ("points_total",), capped(1024),
                EMPTY_SPECTRAL_POINT),
    GroupSpec(DATA, "NXdata", {"signal": "X_V",
                               "axes": np.array(["wavelength_um", "y_um", "x_um"], "S"),
                               "wavelength_um_indices": 0, "y_um_indices": 1,
                               "x_um_indices": 2}),
    DatasetSpec(SIGNAL, _F8, ("nw", "ny", "nx"), lambda shape: (1, 1, shape[2]), np.nan,
                _units("V", "lock-in X")),
    DatasetSpec(WAVELENGTH, _F8, ("nw",), attrs=_units("um", "MIR wavelength")),
    DatasetSpec(f"{DATA}/x_um", _F8, ("nx",), attrs={"units": "um"}),
    DatasetSpec(f"{DATA}/y_um", _F8, ("ny",), attrs={"units": "um"}),
    DatasetSpec(TRUTH, _F8, ("nw", "ny", "nx"), optional=True, gzip=4,
                attrs=_units("V", "noise-free settled lock-in X")),
    GroupSpec(SPECTRAL, "NXcollection"),
    DatasetSpec(POWER, POWER_DTYPE, log=True, attrs=_units("mW", "MIR power per wavelength")),
    DatasetSpec(BLANK, BLANK_DTYPE, log=True,
                attrs=_units("V", "lock-in at the blank spot per wavelength")),
    GroupSpec(CALIBRATION, "NXcollection", optional=True),
), points=POINTS, signal=SIGNAL, resume_fields=("t_lab_s", "x_set_um", "y_set_um"))


def plan_index(k: int, iw: int, n_pixels: int, n_wavelengths: int, order: str) -> int:
    """Plan index of raster point ``k`` at wavelength ``iw`` (module docstring)."""
    return iw * n_pixels + k if order == "image" else k * n_wavelengths + iw


def split_index(index: int, n_pixels: int, n_wavelengths: int, order: str) -> tuple[int, int]:
    """``(k, iw)`` of plan index ``index``: the inverse of :func:`plan_index`."""
    if order == "image":
        iw, k = divmod(index, n_pixels)
    else:
        k, iw = divmod(index, n_wavelengths)
    return k, iw


# ------------------------------------------------------------ spectral single pixel

SPI_KIND = "spectral_single_pixel"

SPECTRAL_SPI_POINT_DTYPE = np.dtype([
    ("index", "<i8"), ("iw", "<i4"), ("pattern", "<i8"), ("wavelength_um", "<f8"),
    ("x_um", "<f8"), ("y_um", "<f8"), ("X_V", "<f8"), ("Y_V", "<f8"), ("status", "<u4"),
    ("t_lab_s", "<f8"), ("t_wall_s", "<f8"), ("done", "u1")])
"""One projected pattern at one wavelength (``/entry/scan/points`` of a spectral
single-pixel scan): plan index ``iw * n_patterns + pattern`` in image order,
``pattern * nw + iw`` in point order (:func:`plan_index` with the pattern for ``k``)."""

EMPTY_SPECTRAL_SPI_POINT = np.array([(-1, -1, -1, *[np.nan] * 5, 0, np.nan, np.nan, 0)],
                                    SPECTRAL_SPI_POINT_DTYPE)[0]

SPECTRAL_SINGLE_PIXEL = Layout(SPI_KIND, (
    GroupSpec(BASIS, "NXcollection"),
    GroupSpec(SAMPLE, "NXsample", optional=True),
    DatasetSpec(f"{SAMPLE}/chart", np.dtype("<f4"), attrs={"units": "1"}, optional=True,
                gzip=4),
    DatasetSpec(MATERIALS, np.dtype("<i2"), ("size", "size"), optional=True,
                attrs={"long_name": "material at each DMD pixel's centre (index into names)"}),
    DatasetSpec(MATERIAL_TRANSMISSION, _F8, ("materials", "nw"), optional=True,
                attrs=_units("1", "transmittance of each material at the scan's wavelengths")),
    DatasetSpec(TRANSMISSION, _F8, ("nw", "size", "size"), optional=True, gzip=4,
                attrs=_units("1", "chart transmittance at each DMD pixel's centre")),
    GroupSpec(SCAN, "NXcollection"),
    DatasetSpec(POINTS, SPECTRAL_SPI_POINT_DTYPE, ("points_total",), capped(1024),
                EMPTY_SPECTRAL_SPI_POINT),
    GroupSpec(DATA, "NXdata", {"signal": "X_V",
                               "axes": np.array(["wavelength_um", "pattern"], "S"),
                               "wavelength_um_indices": 0, "pattern_indices": 1}),
    DatasetSpec(SIGNAL, _F8, ("nw", "n_patterns"), lambda shape: (1, min(shape[1], 4096)),
                np.nan, _units("V", "lock-in X per pattern")),
    DatasetSpec(WAVELENGTH, _F8, ("nw",), attrs=_units("um", "MIR wavelength")),
    DatasetSpec(f"{DATA}/pattern", np.dtype("<i8"), ("n_patterns",)),
    DatasetSpec(f"{DATA}/x_um", _F8, ("size",), attrs={"units": "um"}),
    DatasetSpec(f"{DATA}/y_um", _F8, ("size",), attrs={"units": "um"}),
    DatasetSpec(TRUTH, _F8, ("nw", "size", "size"), optional=True, gzip=4,
                attrs=_units("V", "noise-free lock-in X per lit pixel")),
    GroupSpec(SPECTRAL, "NXcollection"),
    DatasetSpec(POWER, POWER_DTYPE, log=True, attrs=_units("mW", "MIR power per wavelength")),
    GroupSpec(CALIBRATION, "NXcollection", optional=True),
), points=POINTS, signal=SIGNAL, resume_fields=("t_lab_s",))

#: A spectral single-pixel scan's reconstructed cube (``mirimager reconstruct``): one
#: NXprocess per run, ``/entry/reconstruction_K`` as for single-pixel files, whose NXdata
#: holds the image at every wavelength; ``/entry@default`` names it.
CUBE_PROCESS = f"{ENTRY}/reconstruction_{{k}}"
CUBE_DATA = f"{CUBE_PROCESS}/data"
