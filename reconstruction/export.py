"""Export raster images: annotated PNG figures and calibrated float32 TIFF files.

Figures are drawn on a private `matplotlib.figure.Figure` with the Agg canvas,
never through ``pyplot``, so no global figure state leaks and it is safe in
worker processes and threads.
"""

from __future__ import annotations

import math
import os
from pathlib import Path

import matplotlib
import numpy as np
import tifffile
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from mpl_toolkits.axes_grid1 import make_axes_locatable
from mpl_toolkits.axes_grid1.anchored_artists import AnchoredSizeBar

__all__ = ["format_length_um", "image_title", "nice_scale_bar_um", "save_png", "save_tiff"]

NAN_COLOR = "0.6"  # grey: unmeasured pixels
_TIFF_PITCH_UM = (1e-9, 1e9)  # pixel pitches a TIFF resolution tag holds (with margin)


def nice_scale_bar_um(width_um: float, fraction: float = 0.2) -> float:
    """A round scale-bar length close to a fraction of the image width.

    Parameters
    ----------
    width_um : float
        Width of the image, micrometres.
    fraction : float
        Target fraction of the width (default 20 %).

    Returns
    -------
    float
        The value of the form 1, 2 or 5 times a power of ten nearest (on a
        log scale) to ``fraction * width_um``, e.g. 100 for 400 um and 20 for
        100 um.

    Raises
    ------
    ValueError
        If `width_um` is not positive and finite.
    """
    width_um = abs(float(width_um))
    if not (math.isfinite(width_um) and width_um > 0):
        raise ValueError(f"width_um must be positive and finite, got {width_um}")
    target = fraction * width_um
    decade = math.floor(math.log10(target))
    candidates = [m * 10.0**e for e in (decade - 1, decade, decade + 1) for m in (1, 2, 5)]
    best = min(candidates, key=lambda c: abs(math.log(c / target)))
    return float(f"{best:.12g}")  # clean floating error, e.g. 0.30000000000000004


def format_length_um(length_um: float) -> str:
    """Label for a length: "100 µm", "0.5 µm", "2 mm"."""
    if length_um >= 1000:
        return f"{length_um / 1000:g} mm"
    return f"{length_um:g} µm"


def _number(settings: dict, device: str, key: str) -> float | None:
    value = settings.get(device, {}).get(key) if isinstance(settings, dict) else None
    if isinstance(value, bool) or not isinstance(value, int | float | np.number):
        return None
    return float(value) if math.isfinite(float(value)) else None


_SOLVERS = {"pinv": "pseudo-inverse", "tikhonov": "Tikhonov", "tv": "TV", "wavelet": "wavelet-l1",
            "cvxpy-tv": "TV (cvxpy)", "pnp-nlm": "TV + PnP non-local means"}


def image_title(file_name: str, scan, rec) -> str:
    """Title of a scan's image: what it is, how it was made and measured.

    Parameters
    ----------
    file_name : str
        The scan file's name.
    scan : RasterScan or SinglePixelScan
        Read for its exit status, instrument settings (MIR wavelength and
        power, pump power) and dwell per point.
    rec : RasterImage or SinglePixelImage
        The reconstruction shown: a raster's corrections (``steps``), or a
        single-pixel image's solver, ratio and number of measurements.

    Returns
    -------
    str
        Three lines: ``"<file> (<status>)"``; the method (``"raster 128x128
        snake, snake lag +0.082 px"`` or ``"TV, hadamard 64x64, ratio 0.1 (410
        meas.)"``); the measurement (``"MIR 7.4 µm, 50 mW · pump 0.5 mW · dwell
        0.3 s"``). Settings missing from the file are left out.
    """
    settings = getattr(scan, "settings", {}) or {}
    wavelength = _number(settings, "source", "wavelength_um")
    power = _number(settings, "source", "power_mW")
    pump = _number(settings, "pump", "power_mW")
    dwell = _number({"scan": getattr(scan, "scan_attrs", {}) or {}}, "scan", "dwell_s")
    ny, nx = np.shape(rec.image)
    if hasattr(rec, "method"):  # single-pixel
        spec = getattr(scan, "basis_spec", {}) or {}
        method = [_SOLVERS.get(rec.method, rec.method), f"{spec.get('kind', 'basis')} {nx}x{ny}",
                  f"ratio {rec.ratio:.3g} ({rec.measurements} meas.)"]
    else:
        method = [f"raster {nx}x{ny} {getattr(scan, 'order', '')}".rstrip(), *rec.steps]
    mir = ", ".join(p for p in (f"{wavelength:g} µm" if wavelength is not None else "",
                                f"{power:g} mW" if power is not None else "") if p)
    measured = [f"MIR {mir}" if mir else "", f"pump {pump:g} mW" if pump is not None else "",
                f"dwell {dwell:g} s" if dwell is not None else ""]
    lines = [f"{file_name} ({getattr(scan, 'exit_status', '?')})", ", ".join(method),
             " · ".join(p for p in measured if p)]
    return "\n".join(line for line in lines if line)


