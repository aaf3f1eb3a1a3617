"""The figure of a spectral analysis: material map, spectra per material, chosen spectra.

Drawn on a private `matplotlib.figure.Figure` with the Agg canvas (never ``pyplot``), as
:mod:`reconstruction.export`. Lengths in µm.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:
    from .analysis import Spectrum
    from .calibrate import CalibratedCube
    from .unmix import SpectralAnalysis

__all__ = ["save_figure"]

_COLORS = ("#d9d9d9", "#1b9e77", "#d95f02", "#7570b3", "#e7298a", "#66a61e", "#e6ab02",
           "#a6761d", "#1f78b4", "#b2df8a")
_UNITS = {"1": "", "W/um^2": " (W/µm²)", "V": " (V)"}


def _image(ax, image, cal: CalibratedCube, **kwargs):
    from matplotlib.ticker import MaxNLocator

    from ..export import _edges

    x0, x1 = _edges(cal.x_um, "x_um")
    y0, y1 = _edges(cal.y_um, "y_um")
    shown = ax.imshow(image, origin="lower", extent=(x0, x1, y0, y1), interpolation="nearest",
                      **kwargs)
    ax.set_xlabel("x (µm)")
    ax.set_ylabel("y (µm)")
    ax.xaxis.set_major_locator(MaxNLocator(nbins=5))  # stage coordinates can be long
    width = abs(x1 - x0)
    if width > 0:
        from ..export import _add_scale_bar, nice_scale_bar_um

        _add_scale_bar(ax.figure, ax, nice_scale_bar_um(width), abs(y1 - y0))
    return shown


def _scaled(reference: np.ndarray, measured: np.ndarray) -> np.ndarray:
    """``reference`` times the least-squares factor that best matches ``measured``."""
    ok = np.isfinite(measured) & np.isfinite(reference)
    denom = float(np.sum(reference[ok] ** 2))
    return reference * (float(np.sum(reference[ok] * measured[ok])) / denom if denom else 1.0)


def save_figure(path: str | os.PathLike[str], cal: CalibratedCube,
                analysis: SpectralAnalysis, *, title: str = "",
                points: list[tuple[str, Spectrum]] | None = None,
                bands: list[tuple[str, np.ndarray]] | None = None,
                markers: list[tuple[str, float, float]] | None = None, dpi: int = 120,
                metadata: dict[str, str] | None = None) -> Path:
    """Save the analysis figure as PNG.

    Parameters
    ----------
    path : str or path-like
    cal : CalibratedCube
        The cube analysed (axes, kind, units).
    analysis : SpectralAnalysis
        Its maps and spectra.
    title : str
        Figure title.
    points : list of (label, Spectrum), optional
        Spectra at chosen pixels or regions, drawn with their sigma as error bars.
    bands : list of (label, image), optional
        Band images, one panel each.
    markers : list of (label, x_um, y_um), optional
        Where the ``points`` are, marked on the map.
    metadata : dict, optional
        PNG text chunks (``mirimager scan`` marks the scan the figure shows).

    Returns
    -------
    Path
    """
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.colors import ListedColormap
    from matplotlib.figure import Figure
    from matplotlib.patches import Patch

    points, bands, markers = points or [], bands or [], markers or []
    u = analysis.unmixing
    names = u.names
    colors = [_COLORS[k % len(_COLORS)] for k in range(len(names))]
    rows = 1 + bool(points or bands)
    cols = max(2, bool(points) + len(bands))
    fig = Figure(figsize=(5.2 * cols, 4.6 * rows), dpi=dpi, layout="constrained")
    FigureCanvasAgg(fig)
    grid = fig.add_gridspec(rows, cols)
    half = cols // 2
    ax = fig.add_subplot(grid[0, :half])
    cmap = ListedColormap(colors).with_extremes(bad="0.45", under="0.45")
    labels = np.ma.masked_less(analysis.labels.astype(float), 0)
    _image(ax, labels, cal, cmap=cmap, vmin=-0.5, vmax=len(names) - 0.5)
    ax.set_title("material (largest fraction)", fontsize=9, loc="left")
    handles = [Patch(color=c, label=f"{n} ({analysis.counts[k]} px)")
               for k, (n, c) in enumerate(zip(names, colors, strict=True))]
    if (analysis.labels < 0).any():
        handles.append(Patch(color="0.45", label="not measured"))
    ax.legend(handles=handles, fontsize=7, loc="upper left", bbox_to_anchor=(1.01, 1.0),
              frameon=False)
    for label, x, y in markers:
        ax.plot([x], [y], marker="+", color="k", markersize=9, mew=1.5)
        ax.annotate(label, (x, y), xytext=(3, 3), textcoords="offset points", fontsize=7)

    w = cal.wavelength_um
    order = np.argsort(w)
    ylabel = f"{cal.kind}{_UNITS.get(cal.units, f' ({cal.units})')}"
    ax = fig.add_subplot(grid[0, half:])
    scaled = cal.kind != "transmittance"
    for k, name in enumerate(names):
        if not analysis.counts[k]:
            continue
        s, e = analysis.spectra[k][order], analysis.spectra_sigma[k][order]
        ax.plot(w[order], s, color=colors[k], lw=1.6, marker="o", ms=3, label=name)
        ax.fill_between(w[order], s - e, s + e, color=colors[k], alpha=0.3, lw=0)
        ref = _scaled(u.references[k], analysis.spectra[k]) if scaled else u.references[k]
        ax.plot(w[order], ref[order], color=colors[k], lw=1, ls="--")
    ax.set_xlabel("wavelength (µm)")
    ax.set_ylabel(ylabel)
    ax.set_title("mean spectrum per material\n(band: ±1σ; dashed: reference"
                 + (", scaled)" if scaled else ")"), fontsize=9, loc="left")
    ax.legend(fontsize=7, frameon=False)
    panel = 0
    if points:
        ax = fig.add_subplot(grid[1, 0])
        for label, spectrum in points:
            ax.errorbar(w[order], spectrum.values[order], yerr=spectrum.sigma[order],
                        marker="o", ms=3, capsize=2, lw=1, label=label)
        ax.set_xlabel("wavelength (µm)")
        ax.set_ylabel(ylabel)
        ax.set_title("spectra at the chosen points (±1σ)", fontsize=9, loc="left")
        ax.legend(fontsize=7, frameon=False)
        panel = 1
    for label, image in bands:
        ax = fig.add_subplot(grid[1, panel])
        shown = _image(ax, np.ma.masked_invalid(image), cal, cmap="viridis")
        fig.colorbar(shown, ax=ax, shrink=0.85).set_label(ylabel)
        ax.set_title(f"band {label}", fontsize=9, loc="left")
        panel += 1
    if title:
        fig.suptitle(title, fontsize=9, x=0.01, ha="left")
    path = Path(os.fspath(path))
    fig.savefig(path, format="png", dpi=dpi, metadata=metadata)
    return path


def save_cube_montage(path: str | os.PathLike[str], cube: np.ndarray,
                      wavelength_um: np.ndarray, x_um: np.ndarray, y_um: np.ndarray, *,
                      title: str = "", units: str = "V", dpi: int = 110,
                      metadata: dict[str, str] | None = None) -> Path:
    """Save the image at each wavelength of a cube as one PNG (a grid of panels, one
    colour scale, µm axes), e.g. a spectral single-pixel scan's reconstructions."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    nw = cube.shape[0]
    cols = min(nw, 5)
    rows = -(-nw // cols)
    fig = Figure(figsize=(2.6 * cols + 1.0, 2.6 * rows + 0.6), dpi=dpi, layout="constrained")
    FigureCanvasAgg(fig)
    finite = cube[np.isfinite(cube)]
    lo, hi = (float(finite.min()), float(finite.max())) if finite.size else (0.0, 1.0)
    h = 0.5 * (x_um[1] - x_um[0]) if x_um.size > 1 else 0.5
    extent = (x_um[0] - h, x_um[-1] + h, y_um[0] - h, y_um[-1] + h)
    axes = fig.subplots(rows, cols, squeeze=False)
    shown = None
    for k, ax in enumerate(axes.ravel()):
        if k >= nw:
            ax.set_axis_off()
            continue
        shown = ax.imshow(cube[k], origin="lower", extent=extent, vmin=lo, vmax=hi,
                          cmap="inferno")
        ax.set_title(f"{wavelength_um[k]:.3g} µm", fontsize=8)
        ax.tick_params(labelsize=6)
        if k % cols == 0:
            ax.set_ylabel("y (µm)", fontsize=7)
        if k >= nw - cols:
            ax.set_xlabel("x (µm)", fontsize=7)
    if shown is not None:
        fig.colorbar(shown, ax=axes, shrink=0.8).set_label(units)
    if title:
        fig.suptitle(title, fontsize=9, x=0.01, ha="left")
    path = Path(os.fspath(path))
    fig.savefig(path, format="png", dpi=dpi, metadata=metadata)
    return path
