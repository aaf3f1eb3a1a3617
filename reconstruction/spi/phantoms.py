"""Synthetic test images drawn here (no data files): Shepp-Logan phantom, bar chart."""

from __future__ import annotations

import numpy as np

__all__ = ["bar_chart", "shepp_logan"]

# Modified Shepp-Logan (Toft 1996): intensity, semi-axes a, b, centre x0, y0, angle (deg)
_ELLIPSES = (
    (1.0, 0.69, 0.92, 0.0, 0.0, 0.0),
    (-0.8, 0.6624, 0.874, 0.0, -0.0184, 0.0),
    (-0.2, 0.11, 0.31, 0.22, 0.0, -18.0),
    (-0.2, 0.16, 0.41, -0.22, 0.0, 18.0),
    (0.1, 0.21, 0.25, 0.0, 0.35, 0.0),
    (0.1, 0.046, 0.046, 0.0, 0.1, 0.0),
    (0.1, 0.046, 0.046, 0.0, -0.1, 0.0),
    (0.1, 0.046, 0.023, -0.08, -0.605, 0.0),
    (0.1, 0.023, 0.023, 0.0, -0.606, 0.0),
    (0.1, 0.023, 0.046, 0.06, -0.605, 0.0),
)


def _grid(n: int, oversample: int) -> tuple[np.ndarray, np.ndarray]:
    k = n * oversample
    c = (np.arange(k) + 0.5) / k * 2.0 - 1.0
    yy, xx = np.meshgrid(-c, c, indexing="ij")
    return xx, yy


def _pool(img: np.ndarray, n: int, oversample: int) -> np.ndarray:
    return img.reshape(n, oversample, n, oversample).mean(axis=(1, 3))


def shepp_logan(n: int = 128, oversample: int = 4) -> np.ndarray:
    """Modified Shepp-Logan head phantom in ``[0, 1]``, area-sampled.

    Parameters
    ----------
    n : int
        Image side.
    oversample : int
        Sub-samples per pixel side (anti-aliasing).

    Returns
    -------
    ndarray, shape (n, n)
    """
    xx, yy = _grid(n, oversample)
    img = np.zeros_like(xx)
    for value, a, b, x0, y0, angle in _ELLIPSES:
        t = np.deg2rad(angle)
        xr = (xx - x0) * np.cos(t) + (yy - y0) * np.sin(t)
        yr = -(xx - x0) * np.sin(t) + (yy - y0) * np.cos(t)
        img[(xr / a) ** 2 + (yr / b) ** 2 <= 1.0] += value
    return np.clip(_pool(img, n, oversample), 0.0, 1.0)


def bar_chart(n: int = 128, oversample: int = 4) -> np.ndarray:
    """USAF-like resolution chart: groups of three bars of shrinking period.

    Bright (0.9) bars on a dark (0.1) background: each group has three
    horizontal and three vertical bars of width ``w``, gap ``w``, length
    ``5 w``; ``w`` shrinks by ``2**(1/4)`` per group, from ``n / 28`` down to one
    pixel; below them a disk and a grey ramp.

    Returns
    -------
    ndarray, shape (n, n)
    """
    k = n * oversample
    img = np.full((k, k), 0.1)
    w = k / 28.0
    x, y = 0.04 * k, 0.04 * k
    row_height = 0.0
    while w >= oversample * 0.99:
        wi = max(1, int(round(w)))
        length = 5 * wi
        width = 5 * wi + length + wi
        if x + width > 0.97 * k:
            x = 0.04 * k
            y += row_height + 2 * wi
            row_height = 0.0
        if y + length > 0.97 * k:
            break
        x0, y0 = int(x), int(y)
        for i in range(3):
            img[y0 + 2 * i * wi : y0 + (2 * i + 1) * wi, x0 : x0 + length] = 0.9
            xv = x0 + length + wi + 2 * i * wi
            img[y0 : y0 + length, xv : xv + wi] = 0.9
        x += width + 2 * wi
        row_height = max(row_height, length)
        w /= 2.0**0.25
    # lower half: a disk and a grey ramp (large, smooth and curved features)
    yy, xx = np.mgrid[0:k, 0:k] / k
    img[(xx - 0.27) ** 2 + (yy - 0.75) ** 2 <= 0.17**2] = 0.7
    box = (xx >= 0.55) & (xx <= 0.93) & (yy >= 0.6) & (yy <= 0.93)
    img[box] = 0.1 + 0.8 * (xx[box] - 0.55) / 0.38
    return _pool(img, n, oversample)
