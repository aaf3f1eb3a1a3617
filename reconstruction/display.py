"""Notebook display of scans and images: one-line reprs and ``.plot()``.

A scan or image object holds arrays of thousands of values; the repr a dataclass writes
shows every one of them (13,000 characters for a 64 x 64 scan). The mixins here give each
result class a one-line repr (kind, shape, status, file, key metrics) and a ``plot()``
that draws the image with a colour bar in its units and a scale bar in micrometres.

Classes opt in by inheriting a mixin (``class RasterImage(RasterImageDisplay):``). The
mixin also works under ``@dataclass``: `ResultDisplay.__init_subclass__` puts its
``__repr__`` into the class body before the decorator runs, and a dataclass keeps a
``__repr__`` the class already has.

matplotlib is imported inside :func:`plot_image` only (it takes ~0.3 s to import).
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import numpy as np

__all__ = [
    "RasterImageDisplay",
    "RasterScanDisplay",
    "ResultDisplay",
    "SinglePixelImageDisplay",
    "SinglePixelScanDisplay",
    "plot_image",
    "short_path",
]

VOLTS = "lock-in X (V)"
NW_PER_UM2 = "MIR intensity (nW/µm²)"
_MAX_PATH = 90  # characters of a file name shown in a repr


def short_path(path: str | os.PathLike[str] | None) -> str:
    """A file name for a repr: the whole path, or ``...`` and its end when long."""
    if path is None:
        return "None"
    text = os.fspath(path)
    return text if len(text) <= _MAX_PATH else "..." + text[-(_MAX_PATH - 3):]


def _shape(array: Any) -> str:
    shape = getattr(array, "shape", None)
    return "x".join(str(n) for n in shape) if shape is not None else "?"


def _metrics(metrics: dict[str, float] | None) -> list[tuple[str, str]]:
    if not metrics:
        return []
    items = []
    if "psnr_dB" in metrics:
        items.append(("psnr", f"{metrics['psnr_dB']:.2f} dB"))
    if "ssim" in metrics:
        items.append(("ssim", f"{metrics['ssim']:.4f}"))
    if "correlation" in metrics and not items:
        items.append(("correlation", f"{metrics['correlation']:.4f}"))
    return items


def _repr(self: ResultDisplay) -> str:
    items = ", ".join(f"{key}={value}" for key, value in self._display_items())
    return f"<{type(self).__name__} {items}>"


class ResultDisplay:
    """Mixin: a one-line ``repr`` and a ``plot()`` of the image.

    Subclasses say what to show by `_display_items` (``[(name, text), ...]``) and
    what to draw by `_plot_data`.
    """

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        if "__repr__" not in cls.__dict__:  # (so @dataclass keeps it, see module notes)
            cls.__repr__ = _repr  # type: ignore[method-assign]

    __repr__ = _repr

    def _display_items(self) -> list[tuple[str, str]]:  # pragma: no cover - abstract
        raise NotImplementedError

    def _repr_pretty_(self, printer: Any, cycle: bool) -> None:
        """IPython's pretty printer: the same one line."""
        printer.text(repr(self))

    def _plot_data(self, **options: Any) -> tuple[np.ndarray, np.ndarray, np.ndarray, str, str]:
        """``(image, x_um, y_um, units_label, title)`` to draw."""
        raise NotImplementedError  # pragma: no cover - abstract

    def plot(self, ax: Any = None, *, title: str | None = None, cmap: str = "inferno",
             scale_bar: bool = True, **options: Any) -> Any:
        """Draw the image with a colour bar (units) and a scale bar (micrometres).

        Parameters
        ----------
        ax : matplotlib Axes, optional
            Where to draw; default a new figure (``matplotlib.pyplot``, so a notebook
            shows it).
        title : str, optional
            Default: what the image is (kind, file or method).
        cmap : str
            Colormap name.
        scale_bar : bool
            Draw the scale bar.
        **options
            Single-pixel scans: ``method`` (default ``"tv"``) and ``ratio`` of the
            reconstruction drawn.

        Returns
        -------
        matplotlib.axes.Axes
            The image axes (``ax.figure`` is the figure; the colour bar is
            ``ax.images[0].colorbar``).
        """
        image, x_um, y_um, units_label, default_title = self._plot_data(**options)
        return plot_image(image, x_um, y_um, ax=ax, units_label=units_label,
                          title=default_title if title is None else title, cmap=cmap,
                          scale_bar=scale_bar)


