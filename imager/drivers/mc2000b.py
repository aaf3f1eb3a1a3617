"""Thorlabs MC2000B optical chopper driver, built on ``thorlabs-mc2000b``.

The library speaks the controller's serial protocol (115200 8N1, ``keyword=value``
/ ``keyword?`` commands echoed back and ended by a ``"> "`` prompt); this driver
adds the :class:`~imager.devices.interfaces.Chopper` interface, units in names,
blade and reference modes by name, and clear errors.

The library reports a set whose reply never came as a success (it only logs a
warning), so every set here is read back and compared; a mismatch or an
unreadable value raises :class:`~imager.drivers.errors.InstrumentError`
naming the port and the command. The controller takes whole hertz: frequencies
are rounded to the nearest integer.
"""

from __future__ import annotations

import math

import serial
from thorlabs_mc2000b import MC2000B, Blade

from imager.devices.interfaces import Settings
from imager.drivers.errors import InstrumentError

#: thorlabs-mc2000b opens its port with this read timeout: its wait for each reply byte.
LIBRARY_READ_TIMEOUT_S = 0.2


class _MC2000B(MC2000B):
    """The library's class with an idempotent :meth:`close` (it is also called from
    ``__del__``) and the read timeout ``read_timeout_s`` from the first command on."""

    def __init__(self, serial_port: str, read_timeout_s: float) -> None:
        self.read_timeout_s = read_timeout_s
        super().__init__(serial_port=serial_port)

    def _send_command(self, command_string: str) -> str:
        port = getattr(self, "_sp", None)
        if port is not None and port.timeout != self.read_timeout_s:
            port.timeout = self.read_timeout_s
        return super()._send_command(command_string)

    def close(self) -> None:
        if getattr(self, "_sp", None) is not None:
            super().close()


