"""The scan-file schema: layout version, paths, record types and each kind's datasets.

One declaration serves every side of a mirimager file: the writers
(``imager.storage``, the calibration run) create the groups and datasets of a
:class:`Layout` from it, the readers (``scanfile``, ``spifile``, ``events``,
``calibration``) find and check them by it, and ``mirimager resume`` and
``ScanWriter.reopen`` ask :func:`resume_problem` whether a stopped file can be
continued. A new kind of scan declares its own :class:`Layout` here instead of
a writer class of its own. ``docs/scanfile.md`` describes the layout in words.

Pure: NumPy and names. The checks of an open file (``schema_checks``, re-exported
here) take open h5py objects; h5py is imported by them, so importing the schema stays
light.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np

#: Layout version written as the root attribute ``mirimager_format_version``; readers
#: accept files from version 1 up to this one.
LAYOUT_VERSION = 1
VERSION_ATTR = "mirimager_format_version"

ENTRY = "/entry"
INSTRUMENT = "/entry/instrument"
LAB = "/entry/lab"
RECIPE = "/entry/recipe"
SCAN = "/entry/scan"
POINTS = "/entry/scan/points"
DATA = "/entry/data"
SIGNAL = "/entry/data/X_V"
TRUTH = "/entry/data/truth"
SAMPLE = "/entry/sample"
CHART = "/entry/sample/chart"
BASIS = "/entry/basis"
PATTERN_INDEX = "/entry/basis/index"
"""Adaptive single-pixel scans: the Hadamard coefficient of each pattern pair (-1: not
chosen yet)."""
EVENTS = "/entry/events"
SETTINGS_CHANGES = "/entry/settings_changes"
STREAM = "/entry/stream"
LINES = "/entry/lines"
REFERENCE = "/entry/reference"
CALIBRATION = "/entry/calibration"
RESPONSIVITY = "/entry/calibration/responsivity"

POINT_DTYPE = np.dtype([
    ("index", "<i8"), ("ix", "<i4"), ("iy", "<i4"), ("x_set_um", "<f8"), ("y_set_um", "<f8"),
    ("x_um", "<f8"), ("y_um", "<f8"), ("X_V", "<f8"), ("Y_V", "<f8"), ("status", "<u4"),
    ("t_lab_s", "<f8"), ("t_wall_s", "<f8"), ("done", "u1")])
"""One raster point (``/entry/scan/points``): plan indices, commanded and read-back
position, lock-in X/Y and status bits, lab and wall time, ``done``."""
SPI_POINT_DTYPE = np.dtype([
    ("index", "<i8"), ("x_um", "<f8"), ("y_um", "<f8"), ("X_V", "<f8"), ("Y_V", "<f8"),
    ("status", "<u4"), ("t_lab_s", "<f8"), ("t_wall_s", "<f8"), ("done", "u1")])
"""One projected pattern of a single-pixel scan (``/entry/scan/points``)."""
EVENT_DTYPE = np.dtype([("t_wall_s", "<f8"), ("t_lab_s", "<f8"), ("index", "<i8"),
                        ("kind", "S32"), ("message", "S256")])
"""One row of ``/entry/events``."""
SETTING_DTYPE = np.dtype([("t_wall_s", "<f8"), ("t_lab_s", "<f8"), ("index", "<i8"),
                          ("device", "S32"), ("attribute", "S64"), ("value", "S64")])
"""One row of ``/entry/settings_changes``: a device setting the engine changed (JSON value)."""

STREAM_DTYPE = np.dtype([("line", "<i8"), ("t_lab_s", "<f8"), ("x_um", "<f8"), ("y_um", "<f8"),
                         ("X_V", "<f8"), ("Y_V", "<f8")])
"""One lock-in buffer sample of a fly scan (``/entry/stream``): the line it belongs to, its
lab time, the stage position then (from the fitted motion profile) and X/Y."""

LINE_DTYPE = np.dtype([("line", "<i8"), ("direction", "<i1"), ("x_from_um", "<f8"),
                       ("x_to_um", "<f8"), ("y_um", "<f8"), ("t_move_s", "<f8"),
                       ("samples", "<i8"), ("t_end_s", "<f8"), ("t_wall_s", "<f8")])
"""One block of buffered samples (``/entry/lines``): a fly-scan line (direction, extent of
its samples, the lab time its move started) or a run of single-pixel patterns (direction
0, the lab time its first pattern appeared); its samples in the stream and when it ended
(lab times relative to the scan's start)."""

REFERENCE_DTYPE = np.dtype([("index", "<i8"), ("X_V", "<f8"), ("Y_V", "<f8"),
                            ("status", "<u4"), ("t_lab_s", "<f8"), ("applied", "u1")])
"""The MIR reference channel's reading taken with point ``index`` (``/entry/reference``;
a resumed scan may append a point again: the last row of an index counts). ``applied``:
the point's reading is already normalised by it (streamed patterns: sample by sample)."""

EMPTY_POINT = np.array([(-1, -1, -1, *[np.nan] * 6, 0, np.nan, np.nan, 0)], POINT_DTYPE)[0]
EMPTY_SPI_POINT = np.array([(-1, *[np.nan] * 4, 0, np.nan, np.nan, 0)], SPI_POINT_DTYPE)[0]


# ------------------------------------------------------------------ declarations


def capped(n: int) -> Callable[[tuple[int, ...]], tuple[int, ...]]:
    """Chunk rule: ``min(size, n)`` along the one axis."""
    return lambda shape: (min(shape[0], n),)


def rows(shape: tuple[int, ...]) -> tuple[int, ...] | None:
    """Chunk rule: one row per chunk (contiguous for a single element)."""
    return (1, shape[1]) if math.prod(shape) > 1 else None


@dataclass(frozen=True)
class DatasetSpec:
    """A dataset of a layout.

    ``shape`` names the sizes it is made of (``("ny", "nx")``), resolved against
    the sizes a writer gives; None: the shape of the data written into it. A
    dataset with ``shape`` and no data is created filled with ``fill`` and written
    element by element; ``log`` tables start empty and grow by one row per entry.
    ``optional`` ones are created only when there are data for them.
    """

    path: str
    dtype: np.dtype
    shape: tuple[str, ...] | None = None
    chunks: Callable[[tuple[int, ...]], tuple[int, ...] | None] | None = None
    fill: Any = None
    attrs: Mapping[str, Any] = field(default_factory=dict)
    optional: bool = False
    log: bool = False
    gzip: int | None = None

    def shape_for(self, sizes: Mapping[str, int]) -> tuple[int, ...]:
        """The shape for these ``sizes`` (``{"nx": 64, ...}``)."""
        return tuple(int(sizes[name]) for name in self.shape or ())


@dataclass(frozen=True)
class GroupSpec:
    """A group of a layout: its NeXus class and the attributes every file has."""

    path: str
    nx_class: str
    attrs: Mapping[str, Any] = field(default_factory=dict)
    optional: bool = False


@dataclass(frozen=True)
class Layout:
    """What a kind of file holds beyond the common header, in creation order.

    ``points`` is the table written one record per measurement and ``signal`` the
    array written with it (None for kinds without one); ``resume_fields`` are the
    record fields that must be finite in the last record done for a resume.
    """

    kind: str
    items: tuple[GroupSpec | DatasetSpec, ...]
    points: str | None = None
    signal: str | None = None
    resume_fields: tuple[str, ...] = ()

    def __getitem__(self, path: str) -> GroupSpec | DatasetSpec:
        for item in self.items:
            if item.path == path:
                return item
        raise KeyError(f"{self.kind} layout has no {path}")


def _units(units: str, long_name: str | None = None) -> dict[str, str]:
    return {"units": units} if long_name is None else {"units": units, "long_name": long_name}


_F8, _NAN = np.dtype("<f8"), np.nan
_SAMPLE = (GroupSpec(SAMPLE, "NXsample", optional=True),
           DatasetSpec(CHART, np.dtype("<f4"), attrs={"units": "1"}, optional=True, gzip=4))

#: Tables every kind may hold, created on their first row.
LOGS = {"events": DatasetSpec(EVENTS, EVENT_DTYPE, log=True),
        "settings_changes": DatasetSpec(SETTINGS_CHANGES, SETTING_DTYPE, log=True),
        "stream": DatasetSpec(STREAM, STREAM_DTYPE, log=True),
        "lines": DatasetSpec(LINES, LINE_DTYPE, log=True),
        "reference": DatasetSpec(REFERENCE, REFERENCE_DTYPE, log=True, attrs=_units(
            "V", "MIR reference channel, lock-in X and Y per point"))}

RASTER = Layout("raster", (
    *_SAMPLE,
    GroupSpec(SCAN, "NXcollection"),
    DatasetSpec(POINTS, POINT_DTYPE, ("points_total",), capped(1024), EMPTY_POINT),
    GroupSpec(DATA, "NXdata", {"signal": "X_V", "axes": np.array(["y_um", "x_um"], "S"),
                               "y_um_indices": 0, "x_um_indices": 1}),
    DatasetSpec(SIGNAL, _F8, ("ny", "nx"), rows, _NAN, _units("V", "lock-in X")),
    DatasetSpec(f"{DATA}/x_um", _F8, ("nx",), attrs=_units("um")),
    DatasetSpec(f"{DATA}/y_um", _F8, ("ny",), attrs=_units("um")),
    DatasetSpec(TRUTH, _F8, ("ny", "nx"), attrs=_units("V", "noise-free settled lock-in X"),
                optional=True),
    GroupSpec(CALIBRATION, "NXcollection", optional=True),
), points=POINTS, signal=SIGNAL, resume_fields=("t_lab_s", "x_set_um", "y_set_um"))

#: Fly scans (raster files, ``[scan] mode = "fly"``): the samples were binned between these.
X_EDGES = DatasetSpec(f"{DATA}/x_edges_um", _F8, ("edges",), attrs=_units("um", "pixel bin edges"))

SINGLE_PIXEL = Layout("single_pixel", (
    GroupSpec(BASIS, "NXcollection"),
    *_SAMPLE,
    GroupSpec(SCAN, "NXcollection"),
    DatasetSpec(POINTS, SPI_POINT_DTYPE, ("points_total",), capped(1024), EMPTY_SPI_POINT),
    GroupSpec(DATA, "NXdata", {"signal": "X_V", "axes": np.array(["pattern"], "S"),
                               "pattern_indices": 0}),
    DatasetSpec(SIGNAL, _F8, ("points_total",), capped(4096), _NAN,
                _units("V", "lock-in X per pattern")),
    DatasetSpec(f"{DATA}/pattern", np.dtype("<i8"), ("points_total",)),
    DatasetSpec(f"{DATA}/x_um", _F8, ("size",), attrs=_units("um")),
    DatasetSpec(f"{DATA}/y_um", _F8, ("size",), attrs=_units("um")),
    DatasetSpec(TRUTH, _F8, ("size", "size"),
                attrs=_units("V", "noise-free lock-in X per lit pixel"), optional=True),
    GroupSpec(CALIBRATION, "NXcollection", optional=True),
), points=POINTS, signal=SIGNAL, resume_fields=("t_lab_s",))

#: Reconstructions stored in a single-pixel file (``mirimager reconstruct``,
#: :func:`reconstruction.nxprocess.store_reconstruction`): one NXprocess per run,
#: ``/entry/reconstruction_{k}`` with k = 1, 2, ... (never reused, nothing overwritten),
#: holding how it was made, the solver's parameters and the image as NXdata (whose
#: ``title`` attribute the writer sets);
#: ``/entry@default`` names the newest, so NeXus viewers plot the image, not the bucket
#: trace. ``{k}`` is filled in by the writer; ``{name}`` are further solver parameters.
RECONSTRUCTION_PREFIX = "reconstruction_"
RECONSTRUCTION = f"{ENTRY}/{RECONSTRUCTION_PREFIX}{{k}}"
TEXT = np.dtype("O")
"""A variable-length UTF-8 string dataset."""
_I8, _REC_PARAMS, _REC_DATA = np.dtype("<i8"), f"{RECONSTRUCTION}/parameters", \
    f"{RECONSTRUCTION}/data"
STORED_RECONSTRUCTION = Layout("reconstruction", (
    GroupSpec(RECONSTRUCTION, "NXprocess", {"default": "data"}),
    DatasetSpec(f"{RECONSTRUCTION}/program", TEXT),
    DatasetSpec(f"{RECONSTRUCTION}/version", TEXT),
    DatasetSpec(f"{RECONSTRUCTION}/date", TEXT, attrs={"long_name": "UTC, ISO 8601"}),
    DatasetSpec(f"{RECONSTRUCTION}/sequence_index", _I8),
    DatasetSpec(f"{RECONSTRUCTION}/method", TEXT),
    DatasetSpec(f"{RECONSTRUCTION}/measurements", _I8,
                attrs={"long_name": "complementary pairs used (the first ones measured)"}),
    DatasetSpec(f"{RECONSTRUCTION}/ratio", _F8, attrs=_units("1", "measurements / pixels")),
    DatasetSpec(f"{RECONSTRUCTION}/noise_sigma_V", _F8,
                attrs=_units("V", "noise of one measurement")),
    GroupSpec(_REC_PARAMS, "NXparameters"),
    DatasetSpec(f"{_REC_PARAMS}/eps_V", _F8, attrs=_units("V", "constraint radius (NaN: none)")),
    DatasetSpec(f"{_REC_PARAMS}/lam", _F8, attrs={"long_name": "penalty weight (NaN: none)"}),
    DatasetSpec(f"{_REC_PARAMS}/iterations", _I8, attrs={"long_name": "-1: not iterative"}),
    DatasetSpec(f"{_REC_PARAMS}/converged", np.dtype("u1")),
    DatasetSpec(f"{_REC_PARAMS}/residual_V", _F8, attrs=_units("V", "|A x - y|")),
    DatasetSpec(f"{_REC_PARAMS}/solve_s", _F8, attrs=_units("s")),
    DatasetSpec(f"{_REC_PARAMS}/{{name}}", _F8, optional=True),  # others (text if text)
    GroupSpec(_REC_DATA, "NXdata", {"signal": "image", "axes": np.array(["y_um", "x_um"], "S"),
                                    "y_um_indices": 0, "x_um_indices": 1}),
    DatasetSpec(f"{_REC_DATA}/image", _F8, ("size", "size"),
                attrs=_units("V", "lock-in X per lit pixel, reconstructed")),
    DatasetSpec(f"{_REC_DATA}/x_um", _F8, ("size",), attrs=_units("um")),
    DatasetSpec(f"{_REC_DATA}/y_um", _F8, ("size",), attrs=_units("um")),
))

#: Calibration runs: one group per MIR-power sweep (``responsivity``, ``pump_sweep/<i>``,
#: ``spectral_sweep/<i>``), ``temperature_sweep`` and ``decay``, each made by the run when
#: it gets there (optional); ``{sweep}`` and ``{band}`` in the paths are filled in by it.
_SWEEP = f"{CALIBRATION}/{{sweep}}"
CALIBRATION_RUN = Layout("calibration", (
    GroupSpec(CALIBRATION, "NXcollection"),
    *(DatasetSpec(path, _F8, shape, fill=fill, attrs=attrs, optional=True)
      for path, shape, fill, attrs in (
          (f"{_SWEEP}/mir_power_mW", ("levels",), None, {}),
          (f"{_SWEEP}/intensity_W_per_um2", ("levels",), None, {}),
          (f"{_SWEEP}/X_V", ("levels", "repeats"), _NAN, _units("V")),
          (f"{CALIBRATION}/temperature_sweep/temperature_K", ("temperatures",), None, {}),
          (f"{CALIBRATION}/temperature_sweep/band_{{band}}_V", ("temperatures", "repeats"),
           _NAN, _units("V")),
          (f"{CALIBRATION}/decay/mir_power_mW", ("levels",), None, {}),
          (f"{CALIBRATION}/decay/t_s", ("samples",), None, _units("s")),
          (f"{CALIBRATION}/decay/trace_{{band}}", ("levels", "samples"), _NAN, {}))),
))

LAYOUTS = {layout.kind: layout for layout in (RASTER, SINGLE_PIXEL, CALIBRATION_RUN)}
"""Kind -> layout; :mod:`reconstruction.schema_spectral` adds ``spectral`` when imported
(it builds on the names above), which :func:`layout_of` makes sure of."""


def layout_of(kind: str) -> Layout:
    """The layout of ``kind`` (KeyError if there is none)."""
    if kind not in LAYOUTS:
        from .schema_spectral import SPECTRAL_RASTER, SPECTRAL_SINGLE_PIXEL

        for layout in (SPECTRAL_RASTER, SPECTRAL_SINGLE_PIXEL):
            LAYOUTS[layout.kind] = layout
    return LAYOUTS[kind]


@dataclass(frozen=True)
class SettingChange:
    """A device setting the engine changed during a scan (``/entry/settings_changes``)."""

    index: int
    """Plan point being measured when it changed (-1: before any point)."""
    device: str
    """The lab's attribute naming the device (``lockin``, ``source``, ...)."""
    attribute: str
    value: Any
    t_lab_s: float


# The checks of an open file live in schema_checks (they import this module's names).
from .schema_checks import (  # noqa: E402,F401 - re-exported
    check_root,
    member,
    resume_problem,
    setting_changes,
    table_problem,
)
