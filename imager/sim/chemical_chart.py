"""The chemical test chart: regions of polymer films with distinct MIR spectra.

A :class:`SpectralChart` is a :class:`~imager.sim.charts.Chart` whose transmission
depends on the MIR wavelength: a label map says which material covers each pixel, and
each material's transmittance spectrum comes from
:mod:`reconstruction.spectral.library` (published band positions and strengths, at the
chart's film thicknesses). Its ``transmission`` attribute is the map at
``reference_wavelength_um`` (7.4 um, the source's default wavelength), which is what a
scan file stores as ``/entry/sample/chart``; the map at any other wavelength is
:meth:`SpectralChart.transmission_at`.

:class:`SpectralOptics` gives the simulated lab its MIR optics at any wavelength. The
pump-averaged intensity map of :class:`~imager.sim.optics.MirOptics` is linear in the
transmission map, so it is computed once per material mask and combined with the
materials' transmittances at the wavelength (cached per wavelength).
:func:`lab_at_wavelength` is a read-only view of a lab with its source tuned elsewhere,
for noise-free predictions at other wavelengths that touch no device.
"""

from __future__ import annotations

import copy
import math
from collections import OrderedDict
from dataclasses import dataclass, field, replace
from typing import Any

import numpy as np

from imager.sim.charts import Chart
from imager.sim.optics import MirOptics
from reconstruction.spectral import library as spectra

REFERENCE_WAVELENGTH_UM = 7.4
"""Wavelength of a spectral chart's ``transmission`` map: the source's default, um."""


@dataclass
class ChartTruth:
    """What a simulated spectral scan stores as the chart's truth on its grid.

    Attributes
    ----------
    names : tuple of str
        Material names; ``labels`` index into them.
    labels : numpy.ndarray
        ``(ny, nx)`` int16: the material at each grid point (nearest chart pixel);
        -1 off the chart (opaque there: no MIR reaches the film).
    material_transmission : numpy.ndarray
        ``(nmat, nw)``: each material's transmittance at the scan's wavelengths.
    transmission : numpy.ndarray
        ``(nw, ny, nx)``: the chart's transmittance at each grid point and wavelength
        (``material_transmission[:, labels]``, 0 off the chart).
    """

    names: tuple[str, ...]
    labels: np.ndarray
    material_transmission: np.ndarray
    transmission: np.ndarray


