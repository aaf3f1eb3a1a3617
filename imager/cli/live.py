"""Live view: acquisition runs in a worker thread; the main thread draws.

Drawing never happens inside the acquisition loop. With a display, a
matplotlib window is updated about twice a second; headless (no display),
a PNG next to the scan file (``NAME.live.png``) is rewritten every few seconds and
removed when the scan ends (the scan's image is ``NAME.png``; kept after an error).
That PNG is a new file: an existing one of the same name is left alone (the
view is switched off with a line on stderr) unless ``overwrite`` is given.
"""

from __future__ import annotations

import os
import sys
import threading
import time
from pathlib import Path

import numpy as np

from imager.engine import StopRequest
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
                       calibration: dict | None = None, overwrite: bool = False):
    """Run a raster or single-pixel scan with a live view; returns the engine's result.

    Raster scans show the image filling in; single-pixel scans a progressive
    preview (the minimum-norm image of the pairs measured so far: low orders
    first, so it sharpens as the scan goes on).
    """
    from imager.engine.kinds import kind_of

    stop = StopRequest()
    view = kind_of(recipe).live_view(recipe)
    axes, snapshot = (view.x_um, view.y_um), view.snapshot

    def run():
        return kind_of(recipe).run(lab, recipe, path, live=view.signal, progress=progress,
                                      stop=stop, handle_ctrl_c=False, calibration=calibration)

    outcome: dict = {}

    def worker() -> None:
        try:
            outcome["result"] = run()
        except BaseException as exc:  # noqa: BLE001 - re-raised in the main thread
            outcome["error"] = exc

    window = has_display() if window is None else window
    draw = (_WindowView(*axes) if window
            else _PngView(*axes, live_png_path(Path(path)), overwrite=overwrite))
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
                draw.update(snapshot())
                last = time.monotonic()
        draw.update(snapshot())
    if "error" in outcome:
        if not window and draw.written:
            print(f"live view: {draw.path} kept (last image before the error)", file=sys.stderr)
        raise outcome["error"]
    if not window and draw.written:  # the scan's own image (NAME.png) replaces it
        draw.path.unlink(missing_ok=True)
        print(f"live view: {draw.path} removed (scan ended)", file=sys.stderr)
    return outcome["result"]


class _PngView:
    """Headless live view: a PNG rewritten in place (atomically: temporary file, then
    link or replace). The first write never replaces a file it did not make."""

    def __init__(self, x_um, y_um, path: Path, overwrite: bool = False) -> None:
        self.x_um, self.y_um, self.path = x_um, y_um, path
        self.overwrite = overwrite
        self.written = self.off = False

    def update(self, image: np.ndarray) -> None:
        from imager.cli.common import new_file
        from reconstruction import save_png

        if self.off or not np.isfinite(image).any():
            return
        try:
            with new_file(self.path, overwrite=self.overwrite or self.written) as tmp:
                save_png(tmp, image, self.x_um, self.y_um, title="live")
        except FileExistsError:
            self.off = True
            print(f"live view off: {self.path} exists and is not overwritten "
                  "(--overwrite replaces it)", file=sys.stderr)
            return
        self.written = True


class _WindowView:  # pragma: no cover - needs a display
    def __init__(self, x_um, y_um) -> None:
        import matplotlib.pyplot as plt

        self.plt = plt
        plt.ion()
        self.fig, ax = plt.subplots()
        extent = (x_um[0], x_um[-1], y_um[0], y_um[-1])
        self.im = ax.imshow(np.full((len(y_um), len(x_um)), np.nan), extent=extent,
                            origin="lower", cmap="inferno")
        ax.set_xlabel("x (µm)")
        ax.set_ylabel("y (µm)")
        self.fig.colorbar(self.im, ax=ax, label="lock-in X (V)")

    def update(self, image: np.ndarray) -> None:
        if np.isfinite(image).any():
            self.im.set_data(image)
            self.im.set_clim(np.nanmin(image), np.nanmax(image))
        self.plt.pause(0.01)
