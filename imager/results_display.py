"""Notebook display of what the engine returns: one-line reprs and ``.plot()``.

`ScanResult` (raster) and `SinglePixelResult` inherit these mixins, so in Jupyter
``result`` shows ``<ScanResult kind='raster', shape=64x64, status='success', ...>``
instead of every array, and ``result.plot()`` draws the image with a colour bar in
its units and a scale bar (:func:`reconstruction.display.plot_image`). The mechanism
(and why it works under ``@dataclass``) is in :mod:`reconstruction.display`.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from reconstruction.display import VOLTS, ResultDisplay, short_path

__all__ = ["CalibrationResultDisplay", "ScanResultDisplay", "SinglePixelResultDisplay"]


def _common(self: Any, kind: str, shape: str, done: str) -> list[tuple[str, str]]:
    items = [("kind", repr(kind)), ("shape", shape), ("status", repr(self.exit_status)), done,
             ("lab_time", f"{self.lab_time_s / 60:.1f} min"),
             ("file", repr(short_path(self.path)))]
    if self.error_message:
        message = self.error_message
        items.append(("error", repr(message if len(message) <= 60 else message[:57] + "...")))
    return items


class ScanResultDisplay(ResultDisplay):
    """For `imager.engine.ScanResult` (a raster scan just run)."""

    def _display_items(self) -> list[tuple[str, str]]:
        ny, nx = self.image_V.shape
        items = _common(self, "raster", f"{ny}x{nx}",
                        ("points", f"{self.points_done}/{self.image_V.size}"))
        if self.truth_V is not None and self.points_done > 1:
            from reconstruction.metrics import correlation

            try:
                items.append(("corr_vs_truth", f"{correlation(self.image_V, self.truth_V):.4f}"))
            except ValueError:  # too few finite pixels to score
                pass
        return items

    def _plot_data(self, **options: Any):
        ny, nx = self.image_V.shape
        return (self.image_V, self.x_um, self.y_um, VOLTS,
                f"raster {nx} x {ny}, {Path(self.path).name} ({self.exit_status})")


class SinglePixelResultDisplay(ResultDisplay):
    """For `imager.engine.SinglePixelResult` (a single-pixel scan just run)."""

    def _display_items(self) -> list[tuple[str, str]]:
        size = getattr(self.basis, "size", "?")
        done = int(np.isfinite(self.raw_V).sum())
        return _common(self, "single_pixel", f"{size}x{size}",
                       ("patterns", f"{done}/{np.size(self.raw_V)}"))

    def _plot_data(self, method: str = "tv", ratio: float | None = None, **options: Any):
        """Reconstruct from the file (``method``, ``ratio``) and draw that image."""
        from reconstruction.spifile import load_single_pixel

        return load_single_pixel(self.path)._plot_data(method=method, ratio=ratio)


class CalibrationResultDisplay(ResultDisplay):
    """For `imager.calibration.CalibrationResult`: responsivity and detection limit."""

    def _display_items(self) -> list[tuple[str, str]]:
        r = self.responsivity
        return [("kind", "'calibration'"), ("status", repr(self.exit_status)),
                ("responsivity", f"{r.slope_V_per_W_per_um2:.4g} V per W/um^2"),
                ("detection_limit", f"{r.nei_W_per_um2 * 1e9:.3g} nW/um^2"),
                ("pump", f"{self.pump_mW:g} mW"), ("wavelength", f"{self.wavelength_um:g} um"),
                ("file", repr(short_path(self.path)))]

    def _plot_data(self, **options: Any):
        raise TypeError("a calibration has no image to plot; its fits are attributes "
                        "(responsivity, pump_sweep, spectral, boltzmann, ...)")