def plot_image(image: np.ndarray, x_um: np.ndarray, y_um: np.ndarray, *, ax: Any = None,
               units_label: str = VOLTS, title: str | None = None, cmap: str = "inferno",
               scale_bar: bool = True) -> Any:
    """Draw an image on stage axes, as `reconstruction.save_png` does, and return the Axes.

    Parameters
    ----------
    image : ndarray, shape (ny, nx)
        NaN pixels (unmeasured) are grey.
    x_um, y_um : ndarray, shape (nx,) and (ny,)
        Pixel centres, micrometres; row 0 at the bottom.
    ax : matplotlib Axes, optional
        Default: a new ``matplotlib.pyplot`` figure.
    units_label : str
        Colour-bar label; a label ending in ``(V)`` is shown in mV or µV when that
        reads better.
    title : str, optional
    cmap : str
    scale_bar : bool

    Returns
    -------
    matplotlib.axes.Axes
    """
    import matplotlib
    from mpl_toolkits.axes_grid1 import make_axes_locatable

    from .export import (  # the drawing of save_png, so a plot and a PNG look alike
        NAN_COLOR,
        _add_scale_bar,
        _check,
        _color_range,
        _edges,
        _volts_prefix,
        nice_scale_bar_um,
    )

    img = _check(image, x_um, y_um)
    img, units_label, _ = _volts_prefix(img, units_label)
    x0, x1 = _edges(x_um, "x_um")
    y0, y1 = _edges(y_um, "y_um")
    img, vmin, vmax, units_label = _color_range(img, None, None, units_label)
    if ax is None:
        import matplotlib.pyplot as plt

        _, ax = plt.subplots(figsize=(6.0, 5.0))
    colormap = matplotlib.colormaps[cmap].with_extremes(bad=NAN_COLOR)
    shown = ax.imshow(np.ma.masked_invalid(img), cmap=colormap, vmin=vmin, vmax=vmax,
                      origin="lower", extent=(x0, x1, y0, y1), interpolation="nearest")
    ax.set_xlabel("x (µm)")
    ax.set_ylabel("y (µm)")
    title_text = ax.set_title(title, loc="left", fontsize=9) if title else None
    cax = make_axes_locatable(ax).append_axes("right", size="4%", pad=0.1)
    ax.figure.colorbar(shown, cax=cax).set_label(units_label)
    width_um, height_um = abs(x1 - x0), abs(y1 - y0)
    if scale_bar and width_um > 0:
        _add_scale_bar(ax.figure, ax, nice_scale_bar_um(width_um), height_um, title_text)
    return ax


def _calibrated(image: np.ndarray, calibration: dict[str, Any] | None) -> tuple[np.ndarray, str]:
    """Image in nW/µm² with a stored calibration, else volts."""
    if not calibration:
        return image, VOLTS
    from .calibration import responsivity_from_attrs

    fit = responsivity_from_attrs(calibration)
    return fit.to_W_per_um2(image) * 1e9, NW_PER_UM2


class RasterScanDisplay(ResultDisplay):
    """For `reconstruction.RasterScan` (a scan file as read)."""

    def _display_items(self) -> list[tuple[str, str]]:
        items = [("kind", repr(self.kind)), ("shape", _shape(self.image_V)),
                 ("status", repr(self.exit_status)),
                 ("points", f"{self.points_done}/{self.points_total}"),
                 ("file", repr(short_path(self.path)))]
        if self.calibration:
            items.append(("calibrated", "True"))
        return items

    def _plot_data(self, **options: Any):
        image, label = _calibrated(self.image_V, self.calibration)
        return (image, self.x_um, self.y_um, label,
                f"{self.kind} scan {Path(self.path).name} ({self.exit_status})")


class RasterImageDisplay(ResultDisplay):
    """For `reconstruction.RasterImage` (a reconstructed raster)."""

    def _display_items(self) -> list[tuple[str, str]]:
        measured = np.asarray(self.measured)
        items = [("kind", "'raster image'"), ("shape", _shape(self.image)),
                 ("measured", f"{int(measured.sum())}/{measured.size}")]
        if self.steps:
            items.append(("corrections", repr("; ".join(self.steps))))
        return items + _metrics(self.metrics)

    def _plot_data(self, **options: Any):
        steps = "; ".join(self.steps) if self.steps else "no corrections"
        return self.image, self.x_um, self.y_um, VOLTS, f"raster image ({steps})"


class SinglePixelScanDisplay(ResultDisplay):
    """For `reconstruction.spifile.SinglePixelScan` (a single-pixel file as read)."""

    def _display_items(self) -> list[tuple[str, str]]:
        spec = self.basis_spec
        size = spec.get("size", "?")
        return [("kind", repr(self.kind)), ("shape", f"{size}x{size}"),
                ("basis", repr(f"{spec.get('kind')} {spec.get('ordering', '')} "
                                f"{spec.get('ratio', 0):g}".replace("  ", " "))),
                ("status", repr(self.exit_status)),
                ("patterns", f"{self.points_done}/{self.points_total}"),
                ("file", repr(short_path(self.path)))]

    def _plot_data(self, method: str = "tv", ratio: float | None = None, **options: Any):
        from .spifile import reconstruct_single_pixel

        image = reconstruct_single_pixel(self, method=method, ratio=ratio)
        _, x_um, y_um, label, title = image._plot_data()
        return (image.image, x_um, y_um, label, f"{Path(self.path).name}: {title}")


class SinglePixelImageDisplay(ResultDisplay):
    """For `reconstruction.spifile.SinglePixelImage` (a reconstructed single-pixel image)."""

    def _display_items(self) -> list[tuple[str, str]]:
        return [("kind", "'single-pixel image'"), ("shape", _shape(self.image)),
                ("method", repr(self.method)), ("measurements", str(self.measurements)),
                ("ratio", f"{self.ratio:.3g}")] + _metrics(self.metrics)

    def _plot_data(self, **options: Any):
        return (self.image, self.x_um, self.y_um, "lock-in X per lit pixel (V)",
                f"single-pixel, {self.method}, {self.ratio:.0%} of the basis")
