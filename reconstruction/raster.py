"""High-level raster reconstruction: scan file contents -> corrected image (+ metrics).

Examples
--------
>>> from reconstruction import load_raster, reconstruct_raster, save_png
>>> scan = load_raster("scan.h5")                                # doctest: +SKIP
>>> result = reconstruct_raster(scan, background="plane")         # doctest: +SKIP
>>> save_png("scan.png", result.image, result.x_um, result.y_um)   # doctest: +SKIP
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from typing import Literal

import numpy as np

from .corrections import (
    BackgroundMethod,
    SnakeLag,
    correct_snake_lag,
    estimate_snake_lag,
    subtract_background,
)
from .corrections import flat_field as _flat_field
from .display import RasterImageDisplay
from .metrics import compare
from .scanfile import RasterScan

__all__ = ["RasterImage", "reconstruct_raster"]


@dataclass
class RasterImage(RasterImageDisplay):
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
        convention in `reconstruction.snake_lag`.
    metrics : dict or None
        Scores of `image` against the scan's simulated truth (see
        `reconstruct_raster`), None when the file holds no truth.
    steps : list of str
        The corrections applied, in order.
    lag_estimate : SnakeLag or None
        The estimated lag with its uncertainty (None when none was estimated:
        a row scan, correction off, or a lag given).
    """

    image: np.ndarray
    x_um: np.ndarray
    y_um: np.ndarray
    measured: np.ndarray
    lag_px: float = 0.0
    metrics: dict[str, float] | None = None
    steps: list[str] = field(default_factory=list)
    lag_estimate: SnakeLag | None = None


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
        ``"auto"`` corrects snake scans whose estimated lag is significant
        (`SnakeLag.significant`: above three standard uncertainties and
        0.02 px; otherwise the image is left as measured) and leaves row
        scans alone; ``True`` requires a snake scan and applies the estimated
        lag whatever its size; ``False`` never corrects.
    lag_px : float, optional
        Known lag, applied as given; estimated from the image
        (`estimate_snake_lag`) when None.
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

    Metrics (when ``scan.truth_V`` exists) score the returned image, after
    every correction applied, against the truth: the noise-free *settled*
    lock-in X on the grid, in volts, without any additive background. With a
    flat field the truth is divided by the same normalised reference (the
    illumination is part of the truth, so it is removed from both sides);
    the background correction is scored as it is (a background fitted to the
    chart instead of the background would show as a worse score). Keys
    ``psnr_dB``, ``ssim``, ``correlation`` score the corrected image;
    ``raw_psnr_dB``, ``raw_ssim``, ``raw_correlation`` the raw image against
    the raw truth; ``n_pixels`` is the number of measured pixels scored.
    Unmeasured pixels are ignored.
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
    estimate = None
    do_lag = snake_correction is True or (snake_correction == "auto" and scan.order == "snake")
    if do_lag:
        if lag_px is not None:
            lag = float(lag_px)
        else:
            estimate = estimate_snake_lag(image, scan.measured)
            if snake_correction is True or estimate.significant():
                lag = estimate.lag_px
        if lag != 0.0:
            image = correct_snake_lag(image, lag)
            steps.append(f"snake lag {lag:+.3f} px")

    truth = None
    if scan.truth_V is not None:
        truth = np.where(scan.measured, np.asarray(scan.truth_V, dtype=float), np.nan)
    raw_truth = truth
    if flat is not None:
        reference = flat.image_V if isinstance(flat, RasterScan) else np.asarray(flat, float)
        if reference.shape != image.shape:
            raise ValueError(f"flat has shape {reference.shape}, image {image.shape}")
        image = _flat_field(image, reference, dark=dark)
        if truth is not None:  # the same illumination normalisation (the truth has no dark)
            illumination = reference if dark is None else reference - np.asarray(dark, float)
            truth = _flat_field(truth, illumination)
        steps.append("flat field")
    if background is not None:
        image = subtract_background(image, background, measured=scan.measured)
        steps.append(f"background {background}")

    metrics = None
    scored = np.isfinite(image) & np.isfinite(truth) if truth is not None else None
    if scored is not None and scored.any() and np.any(np.isfinite(raw) & np.isfinite(raw_truth)):
        metrics = dict(compare(image, truth))
        metrics.update({f"raw_{k}": v for k, v in compare(raw, raw_truth).items()})
        metrics["n_pixels"] = float(np.count_nonzero(scored))

    return RasterImage(
        image=image,
        x_um=np.asarray(scan.x_um, dtype=float).copy(),
        y_um=np.asarray(scan.y_um, dtype=float).copy(),
        measured=scan.measured.copy(),
        lag_px=lag,
        metrics=metrics,
        steps=steps,
        lag_estimate=estimate,
    )


def load_flat(scan: RasterScan, path: str | os.PathLike[str]) -> np.ndarray:
    """The flat-field reference image of ``scan`` from the raster file ``path``.

    Raises
    ------
    ValueError
        If its shape is not the scan's.
    """
    from .scanfile import load_raster

    flat = load_raster(path).image_V
    if flat.shape != scan.image_V.shape:
        raise ValueError(f"reference scan has shape {flat.shape}, scan has "
                         f"{scan.image_V.shape}")
    return flat
