"""Simulated lock-in amplifier: exact RC-cascade filtering on a virtual clock.

The demodulated input is a phasor ``signal(t)`` (complex volts, rms amplitude
at the reference frequency). The outputs ``X + iY`` are that phasor, rotated by
``-reference_phase``, passed through ``n = slope / 6`` identical first-order
low-pass stages of time constant ``tau``. Between evaluations the input is
piecewise constant, for which the cascade has a closed form: with
``d_k = e_k - u`` the deviation of stage ``k`` from the input ``u``,

    d_k(t) = exp(-t/tau) * sum_{j<=k} d_j(0) * (t/tau)**(k-j) / (k-j)!

Intervals in which the signal changes (the stage is moving) are split into a
few substeps evaluated at their midpoints; the rest is one exact step. Noise is
added at each reading (see :class:`NoiseModel`); within scan point ``i`` it is
drawn from the counter-based Philox4x64 stream with key ``(seed, i)``
(:meth:`SimulatedLockIn.begin_point`).
"""

from __future__ import annotations

import cmath
import math
from collections.abc import Callable
from dataclasses import asdict

import numpy as np

from imager.devices.interfaces import Chopper, LockInReading, LockInStatus, Settings
from imager.instruments import srs
from imager.sim.lockin_stream import StreamingMixin
from imager.sim.noise_model import (  # noqa: F401 - LOCKIN_INPUT_... re-exported
    LOCKIN_INPUT_NOISE_V_PER_RTHZ,
    NoiseModel,
)
from stages.interface import Clock

_INPUT_FULL_SCALE_V = srs.SR830.input_ranges_V[0]  # A/B input, 1 V rms: INPUT_OVERLOAD above
_OK = LockInStatus.OK


