"""Sinks for people: the progress bar and a live array (what a live view draws from).

The file sink is :class:`imager.storage.sinks.ScanFileSink`. A display never
stops a scan: an error in a display sink switches that display off.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from imager.engine.context import Sink
from imager.engine.progress import LabProgress
from imager.plans.blocks import STREAM_BLOCK


class ProgressSink(Sink):
    """A :class:`LabProgress` bar for the run: points, lab-time ETA, pauses and faults."""

    def __init__(self, enabled: bool = True) -> None:
        self.enabled = enabled
        self.bar: LabProgress | None = None

    def open(self, run: Any) -> None:
        self.bar = LabProgress(run.points_total, done=run.points_done, enabled=self.enabled,
                               desc=run.name)

    def point(self, event: Any) -> None:
        self.bar.update(event.points_done, event.t_lab_s)

    def progress(self, points_done: int, t_lab_s: float) -> None:
        self.bar.update(points_done, t_lab_s)

    def log_event(self, kind: str, message: str, index: int = -1,
                  t_lab_s: float = math.nan) -> None:
        if self.bar is not None:
            try:
                self.bar.on_event(kind, message, index, t_lab_s)
            except Exception:  # noqa: BLE001 - a display never stops a scan
                self.bar = None

    def close(self, status: str, error: str) -> None:
        if self.bar is not None:
            self.bar.close()


class ArraySink(Sink):
    """Fill ``array`` as readings arrive: each reading's X goes to ``array[event.at]``
    (the raster image, the single-pixel readings), for a live view drawn elsewhere."""

    def __init__(self, array: np.ndarray) -> None:
        self.array = array

    def point(self, event: Any) -> None:
        if event.at is not None:
            self.array[event.at] = event.reading.x_V

    def data(self, name: str, payload: Any) -> None:
        if name == STREAM_BLOCK:  # a fly-scan line, a run of patterns
            for point in payload.points:
                self.array[point.at] = point.X_V
