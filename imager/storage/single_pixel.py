"""Write a single-pixel scan: one bucket reading per projected pattern, flushed each.

Layout (``docs/scanfile.md``): the same header as raster files, ``/entry/basis``
with the pattern specification (never a matrix), ``/entry/scan/points`` with
one record per pattern, ``/entry/data`` (NXdata of the readings against the
pattern index) and, for simulated scans, ``/entry/data/truth`` (n, n). An adaptive
scan adds ``/entry/basis/index``: the coefficient of each pattern pair, written
round by round before the round's patterns are shown (``-1`` until then).
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

import h5py
import numpy as np

from imager.devices.interfaces import LockInReading
from imager.storage.base import FileWriter
from imager.storage.header import build_layout, chart_data, write_header
from reconstruction.schema import (  # noqa: F401 - SPI_POINT_DTYPE re-exported
    BASIS,
    CALIBRATION,
    DATA,
    PATTERN_INDEX,
    POINTS,
    SCAN,
    SINGLE_PIXEL,
    SPI_POINT_DTYPE,
    TRUTH,
)


class SinglePixelWriter(FileWriter):
    """Create a single-pixel scan file and append bucket readings, flushing each.

    Parameters
    ----------
    path : Path
        New file (never overwritten).
    basis_spec : mapping
        The pattern basis specification (kind, size, ordering, ratio, seed, ...).
    n_patterns : int
        Patterns to project (complementary pairs count twice).
    fov_um, center_um
        Field of view on the film and the stage position held.
    truth_V : ndarray, optional
        Noise-free lock-in X per lit pixel (simulated scans), shape (n, n).
    """

    layout = SINGLE_PIXEL

    def __init__(self, path: str | Path, *, basis_spec: Mapping[str, Any], n_patterns: int,
                 fov_um: float, center_um: tuple[float, float], recipe_text: str,
                 dwell_s: float, instruments: Mapping[str, Mapping[str, Any]],
                 lab: Mapping[str, Any], truth_V: np.ndarray | None = None,
                 chart: Any = None, calibration: Mapping[str, Any] | None = None,
                 lab_start_s: float = 0.0) -> None:
        self.lab_start_s = float(lab_start_s)
        size = int(basis_spec["size"])
        sizes = {"points_total": int(n_patterns), "size": size}
        attrs, data = chart_data(chart)
        attrs[BASIS] = {**basis_spec, "n_patterns": int(n_patterns)}
        attrs[SCAN] = {"dwell_s": dwell_s, "points_total": int(n_patterns), "fov_um": fov_um,
                       "center_x_um": center_um[0], "center_y_um": center_um[1],
                       "lab_start_s": self.lab_start_s}
        if calibration is not None:
            attrs[CALIBRATION] = calibration
        pixels = (np.arange(size) - (size - 1) / 2) * (fov_um / size)
        data.update({f"{DATA}/pattern": np.arange(n_patterns), f"{DATA}/x_um": center_um[0]
                     + pixels, f"{DATA}/y_um": center_um[1] + pixels, TRUTH: truth_V})

        adaptive = basis_spec.get("ordering") == "adaptive"

        def build(f: h5py.File) -> None:
            write_header(f, "single_pixel", recipe_text, instruments, lab)
            build_layout(f, SINGLE_PIXEL, sizes, attrs, data)
            if adaptive:  # chosen round by round: -1 until then
                f.create_dataset(PATTERN_INDEX, data=np.full(int(n_patterns) // 2, -1, np.int64))

        super().__init__(path, build=build)
        self._open_outputs()

    @classmethod
    def reopen(cls, path: str | Path) -> SinglePixelWriter:
        """Continue a stopped single-pixel scan in its own file (see FileWriter).

        Raises
        ------
        ScanFileError
            The file is not a single-pixel scan the writer can continue (nothing written).
        """
        return cls._reopened(path, lambda f: {"points_total": f[POINTS].shape[0]})

    def write_pattern_index(self, start: int, index: np.ndarray) -> None:
        """Record the coefficients an adaptive scan chose for pairs ``start``.. and flush
        (before their patterns are shown)."""
        index = np.asarray(index, dtype=np.int64)
        self.file[PATTERN_INDEX][int(start):int(start) + index.size] = index
        self.file.flush()

    def resume_state(self) -> dict[str, Any]:
        """What an adaptive plan needs to continue: the coefficients chosen so far
        (``-1`` after) and the readings; empty for a fixed basis."""
        ds = self.file.get(PATTERN_INDEX)
        if ds is None:
            return {}
        return {"pattern_index": np.asarray(ds[...], np.int64),
                "raw_V": self.readings_so_far()}

    def readings_so_far(self) -> np.ndarray:
        """Bucket readings as written (NaN where not measured)."""
        return self.signal_so_far()

    def write_reading(self, index: int, x_um: float, y_um: float, reading: LockInReading,
                      t_lab_s: float, t_wall_s: float) -> None:
        """Write the bucket reading of pattern ``index`` and flush."""
        self.write_record(index, (index, x_um, y_um, reading.x_V, reading.y_V,
                                  int(reading.status), t_lab_s, t_wall_s, 1), (index,),
                          reading.x_V)
