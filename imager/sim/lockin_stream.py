"""The simulated lock-in's data buffer: X and Y sampled at a fixed rate or on trigger pulses.

Real lock-ins record their outputs into a buffer for continuous ("fly")
scans: the SR830's data buffer (``SRAT``, ``STRT``, ``TRCB?``; 62.5 mHz -
512 Hz or one point per TRIG pulse, 16383 points) and the SR860's capture
buffer. The simulation samples the exact filter output at each sample time:
:meth:`SimulatedLockIn.sync` stops at every due sample time while it
integrates the filter along the stage's path, so a sample taken while the
stage moves is what the filter held at that moment (lag and smear included).

Noise: the lock-in's input noise (density ``noise_density_V_per_rtHz``) is
white at the input and filtered by the same cascade, so successive samples are
correlated over the time constant as on the instrument: each sample interval
``dt`` feeds the noise cascade a constant input of rms ``density /
sqrt(2 dt)`` per quadrature (the mean of one-sided white noise over ``dt``),
giving an output rms ``density * sqrt(ENBW)`` once ``dt`` is well below the
time constant, as single readings have. The MIR power fluctuation: in the
simulated lab, the lab's correlated process (:mod:`imager.sim.power_noise`) as
the filter holds it at the sample's time, as for single readings; a lock-in on
its own multiplies the signal at the input by white noise of rms
``power_rel_rms`` over the time constant, filtered likewise. Draws come from
the current point's Philox stream (:meth:`SimulatedLockIn.begin_point`), so a
line started with ``begin_point(line)`` gets the same noise on every run. The
slow gain drift applies too.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np

from imager.devices.interfaces import StreamData
from imager.instruments.srs import SR830_BUFFER_POINTS, SR830_BUFFER_RATES_Hz

__all__ = ["SR830_BUFFER_POINTS", "SR830_BUFFER_RATES_Hz", "StreamBuffer", "StreamingMixin"]


@dataclass
class StreamBuffer:
    """One recording: its rate (None: one sample per trigger), start, samples not yet read."""

    rate_Hz: float | None
    t_start_s: float
    capacity: int
    n_poles: int
    running: bool = True
    taken: int = 0
    t_last_s: float = 0.0
    t_s: list[float] = field(default_factory=list)
    x_V: list[float] = field(default_factory=list)
    y_V: list[float] = field(default_factory=list)
    noise_state: list[complex] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.t_last_s = self.t_start_s
        self.noise_state = [0j] * self.n_poles

    def due_times(self, t1_s: float) -> list[float]:
        """Sample times of a rate-driven buffer not yet taken, up to ``t1_s``."""
        if not self.running or self.rate_Hz is None:
            return []
        last = math.floor((t1_s - self.t_start_s) * self.rate_Hz + 1e-9)
        last = min(last, self.capacity - 1)
        return [self.t_start_s + k / self.rate_Hz for k in range(self.taken, last + 1)]


class StreamingMixin:
    """The buffer methods of :class:`imager.sim.lockin.SimulatedLockIn`.

    ``stream_rates_Hz`` and ``stream_capacity`` default to the SR830's data buffer
    (:mod:`imager.instruments.srs`); assign other values on an instance to model
    another buffer (the SR860 emulator gives its backend the SR860's capture rates).
    """

    stream_rates_Hz: tuple[float, ...] = SR830_BUFFER_RATES_Hz
    stream_capacity: int = SR830_BUFFER_POINTS
    _stream: StreamBuffer | None = None

    def start_stream(self, rate_Hz: float | None, *, capacity: int | None = None,
                     delay_s: float = 0.0) -> None:
        """Clear the buffer and start recording now: at ``rate_Hz`` (one of
        :attr:`stream_rates_Hz`, first sample now) or, with ``None``, one sample per
        :meth:`trigger` pulse. A full buffer stops recording (SR830 one-shot mode).

        ``capacity`` (default :attr:`stream_capacity`) is how many samples this
        recording takes at most (an emulator keeping its own buffer passes what it
        needs); ``delay_s`` puts the first sample of a rate-driven recording that
        much later (SR830 ``STRD``), and its times count from there."""
        if rate_Hz is not None and not any(math.isclose(rate_Hz, r) for r in self.stream_rates_Hz):
            rates = ", ".join(f"{r:g}" for r in self.stream_rates_Hz)
            raise ValueError(f"stream rate {rate_Hz!r} Hz is not one of {rates} Hz")
        if not (math.isfinite(delay_s) and delay_s >= 0.0):
            raise ValueError(f"stream delay_s must be >= 0, got {delay_s!r}")
        self.sync()
        capacity = self.stream_capacity if capacity is None else int(capacity)
        self._stream = StreamBuffer(rate_Hz, self._clock.now_s() + delay_s, capacity, self._n)

    def trigger(self) -> None:
        """A pulse on the trigger input: one sample now (triggered recording only)."""
        self.sync()
        stream = self._stream
        if stream is not None and stream.running and stream.rate_Hz is None \
                and stream.taken < stream.capacity:
            self._record(self._clock.now_s())

    def stop_stream(self) -> None:
        """Stop recording (the samples stay until read)."""
        self.sync()
        if self._stream is not None:
            self._stream.running = False

    def read_stream(self) -> StreamData:
        """Every sample recorded since the last read, oldest first; times in seconds
        since the stream started."""
        self.sync()
        stream = self._stream
        if stream is None:
            return StreamData(np.empty(0), np.empty(0), np.empty(0))
        out = StreamData(np.array(stream.t_s) - stream.t_start_s, np.array(stream.x_V),
                         np.array(stream.y_V))
        stream.t_s, stream.x_V, stream.y_V = [], [], []
        return out

    def _record(self, t_s: float) -> None:
        """Take one sample of the filter output (the state is at ``t_s``)."""
        stream = self._stream
        z = self._state[-1]
        x, y = z.real, z.imag
        if self.noise is not None:
            dt = max(t_s - stream.t_last_s, 1e-9)
            g0, g1, g2 = self._noise_rng().standard_normal(3).tolist()
            w = complex(g0, g1) * (self.noise_density_V_per_rtHz() / math.sqrt(2.0 * dt))
            shared = self.gain_fluctuation is not None
            if self._locked() and not shared:  # MIR power noise: filtered like the signal
                u = self._signal(t_s) * self._rot
                w += u * (g2 * self.noise.power_rel_rms / math.sqrt(2.0 * dt * self.enbw_Hz()))
            noise = stream.noise_state
            saved, self._state = self._state, noise
            self._step(w, dt)  # the same cascade, on the noise alone
            self._state = saved
            gain = self.drift_factor(t_s)
            if shared:  # the lab's correlated process, as this filter holds it
                gain += self.gain_fluctuation(t_s, self._tau_s, self._n)
            x, y = x * gain + noise[-1].real, y * gain + noise[-1].imag
        s = self._sensitivity_V
        stream.t_s.append(t_s)
        stream.x_V.append(min(max(x, -s), s))
        stream.y_V.append(min(max(y, -s), s))
        stream.t_last_s = t_s
        stream.taken += 1
        if stream.taken >= stream.capacity:
            stream.running = False
