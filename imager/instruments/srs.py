"""SRS SR830 and SR860 lock-in amplifiers: tables, ranges, status bits, filter formulas and
the data buffer (SR830) / capture buffer (SR860) facts of fly scans.

The simulated lock-in (:mod:`imager.sim.lockin`), the drivers
(:mod:`imager.drivers.srs_lockin`) and the emulators
(:mod:`imager.emulators.srs_lockin`) take every instrument fact from here.

Sources
-------
[SR830]
    Stanford Research Systems, *Model SR830 DSP Lock-In Amplifier*, manual rev. 2.5
    (10/2011). Ch. 5, detailed command list: ``FMOD`` 0 external / 1 internal,
    ``FREQ`` 1 mHz-102 kHz, ``PHAS`` -360 ... 729.99 deg (kept in -180 ... 180),
    ``HARM`` up to 19999, ``SLVL`` 4 mV-5 V, ``SENS`` 0 = 2 nV ... 26 = 1 V (1-2-5),
    ``OFLT`` 0 = 10 us ... 19 = 30 ks (1-3), ``OFSL`` 0-3 = 6, 12, 18, 24 dB/oct,
    ``LIAS`` bits 0 input/reserve overload, 1 filter overload, 2 output overload,
    3 reference unlock. Ch. 3, "Noise measurements": the equivalent noise bandwidth
    of the output filter, 1/(4T), 1/(8T), 3/(32T), 5/(64T) for 6-24 dB/oct.
    Specifications: A/B voltage input full scale 1 V rms.
[SR860]
    Stanford Research Systems, *SR860 500 kHz DSP Lock-in Amplifier*, operation
    manual rev. 2.04 (document 9-01714-903), ch. 4 "Programming": ``SCAL`` 0 = 1 V ...
    27 = 1 nV, ``OFLT`` 0 = 1 us ... 21 = 30 ks, ``IRNG`` 0-4 = 1 V, 300 mV, 100 mV,
    30 mV, 10 mV, ``RSRC`` 0 INT, 1 EXT, 2 DUAL, 3 CHOP, ``FREQ`` 1 mHz-500 kHz,
    ``HARM`` 1-99, ``SLVL`` 1 nV-2 V, ``LIAS?`` / ``CUROVLDSTAT?`` bits 0 CH1 and
    1 CH2 output overload, 3 external reference unlock, 4 input range overload.
[PyMeasure]
    ``pymeasure.instruments.srs.sr830`` / ``sr860`` (0.16): the same sensitivity,
    time-constant and slope tables and frequency ranges (a cross-check;
    ``tests/imager/test_instrument_facts.py`` compares them).

The filter formulas hold for ``n`` identical first-order RC stages (``n = slope / 6``),
which is how both models build their output filter; the tests check the ENBW table
against the integral of ``|H(f)|**2`` and the settling time against the step response.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass

from imager.devices.interfaces import LockInStatus

SLOPES_DB_PER_OCT = (6, 12, 18, 24)
"""Output filter roll-offs, ``OFSL`` index 0-3 on both models: 1-4 RC stages [SR830]."""

_ENBW_TIMES_TAU = {1: 1.0 / 4.0, 2: 1.0 / 8.0, 3: 3.0 / 32.0, 4: 5.0 / 64.0}
"""ENBW x time constant by number of poles [SR830, ch. 3]."""

_REL = 1e-6


def ladder_1_2_5(lo: float, hi: float) -> tuple[float, ...]:
    """The 1-2-5 values from ``lo`` to ``hi``, ascending (exact decimal literals)."""
    values = (float(f"{m}e{e}") for e in range(-12, 4) for m in (1, 2, 5))
    return tuple(v for v in values if lo * (1 - _REL) <= v <= hi * (1 + _REL))


def ladder_1_3(lo: float, hi: float) -> tuple[float, ...]:
    """The 1-3 values (1, 3, 10, 30 ...) from ``lo`` to ``hi``, ascending."""
    values = (float(f"{m}e{e}") for e in range(-12, 6) for m in (1, 3))
    return tuple(v for v in values if lo * (1 - _REL) <= v <= hi * (1 + _REL))


def wrap_phase_deg(phase_deg: float) -> float:
    """Wrap a phase into ``(-180, 180]`` degrees, as both models report ``PHAS?``."""
    wrapped = math.fmod(float(phase_deg), 360.0)
    if wrapped > 180.0:
        wrapped -= 360.0
    elif wrapped <= -180.0:
        wrapped += 360.0
    return wrapped


def filter_poles(slope_dB_per_oct: int) -> int:
    """Number of RC stages of a filter slope (6 dB/oct each).

    Raises
    ------
    ValueError
        If the slope is not one of :data:`SLOPES_DB_PER_OCT`.
    """
    if slope_dB_per_oct not in SLOPES_DB_PER_OCT:
        raise ValueError(f"filter_slope_dB_per_oct must be one of {SLOPES_DB_PER_OCT}, "
                         f"got {slope_dB_per_oct!r}")
    return int(slope_dB_per_oct) // 6


def enbw_Hz(time_constant_s: float, slope_dB_per_oct: int) -> float:
    """Equivalent noise bandwidth of the output filter, Hz [SR830, ch. 3]."""
    return _ENBW_TIMES_TAU[filter_poles(slope_dB_per_oct)] / time_constant_s


def settle_time_s(time_constant_s: float, slope_dB_per_oct: int,
                  fraction: float = 0.99) -> float:
    """Time after an input step for the output to reach ``fraction`` of it, s.

    Solves ``1 - exp(-x) * sum_{j<n} x**j / j! = fraction`` (the step response of
    ``n`` identical RC stages, a regularised incomplete gamma function) and
    returns ``x * time_constant_s``.

    Raises
    ------
    ValueError
        If ``fraction`` is not in (0, 1) or the slope is not a filter slope.
    """
    check_settle_fraction(fraction)
    from scipy.special import gammaincinv  # SciPy only when a settling time is asked for

    return float(gammaincinv(filter_poles(slope_dB_per_oct), fraction)) * time_constant_s


def check_settle_fraction(fraction: float) -> float:
    """``fraction`` if it is a settling fraction in (0, 1); else ValueError."""
    if not 0.0 < fraction < 1.0:
        raise ValueError(f"settle_time_s: fraction must be in (0, 1), got {fraction!r}")
    return fraction


def index_at_least(table: Sequence[float], value: float, what: str) -> int:
    """Index of the smallest table entry ``>= value`` (within 1 ppm): rounding *up*.

    Raises
    ------
    ValueError
        If ``value`` is not positive or exceeds every entry.
    """
    if not (math.isfinite(value) and value > 0.0):
        raise ValueError(f"{what} must be > 0, got {value!r}")
    fits = [i for i, v in enumerate(table) if v >= value * (1.0 - _REL)]
    if not fits:
        raise ValueError(f"{what} {value!r} exceeds the largest available {max(table):g}")
    return min(fits, key=lambda i: table[i])


def nearest_index(table: Sequence[float], value: float) -> int:
    """Index of the table entry nearest to ``value`` on a log scale."""
    return min(range(len(table)), key=lambda i: abs(math.log(table[i] / value)))


def next_larger(ladder: Sequence[float], value: float) -> float | None:
    """The smallest ladder value above ``value`` (by more than 0.1 %), or None at the top."""
    larger = [v for v in ladder if v > value * 1.001]
    return min(larger) if larger else None


def sr830_status(lias: int) -> LockInStatus:
    """SR830 ``LIAS?`` bits 0-3 are :class:`LockInStatus` as they are [SR830]."""
    return LockInStatus(int(lias) & 0x0F)


def sr830_lias(status: LockInStatus, x_over: bool = False, y_over: bool = False) -> int:
    """The SR830 ``LIAS`` bits that ``status`` sets (the same layout)."""
    return int(status) & 0x0F


_SR860_OUTPUT_BITS = 0b11
_SR860_UNLOCK_BIT = 1 << 3
_SR860_INPUT_BIT = 1 << 4


def sr860_status(bits: int) -> LockInStatus:
    """Map SR860 ``LIAS?`` / ``CUROVLDSTAT?`` bits to :class:`LockInStatus` [SR860]."""
    status = LockInStatus.OK
    if bits & _SR860_OUTPUT_BITS:
        status |= LockInStatus.OUTPUT_OVERLOAD
    if bits & _SR860_UNLOCK_BIT:
        status |= LockInStatus.REFERENCE_UNLOCK
    if bits & _SR860_INPUT_BIT:
        status |= LockInStatus.INPUT_OVERLOAD
    return status


def sr860_lias(status: LockInStatus, x_over: bool = False, y_over: bool = False) -> int:
    """The SR860 status bits of a sample: CH1 (X) / CH2 (Y) overload, unlock, input range."""
    bits = (1 if x_over else 0) | (2 if y_over else 0)
    if status & LockInStatus.REFERENCE_UNLOCK:
        bits |= _SR860_UNLOCK_BIT
    if status & LockInStatus.INPUT_OVERLOAD:
        bits |= _SR860_INPUT_BIT
    return bits


@dataclass(frozen=True, eq=False)
class LockInModel:
    """What one SRS lock-in model is: its tables (in the instrument's index order),
    command names, ranges and status bits.

    Attributes
    ----------
    sensitivities_V, time_constants_s : tuple of float
        Full scales and time constants, index ``i`` being what ``<command> i`` selects.
    input_ranges_V : tuple of float
        Voltage input ranges in index order (the SR830 has one, 1 V rms).
    decode_status : callable
        ``LIAS?`` value -> :class:`LockInStatus`.
    encode_status : callable
        ``(status, x_over, y_over)`` -> the model's ``LIAS`` bits.
    """

    name: str
    sensitivities_V: tuple[float, ...]
    time_constants_s: tuple[float, ...]
    sensitivity_command: str
    reference_command: str
    reference_sources: Mapping[str, int]
    snap_xy: str
    frequency_range_Hz: tuple[float, float]
    phase_range_deg: tuple[float, float]
    harmonic_max: int
    sine_range_V: tuple[float, float]
    input_ranges_V: tuple[float, ...]
    decode_status: Callable[[int], LockInStatus]
    encode_status: Callable[[LockInStatus, bool, bool], int]

    @property
    def ladder_V(self) -> tuple[float, ...]:
        """Full-scale sensitivities in ascending order, V."""
        return tuple(sorted(self.sensitivities_V))

    def sensitivity_index(self, value_V: float) -> int:
        """Index of the smallest full scale that holds ``value_V`` (rounding up)."""
        return index_at_least(self.sensitivities_V, value_V, "sensitivity_V")


SR830 = LockInModel(
    name="SR830",
    sensitivities_V=ladder_1_2_5(2e-9, 1.0),
    time_constants_s=ladder_1_3(10e-6, 30e3),
    sensitivity_command="SENS",
    reference_command="FMOD",
    reference_sources={"external": 0, "internal": 1},
    snap_xy="SNAP?1,2",
    frequency_range_Hz=(1e-3, 102e3),
    phase_range_deg=(-360.0, 729.99),
    harmonic_max=19999,
    sine_range_V=(0.004, 5.0),
    input_ranges_V=(1.0,),
    decode_status=sr830_status,
    encode_status=sr830_lias,
)

SR860 = LockInModel(
    name="SR860",
    sensitivities_V=ladder_1_2_5(1e-9, 1.0)[::-1],
    time_constants_s=ladder_1_3(1e-6, 30e3),
    sensitivity_command="SCAL",
    reference_command="RSRC",
    reference_sources={"internal": 0, "external": 1, "dual": 2, "chop": 3},
    snap_xy="SNAP? 0,1",
    frequency_range_Hz=(1e-3, 500e3),
    phase_range_deg=(-360000.0, 360000.0),
    harmonic_max=99,
    sine_range_V=(1e-9, 2.0),
    input_ranges_V=(1.0, 0.3, 0.1, 0.03, 0.01),
    decode_status=sr860_status,
    encode_status=sr860_lias,
)

MODELS: dict[str, LockInModel] = {m.name: m for m in (SR830, SR860)}


# ------------------------------------------------------------------ buffers (fly scans)
# [SR830] ch. 5 "Data storage commands" and "Data transfer commands": SRAT 0-13 =
# 62.5 mHz x 2^i (up to 512 Hz), 14 = one point per trigger; SEND 0 one shot, 1 loop;
# TSTR 1: a trigger starts the scan (SRAT 0-13 only); STRT starts or resumes, PAUS
# pauses, REST erases; STRD starts after 0.5 s (for FAST transfers); 16383 points per
# display channel; TRCA? ASCII, TRCB? IEEE 754 float32 LSB first (no header, no
# terminator), TRCL? non-normalised (int16 mantissa, int16 exponent, LSB first,
# value = m * 2**(e - 124)); OEXP i,x,j: offset -105.00 ... 105.00 %, expand 0-2.
# [SR860] ch. 4 "Data capture commands" (and the SR865A manual's identical section):
# CAPTURECFG 0-3 = X | XY | RT | XYRT; CAPTURELEN 1-4096 kB, odd lengths rounded up
# to even (the buffer is made of 2 kB blocks); CAPTURERATE n: rate = max / 2^n,
# 0 <= n <= 20; the maximum depends on the time constant, up to 1.25 MHz;
# CAPTURESTAT? bits 0 capturing, 1 triggered, 2 wrapped; CAPTUREGET? i,j: j <= 64 kB
# from offset i kB, capture stopped, "#n<len><data>" block of float32 little endian;
# COFP j,x offset -999.99 ... 999.99 %, CEXP j,i expand 0-2 (j: 0 X, 1 Y, 2 R).

EXPANDS = (1, 10, 100)
"""Output expand factors, index 0-2 of SR830 ``OEXP`` and SR860 ``CEXP`` [SR830, SR860]."""

SR830_BUFFER_RATES_Hz: tuple[float, ...] = tuple(0.0625 * 2.0**i for i in range(14))
"""SR830 ``SRAT`` 0-13: 62.5 mHz x 2^i ... 512 Hz [SR830, ch. 5, SRAT]."""
SR830_SRAT_TRIGGER = 14
"""``SRAT 14``: one point per trigger (``TRIG`` or the rear-panel TRIG IN) [SR830]."""
SR830_BUFFER_POINTS = 16383
"""Points per display channel of the SR830 data buffer [SR830, ch. 5]."""
SR830_STRD_DELAY_S = 0.5
"""``STRD`` starts the scan this long after the command [SR830, ch. 5, STRD]."""
SR830_OFFSET_RANGE_PCT = (-105.0, 105.0)
"""``OEXP`` offset range, percent of full scale [SR830, ch. 5, OEXP]."""
SR830_TRCL_EXPONENT_BIAS = 124
"""``TRCL?`` point value = mantissa * 2**(exponent - 124) [SR830, ch. 5, TRCL]."""

SR860_CAPTURE_CONFIGS = ("X", "XY", "RT", "XYRT")
"""``CAPTURECFG`` 0-3: the values stored per sample [SR860, ch. 4]."""
SR860_CAPTURE_LENGTH_KB = (1, 4096)
"""``CAPTURELEN`` range, kB; odd values are rounded up to even [SR860, ch. 4]."""
SR860_CAPTURE_BLOCK_BYTES = 2048
"""The capture buffer is made of 2 kB blocks (``CAPTUREPROG?`` counts them) [SR860]."""
SR860_CAPTUREGET_MAX_KB = 64
"""Most kB one ``CAPTUREGET?`` returns [SR860, ch. 4]."""
SR860_CAPTURE_RATE_LIMIT_Hz = 1.25e6
"""Fastest capture rate at short time constants [SR860, ch. 4]."""
SR860_CAPTURE_DIVIDER_MAX = 20
"""``CAPTURERATE n``: rate = maximum / 2^n, 0 <= n <= 20 [SR860, ch. 4]."""
SR860_OFFSET_RANGE_PCT = (-999.99, 999.99)
"""``COFP`` offset range, percent of full scale [SR860, ch. 4]."""
SR860_SAMPLES_PER_TAU = 10.0
"""Model (the manuals give no formula, only that shorter time constants allow faster
capture, up to 1.25 MHz): ``CAPTURERATEMAX?`` is the fastest 1.25 MHz / 2^k not above
this many samples per time constant: 78125 Hz at 100 us, 9765.625 Hz at 1 ms, 2441.406 Hz
at 3 ms (the maxima 78125 Hz and 2441.41 Hz appear in the SR865A manual's STREAMRATE
example and in users' capture scripts; the time constants behind them are not given)."""


def sr860_capture_rate_max_Hz(time_constant_s: float) -> float:
    """``CAPTURERATEMAX?`` at a time constant, Hz: 1.25 MHz / 2^k (a model, see
    :data:`SR860_SAMPLES_PER_TAU`)."""
    ratio = SR860_CAPTURE_RATE_LIMIT_Hz * time_constant_s / SR860_SAMPLES_PER_TAU
    k = max(0, math.ceil(math.log2(ratio) - 1e-9)) if ratio > 0 else 0
    return SR860_CAPTURE_RATE_LIMIT_Hz / 2.0**k


SR860_CAPTURE_RATES_Hz: tuple[float, ...] = tuple(sorted(
    SR860_CAPTURE_RATE_LIMIT_Hz / 2.0**k
    for k in range(round(math.log2(SR860_CAPTURE_RATE_LIMIT_Hz
                                   / sr860_capture_rate_max_Hz(SR860.time_constants_s[-1])))
                   + SR860_CAPTURE_DIVIDER_MAX + 1)))
"""Every capture rate an SR860 can run at (any time constant, any ``CAPTURERATE``), Hz."""


def sr830_trcl_encode(values: Sequence[float]) -> bytes:
    """Points in the SR830 ``TRCL?`` format: int16 mantissa and int16 exponent, LSB first.

    The mantissa keeps 15 significant bits (``16384 <= |m| <= 32767``, 0 for zero); the
    exponent is ``e + 124`` where ``value = m * 2**e``.
    """
    import numpy as np

    v = np.asarray(values, dtype=float)
    _, e2 = np.frexp(v)  # v = f * 2**e2, 0.5 <= |f| < 1
    shift = np.where(v == 0.0, 0, e2 - 15)
    mant = np.rint(np.ldexp(v, -shift)).astype(np.int64)
    over = np.abs(mant) > 32767  # rounding reached 2**15: one bit less
    mant = np.where(over, np.rint(np.ldexp(v, -(shift + 1))), mant).astype(np.int64)
    shift = np.where(over, shift + 1, shift)
    out = np.empty((v.size, 2), dtype="<i2")
    out[:, 0] = mant
    out[:, 1] = shift + SR830_TRCL_EXPONENT_BIAS
    return out.tobytes()


def sr830_trcl_decode(data: bytes) -> list[float]:
    """Values of an SR830 ``TRCL?`` reply (see :func:`sr830_trcl_encode`)."""
    import numpy as np

    raw = np.frombuffer(data, dtype="<i2").reshape(-1, 2).astype(np.int64)
    return np.ldexp(raw[:, 0].astype(float), raw[:, 1] - SR830_TRCL_EXPONENT_BIAS).tolist()
