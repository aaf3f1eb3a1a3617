"""Test charts (MIR transmission masks) for the simulated lab.

A :class:`Chart` is a transmission map (0 = opaque, 1 = clear) sampled on a
square pixel grid and placed in stage coordinates. Axis 0 of the array is y,
axis 1 is x; ``(x0_um, y0_um)`` is the stage coordinate of the centre of
``transmission[0, 0]``. Charts built here are centred on (0, 0); use
:meth:`Chart.centred_at` to place one.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np

from imager.sim.usaf import usaf1951_layout


@dataclass
class Chart:
    """MIR transmission mask in stage coordinates.

    Attributes
    ----------
    name : str
        Short description (``"usaf1951 groups 5,6,7"``, a file name, ...).
    transmission : numpy.ndarray
        ``(ny, nx)`` float array, 0..1; axis 0 is y, axis 1 is x.
    pixel_um : float
        Pixel pitch (square pixels).
    x0_um, y0_um : float
        Stage coordinate of the centre of ``transmission[0, 0]``.
    """

    name: str
    transmission: np.ndarray
    pixel_um: float
    x0_um: float
    y0_um: float

    def __post_init__(self) -> None:
        t = np.asarray(self.transmission, dtype=float)
        if t.ndim != 2 or t.size == 0:
            raise ValueError(f"chart {self.name!r}: transmission must be a non-empty 2D array")
        if not (math.isfinite(self.pixel_um) and self.pixel_um > 0):
            raise ValueError(f"chart {self.name!r}: pixel_um must be > 0, got {self.pixel_um!r}")
        self.transmission = t

    @property
    def shape(self) -> tuple[int, int]:
        """``(ny, nx)``."""
        return self.transmission.shape  # type: ignore[return-value]

    @property
    def centre_um(self) -> tuple[float, float]:
        """Stage coordinates ``(x_um, y_um)`` of the chart's centre."""
        ny, nx = self.shape
        return (
            self.x0_um + 0.5 * (nx - 1) * self.pixel_um,
            self.y0_um + 0.5 * (ny - 1) * self.pixel_um,
        )

    def extent_um(self) -> tuple[float, float, float, float]:
        """Outer pixel edges ``(x_min_um, x_max_um, y_min_um, y_max_um)``.

        Suitable as ``extent=`` for ``matplotlib.pyplot.imshow`` with
        ``origin="lower"`` (y increasing upwards).
        """
        ny, nx = self.shape
        h = 0.5 * self.pixel_um
        return (
            self.x0_um - h,
            self.x0_um + (nx - 1) * self.pixel_um + h,
            self.y0_um - h,
            self.y0_um + (ny - 1) * self.pixel_um + h,
        )

    def x_um(self) -> np.ndarray:
        """Stage x coordinates of the pixel centres, ``(nx,)``."""
        return self.x0_um + self.pixel_um * np.arange(self.shape[1])

    def y_um(self) -> np.ndarray:
        """Stage y coordinates of the pixel centres, ``(ny,)``."""
        return self.y0_um + self.pixel_um * np.arange(self.shape[0])

    def centred_at(self, xc_um: float, yc_um: float) -> Chart:
        """Copy of this chart moved so that its centre lies at ``(xc_um, yc_um)``."""
        cx, cy = self.centre_um
        return replace(
            self,
            transmission=self.transmission.copy(),
            x0_um=self.x0_um + (xc_um - cx),
            y0_um=self.y0_um + (yc_um - cy),
        )


def _centred(name: str, transmission: np.ndarray, pixel_um: float) -> Chart:
    ny, nx = transmission.shape
    return Chart(
        name=name,
        transmission=np.clip(transmission, 0.0, 1.0),
        pixel_um=float(pixel_um),
        x0_um=-0.5 * (nx - 1) * pixel_um,
        y0_um=-0.5 * (ny - 1) * pixel_um,
    )


def _coverage_1d(edges_um: np.ndarray, lo_um: float, hi_um: float) -> np.ndarray:
    """Fraction of each pixel (between consecutive ``edges_um``) inside [lo, hi]."""
    left = np.maximum(edges_um[:-1], lo_um)
    right = np.minimum(edges_um[1:], hi_um)
    return np.clip(right - left, 0.0, None) / (edges_um[1:] - edges_um[:-1])


