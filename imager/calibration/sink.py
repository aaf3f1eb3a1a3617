"""The calibration-file sink: a calibration run's documents, written to one HDF5 file.

The file is created when the run opens (atomically, never over an existing
one, :class:`imager.storage.base.FileWriter`) with the header and the
``/entry/calibration`` layout of :data:`reconstruction.schema.CALIBRATION_RUN`.
The plan's documents (:mod:`imager.plans.calibration`) fill it: one group per
sweep, a row per level flushed as soon as it is measured, fits as attributes
next to their data. The run's end status closes it.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import h5py

from imager.engine.context import Sink
from imager.engine.sinks import ProgressSink
from imager.plans import calibration as doc
from imager.storage.base import FileWriter
from imager.storage.header import build_layout, create_from, write_header
from reconstruction.schema import CALIBRATION, CALIBRATION_RUN


def _dataset(group: h5py.Group, name: str, sizes: dict[str, int] | None, data: Any = None,
             **names: str) -> h5py.Dataset:
    """Create the dataset the schema declares at ``/entry/calibration/<name>``."""
    return create_from(group, CALIBRATION_RUN[f"{CALIBRATION}/{name}"], sizes, data, **names)


class CalibrationFileSink(Sink):
    """Write a calibration run to the new file ``path`` (never overwritten).

    Parameters
    ----------
    path : path
        The calibration file, created when the run opens.
    """

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        self.writer: FileWriter | None = None
        self.group: h5py.Group | None = None

    def open(self, run: Any) -> None:
        if run.kind != "calibration":
            raise ValueError(f"CalibrationFileSink writes calibration runs, not {run.kind!r}")
        spot = {key: run.describe[key] for key in ("x_um", "y_um", "beam_fwhm_um")}

        def build(f: h5py.File) -> None:  # the header, written before the file appears
            write_header(f, "calibration", run.recipe_text, run.instruments, run.lab)
            build_layout(f, CALIBRATION_RUN, {}, {CALIBRATION: spot}, {})

        self.writer = FileWriter(self.path, build=build)
        self.group = self.writer.file[CALIBRATION]

    def data(self, name: str, payload: Any) -> None:
        write = _DOCUMENTS.get(name)
        if write is not None and self.writer is not None:
            write(self, payload)

    def close(self, status: str, error: str) -> None:
        if self.writer is not None:
            self.writer.close(status, error)

    def _flush(self) -> None:
        self.writer.file.flush()

    # ------------------------------------------------------- MIR-power sweeps
    def _sweep(self, p: dict[str, Any]) -> None:
        name = p["sweep"]
        group = self.group.create_group(name)
        sizes = {"levels": len(p["mir_power_mW"]), "repeats": p["repeats"]}
        _dataset(group, "{sweep}/mir_power_mW", sizes, p["mir_power_mW"], sweep=name)
        _dataset(group, "{sweep}/intensity_W_per_um2", sizes, p["intensity_W_per_um2"],
                 sweep=name)
        _dataset(group, "{sweep}/X_V", sizes, sweep=name)

    def _sweep_level(self, p: dict[str, Any]) -> None:
        self.group[p["sweep"]]["X_V"][p["level"]] = p["X_V"]
        self._flush()

    def _sweep_fit(self, p: dict[str, Any]) -> None:
        self.group[p["sweep"]].attrs.update(p["attrs"])
        self._flush()

    def _sweep_summary(self, p: dict[str, Any]) -> None:
        sweep = self.group[p["sweep"]]
        sweep.create_dataset(p["axis"], data=p["values"])
        sweep.create_dataset("slope_V_per_W_per_um2", data=p["slope"])
        sweep.create_dataset("slope_err_V_per_W_per_um2", data=p["slope_err"])
        sweep.create_dataset("nei_W_per_um2", data=p["nei"])

    # ------------------------------------------------------ temperature sweep
    def _temperature(self, p: dict[str, Any]) -> None:
        group = self.group.create_group("temperature_sweep")
        temps = p["temperature_K"]
        sizes = {"temperatures": len(temps), "repeats": p["repeats"]}
        _dataset(group, "temperature_sweep/temperature_K", sizes, temps)
        for b in doc.BANDS:
            _dataset(group, "temperature_sweep/band_{band}_V", sizes, band=b)

    def _temperature_level(self, p: dict[str, Any]) -> None:
        group = self.group["temperature_sweep"]
        for b, row in p["bands"].items():
            group[f"band_{b}_V"][p["level"]] = row
        self._flush()

    def _temperature_fit(self, p: dict[str, Any]) -> None:
        group = self.group["temperature_sweep"]
        group.create_dataset("ratio_525_545", data=p["ratio_525_545"])
        group.attrs.update(p["attrs"])
        self._flush()

    # ------------------------------------------------------------ decay traces
    def _decay(self, p: dict[str, Any]) -> None:
        group = self.group.create_group("decay")
        _dataset(group, "decay/mir_power_mW", None, p["mir_power_mW"])

    def _decay_trace(self, p: dict[str, Any]) -> None:
        group, band, trace = self.group["decay"], p["band"], p["trace"]
        sizes = {"levels": p["levels"], "samples": len(trace)}
        if "t_s" not in group:
            _dataset(group, "decay/t_s", sizes, p["t_s"])
        if f"trace_{band}" not in group:
            _dataset(group, "decay/trace_{band}", sizes, band=band)
        group[f"trace_{band}"][p["level"]] = trace

    def _decay_level(self, p: dict[str, Any]) -> None:
        self._flush()

    def _decay_fit(self, p: dict[str, Any]) -> None:
        group = self.group["decay"]
        for b, fit in p["bands"].items():
            group.create_dataset(f"tau_{b}_s", data=fit["tau_s"])
            group.create_dataset(f"tau_err_{b}_s", data=fit["tau_err_s"])
            group.create_dataset(f"delta_k_{b}_per_s", data=fit["delta_k_per_s"])
            group.attrs.update(p["attrs"][b])
        self._flush()


_DOCUMENTS: dict[str, Callable[[CalibrationFileSink, Any], None]] = {
    doc.SWEEP: CalibrationFileSink._sweep,
    doc.SWEEP_LEVEL: CalibrationFileSink._sweep_level,
    doc.SWEEP_FIT: CalibrationFileSink._sweep_fit,
    doc.SWEEP_SUMMARY: CalibrationFileSink._sweep_summary,
    doc.TEMPERATURE: CalibrationFileSink._temperature,
    doc.TEMPERATURE_LEVEL: CalibrationFileSink._temperature_level,
    doc.TEMPERATURE_FIT: CalibrationFileSink._temperature_fit,
    doc.DECAY: CalibrationFileSink._decay,
    doc.DECAY_TRACE: CalibrationFileSink._decay_trace,
    doc.DECAY_LEVEL: CalibrationFileSink._decay_level,
    doc.DECAY_FIT: CalibrationFileSink._decay_fit,
}
"""Document name -> how the file records it (other documents are not the file's)."""


class CalibrationProgressSink(ProgressSink):
    """The progress bar of a calibration: counts the lock-in readings (points of the
    run) and the photometer and decay readings (``calibration.reading`` documents).

    Parameters
    ----------
    enabled : bool
        Show the bar (False: silent).
    clock : Clock
        The lab's clock, for the lab time of a photometer or decay reading.
    """

    def __init__(self, enabled: bool, clock: Any) -> None:
        super().__init__(enabled)
        self.clock = clock
        self.done = 0
        self.lab_start_s = 0.0

    def open(self, run: Any) -> None:
        super().open(run)
        self.done, self.lab_start_s = run.points_done, run.lab_start_s

    def point(self, event: Any) -> None:
        self.done += 1
        self.bar.update(self.done, event.t_lab_s)

    def data(self, name: str, payload: Any) -> None:
        if name == doc.READING and self.bar is not None:
            self.done += 1
            self.bar.update(self.done, self.clock.now_s() - self.lab_start_s)