@dataclass(eq=False)
class SpectralChart(Chart):
    """A chart of materials, in stage coordinates (conventions of :class:`Chart`).

    Attributes
    ----------
    name : str
        Short description.
    pixel_um, x0_um, y0_um : float
        Pixel pitch and stage coordinates of the centre of ``labels[0, 0]``.
    labels : numpy.ndarray
        ``(ny, nx)`` integer map; values index ``materials``.
    materials : tuple of str
        Material names of :mod:`reconstruction.spectral.library`.
    thickness_um : tuple of float
        Film thickness of each material (0 for ``"clear"``).
    reference_wavelength_um : float
        Wavelength of ``transmission`` (default 7.4 um).
    transmission : numpy.ndarray
        ``(ny, nx)`` map at ``reference_wavelength_um`` (computed, not given).
    """

    transmission: np.ndarray = field(init=False, repr=False)
    labels: np.ndarray = field(repr=False)
    materials: tuple[str, ...]
    thickness_um: tuple[float, ...]
    reference_wavelength_um: float = REFERENCE_WAVELENGTH_UM

    def __post_init__(self) -> None:
        labels = np.asarray(self.labels)
        if labels.ndim != 2 or labels.size == 0 or not np.issubdtype(labels.dtype, np.integer):
            raise ValueError(f"chart {self.name!r}: labels must be a non-empty 2D integer array")
        self.materials = tuple(str(m) for m in self.materials)
        self.thickness_um = tuple(float(t) for t in self.thickness_um)
        if len(self.thickness_um) != len(self.materials):
            raise ValueError(f"chart {self.name!r}: one thickness_um per material needed")
        if labels.min() < 0 or labels.max() >= len(self.materials):
            raise ValueError(
                f"chart {self.name!r}: labels must lie in 0..{len(self.materials) - 1}")
        for name, t in zip(self.materials, self.thickness_um, strict=True):
            spectra.transmission(name, REFERENCE_WAVELENGTH_UM, t)  # checks name, thickness
        self.labels = labels.astype(np.int16)
        self.transmission = self.transmission_at(self.reference_wavelength_um)
        super().__post_init__()

    # ------------------------------------------------------------ spectra
    def material_transmission(self, wavelengths_um: Any) -> np.ndarray:
        """Transmittance of each material at ``wavelengths_um``, shape ``(nmat, nw)``."""
        lam = np.atleast_1d(np.asarray(wavelengths_um, dtype=float)).ravel()
        return np.array([spectra.transmission(name, lam, t)
                         for name, t in zip(self.materials, self.thickness_um, strict=True)])

    def transmission_at(self, wavelength_um: float) -> np.ndarray:
        """The chart's transmission map ``(ny, nx)`` at one wavelength."""
        return self.material_transmission([float(wavelength_um)])[:, 0][self.labels]

    def at_wavelength(self, wavelength_um: float) -> Chart:
        """A plain :class:`Chart` of this chart at ``wavelength_um``."""
        return Chart(name=f"{self.name} at {float(wavelength_um):g} um",
                     transmission=self.transmission_at(wavelength_um),
                     pixel_um=self.pixel_um, x0_um=self.x0_um, y0_um=self.y0_um)

    def mask(self, index: int) -> np.ndarray:
        """``(ny, nx)`` float map, 1 where material ``index`` lies, else 0."""
        return (self.labels == index).astype(float)

    def fractions(self) -> np.ndarray:
        """Area fraction of each material on the chart, ``(nmat,)``."""
        return np.bincount(self.labels.ravel(), minlength=len(self.materials)) / self.labels.size

    # ------------------------------------------------------------ sampling on a grid
    def _nearest(self, c_um: Any, c0_um: float, n: int) -> tuple[np.ndarray, np.ndarray]:
        f = (np.asarray(c_um, dtype=float).ravel() - c0_um) / self.pixel_um
        i = np.rint(f)
        inside = (i >= 0) & (i <= n - 1)
        return np.clip(i, 0, n - 1).astype(np.intp), inside

    def labels_at(self, x_um: Any, y_um: Any) -> np.ndarray:
        """Material index at each point of the grid ``x_um`` (nx,) by ``y_um`` (ny,).

        Nearest chart pixel; -1 off the chart. Returns ``(ny, nx)`` int16.
        """
        ny, nx = self.labels.shape
        ix, okx = self._nearest(x_um, self.x0_um, nx)
        iy, oky = self._nearest(y_um, self.y0_um, ny)
        out = self.labels[np.ix_(iy, ix)].copy()
        out[~(oky[:, None] & okx[None, :])] = -1
        return out

    def transmission_cube(self, x_um: Any, y_um: Any, wavelengths_um: Any) -> np.ndarray:
        """Transmittance at each grid point and wavelength, ``(nw, ny, nx)``.

        Nearest chart pixel (:meth:`labels_at`), so every value is exactly one
        material's transmittance; 0 off the chart.
        """
        return self.truth(x_um, y_um, wavelengths_um).transmission

    def truth(self, x_um: Any, y_um: Any, wavelengths_um: Any) -> ChartTruth:
        """Labels, material spectra and transmittance cube on a scan grid."""
        labels = self.labels_at(x_um, y_um)
        table = self.material_transmission(wavelengths_um)  # (nmat, nw)
        padded = np.concatenate([table, np.zeros((1, table.shape[1]))])  # -1 -> opaque
        cube = np.moveaxis(padded[labels], -1, 0)
        return ChartTruth(self.materials, labels, table, np.ascontiguousarray(cube))

    def centred_at(self, xc_um: float, yc_um: float) -> SpectralChart:
        """Copy of this chart moved so that its centre lies at ``(xc_um, yc_um)``."""
        cx, cy = self.centre_um
        return replace(self, labels=self.labels.copy(), x0_um=self.x0_um + (xc_um - cx),
                       y0_um=self.y0_um + (yc_um - cy))


def chemical_chart(width_um: float = 400.0, pixel_um: float = 0.5) -> SpectralChart:
    """The chemical test chart, ``width_um`` square, centred on (0, 0).

    A clear frame (1/16 of the width on each side) around a 2 x 2 layout of squares
    7/16 of ``width_um`` wide: polystyrene (top left), PMMA (top right), polyethylene
    (bottom left) and clear (bottom right; a blank spot with no sample), each film at
    :data:`reconstruction.spectral.library.DEFAULT_THICKNESS_UM`. Each polymer covers
    19 % of the area. The region edges (at 0 and +-7/16 of the width from the centre)
    fall midway between the points of a 16 x 16, 32 x 32 or 64 x 64 raster spanning the
    chart, so every such point lies inside one material.

    Parameters
    ----------
    width_um : float
        Side of the chart.
    pixel_um : float
        Pixel pitch of the label map.
    """
    if not (math.isfinite(width_um) and math.isfinite(pixel_um) and width_um > 0
            and pixel_um > 0):
        raise ValueError("chemical_chart: width_um and pixel_um must be > 0")
    n = max(4, round(width_um / pixel_um))
    c = (np.arange(n) - 0.5 * (n - 1)) * pixel_um  # pixel centres, um
    frame = 7.0 / 16.0 * width_um  # the 2 x 2 block spans [-frame, frame]
    names = spectra.MATERIAL_NAMES
    labels = np.zeros((n, n), dtype=np.int16)  # clear
    inside = (np.abs(c) < frame)
    left, bottom = inside & (c < 0), inside & (c < 0)
    right, top = inside & (c >= 0), inside & (c >= 0)
    labels[np.ix_(top, left)] = names.index("polystyrene")
    labels[np.ix_(top, right)] = names.index("pmma")
    labels[np.ix_(bottom, left)] = names.index("polyethylene")
    thickness = tuple(spectra.DEFAULT_THICKNESS_UM[m] for m in names)
    return SpectralChart(name="chemical (polystyrene, PMMA, polyethylene, clear)",
                         pixel_um=float(pixel_um), x0_um=float(c[0]), y0_um=float(c[0]),
                         labels=labels, materials=names, thickness_um=thickness)


