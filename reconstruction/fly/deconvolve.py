"""Regularised inverse of the lock-in filter for one line of buffered samples.

Method: a Wiener filter with a random-walk prior on the filter input, i.e.
Tikhonov regularisation on first differences, diagonal in the frequency domain:

    U_k = conj(G_k) Y_k / (|G_k|^2 + N_k |D_k|^2 / q),

``G`` the exact transfer function of the sampled cascade
(`LockInFilter.frequency_response`), ``|D_k|^2 = 4 sin^2(pi k / M)`` the first
difference, ``N_k`` the noise spectrum and ``q`` the variance of the input's
increments per sample. Why this one:

- The resolution kernel ``|G|^2 / (|G|^2 + N |D|^2 / q)`` is real and positive:
  zero phase. The estimate is blurred symmetrically and never shifted, whatever
  the weight, so forward and backward lines agree (the causal delay ``n tau v``
  is removed completely, not approximately).
- Either noise model is one spectrum ``N_k`` (`noise_spectrum`): the lock-in's
  own output noise, white at the input and filtered by the same cascade (a real
  lock-in, the twin's buffer; ``"filtered"``, the default), or noise added after
  the filter, independent per sample (``"white"``). A small white floor
  (`WHITE_FLOOR_REL`) keeps the inverse bounded where the filter passes nothing.
- The weight costs no solves: ``q`` maximises the Whittle likelihood of the
  line's periodogram, ``sum_k log S_k + I_k / S_k`` with
  ``S_k = |G_k|^2 q / |D_k|^2 + N_k``, a bounded one-parameter minimisation that
  stops when ``log q`` is known to `xatol`. The noise level sets the scale; a
  step (an edge) has exactly the ``1/f^2`` spectrum of the prior.
- ``O(M log M)`` per line, so the live view can deconvolve every line as it ends.

Boundaries (`_pad`): the line starts settled (the buffer starts at rest, in the
run-up), which a front padding with the first sample states exactly. The end
is padded with the last sample, a guess: the last few time constants of a line
are less accurate, so the samples should run on for ``>= 5 n tau`` after the
last pixel (the information on that pixel arrives that late anyway). The wrap
from the end back to the front is a filtered step, so the circular model holds.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from ..threads import one_blas_thread
from .lockin_filter import LockInFilter

__all__ = [
    "DeconvolutionInfo",
    "WienerDeconvolution",
    "deconvolve_line",
    "estimate_noise_rms",
    "noise_spectrum",
]

NOISE_MODELS = ("filtered", "white")
#: Smallest white noise assumed, relative to the signal's span: keeps the inverse bounded
#: where the filter leaves nothing (float32 buffer transfers resolve ~6e-8 of full scale).
WHITE_FLOOR_REL = 1e-6
_PAD_TAIL = 1e-9  # padding covers the filter's memory down to this fraction


@dataclass
class DeconvolutionInfo:
    """What a `WienerDeconvolution.solve` did.

    Attributes
    ----------
    noise_rms_V : float
        Noise rms of one output sample used (given or estimated), V.
    noise_estimated : bool
        The noise level was estimated from the data.
    reg_weight : float
        Tikhonov weight on first differences, ``sigma^2 / q`` (``sigma``: the
        input-referred noise per sample for ``"filtered"``, the sample noise for
        ``"white"``); large = smoother.
    noise_gain : float
        Noise rms per sample of the estimate over that of the data.
    iterations : int
        Likelihood evaluations of the weight search (0 with a given weight).
    converged : bool
        The weight search met its tolerance (or the weight was given).
    """

    noise_rms_V: float = float("nan")
    noise_estimated: bool = False
    reg_weight: float = float("nan")
    noise_gain: float = float("nan")
    iterations: int = 0
    converged: bool = False


def noise_spectrum(lockin_filter: LockInFilter, n_fft: int, noise: str = "filtered") -> np.ndarray:
    """Spectrum of unit-variance sample noise on the ``rfft`` grid of length ``n_fft``.

    ``"filtered"``: continuous white noise through the continuous cascade,
    sampled (`LockInFilter.noise_autocovariance`, folded onto ``n_fft`` lags);
    ``"white"``: 1 everywhere. Its mean over the full circle is 1.

    Notes
    -----
    Near the Nyquist frequency this exceeds the sampled-input model
    ``sigma_w^2 |G|^2`` (which has a zero near -1 for ``n >= 2``), so data with
    either kind of noise are never taken for signal there.
    """
    if noise == "white":
        return np.ones(int(n_fft) // 2 + 1)
    if noise != "filtered":
        raise ValueError(f"noise must be one of {NOISE_MODELS}, got {noise!r}")
    n_fft = int(n_fft)
    lags = lockin_filter.response_length()
    r = lockin_filter.noise_autocovariance(lags)
    folded = np.zeros(n_fft)
    idx = np.arange(lags)
    np.add.at(folded, idx % n_fft, r)
    np.add.at(folded, (-idx[1:]) % n_fft, r[1:])
    return np.maximum(np.fft.rfft(folded).real, 0.0)


def _noise_band(g2: np.ndarray, noise: str) -> np.ndarray:
    """Bins where noise dominates an edge's ``1/f^2`` spectrum and, for ``"filtered"``,
    the sampled-input and continuous noise models agree (below half Nyquist)."""
    k = np.arange(g2.size)
    if noise == "white":
        return k >= g2.size // 2
    low_half = (k >= 1) & (k <= g2.size // 2)
    band = low_half & (g2 <= 1e-3) & (g2 >= 1e-5)
    if band.sum() < 16:  # fast filter: the filter's corner is near Nyquist
        band = low_half & (k >= g2.size // 4)
    return band


def _pad(y: np.ndarray, lockin_filter: LockInFilter) -> tuple[np.ndarray, int]:
    """Embed the line in a circular sequence the filter model can explain.

    ``[y0 ... y0][y][y_end ... y_end][y_end -> y0 as the filter's step response]``:
    the front states the settled start; the end holds the last sample (a guess);
    the wrap back to ``y0`` is a filtered step, not a jump (a jump in the data has
    a ``1/f^2`` spectrum no filter output has, and would swamp the high
    frequencies). Returns the sequence (FFT-friendly length) and where ``y`` starts.
    """
    from scipy.fft import next_fast_len

    pad = lockin_filter.response_length(_PAD_TAIL) + 16
    m = next_fast_len(y.size + 3 * pad)
    front = m - y.size - 2 * pad
    back = 1.0 - lockin_filter.settled_response(pad + 1)[1:]
    wrap = y[-1] + (y[0] - y[-1]) * back
    return np.concatenate([np.full(front, y[0]), y, np.full(pad, y[-1]), wrap]), front


def _estimate(periodogram, g2, shape, fraction, noise) -> float:
    band = _noise_band(g2, noise)
    ratio = periodogram[band] / (fraction * shape[band])
    return math.sqrt(float(np.median(ratio)) / math.log(2.0))


def _check_signal(y: np.ndarray, lockin_filter: LockInFilter) -> np.ndarray:
    y = np.asarray(y, dtype=float)
    need = lockin_filter.n_poles + 4
    if y.ndim != 1 or y.size < need or not np.isfinite(y).all():
        raise ValueError(f"signal_V must be 1-D, finite, with >= {need} samples; "
                         f"got shape {y.shape}")
    return y


def estimate_noise_rms(
    signal_V: np.ndarray, lockin_filter: LockInFilter, noise: str = "filtered"
) -> float:
    """Noise rms of one output sample, estimated from the line's high frequencies.

    The periodogram of the line over the noise model's spectrum
    (`noise_spectrum`), median over a band where the filter passes 1e-3 - 1e-5
    of the power, below half the Nyquist frequency (``"filtered"``: there an
    edge's ``1/f^2`` spectrum is far below the noise, and noise fed in as constant
    per sample, as the twin's buffer does, has within ~8 % the same spectrum) or
    the upper half (``"white"``). The median makes it robust to a few spectral lines
    (periodic bars).

    Parameters
    ----------
    signal_V : array_like, shape (N,)
        The samples, ``N >= n_poles + 4``.
    lockin_filter : LockInFilter
    noise : {"filtered", "white"}

    Returns
    -------
    float
        Noise rms of one sample, V.
    """
    y = _check_signal(signal_V, lockin_filter)
    padded, _ = _pad(y, lockin_filter)
    m = padded.size
    periodogram = np.abs(np.fft.rfft(padded)) ** 2 / m
    g2 = np.abs(lockin_filter.frequency_response(m)) ** 2
    shape = noise_spectrum(lockin_filter, m, noise)
    return _estimate(periodogram, g2, shape, y.size / m, noise)


class WienerDeconvolution:
    """Regularised inverse of the lock-in filter for uniformly sampled lines.

    Parameters
    ----------
    lockin_filter : LockInFilter
    noise : {"filtered", "white"}
        Noise model (module docstring): the lock-in's own output noise
        (default) or independent noise on each sample.
    noise_rms_V : float, optional
        Noise rms of one output sample, V (for the twin: ``lockin.noise_rms_V()``).
        Estimated from each line (`estimate_noise_rms`) when not given.
    reg_weight : float, optional
        Fixed Tikhonov weight (see `DeconvolutionInfo.reg_weight`); by default
        chosen per line by maximum likelihood.
    white_rms_V : float, optional
        White noise added to the model in either case; default ``1e-6`` of the
        line's span (`WHITE_FLOOR_REL`).
    xatol : float
        Stopping rule of the weight search: ``log q`` known to this (0.01: 1 %).

    Attributes
    ----------
    info : DeconvolutionInfo
        Filled by the last `solve`.
    """

    def __init__(
        self,
        lockin_filter: LockInFilter,
        *,
        noise: str = "filtered",
        noise_rms_V: float | None = None,
        reg_weight: float | None = None,
        white_rms_V: float | None = None,
        xatol: float = 0.01,
    ) -> None:
        if noise not in NOISE_MODELS:
            raise ValueError(f"noise must be one of {NOISE_MODELS}, got {noise!r}")
        for name, value in (("noise_rms_V", noise_rms_V), ("white_rms_V", white_rms_V)):
            if value is not None and not (math.isfinite(value) and value >= 0.0):
                raise ValueError(f"{name} must be >= 0, got {value!r}")
        if reg_weight is not None and not (math.isfinite(reg_weight) and reg_weight > 0.0):
            raise ValueError(f"reg_weight must be > 0, got {reg_weight!r}")
        self.filter = lockin_filter
        self.noise = noise
        self.noise_rms_V = noise_rms_V
        self.reg_weight = reg_weight
        self.white_rms_V = white_rms_V
        self.xatol = float(xatol)
        self.info = DeconvolutionInfo()

    @one_blas_thread
    def solve(self, signal_V: np.ndarray) -> np.ndarray:
        """Estimate the filter input from one line's samples.

        Parameters
        ----------
        signal_V : array_like, shape (N,)
            Output samples at ``t_0 + k dt``; ``N >= n_poles + 4``.

        Returns
        -------
        ndarray, shape (N,)
            ``u[k]``: the input's mean over ``(t_{k-1}, t_k]`` (time ``t_k - dt/2``);
            ``u[0]`` the settled value the line started from.
        """
        from scipy.fft import irfft, rfft

        f = self.filter
        y = _check_signal(signal_V, f)
        info = self.info = DeconvolutionInfo()
        padded, front = _pad(y, f)
        m = padded.size
        fraction = y.size / m  # of the padded samples carrying signal changes and noise
        spec = rfft(padded)
        periodogram = np.abs(spec) ** 2 / m
        g = f.frequency_response(m)
        g2 = np.abs(g) ** 2
        d2 = 4.0 * np.sin(np.pi * np.arange(g.size) / m) ** 2
        shape = noise_spectrum(f, m, self.noise)

        sigma = self.noise_rms_V
        info.noise_estimated = sigma is None
        if sigma is None:
            sigma = _estimate(periodogram, g2, shape, fraction, self.noise)
        info.noise_rms_V = sigma
        span = float(np.max(y) - np.min(y))
        floor = self.white_rms_V if self.white_rms_V is not None else WHITE_FLOOR_REL * span
        noise_k = sigma**2 * shape + max(floor, 1e-150) ** 2
        weights = np.full(g.size, 2.0)  # rfft bins -> the full circle
        weights[0] = 1.0
        if m % 2 == 0:
            weights[-1] = 1.0
        # input-referred noise per sample: the weight's unit (sigma / ||g|| for "filtered")
        ref2 = float(np.sum(weights * noise_k) / np.sum(weights * (g2 if self.noise ==
                                                                     "filtered" else 1.0)))
        if self.reg_weight is not None:
            log_q = math.log(ref2 / self.reg_weight)
            info.converged = True
        else:
            log_q, info.iterations, info.converged = self._max_likelihood(
                periodogram[1:], g2[1:] / d2[1:], noise_k[1:], fraction, ref2)
        q = math.exp(log_q)
        info.reg_weight = ref2 / q
        wiener = np.conj(g) / (g2 + noise_k * d2 / q)
        info.noise_gain = math.sqrt(float(np.sum(weights * np.abs(wiener) ** 2 * noise_k))
                                    / float(np.sum(weights * noise_k)))
        u = irfft(spec * wiener, m)
        return u[front:front + y.size]

    def _max_likelihood(
        self, periodogram: np.ndarray, ratio: np.ndarray, noise_k: np.ndarray,
        fraction: float, ref2: float,
    ) -> tuple[float, int, bool]:
        """``log q`` maximising the Whittle likelihood of the padded line's periodogram.

        Model spectrum ``fraction * (ratio q + noise_k)`` (``ratio = |G|^2 / |D|^2``):
        only ``fraction`` of the padded samples carry signal changes and noise.
        Bounded Brent search; stops when ``log q`` is known to `xatol`.
        """
        from scipy.optimize import minimize_scalar

        def nll(log_q: float) -> float:
            s = fraction * (ratio * math.exp(log_q) + noise_k)
            return float(np.sum(np.log(s) + periodogram / s))

        lo, hi = math.log(ref2 / 1e12), math.log(ref2 / 1e-6)  # weight 1e-6 ... 1e12
        res = minimize_scalar(nll, bounds=(lo, hi), method="bounded",
                              options={"xatol": self.xatol, "maxiter": 200})
        return float(res.x), int(res.nfev), bool(res.success)


def deconvolve_line(
    signal_V: np.ndarray,
    dt_s: float,
    tau_s: float,
    n_poles: int,
    *,
    noise_rms_V: float | None = None,
    noise: str = "filtered",
    reg_weight: float | None = None,
) -> np.ndarray:
    """Estimate the lock-in filter's input from one line of buffered samples.

    Parameters
    ----------
    signal_V : array_like, shape (N,)
        Samples of X (or Y) at a fixed rate, starting settled (in the run-up).
    dt_s : float
        Sample interval, s.
    tau_s : float
        Lock-in time constant, s.
    n_poles : int
        Filter stages: ``slope_dB_per_oct / 6``.
    noise_rms_V : float, optional
        Noise rms of one sample, V; estimated from the line when not given.
    noise : {"filtered", "white"}
        Noise model, see `WienerDeconvolution`.
    reg_weight : float, optional
        Fixed regularisation weight (default: maximum likelihood per line).

    Returns
    -------
    ndarray, shape (N,)
        The input's mean over each sample interval ``(t_{k-1}, t_k]``, i.e. at
        the time ``t_k - dt_s / 2``; element 0 is the settled starting value.

    Examples
    --------
    >>> import numpy as np
    >>> f = LockInFilter(0.03, 2, 1 / 512)
    >>> u = np.r_[np.zeros(200), np.ones(600)]
    >>> est = deconvolve_line(f.forward(u), 1 / 512, 0.03, 2, noise_rms_V=1e-3)
    >>> int(np.argmax(est > 0.5))
    200
    """
    solver = WienerDeconvolution(LockInFilter(tau_s, n_poles, dt_s), noise=noise,
                                 noise_rms_V=noise_rms_V, reg_weight=reg_weight)
    return solver.solve(signal_V)
