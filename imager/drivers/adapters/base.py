"""What every lock-in adapter shares: the :class:`~imager.devices.interfaces.LockIn`
Protocol over get/set hooks of another library's SRS instrument object.

* Settings snap *up* to the instrument's own tables, taken from the library's
  class (``sensitivities_V``, ``time_constants_s``), as this project's drivers
  do; every set is read back (the libraries' setters only write), and a value
  the instrument does not report back raises
  :class:`~imager.drivers.errors.InstrumentError`.
* ``read_xy`` samples X and Y at one instant (``SNAP?``) and, with
  ``read_status``, the latched ``LIAS?`` bits, mapped to
  :class:`~imager.devices.interfaces.LockInStatus` by the model's table
  (:mod:`imager.instruments.srs`): overloads and reference unlock.
* A library's I/O failure becomes :class:`InstrumentTimeoutError` (no reply) or
  :class:`InstrumentError` (anything else: an unparsable reply, a connection
  lost), which the engine retries like its own drivers' errors.
* Readings are volts: an instrument set to a current input is refused when
  the adapter is made.
"""

from __future__ import annotations

import math
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import Any, ClassVar

from imager.devices.interfaces import LockInReading, LockInStatus, Settings
from imager.drivers.errors import InstrumentError, InstrumentTimeoutError
from imager.instruments import srs


def ascending(values: Sequence[Any]) -> tuple[float, ...]:
    """A library's table as floats, ascending."""
    return tuple(sorted(float(v) for v in values))


def visa_timeout(exc: BaseException) -> bool:
    """True if ``exc`` is pyvisa's "no reply within the timeout"."""
    try:
        from pyvisa.constants import StatusCode
    except ImportError:  # pragma: no cover - pyvisa is a dependency
        return False
    return getattr(exc, "error_code", None) == StatusCode.error_timeout