def _edges(axis_um: np.ndarray, name: str = "axis") -> tuple[float, float]:
    """Outer edges of the first and last pixel (centres given).

    Raises ValueError if the centres are not finite or the edges overflow."""
    axis_um = np.asarray(axis_um, dtype=float).ravel()
    with np.errstate(over="ignore", invalid="ignore"):
        if axis_um.size >= 2:
            half = (axis_um[-1] / 2 - axis_um[0] / 2) / (axis_um.size - 1)
        else:
            half = 0.5
        if half == 0:
            half = 0.5
        lo, hi = float(axis_um[0] - half), float(axis_um[-1] + half)
        span = hi - lo
    if not (np.isfinite(axis_um).all() and math.isfinite(span)):
        raise ValueError(f"{name}: pixel coordinates not finite or too large to draw "
                         f"({axis_um[0]:g} .. {axis_um[-1]:g})")
    return lo, hi


def _color_range(img: np.ndarray, vmin: float | None, vmax: float | None,
                 units_label: str) -> tuple[np.ndarray, float, float, str]:
    """Colour limits (default: finite min and max), with the image divided by a power of ten
    when its values are too large (or small) for matplotlib's colour bar (e.g. 1e308: the
    range would overflow); the label then says so ("x 1e+300")."""
    finite = img[np.isfinite(img)]
    lo = float(finite.min()) if finite.size else 0.0
    hi = float(finite.max()) if finite.size else 1.0
    lo = lo if vmin is None else float(vmin)
    hi = hi if vmax is None else float(vmax)
    peak = max(abs(lo), abs(hi)) if math.isfinite(lo) and math.isfinite(hi) else math.inf
    if math.isfinite(peak) and (peak > _LARGEST or 0 < peak < 1 / _LARGEST):
        exponent = min(max(math.floor(math.log10(peak)), -300), 308)  # 10**exponent: normal
        factor = 10.0**exponent
        with np.errstate(over="ignore", under="ignore"):
            img = img / factor
        lo, hi = lo / factor, hi / factor
        units_label = f"{units_label} × 1e{exponent:+d}"
    if not (math.isfinite(lo) and math.isfinite(hi)):
        raise ValueError(f"colour limits must be finite, got {lo:g} .. {hi:g}")
    if hi <= lo:
        lo, hi = lo - 0.5, hi + 0.5
    return img, lo, hi, units_label


_LARGEST = 1e100  # values beyond this (or below 1/_LARGEST) are drawn divided by a power of 10


def _check(image: np.ndarray, x_um: np.ndarray, y_um: np.ndarray) -> np.ndarray:
    img = np.asarray(image, dtype=float)
    if img.ndim != 2:
        raise ValueError(f"expected a 2D image, got shape {img.shape}")
    ny, nx = img.shape
    if np.size(x_um) != nx or np.size(y_um) != ny:
        raise ValueError(
            f"axes do not match the image: image {ny}x{nx}, "
            f"{np.size(y_um)} y and {np.size(x_um)} x values"
        )
    return img


