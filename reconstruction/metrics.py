"""Image-quality metrics against a reference (e.g. the simulated truth or the chart).

All metrics are NaN-aware: a pixel that is NaN (or infinite) in either image
is ignored, so a partial scan is scored on its measured pixels only.

Scale
-----
`psnr` and `ssim` compare values, not shapes: they assume `image` and
`reference` are in the same units and at the same level (e.g. a raw
lock-in image against the simulated settled lock-in X, both in volts). Their
``data_range`` defaults to the range (max - min) of the *reference* over the
valid pixels, so a scaled or offset image scores lower. `correlation` is
invariant to an affine change ``a*image + b`` (a > 0) and is the metric to use
when the scale differs (e.g. against a chart transmission 0..1).
"""

from __future__ import annotations

import numpy as np

__all__ = ["compare", "correlation", "psnr", "ssim"]

_K1 = 0.01
_K2 = 0.03
_SIGMA = 1.5
_TRUNCATE = 3.5  # as skimage: 11x11 window for sigma 1.5


def _pair(image: np.ndarray, reference: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    a = np.asarray(image, dtype=float)
    b = np.asarray(reference, dtype=float)
    if a.shape != b.shape:
        raise ValueError(f"image has shape {a.shape}, reference {b.shape}")
    valid = np.isfinite(a) & np.isfinite(b)
    if not valid.any():
        raise ValueError("no pixel is finite in both image and reference")
    return a, b, valid


def _data_range(b: np.ndarray, valid: np.ndarray, data_range: float | None) -> float:
    if data_range is not None:
        return float(data_range)
    v = b[valid]
    return float(v.max() - v.min())


def psnr(image: np.ndarray, reference: np.ndarray, data_range: float | None = None) -> float:
    """Peak signal-to-noise ratio in decibels.

    Parameters
    ----------
    image, reference : ndarray
        Images of the same shape; NaN pixels (in either) are ignored.
    data_range : float, optional
        Peak-to-peak range of the signal; default: that of `reference` over
        the valid pixels.

    Returns
    -------
    float
        ``10 * log10(data_range**2 / MSE)``; ``inf`` when the images are equal
        on the valid pixels, ``-inf`` when ``data_range`` is 0 and they differ.

    Raises
    ------
    ValueError
        Shape mismatch or no valid pixel.
    """
    a, b, valid = _pair(image, reference)
    mse = float(np.mean((a[valid] - b[valid]) ** 2))
    r = _data_range(b, valid, data_range)
    if mse == 0.0:
        return float("inf")
    if r == 0.0:
        return float("-inf")
    return float(10.0 * np.log10(r * r / mse))


def _wfilter(x: np.ndarray) -> np.ndarray:
    from scipy import ndimage  # (here: import time)

    return ndimage.gaussian_filter(x, sigma=_SIGMA, truncate=_TRUNCATE, mode="reflect")


def ssim_map(
    image: np.ndarray, reference: np.ndarray, data_range: float | None = None
) -> np.ndarray:
    """Local SSIM of every pixel (NaN where either image is NaN).

    See `ssim` for the definition; local statistics use only valid pixels,
    weighted by the Gaussian window (normalised convolution).
    """
    a, b, valid = _pair(image, reference)
    r = _data_range(b, valid, data_range)
    w = valid.astype(float)
    a0 = np.where(valid, a, 0.0)
    b0 = np.where(valid, b, 0.0)
    if valid.all():
        norm = np.ones_like(w)
    else:
        norm = _wfilter(w)
    with np.errstate(invalid="ignore", divide="ignore"):
        ux = _wfilter(a0) / norm
        uy = _wfilter(b0) / norm
        uxx = _wfilter(a0 * a0) / norm
        uyy = _wfilter(b0 * b0) / norm
        uxy = _wfilter(a0 * b0) / norm
    vx = uxx - ux * ux
    vy = uyy - uy * uy
    vxy = uxy - ux * uy
    c1 = (_K1 * r) ** 2
    c2 = (_K2 * r) ** 2
    num = (2 * ux * uy + c1) * (2 * vxy + c2)
    den = (ux * ux + uy * uy + c1) * (vx + vy + c2)
    with np.errstate(invalid="ignore", divide="ignore"):
        s = num / den
    # Both images constant over the window and data_range 0: identical -> 1.
    s = np.where((den == 0) & (num == 0), 1.0, s)
    s[~valid] = np.nan
    return s


def ssim(image: np.ndarray, reference: np.ndarray, data_range: float | None = None) -> float:
    """Mean structural similarity (Wang et al. 2004).

    Parameters
    ----------
    image, reference : ndarray, 2D
        Images of the same shape; NaN pixels (in either) are ignored.
    data_range : float, optional
        Peak-to-peak signal range used in the stabilising constants
        ``C1 = (0.01 R)**2``, ``C2 = (0.03 R)**2``; default: the range of
        `reference` over the valid pixels.

    Returns
    -------
    float
        Mean SSIM over the valid pixels, excluding a 5-pixel border (where
        the window reaches past the image) along each axis longer than 10.

    Notes
    -----
    Local means, variances and covariance use a Gaussian window with
    sigma = 1.5 px truncated at 3.5 sigma (11 x 11) and population
    (not sample) statistics, with ``reflect`` boundaries. On a fully
    valid image this is the definition of
    ``skimage.metrics.structural_similarity(gaussian_weights=True, sigma=1.5,
    use_sample_covariance=False, data_range=R)``. With NaN pixels the window
    is renormalised over the valid neighbours.
    """
    s = ssim_map(image, reference, data_range)
    if s.ndim != 2:
        raise ValueError(f"ssim expects 2D images, got {s.ndim}D")
    pad = int(_TRUNCATE * _SIGMA + 0.5)
    slices = tuple(slice(pad, n - pad) if n > 2 * pad else slice(None) for n in s.shape)
    inner = s[slices]
    inner = inner[np.isfinite(inner)]
    if inner.size == 0:  # valid pixels only in the border
        inner = s[np.isfinite(s)]
    return float(np.mean(inner))


def correlation(image: np.ndarray, reference: np.ndarray) -> float:
    """Pearson correlation coefficient over the pixels valid in both images.

    Returns
    -------
    float
        In [-1, 1]; NaN if either image is constant over the valid pixels.
    """
    a, b, valid = _pair(image, reference)
    x = a[valid] - a[valid].mean()
    y = b[valid] - b[valid].mean()
    den = float(np.sqrt(np.sum(x * x) * np.sum(y * y)))
    if den == 0.0:
        return float("nan")
    return float(np.clip(np.sum(x * y) / den, -1.0, 1.0))


def compare(image: np.ndarray, reference: np.ndarray) -> dict[str, float]:
    """PSNR, SSIM and Pearson correlation of `image` against `reference`.

    Returns
    -------
    dict
        ``{"psnr_dB": ..., "ssim": ..., "correlation": ...}``; PSNR and SSIM
        use the data range of the reference (see the module docstring).
    """
    return {
        "psnr_dB": psnr(image, reference),
        "ssim": ssim(image, reference),
        "correlation": correlation(image, reference),
    }


def edge_position_px(row: np.ndarray, margin: int = 8) -> float:
    """Sub-pixel position of a rising edge in one image row: where it first crosses half
    way between its dark and bright levels (medians of the first and last ``margin``
    pixels), linearly interpolated between the two pixels around the crossing.

    Raises
    ------
    ValueError
        The row has no rising edge (its end is not brighter than its start).
    """
    row = np.asarray(row, dtype=float)
    lo, hi = float(np.median(row[:margin])), float(np.median(row[-margin:]))
    if not hi > lo:
        raise ValueError("edge_position_px: the row does not rise from start to end")
    half = (lo + hi) / 2
    k = int(np.argmax(row > half))
    if k == 0:
        return 0.0
    return float(k - 1 + (half - row[k - 1]) / (row[k] - row[k - 1]))