def usaf1951(groups: tuple[int, ...] = (5, 6, 7), pixel_um: float = 0.5) -> Chart:
    """USAF 1951 resolution target (positive: clear bars on an opaque field), to scale.

    Line width of group g, element e is ``1000 / (2 * 2**(g + (e - 1) / 6))`` um,
    bars are five line widths long, and every element has three horizontal and
    three vertical bars. The layout follows MIL-STD-150A as far as practical
    (see :func:`imager.sim.usaf.usaf1951_layout`); the digits are omitted. Bars
    are rasterised by exact area coverage, so partial pixels are grey.

    Parameters
    ----------
    groups : tuple of int
        Group numbers to draw (any integers; each layer pairs an even group with
        the next odd one).
    pixel_um : float
        Pixel pitch of the transmission map.
    """
    if pixel_um <= 0:
        raise ValueError(f"usaf1951: pixel_um must be > 0, got {pixel_um!r}")
    layout = usaf1951_layout(groups)
    margin_um = 4.0 * pixel_um
    width_um = layout.width_um + 2 * margin_um
    height_um = layout.height_um + 2 * margin_um
    nx = int(math.ceil(width_um / pixel_um))
    ny = int(math.ceil(height_um / pixel_um))
    # Pixel edges, with the layout box centred in the pixel grid.
    x_edges = (np.arange(nx + 1) - nx / 2) * pixel_um + layout.width_um / 2
    y_edges = (np.arange(ny + 1) - ny / 2) * pixel_um + layout.height_um / 2
    t = np.zeros((ny, nx))
    for bar in layout.bars:
        cx = _coverage_1d(x_edges, bar.x_min_um, bar.x_max_um)
        cy = _coverage_1d(y_edges, bar.y_min_um, bar.y_max_um)
        ix = np.nonzero(cx)[0]
        iy = np.nonzero(cy)[0]
        t[iy[0] : iy[-1] + 1, ix[0] : ix[-1] + 1] += np.outer(
            cy[iy[0] : iy[-1] + 1], cx[ix[0] : ix[-1] + 1]
        )
    label = ",".join(str(g) for g in sorted(set(groups)))
    chart = _centred(f"usaf1951 groups {label}", t, pixel_um)
    return chart


def siemens_star(diameter_um: float = 400.0, spokes: int = 36, pixel_um: float = 0.5) -> Chart:
    """Siemens star: ``spokes`` clear sectors alternating with opaque ones in a disc.

    Edges are anti-aliased by their distance to the pixel centre; near the
    centre, where a sector is narrower than a pixel, the pattern fades to the
    mean transmission 0.5 as a real (unresolved) star would.

    Parameters
    ----------
    diameter_um : float
        Outer diameter of the star (opaque outside).
    spokes : int
        Number of clear sectors (as many opaque ones alternate with them).
    pixel_um : float
        Pixel pitch of the transmission map.
    """
    if diameter_um <= 0 or pixel_um <= 0 or spokes < 1:
        raise ValueError(
            f"siemens_star: need diameter_um > 0, pixel_um > 0, spokes >= 1; got "
            f"{diameter_um!r}, {pixel_um!r}, {spokes!r}"
        )
    n = int(math.ceil(diameter_um / pixel_um)) + 4
    c = (np.arange(n) - 0.5 * (n - 1)) * pixel_um
    x, y = np.meshgrid(c, c)
    r = np.hypot(x, y)
    theta = np.arctan2(y, x)
    # Distance in angle to the nearest sector edge (edges where cos(spokes*theta) = 0).
    phase = np.mod(spokes * theta, 2 * np.pi)
    d_phase = np.abs(np.mod(phase + 0.5 * np.pi, np.pi) - 0.5 * np.pi)  # 0 at an edge
    inside = np.cos(spokes * theta) > 0
    dist_um = r * np.sin(np.minimum(d_phase / spokes, 0.5 * np.pi))
    cover = np.clip(0.5 + dist_um / pixel_um, 0.0, 1.0)
    value = np.where(inside, cover, 1.0 - cover)
    sector_px = np.pi * r / (spokes * pixel_um)
    resolved = np.clip(sector_px - 1.0, 0.0, 1.0)
    value = 0.5 + (value - 0.5) * resolved
    disc = np.clip(0.5 + (0.5 * diameter_um - r) / pixel_um, 0.0, 1.0)
    return _centred(f"siemens_star {spokes} spokes", value * disc, pixel_um)


def open_field(width_um: float = 400.0, pixel_um: float = 0.5) -> Chart:
    """No chart: transmission 1 over a square ``width_um`` wide (calibration spot).

    The MIR beam reaches the film unmasked, so the intensity at the beam centre
    is the bare beam's peak (as a calibration assumes).
    """
    if not (width_um > 0 and pixel_um > 0):
        raise ValueError("open_field: width_um and pixel_um must be > 0")
    n = max(2, round(width_um / pixel_um))
    return _centred("open", np.ones((n, n)), pixel_um)