def _volts_prefix(img: np.ndarray, units_label: str) -> tuple[np.ndarray, str, float]:
    """Show volts as mV or µV when that reads better (label ending in "(V)")."""
    if not units_label.endswith("(V)"):
        return img, units_label, 1.0
    finite = np.abs(img[np.isfinite(img)])
    peak = float(finite.max()) if finite.size else 0.0
    for prefix, scale in (("µ", 1e6), ("m", 1e3)):
        if 0 < peak < 1.0 / scale * 1e3:
            return img * scale, units_label[:-3] + f"({prefix}V)", scale
    return img, units_label, 1.0


def save_png(
    path: str | os.PathLike[str],
    image: np.ndarray,
    x_um: np.ndarray,
    y_um: np.ndarray,
    title: str | None = None,
    units_label: str = "lock-in X (V)",
    cmap: str = "inferno",
    *,
    vmin: float | None = None,
    vmax: float | None = None,
    dpi: int = 150,
    scale_bar: bool = True,
    metadata: dict[str, str] | None = None,
) -> Path:
    """Save an image as an annotated PNG figure.

    Parameters
    ----------
    path : str or path-like
        Output file.
    image : ndarray, shape (ny, nx)
        The image; NaN pixels (unmeasured) are drawn in grey.
    x_um, y_um : ndarray, shape (nx,) and (ny,)
        Pixel-centre coordinates, micrometres. Row 0 is drawn at the bottom
        (y increasing upwards), as on the stage axes.
    title : str, optional
        Figure title.
    units_label : str
        Colour-bar label.
    cmap : str
        Matplotlib colormap name.
    vmin, vmax : float, optional
        Colour limits; default: the finite min and max.
    dpi : int
        Resolution.
    scale_bar : bool
        Draw a scale bar (`nice_scale_bar_um`) above the image's top-right corner.
    metadata : dict, optional
        PNG text chunks (``{key: text}``, Latin-1), e.g. which scan the image shows.

    Returns
    -------
    Path
        The written file.

    Raises
    ------
    ValueError
        If the image is not 2-D, the axes do not match it, or the pixel
        coordinates are not finite or too large to draw (their span overflows).

    Notes
    -----
    Values too large or too small for matplotlib's colour bar (beyond 1e100
    or below 1e-100 in magnitude, e.g. a reading of 1e308) are drawn divided
    by a power of ten, which the colour-bar label gives ("x 1e+308").
    """
    img = _check(image, x_um, y_um)
    img, units_label, scale = _volts_prefix(img, units_label)
    vmin = None if vmin is None else vmin * scale
    vmax = None if vmax is None else vmax * scale
    path = Path(os.fspath(path))
    x0, x1 = _edges(x_um, "x_um")
    y0, y1 = _edges(y_um, "y_um")
    img, vmin, vmax, units_label = _color_range(img, vmin, vmax, units_label)

    ny, nx = img.shape
    width_um = abs(x1 - x0)
    height_um = abs(y1 - y0)
    aspect = height_um / width_um if width_um > 0 else ny / nx
    # Image area about 5 in along its longer side, plus room for labels and colour bar.
    if aspect <= 1:
        img_w, img_h = 5.0, max(5.0 * aspect, 0.8)
    else:
        img_w, img_h = max(5.0 / aspect, 1.5), 5.0
    fig_w, fig_h = img_w + 1.8, img_h + 1.3
    fig = Figure(figsize=(fig_w, fig_h), dpi=dpi)
    FigureCanvasAgg(fig)
    ax = fig.add_subplot()
    colormap = matplotlib.colormaps[cmap].with_extremes(bad=NAN_COLOR)
    shown = ax.imshow(
        np.ma.masked_invalid(img),
        cmap=colormap,
        vmin=vmin,
        vmax=vmax,
        origin="lower",
        extent=(x0, x1, y0, y1),
        interpolation="nearest",
    )
    n_nan = int(np.count_nonzero(~np.isfinite(img)))
    xlabel = "x (µm)"
    if n_nan:
        xlabel += f"\n{img.size - n_nan}/{img.size} px measured, grey: not measured"
    ax.set_xlabel(xlabel)
    ax.set_ylabel("y (µm)")
    title_text = ax.set_title(title, loc="left", fontsize=9) if title else None
    cax = make_axes_locatable(ax).append_axes("right", size="4%", pad=0.1)
    cbar = fig.colorbar(shown, cax=cax)
    cbar.set_label(units_label)
    if scale_bar and width_um > 0:
        _add_scale_bar(fig, ax, nice_scale_bar_um(width_um), height_um, title_text)
    fig.savefig(path, format="png", dpi=dpi, bbox_inches="tight", metadata=metadata)
    return path