class SpectralOptics:
    """MIR optics of a :class:`SpectralChart` at any wavelength (see the module docstring).

    Parameters
    ----------
    chart : SpectralChart
    beam_fwhm_um, pump_fwhm_um, beam_centre_um
        As for :class:`~imager.sim.optics.MirOptics`.
    max_cached : int
        Wavelengths whose combined map is kept (each is one padded chart-sized map of
        float64, 5.2 MB for the default 400 um chart at 0.5 um).
    """

    def __init__(self, chart: SpectralChart, beam_fwhm_um: float = 500.0,
                 pump_fwhm_um: float = 1.0, beam_centre_um: tuple[float, float] | None = None,
                 max_cached: int = 48) -> None:
        self.chart = chart
        present = np.nonzero(chart.fractions())[0]
        self._present = present
        self._parts = [MirOptics(Chart(f"{chart.name}: {chart.materials[i]}", chart.mask(i),
                                       chart.pixel_um, chart.x0_um, chart.y0_um),
                                 beam_fwhm_um=beam_fwhm_um, pump_fwhm_um=pump_fwhm_um,
                                 beam_centre_um=beam_centre_um)
                       for i in present]
        self._maps = [p.map_per_um2 for p in self._parts]
        self._cache: OrderedDict[float, MirOptics] = OrderedDict()
        self._max_cached = max(1, int(max_cached))
        self._last: tuple[float, MirOptics] | None = None

    def at(self, wavelength_um: float) -> MirOptics:
        """The optics (a :class:`MirOptics`) at ``wavelength_um``, cached."""
        last = self._last
        if last is not None and last[0] == wavelength_um:
            return last[1]
        key = float(wavelength_um)
        optics = self._cache.get(key)
        if optics is None:
            optics = self._combine(key)
            self._cache[key] = optics
            while len(self._cache) > self._max_cached:
                self._cache.popitem(last=False)
        else:
            self._cache.move_to_end(key)
        self._last = (key, optics)
        return optics

    def _combine(self, wavelength_um: float) -> MirOptics:
        t = self.chart.material_transmission([wavelength_um])[self._present, 0]
        total = np.zeros_like(self._maps[0])
        for weight, part in zip(t, self._maps, strict=True):
            total += weight * part
        # A MirOptics with the combined map: same grid, padding and beam as the parts;
        # its ``chart`` is the spectral chart itself (the map at this wavelength is
        # ``chart.transmission_at(wavelength_um)``; not stored, to halve the cache).
        optics = copy.copy(self._parts[0])
        optics.chart = self.chart
        optics._map = np.ascontiguousarray(total)
        optics._flat = memoryview(optics._map).cast("B").cast("d")
        return optics


class _SourceAt:
    """A source as seen at another wavelength (everything else delegated, read-only)."""

    def __init__(self, source: Any, wavelength_um: float) -> None:
        self._source = source
        self.wavelength_um = float(wavelength_um)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._source, name)


class _LabAt:
    """A lab as seen with its source at another wavelength (read-only view)."""

    def __init__(self, lab: Any, wavelength_um: float) -> None:
        self._lab = lab
        self.source = _SourceAt(lab.source, wavelength_um)
        self.optics = lab.optics_at(wavelength_um)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._lab, name)


def expected_cube(lab: Any, x_um: Any, y_um: Any, wavelengths_um: Any) -> np.ndarray:
    """A simulated lab's noise-free raster image at each wavelength, ``(nw, ny, nx)``.

    ``lab.expected_image_at`` per wavelength, with the lab's current source power,
    pump, chopper and reference phase; the source's wavelength is never set.

    Raises
    ------
    ValueError
        A wavelength outside the source's tuning range (``WAVELENGTH_RANGE_UM``).
    """
    lam = np.atleast_1d(np.asarray(wavelengths_um, dtype=float)).ravel()
    lo, hi = lab.source.WAVELENGTH_RANGE_UM
    if not np.all((lam >= lo) & (lam <= hi)):
        raise ValueError(f"expected_cube: wavelengths_um must lie within [{lo:g}, {hi:g}] um, "
                         f"got {lam.tolist()!r}")
    cube = np.empty((lam.size, np.asarray(y_um).size, np.asarray(x_um).size))
    for iw, wl in enumerate(lam):
        cube[iw] = lab.expected_image_at(x_um, y_um, float(wl))
    return cube


def lab_at_wavelength(lab: Any, wavelength_um: float) -> Any:
    """A read-only view of ``lab`` whose ``source.wavelength_um`` is ``wavelength_um``.

    For the noise-free predictions at other wavelengths (the film transfer, the
    detector's DC level): nothing is set on the lab, so no device change hook runs and
    no noise stream moves.
    """
    return _LabAt(lab, wavelength_um)