class MC2000BChopper:
    """MC2000B on ``port``; implements :class:`imager.devices.interfaces.Chopper`.

    Parameters
    ----------
    port : str
        Serial device (``/dev/ttyUSB0``, ``COM5``, or a pty such as ``/dev/pts/3``).
        Given explicitly: the library's auto-detection is never used.
    blade : str, optional
        Blade model to select at start (e.g. ``"MC1F10HP"``); default: keep.
    reference_mode : str, optional
        Reference-in mode to select at start (e.g. ``"internal-outer"``).
    timeout_s : float
        How long to wait for each byte of a reply, s (default: the library's 0.2 s).
        A reply that never comes costs this long per command sent.
    """

    def __init__(
        self, port: str, *, blade: str | None = None, reference_mode: str | None = None,
        timeout_s: float = LIBRARY_READ_TIMEOUT_S,
    ) -> None:
        if not port:
            raise ValueError("MC2000BChopper needs an explicit serial port")
        self.port = port
        timeout_s = self._check_timeout(timeout_s)
        try:
            self._dev = _MC2000B(serial_port=port, read_timeout_s=timeout_s)
        except (RuntimeError, serial.SerialException, OSError, ValueError) as exc:
            raise InstrumentError(f"MC2000B at {port}: cannot open: {exc}") from exc
        try:
            if blade is not None:
                self.blade = blade
            if reference_mode is not None:
                self.reference_mode = reference_mode
        except BaseException:
            self.close()
            raise

    @staticmethod
    def _check_timeout(value: float) -> float:
        value = float(value)
        if not (math.isfinite(value) and value > 0.0):
            raise ValueError(f"MC2000B timeout_s must be > 0, got {value!r}")
        return value

    @property
    def timeout_s(self) -> float:
        """How long to wait for each byte of a reply, s (settable)."""
        return float(self._dev.read_timeout_s)

    @timeout_s.setter
    def timeout_s(self, value: float) -> None:
        self._dev.read_timeout_s = self._check_timeout(value)

    # ------------------------------------------------------------ raw access
    def _get(self, key: str) -> int:
        try:
            return int(getattr(self._dev, key))
        except (RuntimeError, serial.SerialException, OSError, TypeError) as exc:
            raise InstrumentError(f"MC2000B at {self.port}: {key + '?'!r} failed: {exc}") from exc

    def _set(self, key: str, value: int) -> None:
        command = f"{key}={value}"
        try:
            setattr(self._dev, key, value)
        except (RuntimeError, serial.SerialException, OSError) as exc:
            raise InstrumentError(f"MC2000B at {self.port}: {command!r} failed: {exc}") from exc
        got = self._get(key)
        if got != value:
            raise InstrumentError(
                f"MC2000B at {self.port}: {command!r} not applied (reads back {got})"
            )

    # ------------------------------------------------------------ Chopper
    @property
    def frequency_Hz(self) -> float:
        """Internal reference (chopping) frequency setpoint, Hz."""
        return float(self._get("freq"))

    @frequency_Hz.setter
    def frequency_Hz(self, value: float) -> None:
        if not (math.isfinite(value) and value >= 0.5):
            raise ValueError(f"MC2000B frequency_Hz must be >= 1 Hz, got {value!r}")
        self._set("freq", round(value))

    @property
    def enabled(self) -> bool:
        """True while the wheel spins."""
        return bool(self._get("enable"))

    @enabled.setter
    def enabled(self, value: bool) -> None:
        self._set("enable", 1 if value else 0)

    @property
    def blade(self) -> str:
        """Installed blade model name (``"MC1F10HP"``, ...)."""
        index = self._get("blade")
        try:
            return Blade(index).name
        except ValueError:
            raise InstrumentError(f"MC2000B at {self.port}: unknown blade index {index}") from None

    @blade.setter
    def blade(self, name: str) -> None:
        if name not in Blade.__members__:
            raise ValueError(f"unknown MC2000B blade {name!r}; known: {list(Blade.__members__)}")
        self._set("blade", int(Blade[name]))

    def _modes(self, kind: str) -> tuple[str, ...]:
        blade = Blade[self.blade]
        return tuple(blade.inrefs if kind == "ref" else blade.outrefs)

    @property
    def reference_mode(self) -> str:
        """Reference-in mode: ``internal``/``external`` (``-outer``/``-inner`` on dual blades)."""
        modes, index = self._modes("ref"), self._get("ref")
        if not 0 <= index < len(modes):
            raise InstrumentError(f"MC2000B at {self.port}: reference index {index} unknown")
        return modes[index]

    @reference_mode.setter
    def reference_mode(self, mode: str) -> None:
        modes = self._modes("ref")
        if mode not in modes:
            raise ValueError(f"reference_mode for blade {self.blade} must be one of {modes}")
        self._set("ref", modes.index(mode))

    @property
    def output_mode(self) -> str:
        """Reference-out mode (``target``, ``actual``, ``outer``, ``inner``, ...)."""
        modes, index = self._modes("output"), self._get("output")
        if not 0 <= index < len(modes):
            raise InstrumentError(f"MC2000B at {self.port}: output index {index} unknown")
        return modes[index]

    @output_mode.setter
    def output_mode(self, mode: str) -> None:
        modes = self._modes("output")
        if mode not in modes:
            raise ValueError(f"output_mode for blade {self.blade} must be one of {modes}")
        self._set("output", modes.index(mode))

    @property
    def phase_deg(self) -> int:
        """Phase adjust of the reference, whole degrees 0..360."""
        return self._get("phase")

    @phase_deg.setter
    def phase_deg(self, value: float) -> None:
        self._set("phase", round(value) % 360)

    @property
    def reference_output_frequency_Hz(self) -> float:
        """Frequency at the REF OUT connector, Hz (read-only)."""
        return float(self._get("refoutfreq"))

    def identify(self) -> str:
        """The controller's ``id?`` reply."""
        return str(self._dev.id)

    def settings(self) -> Settings:
        """Every setting worth recording in a scan file (read from the controller)."""
        return {
            "kind": "MC2000B",
            "port": self.port,
            "idn": self.identify(),
            "frequency_Hz": self.frequency_Hz,
            "enabled": self.enabled,
            "blade": self.blade,
            "reference_mode": self.reference_mode,
            "output_mode": self.output_mode,
            "phase_deg": self.phase_deg,
        }

    def close(self) -> None:
        """Close the serial port."""
        self._dev.close()

    def __enter__(self) -> MC2000BChopper:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"MC2000BChopper({self.port!r})"