class AdaptedLockIn:
    """Base of the lock-in adapters (see the module notes).

    Parameters
    ----------
    instrument : object
        The library's instrument object.
    owns : bool
        Whether :meth:`close` closes the instrument's connection (True when the
        adapter opened it from an address).
    read_status : bool
        Whether :meth:`read_xy` also queries ``LIAS?`` (one more round trip).
    """

    LIBRARY: ClassVar[str] = ""
    MODEL: ClassVar[srs.LockInModel]

    def __init__(self, instrument: Any, *, owns: bool, read_status: bool = True) -> None:
        self.instrument = instrument
        self.owns = owns
        self.read_status = bool(read_status)
        try:
            with self._io("opening (reading the input mode)"):
                unit = self._input_unit()
            if unit != "V":
                raise InstrumentError(f"{self.name}: the input is set to measure current "
                                      f"(readings in {unit}); the imager reads volts: set "
                                      "a voltage input")
            self.sensitivities_V: tuple[float, ...] = self._sensitivity_table()
            self.time_constants_s: tuple[float, ...] = self._time_constant_table()
        except BaseException:
            self.close()
            raise

    # ------------------------------------------------------------ library hooks
    def _get(self, name: str) -> Any:
        """The library's parameter ``name`` (read from the instrument)."""
        raise NotImplementedError

    def _put(self, name: str, value: Any) -> None:
        """Set the library's parameter ``name``."""
        raise NotImplementedError

    def _snap_xy(self) -> tuple[float, float]:
        raise NotImplementedError

    def _ask(self, command: str) -> str:
        raise NotImplementedError

    def _input_unit(self) -> str:
        """``"V"`` for a voltage input, ``"A"`` for a current input."""
        raise NotImplementedError

    def _sensitivity_table(self) -> tuple[float, ...]:
        raise NotImplementedError

    def _time_constant_table(self) -> tuple[float, ...]:
        raise NotImplementedError

    @staticmethod
    def _close_instrument(instrument: Any) -> None:
        """Close the connection of an instrument object the adapter opened."""
        raise NotImplementedError

    def _slope_to_dB(self, raw: Any) -> int:
        """The library's filter slope value -> dB/octave (default: it is in dB/oct)."""
        return int(raw)

    def _slope_from_dB(self, slope_dB_per_oct: int) -> Any:
        return int(slope_dB_per_oct)

    @property
    def name(self) -> str:
        """``"<library> <model>"`` and the address, for messages."""
        return f"{self.MODEL.name} ({self.LIBRARY}) at {self.address}"

    @property
    def address(self) -> str:
        """The instrument's VISA address (as its library reports it)."""
        return "?"

    # ------------------------------------------------------------ I/O
    @contextmanager
    def _io(self, what: str) -> Iterator[None]:
        """Turn a library's failure into the drivers' errors, naming the instrument."""
        try:
            yield
        except InstrumentError:
            raise
        except Exception as exc:  # noqa: BLE001 - every library raises its own kinds
            detail = " ".join(str(exc).split()) or type(exc).__name__
            if visa_timeout(exc):
                raise InstrumentTimeoutError(f"{self.name}: no reply {what}: {detail}") from exc
            raise InstrumentError(f"{self.name}: {what}: {type(exc).__name__}: "
                                  f"{detail}") from exc

    def _read(self, name: str) -> Any:
        with self._io(f"reading {name}"):
            return self._get(name)

    def _set_checked(self, name: str, value: Any, tolerance: float = 1e-6) -> None:
        """Set, read back, and raise if the instrument does not report ``value``."""
        with self._io(f"setting {name} to {value!r}"):
            self._put(name, value)
            got = self._get(name)
        try:
            same = math.isclose(float(got), float(value), rel_tol=tolerance,
                                abs_tol=tolerance)
        except (TypeError, ValueError):
            same = got == value
        if not same:
            raise InstrumentError(f"{self.name}: set {name} to {value!r}, the instrument "
                                  f"reports {got!r}")

    # ------------------------------------------------------------ LockIn protocol
    @property
    def time_constant_s(self) -> float:
        """Output filter time constant, s (set: rounds up to the instrument's next value)."""
        return float(self._read("time_constant"))

    @time_constant_s.setter
    def time_constant_s(self, value: float) -> None:
        table = self.time_constants_s
        self._set_checked("time_constant", table[srs.index_at_least(table, value,
                                                                    "time_constant_s")])

    @property
    def sensitivity_V(self) -> float:
        """Full-scale sensitivity, V (set: rounds up to the instrument's next range)."""
        return float(self._read("sensitivity"))

    @sensitivity_V.setter
    def sensitivity_V(self, value: float) -> None:
        table = self.sensitivities_V
        self._set_checked("sensitivity", table[srs.index_at_least(table, value,
                                                                  "sensitivity_V")])

    @property
    def filter_slope_dB_per_oct(self) -> int:
        """Filter roll-off: 6, 12, 18 or 24 dB/octave."""
        return self._slope_to_dB(self._read("filter_slope"))

    @filter_slope_dB_per_oct.setter
    def filter_slope_dB_per_oct(self, value: int) -> None:
        srs.filter_poles(value)  # ValueError unless 6, 12, 18 or 24
        self._set_checked("filter_slope", self._slope_from_dB(value))

    @property
    def reference_phase_deg(self) -> float:
        """Reference phase shift, degrees (set: wrapped into (-180, 180])."""
        return float(self._read("phase"))

    @reference_phase_deg.setter
    def reference_phase_deg(self, value: float) -> None:
        if not math.isfinite(value):
            raise ValueError(f"reference_phase_deg must be finite, got {value!r}")
        # the libraries send two decimals (PyMeasure's SR830, QCoDeS): compare to 0.006 deg
        self._set_checked("phase", round(srs.wrap_phase_deg(value), 2), tolerance=0.006)

    def status(self) -> LockInStatus:
        """Status bits latched since the last status read (reading clears them)."""
        with self._io("reading the status (LIAS?)"):
            return self.MODEL.decode_status(int(float(self._ask("LIAS?"))))

    def read_xy(self) -> LockInReading:
        """X and Y of one instant (``SNAP?``), V, with the latched status bits
        (``OK`` with ``read_status=False``)."""
        with self._io("reading X, Y (SNAP?)"):
            x_V, y_V = (float(v) for v in self._snap_xy())
        status = self.status() if self.read_status else LockInStatus.OK
        return LockInReading(x_V, y_V, status)

    def settle_time_s(self, fraction: float = 0.99) -> float:
        """Time after an input step for the output to reach ``fraction`` of it
        (:func:`imager.instruments.srs.settle_time_s`)."""
        srs.check_settle_fraction(fraction)
        return srs.settle_time_s(self.time_constant_s, self.filter_slope_dB_per_oct, fraction)

    def identify(self) -> str:
        """The ``*IDN?`` string."""
        with self._io("reading *IDN?"):
            return self._ask("*IDN?").strip()

    def settings(self) -> Settings:
        """Every setting worth recording in a scan file (read from the instrument)."""
        return {
            "kind": f"{self.MODEL.name} via {self.LIBRARY}",
            "adapter": f"{type(self).__module__}:{type(self).__qualname__}",
            "address": self.address,
            "idn": self.identify(),
            "time_constant_s": self.time_constant_s,
            "sensitivity_V": self.sensitivity_V,
            "filter_slope_dB_per_oct": self.filter_slope_dB_per_oct,
            "reference_phase_deg": self.reference_phase_deg,
            "reference_source": str(self._read("reference_source")).lower(),
            "reference_frequency_Hz": float(self._read("frequency")),
            "harmonic": int(self._read("harmonic")),
        }

    def close(self) -> None:
        """Close the instrument's connection if the adapter opened it (else nothing)."""
        if self.owns and self.instrument is not None:
            instrument, self.instrument = self.instrument, None
            self._close_instrument(instrument)

    def __enter__(self) -> AdaptedLockIn:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.address!r})"
