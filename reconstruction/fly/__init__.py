"""Fly scanning: lock-in samples taken while the stage moves, assembled into an image.

In a fly scan the stage crosses each image line at constant velocity ``v``
while the lock-in's buffer samples X (and Y) at a fixed rate. Each sampled line
is the signal along the path passed through the lock-in's output filter, ``n``
identical RC stages of time constant ``tau``: the image is delayed by about
``n tau v`` and smeared along the scan, in opposite directions on forward and
backward (snake) lines. This package takes that response out and bins the
samples to pixels. Pure: NumPy and SciPy, arrays in, arrays out.

- `LockInFilter`: the sampled n-pole filter as an exact linear operator
  (closed form per sample interval, as the simulated lock-in integrates it),
  with its adjoint, step and impulse responses and transfer function.
- `WienerDeconvolution` / `deconvolve_line`: the regularised inverse for one
  line (Tikhonov on first differences, diagonal in frequency: zero phase, so
  it never shifts; weight by maximum likelihood from the noise level, which is
  estimated from the line's high frequencies when not given). Reasons and
  boundary handling: :mod:`reconstruction.fly.deconvolve`.
- `bin_samples`, `assemble_line` (one row, live), `assemble_fly` (the image,
  offline with any bin edges or deconvolution settings), `FlyLine`.
- `trapezoid_position`, `fit_move_start`: sample positions from the
  controller's trapezoidal profile, its start time fitted to ~10 Hz readbacks.

Measured (``tests/reconstruction/test_recon_fly.py``, which prints them): a
sharp edge scanned both ways, 16 pixels of 6.25 um, tau 30 ms, 12 dB/oct,
512 Hz, one pixel per time constant (208 um/s), lock-in output noise 3 % of
the edge per sample (the step raster's own PSNR in the twin, docs/lab_time.md),
5 noise seeds of 4 forward and 4 backward lines:

- forward and backward edge positions (50 % crossing, linear interpolation)
  differ by 3.3-3.5 pixels without deconvolution and by at most 0.09 pixel with
  it (means of 4 lines per direction; single line pairs up to ~0.2), and the
  deconvolved edges sit within 0.1 pixel of the true one;
- noise amplification of the deconvolution, per pixel (binned, ~15 samples):
  x1.5 for lock-in output noise (white at the filter input), x2.8 for white
  noise on the samples, which binning alone averages better;
- `fit_move_start`: start time within 0.25 ms from 10 Hz readbacks quantised to
  the Z8 encoder step with 0.5 ms timestamp jitter.
"""

from .assemble import FlyLine, assemble_fly, assemble_line, bin_samples
from .deconvolve import (
    DeconvolutionInfo,
    WienerDeconvolution,
    deconvolve_line,
    estimate_noise_rms,
    noise_spectrum,
)
from .lockin_filter import LockInFilter
from .motion import fit_move_start, move_duration_s, trapezoid_position

__all__ = [
    "DeconvolutionInfo",
    "FlyLine",
    "LockInFilter",
    "WienerDeconvolution",
    "assemble_fly",
    "assemble_line",
    "bin_samples",
    "deconvolve_line",
    "estimate_noise_rms",
    "fit_move_start",
    "move_duration_s",
    "noise_spectrum",
    "trapezoid_position",
]