def knife_edge(width_um: float = 400.0, pixel_um: float = 0.5) -> Chart:
    """A straight vertical edge through the centre: opaque for x below it, clear above
    (``width_um`` square): the test object of a scan's edge response and of the
    forward/backward agreement of fly-scan lines."""
    if not (width_um > 0 and pixel_um > 0):
        raise ValueError("knife_edge: width_um and pixel_um must be > 0")
    n = 2 * max(1, round(width_um / pixel_um / 2))
    transmission = np.zeros((n, n))
    transmission[:, n // 2:] = 1.0
    return _centred("knife edge", transmission, pixel_um)


def from_image(path: str | Path, width_um: float, pixel_um: float | None = None) -> Chart:
    """Chart from an image file (any format Pillow reads; grey or colour).

    White is clear (1), black opaque (0): 8-bit images are divided by 255,
    16-bit by 65535, floating-point images are scaled from their min..max.
    The picture keeps its orientation with y upwards: the image's top row
    becomes the highest y (``transmission[-1]``).

    Parameters
    ----------
    path : str or Path
        Image file.
    width_um : float
        Physical width of the whole image.
    pixel_um : float, optional
        Resample to this pixel pitch (height keeps the aspect ratio); by default
        the image's own pixels are used, ``pixel_um = width_um / image width``.

    Raises
    ------
    ValueError
        If the file cannot be read as an image (the message names the path),
        or the sizes are not positive.
    """
    from PIL import Image, UnidentifiedImageError

    if not width_um > 0:
        raise ValueError(f"from_image({str(path)!r}): width_um must be > 0, got {width_um!r}")
    try:
        with Image.open(path) as img:
            img.load()
            mode = img.mode
            if mode in ("I;16", "I;16B", "I;16L", "I;16N"):
                a = np.asarray(img, dtype=float) / 65535.0
            elif mode in ("I", "F"):
                a = np.asarray(img, dtype=float)
                lo, hi = float(a.min()), float(a.max())
                a = (a - lo) / (hi - lo) if hi > lo else np.ones_like(a)
            else:
                a = np.asarray(img.convert("L"), dtype=float) / 255.0
    except (OSError, UnidentifiedImageError, ValueError) as exc:
        raise ValueError(f"cannot read chart image {str(path)!r}: {exc}") from exc
    ny, nx = a.shape
    if pixel_um is None:
        pixel_um = width_um / nx
    elif not pixel_um > 0:
        raise ValueError(f"from_image({str(path)!r}): pixel_um must be > 0, got {pixel_um!r}")
    else:
        new_nx = max(1, round(width_um / pixel_um))
        new_ny = max(1, round(ny * width_um / nx / pixel_um))
        if (new_ny, new_nx) != (ny, nx):
            resized = Image.fromarray(a.astype(np.float32)).resize(
                (new_nx, new_ny), Image.Resampling.BILINEAR
            )
            a = np.asarray(resized, dtype=float)
    return _centred(Path(path).name, a[::-1].copy(), pixel_um)


def make_chart(spec: str, **kw: object) -> Chart:
    """Build a chart from a spec: ``"usaf1951"``, ``"siemens_star"``, ``"open"``,
    ``"knife_edge"``, ``"chemical"`` (:func:`imager.sim.chemical_chart.chemical_chart`,
    a :class:`~imager.sim.chemical_chart.SpectralChart`) or an image.

    ``"open"`` is no chart at all (:func:`open_field`: transmission 1, for
    calibrations). Keyword arguments go to the builder. ``width_um`` is accepted by all
    (for the USAF target, which is always to scale, it is ignored; for the star
    it is the diameter).

    Parameters
    ----------
    spec : str
        Chart kind or image file path.
    **kw
        ``groups``/``pixel_um`` (USAF), ``width_um``/``spokes``/``pixel_um``
        (star), ``width_um``/``pixel_um`` (image; ``width_um`` required).

    Raises
    ------
    ValueError
        Unreadable image (the message names the path) or missing ``width_um``.
    """
    if spec == "usaf1951":
        kw.pop("width_um", None)
        return usaf1951(**kw)  # type: ignore[arg-type]
    if spec == "open":
        return open_field(**kw)  # type: ignore[arg-type]
    if spec == "knife_edge":
        return knife_edge(**kw)  # type: ignore[arg-type]
    if spec == "chemical":  # polymer films with distinct MIR spectra (a SpectralChart)
        from imager.sim.chemical_chart import chemical_chart

        return chemical_chart(**kw)  # type: ignore[arg-type]
    if spec == "siemens_star":
        if "width_um" in kw:
            kw["diameter_um"] = kw.pop("width_um")
        return siemens_star(**kw)  # type: ignore[arg-type]
    if "width_um" not in kw:
        raise ValueError(f"chart image {spec!r}: width_um is required for an image chart")
    return from_image(spec, **kw)  # type: ignore[arg-type]
