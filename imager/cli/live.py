"""Live view: acquisition runs in a worker thread; the main thread draws.

Drawing never happens inside the acquisition loop. With a display, a
matplotlib window is updated about twice a second; headless (no display),
a PNG next to the scan file is rewritten every few seconds.
"""

from __future__ import annotations

import os
import sys
import threading
import time
from pathlib import Path

import numpy as np

from imager.engine import StopRequest, run_raster
from imager.engine.stop import ctrl_c_stops

PNG_REFRESH_S = 3.0
WINDOW_REFRESH_S = 0.5


def has_display() -> bool:
    """True when an interactive matplotlib window can be shown."""
    if sys.platform in ("win32", "darwin"):
        return True
    return bool(os.environ.get("DISPLAY") or os.environ.get("WAYLAND_DISPLAY"))


def live_png_path(scan_path: Path) -> Path:
    return scan_path.with_name(scan_path.stem + ".live.png")


def run_with_live_view(lab, recipe, path: Path, *, progress: bool = True,
                       refresh_s: float | None = None, window: bool | None = None,
                       calibration: dict | None = None):
    """Run :func:`imager.engine.run_raster` with a live view; returns its ScanResult."""
    grid = recipe.grid
    image = np.full(grid.shape, np.nan)
    stop = StopRequest()
    outcome: dict = {}

    def worker() -> None:
        try:
            outcome["result"] = run_raster(lab, recipe, path, progress=progress, stop=stop,
                                           handle_ctrl_c=False, live_image=image,
                                           calibration=calibration)
        except BaseException as exc:  # noqa: BLE001 - re-raised in the main thread
            outcome["error"] = exc

    window = has_display() if window is None else window
    draw = _WindowView(grid) if window else _PngView(grid, live_png_path(Path(path)))
    refresh_s = refresh_s or (WINDOW_REFRESH_S if window else PNG_REFRESH_S)
    thread = threading.Thread(target=worker, name="acquisition", daemon=True)
    with ctrl_c_stops(stop):
        thread.start()
        if not window:
            print(f"live view: {draw.path} (refreshed every {refresh_s:g} s)", file=sys.stderr)
        last = 0.0
        while thread.is_alive():
            thread.join(timeout=0.1)
            if time.monotonic() - last >= refresh_s:
                draw.update(image.copy())
                last = time.monotonic()
        draw.update(image.copy())
    if "error" in outcome:
        raise outcome["error"]
    return outcome["result"]


class _PngView:
    def __init__(self, grid, path: Path) -> None:
        self.grid, self.path = grid, path

    def update(self, image: np.ndarray) -> None:
        from reconstruction import save_png

        if np.isfinite(image).any():
            tmp = self.path.with_name(self.path.stem + ".tmp.png")
            save_png(tmp, image, self.grid.x_um, self.grid.y_um, title="live")
            os.replace(tmp, self.path)


class _WindowView:  # pragma: no cover - needs a display
    def __init__(self, grid) -> None:
        import matplotlib.pyplot as plt

        self.plt = plt
        plt.ion()
        self.fig, ax = plt.subplots()
        extent = (grid.x_um[0], grid.x_um[-1], grid.y_um[-1], grid.y_um[0])
        self.im = ax.imshow(np.full(grid.shape, np.nan), extent=extent, cmap="inferno")
        ax.set_xlabel("x (µm)")
        ax.set_ylabel("y (µm)")
        self.fig.colorbar(self.im, ax=ax, label="lock-in X (V)")

    def update(self, image: np.ndarray) -> None:
        if np.isfinite(image).any():
            self.im.set_data(image)
            self.im.set_clim(np.nanmin(image), np.nanmax(image))
        self.plt.pause(0.01)
