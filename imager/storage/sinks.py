"""The scan-file sink: the engine's run, written to one HDF5 file as it happens.

:class:`ScanFileSink` creates the file when the run opens (atomically, never
over an existing one), writes each reading's record and signal value and
flushes it before the next begins, logs events and setting changes, and
records how the run ended. The kind's layout (:mod:`reconstruction.schema`)
decides the tables; the record of a reading is the plan's ``head`` fields
followed by the measured ones, so a new kind of scan needs a layout, not a
new writer.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

import numpy as np

from imager.plans.adaptive_spi import ADAPTIVE_ROUND
from imager.plans.blocks import STREAM_BLOCK
from imager.plans.resume import ResumeFrom
from imager.plans.spectral import SPECTRAL_BLANK, SPECTRAL_POWER
from imager.storage.base import FileWriter
from imager.storage.single_pixel import SinglePixelWriter
from imager.storage.spectral import SpectralSinglePixelWriter, SpectralWriter
from imager.storage.writer import ScanWriter
from reconstruction.schema import LOGS


def _raster(path: Path, run: Any, calibration: Mapping | None) -> FileWriter:
    d = run.describe
    return ScanWriter(path, d["grid"], recipe_text=run.recipe_text, dwell_s=d["dwell_s"],
                      instruments=run.instruments, lab=run.lab, truth_V=run.truth_V,
                      chart=run.chart, calibration=calibration, lab_start_s=run.lab_start_s,
                      x_edges_um=d.get("x_edges_um"), scan_attrs=d.get("scan_attrs"))


def _single_pixel(path: Path, run: Any, calibration: Mapping | None) -> FileWriter:
    d = run.describe
    return SinglePixelWriter(path, basis_spec=d["basis_spec"], n_patterns=d["n_patterns"],
                             fov_um=d["fov_um"], center_um=d["center_um"],
                             recipe_text=run.recipe_text, dwell_s=d["dwell_s"],
                             instruments=run.instruments, lab=run.lab, truth_V=run.truth_V,
                             chart=run.chart, calibration=calibration,
                             lab_start_s=run.lab_start_s)


def _spectral(path: Path, run: Any, calibration: Mapping | None) -> FileWriter:
    d = run.describe
    return SpectralWriter(path, d["grid"], d["wavelengths_um"], d["order"],
                          recipe_text=run.recipe_text, dwell_s=d["dwell_s"],
                          instruments=run.instruments, lab=run.lab, truth=run.truth_V,
                          chart=run.chart, calibration=calibration,
                          lab_start_s=run.lab_start_s, scan_attrs=d.get("scan_attrs"),
                          x_edges_um=d.get("x_edges_um"))


def _spectral_single_pixel(path: Path, run: Any, calibration: Mapping | None) -> FileWriter:
    d = run.describe
    return SpectralSinglePixelWriter(
        path, basis_spec=d["basis_spec"], n_patterns=d["n_patterns"],
        wavelengths_um=d["wavelengths_um"], fov_um=d["fov_um"], center_um=d["center_um"],
        order=d.get("order", "image"),
        recipe_text=run.recipe_text, dwell_s=d["dwell_s"], instruments=run.instruments,
        lab=run.lab, truth=run.truth_V, chart=run.chart, calibration=calibration,
        lab_start_s=run.lab_start_s)


WRITERS: dict[str, tuple[type[FileWriter], Callable[..., FileWriter]]] = {
    "raster": (ScanWriter, _raster),
    "single_pixel": (SinglePixelWriter, _single_pixel),
    "spectral": (SpectralWriter, _spectral),
    "spectral_single_pixel": (SpectralSinglePixelWriter, _spectral_single_pixel),
}
"""Scan kind -> (writer class, whose ``reopen`` continues a file; ``new(path, run,
calibration)`` that creates one from the run's :class:`~imager.engine.context.RunStart`)."""


class ScanFileSink:
    """Write a run to the scan file ``path``.

    Parameters
    ----------
    path : path
        The new scan file (created when the run opens; never overwritten).
    calibration : mapping, optional
        Responsivity attributes stored with the scan (``/entry/calibration``).
    """

    def __init__(self, path: str | Path, calibration: Mapping[str, Any] | None = None) -> None:
        self.path = Path(path)
        self.calibration = calibration
        self.writer: FileWriter | None = None

    @classmethod
    def reopen(cls, path: str | Path, kind: str) -> ScanFileSink:
        """A sink continuing the stopped ``kind`` scan in ``path`` (see :meth:`resume_from`).

        Raises
        ------
        ScanFileError
            The file is not one the writer can continue (nothing written).
        """
        sink = cls(path)
        sink.writer = WRITERS[kind][0].reopen(path)
        return sink

    def resume_from(self, block_points: int | None = None) -> ResumeFrom:
        """Where the reopened file left off: what the plan needs to continue it.
        ``block_points``: the scan is written in blocks of that many points (fly lines,
        runs of patterns); it resumes at the block of its first missing point."""
        w = self.writer
        blocks = w.block_resume_state(block_points) if block_points else []
        state = w.resume_state() if hasattr(w, "resume_state") else {}
        return ResumeFrom(w.first_missing, w.points_written, w.lab_start_s,
                          w.settings_to_restore, w.recent_done, str(self.path), blocks, state)

    def open(self, run: Any) -> None:
        if self.writer is None:
            self.writer = WRITERS[run.kind][1](self.path, run, self.calibration)

    def point(self, event: Any) -> None:
        if event.at is None:
            return
        r, ref = event.reading, event.reference
        if ref is not None:  # on disk with the point's record (one flush)
            self.writer.append_rows("reference", np.array(
                [(event.index, ref.x_V, ref.y_V, int(ref.status), event.t_lab_s, 0)],
                LOGS["reference"].dtype), flush=False)
        self.writer.write_record(event.index, event.head + (
            event.x_um, event.y_um, r.x_V, r.y_V, int(r.status), event.t_lab_s,
            event.t_wall_s, 1), event.at, r.x_V)

    def data(self, name: str, payload: Any) -> None:
        if name == STREAM_BLOCK:
            self.writer.write_block(payload)
        elif name == ADAPTIVE_ROUND:
            self.writer.write_pattern_index(payload["start"], payload["index"])
        elif name == SPECTRAL_POWER:
            self.writer.add_power(payload)
        elif name == SPECTRAL_BLANK:
            self.writer.add_blank(payload)

    def log_event(self, kind: str, message: str, index: int = -1,
                  t_lab_s: float = math.nan) -> None:
        if self.writer is not None:
            self.writer.log_event(kind, message, index, t_lab_s)

    def record_setting(self, device: str, attribute: str, value: Any, index: int = -1,
                       t_lab_s: float = math.nan) -> None:
        if self.writer is not None:
            self.writer.record_setting(device, attribute, value, index, t_lab_s)

    def close(self, status: str, error: str) -> None:
        if self.writer is not None:
            self.writer.close(status, error)
