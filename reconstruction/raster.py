"""High-level raster reconstruction: scan file contents -> corrected image (+ metrics).

Examples
--------
>>> from reconstruction import load_raster, reconstruct_raster, save_png
>>> scan = load_raster("scan.h5")                                # doctest: +SKIP
>>> result = reconstruct_raster(scan, background="plane")         # doctest: +SKIP
>>> save_png("scan.png", result.image, result.x_um, result.y_um)   # doctest: +SKIP
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

import numpy as np

from .corrections import (
    BackgroundMethod,
    correct_snake_lag,
    estimate_snake_lag_px,
    subtract_background,
)
from .corrections import flat_field as _flat_field
from .metrics import compare
from .scanfile import RasterScan

__all__ = ["RasterImage", "reconstruct_raster"]


@dataclass
class RasterImage:
    """A reconstructed raster image.

    Attributes
    ----------
    image : ndarray, shape (ny, nx)
        The corrected image (volts unless flat-fielded differently); NaN where
        not measured.
    x_um, y_um : ndarray
        Pixel-centre coordinates, micrometres.
    measured : ndarray of bool
        Pixels with a measurement.
    lag_px : float
        Snake lag removed (0.0 if no lag correction was made); sign
        convention in `reconstruction.corrections`.
    metrics : dict or None
        Scores against the scan's simulated truth (see `reconstruct_raster`),
        None when the file holds no truth.
    steps : list of str
        The corrections applied, in order.
    """

    image: np.ndarray
    x_um: np.ndarray
    y_um: np.ndarray
    measured: np.ndarray
    lag_px: float = 0.0
    metrics: dict[str, float] | None = None
    steps: list[str] = field(default_factory=list)


def reconstruct_raster(
    scan: RasterScan,
    *,
    snake_correction: bool | Literal["auto"] = "auto",
    lag_px: float | None = None,
    background: BackgroundMethod | None = None,
    flat: np.ndarray | RasterScan | None = None,
    dark: np.ndarray | float | None = None,
) -> RasterImage:
    """Reconstruct a raster scan into a corrected image.

    Parameters
    ----------
    scan : RasterScan
        From `reconstruction.load_raster`; may be partial.
    snake_correction : bool or "auto"
        Remove the lock-in lag between the two directions of a snake scan.
        ``"auto"`` corrects snake scans and leaves row scans alone; ``True``
        requires a snake scan; ``False`` never corrects.
    lag_px : float, optional
        Known lag; estimated from the image (`estimate_snake_lag_px`) when None.
    background : {"plane", "median", "row_median", "percentile"}, optional
        Additive background removed last (`subtract_background`).
    flat : ndarray or RasterScan, optional
        Illumination reference of the same grid (e.g. the scan without the
        chart) for `flat_field`; applied after the lag correction.
    dark : ndarray or float, optional
        Offset subtracted from image and reference before flat-fielding.

    Returns
    -------
    RasterImage

    Raises
    ------
    ValueError
        ``snake_correction=True`` on a row scan, or a reference of another shape.

    Notes
    -----
    Order: lag correction (geometric, on the raw readings), flat field
    (multiplicative), background (additive levelling).

    Metrics (when ``scan.truth_V`` exists) compare against the truth, which
    is the noise-free *settled* lock-in X on the grid, in volts, with the same
    offset and illumination as the raw data. So only the lag correction
    (which also removes a difference from the truth) is applied before
    comparing; flat field and background would change the level or scale on
    one side only and are not. Keys ``psnr_dB``, ``ssim``, ``correlation``
    score the lag-corrected image; ``raw_psnr_dB``, ``raw_ssim``,
    ``raw_correlation`` the raw image; ``n_pixels`` is the number of measured
    pixels scored. Unmeasured pixels are ignored.
    """
    if snake_correction not in (True, False, "auto"):
        raise ValueError(
            f"snake_correction must be True, False or 'auto', got {snake_correction!r}"
        )
    if snake_correction is True and scan.order != "snake":
        raise ValueError(f"snake_correction=True but the scan order is {scan.order!r}")

    raw = np.where(scan.measured, scan.image_V, np.nan)
    image = raw.copy()
    steps: list[str] = []
    lag = 0.0
    do_lag = snake_correction is True or (snake_correction == "auto" and scan.order == "snake")
    if do_lag:
        lag = float(lag_px) if lag_px is not None else estimate_snake_lag_px(image, scan.measured)
        if lag != 0.0:
            image = correct_snake_lag(image, lag)
            steps.append(f"snake lag {lag:+.3f} px")
    geometric = image.copy()

    if flat is not None:
        reference = flat.image_V if isinstance(flat, RasterScan) else np.asarray(flat, float)
        if reference.shape != image.shape:
            raise ValueError(f"flat has shape {reference.shape}, image {image.shape}")
        image = _flat_field(image, reference, dark=dark)
        steps.append("flat field")
    if background is not None:
        image = subtract_background(image, background, measured=scan.measured)
        steps.append(f"background {background}")

    metrics = None
    if scan.truth_V is not None and np.any(scan.measured & np.isfinite(raw)):
        truth = np.where(scan.measured, scan.truth_V, np.nan)
        metrics = dict(compare(geometric, truth))
        metrics.update({f"raw_{k}": v for k, v in compare(raw, truth).items()})
        metrics["n_pixels"] = float(np.count_nonzero(np.isfinite(geometric) & np.isfinite(truth)))

    return RasterImage(
        image=image,
        x_um=np.asarray(scan.x_um, dtype=float).copy(),
        y_um=np.asarray(scan.y_um, dtype=float).copy(),
        measured=scan.measured.copy(),
        lag_px=lag,
        metrics=metrics,
        steps=steps,
    )
