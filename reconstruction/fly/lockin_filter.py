"""The lock-in's output filter as a linear operator on uniformly sampled data.

The filter is ``n`` identical first-order RC stages of time constant ``tau``
(``n = slope_dB_per_oct / 6``). Its input is taken as piecewise constant
between the sample times ``t_k = t_0 + k dt`` (value ``u_k`` on
``(t_{k-1}, t_k]``), and before ``t_0`` the cascade has settled on ``u_0``. The
cascade then has a closed form per step, the one the simulated lock-in uses
(``imager/sim/lockin.py``, ``_step``), and the sampled output is

    y_k = s_k u_0 + sum_{j=1..k} g_{k-j} u_j,

with ``s_m = Q(n, m x)`` the part of a settled value left after ``m`` steps
(``Q`` the regularised upper incomplete gamma function, ``x = dt / tau``: the
Erlang survival function) and ``g_m = s_m - s_{m+1}`` the response to one
interval of unit input. ``1 - s_m = P(n, m x)`` is the n-pole step response.
"""

from __future__ import annotations

import math

import numpy as np

__all__ = ["LockInFilter"]

_TAIL = 1e-17  # the impulse response is followed until s_m falls below this


class LockInFilter:
    """Forward and adjoint of the sampled n-pole lock-in filter.

    Parameters
    ----------
    tau_s : float
        Time constant of each RC stage, s (> 0).
    n_poles : int
        Number of stages, 1-4 (6, 12, 18 or 24 dB/oct).
    dt_s : float
        Sample interval, s (> 0).

    Notes
    -----
    `forward` maps ``u`` (shape ``(N,)``: ``u[0]`` the settled value before the
    first sample, ``u[k]`` the input on ``(t_{k-1}, t_k]``) to the ``N`` output
    samples ``y[k]`` at ``t_k``; any ``N >= 1``. `adjoint` is its exact transpose.
    ``u[k]`` is the mean input over its interval, so it belongs to the time
    ``t_k - dt/2``.
    """

    def __init__(self, tau_s: float, n_poles: int, dt_s: float) -> None:
        tau_s, dt_s = float(tau_s), float(dt_s)
        if not (math.isfinite(tau_s) and tau_s > 0.0):
            raise ValueError(f"tau_s must be > 0, got {tau_s!r}")
        if not (math.isfinite(dt_s) and dt_s > 0.0):
            raise ValueError(f"dt_s must be > 0, got {dt_s!r}")
        if int(n_poles) != n_poles or not 1 <= int(n_poles) <= 4:
            raise ValueError(f"n_poles must be 1, 2, 3 or 4, got {n_poles!r}")
        self.tau_s, self.n_poles, self.dt_s = tau_s, int(n_poles), dt_s
        self._fft_cache: dict[int, np.ndarray] = {}  # frequency_response, by n_fft
        self._conv_cache: dict[int, np.ndarray] = {}  # _convolve, by signal length

    def __repr__(self) -> str:
        return (f"LockInFilter(tau_s={self.tau_s!r}, n_poles={self.n_poles}, "
                f"dt_s={self.dt_s!r})")

    # ----------------------------------------------------------- closed forms
    @property
    def delay_s(self) -> float:
        """Mean delay (centroid) of the impulse response, ``n tau``, s."""
        return self.n_poles * self.tau_s

    def step_response(self, t_s: np.ndarray) -> np.ndarray:
        """Continuous response to a unit step at ``t = 0``: ``P(n, t / tau)`` (0 before it).

        Parameters
        ----------
        t_s : array_like
            Times after the step, s.

        Returns
        -------
        ndarray
        """
        from scipy.special import gammainc

        t = np.maximum(np.asarray(t_s, dtype=float), 0.0)
        return gammainc(self.n_poles, t / self.tau_s)

    def settled_response(self, n_samples: int) -> np.ndarray:
        """``s_m``, m = 0 ... n_samples - 1: the part of a settled value still held."""
        from scipy.special import gammaincc

        m = np.arange(int(n_samples), dtype=float)
        return gammaincc(self.n_poles, m * (self.dt_s / self.tau_s))

    def impulse_response(self, n_samples: int) -> np.ndarray:
        """``g_m``, m = 0 ... n_samples - 1: the output after one interval of unit input.

        Differences of the regularised gamma functions, each taken on the side
        (``P`` or ``Q``) where it is small, so that short intervals (``dt << tau``)
        keep their relative accuracy.
        """
        from scipy.special import gammainc, gammaincc

        n, x = self.n_poles, self.dt_s / self.tau_s
        m = np.arange(int(n_samples), dtype=float)
        lo, hi = m * x, (m + 1.0) * x
        early = gammainc(n, hi) < 0.5
        g = np.where(early, gammainc(n, hi) - gammainc(n, lo), gammaincc(n, lo) - gammaincc(n, hi))
        return np.maximum(g, 0.0)

    def response_length(self, tail: float = _TAIL) -> int:
        """Samples after which a settled value's remainder ``s_m`` is below `tail`."""
        x = self.dt_s / self.tau_s
        m = max(1, math.ceil((45.0 + 4.0 * self.n_poles) / x))
        s = self.settled_response(m)
        return int(np.searchsorted(-s, -float(tail))) + 1

    def numerator(self) -> np.ndarray:
        """``b``: the transfer function is ``B(z) / (1 - a z^-1)^n``, ``a = exp(-dt/tau)``.

        Returns
        -------
        ndarray, shape (n,)
            Coefficients of ``B`` in powers of ``z^-1``.
        """
        return np.convolve(self.impulse_response(self.n_poles), self.denominator())[: self.n_poles]

    def denominator(self) -> np.ndarray:
        """Coefficients of ``(1 - a z^-1)^n`` in powers of ``z^-1``, shape ``(n + 1,)``."""
        a = math.exp(-self.dt_s / self.tau_s)
        return np.array([math.comb(self.n_poles, j) * (-a) ** j for j in range(self.n_poles + 1)])

    def frequency_response(self, n_fft: int) -> np.ndarray:
        """Exact transfer function on the ``rfft`` grid of length ``n_fft``.

        The DFT of the impulse response folded onto ``n_fft`` samples (circular
        convolution of length ``n_fft``), i.e. the filter's discrete-time transfer
        function at the frequencies ``k / (n_fft dt)``; 1 at zero frequency.

        Returns
        -------
        ndarray of complex, shape (n_fft // 2 + 1,)
        """
        n_fft = int(n_fft)
        cached = self._fft_cache.get(n_fft)
        if cached is None:
            length = max(n_fft, self.response_length())
            reps = -(-length // n_fft)
            g = np.zeros(reps * n_fft)
            g[:length] = self.impulse_response(length)
            cached = np.fft.rfft(g.reshape(reps, n_fft).sum(axis=0))
            if len(self._fft_cache) > 8:
                self._fft_cache.clear()
            self._fft_cache[n_fft] = cached
        return cached

    def noise_autocovariance(self, n_lags: int) -> np.ndarray:
        """Autocovariance of the sampled output for white noise at the input, ``R(0) = 1``.

        The noise of a lock-in's output: continuous white noise through the
        continuous cascade, sampled every ``dt``. With the impulse response
        ``h(t) = t^(n-1) e^(-t/tau) / (tau^n (n-1)!)``,
        ``R(T) = int h(t) h(t + T) dt`` has the closed form used here.

        Parameters
        ----------
        n_lags : int
            Lags 0 ... n_lags - 1 (in samples).

        Returns
        -------
        ndarray, shape (n_lags,)
        """
        n = self.n_poles
        s = np.arange(int(n_lags), dtype=float) * (self.dt_s / self.tau_s)
        acc = np.zeros_like(s)
        for j in range(n):
            acc += math.comb(n - 1, j) * math.gamma(n + j) * 0.5 ** (n + j) * s ** (n - 1 - j)
        return np.exp(-s) * acc / (math.gamma(2 * n - 1) * 0.5 ** (2 * n - 1))

    # -------------------------------------------------------------- operator
    def _check(self, a: np.ndarray, name: str) -> np.ndarray:
        a = np.asarray(a, dtype=float)
        if a.ndim != 1 or a.size < 1:
            raise ValueError(f"{name} must be a non-empty 1-D array, got shape {a.shape}")
        return a

    def _convolve(self, v: np.ndarray, reverse: bool) -> np.ndarray:
        """``(g * v)[:N]`` (or the correlation with ``reverse``) by a zero-padded FFT."""
        from scipy.fft import irfft, next_fast_len, rfft

        n = v.size
        n_fft = next_fast_len(2 * n)
        spec = self._conv_cache.get(n)
        if spec is None:
            spec = rfft(self.impulse_response(n), n_fft)
            if len(self._conv_cache) > 8:
                self._conv_cache.clear()
            self._conv_cache[n] = spec
        w = rfft(v[::-1] if reverse else v, n_fft)
        out = irfft(w * spec, n_fft)[:n]
        return out[::-1] if reverse else out

    def forward(self, u: np.ndarray) -> np.ndarray:
        """Output samples ``y`` (shape ``(N,)``) for the input ``u`` (shape ``(N,)``)."""
        u = self._check(u, "u")
        v = u.copy()
        v[0] = 0.0
        return self.settled_response(u.size) * u[0] + self._convolve(v, reverse=False)

    def adjoint(self, y: np.ndarray) -> np.ndarray:
        """Transpose of `forward` applied to ``y`` (shape ``(N,)``)."""
        y = self._check(y, "y")
        out = self._convolve(y, reverse=True)
        out[0] = float(np.dot(self.settled_response(y.size), y))
        return out