def _add_scale_bar(fig: Figure, ax, length_um: float, height_um: float, title=None) -> None:
    """A scale bar just above the image's top-right corner, outside the data (and above
    the title if the two would overlap)."""
    bar = AnchoredSizeBar(
        ax.transData,
        length_um,
        format_length_um(length_um),
        loc="lower right",
        bbox_to_anchor=(1.0, 1.0),
        bbox_transform=ax.transAxes,
        color="black",
        frameon=False,
        size_vertical=height_um * 0.012,
        pad=0.1,
        borderpad=0.3,
        sep=2,
        label_top=True,
        fontproperties={"size": 8},
    )
    ax.add_artist(bar)
    if title is None:
        return
    fig.canvas.draw()  # lays out the title (its position is settled when drawn)
    renderer = fig.canvas.get_renderer()
    extent = title.get_window_extent(renderer)
    if bar.get_window_extent(renderer).overlaps(extent):
        top = ax.transAxes.inverted().transform((0.0, extent.y1))[1]
        bar.set_bbox_to_anchor((1.0, top), transform=ax.transAxes)


def save_tiff(
    path: str | os.PathLike[str],
    image: np.ndarray,
    x_um: np.ndarray,
    y_um: np.ndarray,
) -> Path:
    """Save an image as a calibrated float32 ImageJ TIFF.

    Parameters
    ----------
    path : str or path-like
        Output file.
    image : ndarray, shape (ny, nx)
        Values (NaN preserved), stored as float32 with row 0 as the first
        (top) TIFF row; values beyond the float32 range (about 3.4e38) become
        +-inf.
    x_um, y_um : ndarray
        Pixel-centre coordinates, micrometres.

    Returns
    -------
    Path
        The written file.

    Raises
    ------
    ValueError
        If the image is not 2-D, the axes do not match it, or a pixel pitch is
        outside what a TIFF resolution tag holds (1e-9 to 1e9 um).

    Notes
    -----
    The pixel pitch is stored in the X/YResolution tags (pixels per
    micrometre) and in the ImageJ description as ``unit=um``, so ImageJ/Fiji
    show micrometres. The coordinate of the first pixel centre is stored as
    ImageJ ``xorigin``/``yorigin`` (pixel units, ImageJ's convention
    ``x_um = (column - xorigin) * pixel_width``).
    """
    with np.errstate(over="ignore"):
        img = _check(image, x_um, y_um).astype(np.float32)
    path = Path(os.fspath(path))
    x = np.asarray(x_um, dtype=float).ravel()
    y = np.asarray(y_um, dtype=float).ravel()
    dx = abs(x[-1] - x[0]) / (x.size - 1) if x.size > 1 else 0.0
    dy = abs(y[-1] - y[0]) / (y.size - 1) if y.size > 1 else 0.0
    dx = dx or dy or 1.0
    dy = dy or dx
    for name, pitch in (("x", dx), ("y", dy)):  # a TIFF resolution is a ratio of uint32s
        if not _TIFF_PITCH_UM[0] <= pitch <= _TIFF_PITCH_UM[1]:
            raise ValueError(f"{name} pixel pitch {pitch:g} um cannot be stored in a TIFF "
                             f"(range {_TIFF_PITCH_UM[0]:g} to {_TIFF_PITCH_UM[1]:g} um)")
    metadata = {
        "unit": "um",
        "xorigin": float(-x[0] / dx),
        "yorigin": float(-y[0] / dy),
    }
    tifffile.imwrite(
        path,
        img,
        imagej=True,
        resolution=(1.0 / dx, 1.0 / dy),
        metadata=metadata,
    )
    return path