class SimulatedLockIn(StreamingMixin):
    """Lock-in amplifier twin implementing :class:`imager.devices.interfaces.LockIn`
    and :class:`~imager.devices.interfaces.StreamingLockIn` (its data buffer:
    :mod:`imager.sim.lockin_stream`).

    Parameters
    ----------
    clock : Clock
        Lab clock (``now_s``).
    signal : callable
        ``signal(t_s) -> complex``: input phasor in volts at lab time ``t_s``.
    chopper : Chopper, optional
        Reference source; when it is disabled the lock-in is unlocked and its
        input counts as zero.
    static_after : callable, optional
        ``static_after() -> t_s``: the signal is constant after this lab time
        (the end of the current stage move); before it, an interval is split
        into substeps. Without it the signal is taken as constant between syncs.
    seed : int
        Noise seed, 0 ... 2**64 - 1 (see :meth:`begin_point`).
    noise : NoiseModel or None
        Noise parameters; ``None`` gives noise-free readings.
    time_constant_s, sensitivity_V, filter_slope_dB_per_oct, reference_phase_deg
        Initial settings (SR830 defaults of this project: 30 ms, 1 mV, 12 dB/oct, 0 deg).
    max_substeps : int
        Most substeps used across a changing-signal interval.
    detector_noise : callable, optional
        ``detector_noise() -> V/sqrt(Hz)``: noise density of the detector feeding
        the input (it may change with the pump power), added in quadrature to
        ``noise.input_noise_V_per_rtHz``. Ignored when ``noise`` is None.
    gain_fluctuation : callable, optional
        ``gain_fluctuation(t_s, tau_s, n_poles) -> float``: the relative input power
        fluctuation at lab time ``t_s`` as this filter holds it
        (:meth:`imager.sim.power_noise.PowerFluctuation.filtered`); replaces the
        per-reading draw of ``noise.power_rel_rms``. Ignored when ``noise`` is None.

    Attributes
    ----------
    sensitivities_V : tuple of float
        The full scales it accepts, ascending: the SR830's 1-2-5 ladder, 2 nV-1 V.
    pickup_V : float
        Amplitude of an input not at the reference frequency (mains pick-up, a
        spike from a switching load): the demodulator rejects it, but the input
        stage must carry it, so above the 1 V input full scale every reading
        flags ``INPUT_OVERLOAD`` (0: none; set by fault injection).
    """

    sensitivities_V: tuple[float, ...] = srs.SR830.ladder_V

    def __init__(
        self,
        clock: Clock,
        signal: Callable[[float], complex],
        *,
        chopper: Chopper | None = None,
        static_after: Callable[[], float] | None = None,
        seed: int = 0,
        noise: NoiseModel | None = NoiseModel(),  # noqa: B008 (frozen, immutable)
        time_constant_s: float = 0.03,
        sensitivity_V: float = 1e-3,
        filter_slope_dB_per_oct: int = 12,
        reference_phase_deg: float = 0.0,
        max_substeps: int = 6,
        detector_noise: Callable[[], float] | None = None,
        gain_fluctuation: Callable[[float, float, int], float] | None = None,
    ) -> None:
        if not 0 <= int(seed) < 2**64:
            raise ValueError(f"lockin seed must be in 0 ... 2**64 - 1, got {seed!r}")
        self._clock = clock
        self._signal = signal
        self._chopper = chopper
        self._static_after = static_after
        self._seed = int(seed)
        self.noise = noise
        self._detector_noise = detector_noise
        self.gain_fluctuation = gain_fluctuation
        self._max_substeps = max(1, int(max_substeps))
        self._tau_s = self._check_tau(time_constant_s)
        self._n = self._check_slope(filter_slope_dB_per_oct) // 6
        self.sensitivity_V = sensitivity_V
        self._phase_deg = float(reference_phase_deg)
        self._rot = cmath.exp(-1j * math.radians(self._phase_deg))
        self._state: list[complex] = [0j] * self._n
        self._t_sync_s = clock.now_s()
        self._max_input_V = 0.0
        self.pickup_V = 0.0
        self._point: int | None = None
        self._rng: np.random.Generator | None = None
        self._counter = 0
        # one Philox for all points, re-keyed per point: only the key's 2nd word changes
        self._philox = np.random.Philox(key=np.array([self._seed, 0], dtype=np.uint64))
        self._point_rng = np.random.Generator(self._philox)
        self._point_state = self._philox.state
        self._point_key = self._point_state["state"]["key"]
        phase_rng = np.random.default_rng(np.random.SeedSequence(self._seed, spawn_key=(2,)))
        self._drift_phase = float(phase_rng.uniform(0.0, 2.0 * math.pi))

    # ---------------------------------------------------------------- settings
    @staticmethod
    def _check_tau(value: float) -> float:
        value = float(value)
        if not (math.isfinite(value) and value > 0.0):
            raise ValueError(f"lockin.time_constant_s must be > 0, got {value!r}")
        return value

    @staticmethod
    def _check_slope(value: int) -> int:
        if value not in srs.SLOPES_DB_PER_OCT:
            raise ValueError(f"lockin.filter_slope_dB_per_oct must be one of "
                             f"{srs.SLOPES_DB_PER_OCT}, got {value!r}")
        return int(value)

    @property
    def time_constant_s(self) -> float:
        """Filter time constant, s (any positive value; real SR830s use a 1-3 ladder)."""
        return self._tau_s

    @time_constant_s.setter
    def time_constant_s(self, value: float) -> None:
        value = self._check_tau(value)
        self.sync()
        self._tau_s = value

    @property
    def filter_slope_dB_per_oct(self) -> int:
        """Output filter roll-off: 6, 12, 18 or 24 dB/octave (1-4 RC stages)."""
        return self._n * 6

    @filter_slope_dB_per_oct.setter
    def filter_slope_dB_per_oct(self, value: int) -> None:
        n = self._check_slope(value) // 6
        self.sync()
        old = self._state
        self._state = (old + [old[-1]] * n)[:n]
        self._n = n

    @property
    def sensitivity_V(self) -> float:
        """Full-scale sensitivity, V (one of :attr:`sensitivities_V`)."""
        return self._sensitivity_V

    @sensitivity_V.setter
    def sensitivity_V(self, value: float) -> None:
        ladder = self.sensitivities_V
        fits = [s for s in ladder if abs(float(value) - s) <= 1e-6 * s]
        if not fits:
            raise ValueError(f"lockin.sensitivity_V must be an SR830 value ({ladder[0]:g} ... "
                             f"{ladder[-1]:g} V in 1-2-5 steps), got {value!r}")
        self._sensitivity_V = fits[0]

    @property
    def reference_phase_deg(self) -> float:
        """Reference phase, degrees, applied to the input before the filter."""
        return self._phase_deg

    @reference_phase_deg.setter
    def reference_phase_deg(self, value: float) -> None:
        value = float(value)
        if not math.isfinite(value):
            raise ValueError(f"lockin.reference_phase_deg must be finite, got {value!r}")
        self.sync()
        self._phase_deg = value
        self._rot = cmath.exp(-1j * math.radians(value))

    def enbw_Hz(self) -> float:
        """Equivalent noise bandwidth of the current filter, Hz."""
        return srs.enbw_Hz(self._tau_s, self._n * 6)

    def noise_rms_V(self) -> float:
        """Additive rms noise in X (and in Y) at the current settings, V."""
        if self.noise is None:
            return 0.0
        return self.noise_density_V_per_rtHz() * math.sqrt(self.enbw_Hz())

    def noise_density_V_per_rtHz(self) -> float:
        """Total input noise density now: own input noise and the detector's, V/sqrt(Hz)."""
        if self.noise is None:
            return 0.0
        own = self.noise.input_noise_V_per_rtHz
        if self._detector_noise is None:
            return own
        return math.hypot(own, self._detector_noise())

    def settle_time_s(self, fraction: float = 0.99) -> float:
        """Time after an input step for the output to reach ``fraction`` of it, s."""
        return srs.settle_time_s(self._tau_s, self._n * 6, fraction)

    def settings(self) -> Settings:
        """Every setting worth recording in a scan file."""
        out: Settings = {
            "kind": "simulated",
            "time_constant_s": self._tau_s,
            "sensitivity_V": self._sensitivity_V,
            "filter_slope_dB_per_oct": self._n * 6,
            "reference_phase_deg": self._phase_deg,
            "enbw_Hz": self.enbw_Hz(),
            "seed": self._seed,
            "noise_enabled": self.noise is not None,
        }
        if self.noise is not None:
            out.update({f"noise_{k}": v for k, v in asdict(self.noise).items()})
            out["noise_density_V_per_rtHz"] = self.noise_density_V_per_rtHz()
        return out

    # ------------------------------------------------------------------ filter
    def _locked(self) -> bool:
        ch = self._chopper
        return ch is None or bool(ch.enabled)

    def _step(self, u: complex, dt_s: float) -> None:
        """Advance the cascade by ``dt_s`` with constant input ``u`` (exact)."""
        x = dt_s / self._tau_s
        ex = math.exp(-x)
        e = self._state
        if self._n == 1:
            e[0] = u + (e[0] - u) * ex
            return
        if self._n == 2:  # the default 12 dB/oct, unrolled (hot path)
            d0 = e[0] - u
            e[1] = u + ex * (e[1] - u + x * d0)
            e[0] = u + ex * d0
            return
        d = [v - u for v in e]
        coef = [ex]
        for m in range(1, self._n):
            coef.append(coef[-1] * x / m)
        for k in range(self._n):
            acc = 0j
            for j in range(k + 1):
                acc += d[j] * coef[k - j]
            e[k] = u + acc

    def _input(self, t_s: float) -> complex:
        u = self._signal(t_s) * self._rot
        self._max_input_V = max(self._max_input_V, abs(u))
        return u

    def sync(self) -> None:
        """Advance the filter state to ``clock.now_s()`` (taking the buffer's samples due)."""
        t1 = self._clock.now_s()
        stream = self._stream
        if stream is not None and stream.running:
            for t_k in stream.due_times(t1):
                self._advance(t_k)
                self._record(t_k)
        self._advance(t1)

    def _advance(self, t1: float) -> None:
        """Advance the filter state to lab time ``t1``."""
        t0 = self._t_sync_s
        if t1 <= t0:
            return
        self._t_sync_s = t1
        if not self._locked():
            self._step(0j, t1 - t0)
            return
        ts = self._static_after() if self._static_after is not None else t0
        if ts > t0:
            t_end = min(ts, t1)
            dur = t_end - t0
            k = min(self._max_substeps, max(1, math.ceil(4.0 * dur / self._tau_s)))
            h = dur / k
            for i in range(k):
                self._step(self._input(t0 + (i + 0.5) * h), h)
            t0 = t_end
        if t1 > t0:
            self._step(self._input(t1), t1 - t0)

    # ----------------------------------------------------------------- reading
    def begin_point(self, index: int) -> None:
        """Start scan point ``index``: its noise is the Philox stream of key ``(seed, index)``.

        Its readings draw, in order, from ``Generator(Philox(key=[seed, index]))``
        (counter-based: the key alone selects the stream), so a resumed scan draws
        the same noise for a point as an uninterrupted one. One bit generator is
        re-keyed per point (~2 us; a new ``default_rng`` per point took ~9 us).
        """
        if int(index) < 0:
            raise ValueError(f"begin_point: index must be >= 0, got {index!r}")
        self._point = int(index)
        self._rng = None

    def end_point(self) -> None:
        """Leave the current point; later readings use the out-of-point stream."""
        self._point = None
        self._rng = None

    def _noise_rng(self) -> np.random.Generator:
        if self._point is not None:
            if self._rng is None:
                self._point_key[1] = self._point
                self._philox.state = self._point_state  # counter 0, key (seed, point)
                self._rng = self._point_rng
            return self._rng
        # Outside points: one generator per reading, seeded by a reading counter,
        # in a stream separate from the points' (spawn_key=(1,)).
        ss = np.random.SeedSequence([self._seed, self._counter], spawn_key=(1,))
        self._counter += 1
        return np.random.default_rng(ss)

    def drift_factor(self, t_s: float | None = None) -> float:
        """Slow multiplicative gain drift at lab time ``t_s`` (default: now); 1 without noise."""
        if self.noise is None:
            return 1.0
        nm = self.noise
        t_s = self._clock.now_s() if t_s is None else t_s
        return 1.0 + nm.drift_rel_rms * math.sqrt(2.0) * math.sin(
            2.0 * math.pi * t_s / nm.drift_period_s + self._drift_phase)

    def _power_fluctuation(self, t_s: float, g: float) -> float:
        """Relative input power fluctuation in a reading at ``t_s`` (``g``: a standard
        normal draw, used when no shared process is given)."""
        if self.gain_fluctuation is not None:
            return self.gain_fluctuation(t_s, self._tau_s, self._n)
        return self.noise.power_rel_rms * g

    def output_V(self) -> complex:
        """Noise-free filter output ``X + iY`` now (after :meth:`sync`)."""
        self.sync()
        return self._state[-1]

    def read_xy(self) -> LockInReading:
        """Sample X and Y now, with noise, clipping and status bits."""
        self.sync()
        z = self._state[-1]
        x, y = z.real, z.imag
        status = 0
        if self.noise is not None:
            g0, g1, g2 = self._noise_rng().standard_normal(3).tolist()
            gain = self.drift_factor(self._t_sync_s) + self._power_fluctuation(
                self._t_sync_s, g2)
            sigma = self.noise_rms_V()
            x = x * gain + sigma * g0
            y = y * gain + sigma * g1
        if self._max_input_V > _INPUT_FULL_SCALE_V or self.pickup_V > _INPUT_FULL_SCALE_V:
            status |= LockInStatus.INPUT_OVERLOAD
        self._max_input_V = 0.0
        s = self._sensitivity_V
        if abs(x) > s or abs(y) > s:
            status |= LockInStatus.OUTPUT_OVERLOAD
            x, y = min(max(x, -s), s), min(max(y, -s), s)
        if not self._locked():
            status |= LockInStatus.REFERENCE_UNLOCK
        return LockInReading(x, y, LockInStatus(status) if status else _OK)
