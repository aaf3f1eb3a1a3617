"""PyMeasure's SRS lock-ins as :class:`~imager.devices.interfaces.LockIn`.

:class:`PyMeasureSR830` and :class:`PyMeasureSR860` wrap an instrument of
``pymeasure.instruments.srs`` (``SR830``, ``SR860``), or open one from a VISA
address. Tables come from PyMeasure's classes (``SENSITIVITIES``,
``TIME_CONSTANTS``), readings from its ``snap("X", "Y")``, settings from its
properties; the status is the instrument's ``LIAS?`` (PyMeasure's ``ask``),
mapped as in :mod:`imager.instruments.srs`. See :mod:`imager.drivers.adapters.base`.

In a lab configuration::

    [lockin]
    driver = "imager.drivers.adapters.pymeasure_srs:PyMeasureSR830"
    address = "GPIB0::8::INSTR"
    timeout_s = 5

Opened from an address, the adapter sends nothing but PyMeasure's own commands
(in particular no ``OUTX``: an SR830 on RS-232 must already answer there).
"""

from __future__ import annotations

import math
from typing import Any, ClassVar

import pymeasure
from pymeasure.instruments.srs import SR830 as _PmSR830
from pymeasure.instruments.srs import SR860 as _PmSR860

from imager.drivers.adapters.base import AdaptedLockIn, ascending
from imager.drivers.errors import InstrumentError
from imager.drivers.sr830 import SR830 as _OurSR830
from imager.drivers.sr860 import SR860 as _OurSR860
from imager.drivers.visa_link import interface_type
from imager.instruments import srs


class _PyMeasureLockIn(AdaptedLockIn):
    """Common part of the PyMeasure adapters.

    Parameters
    ----------
    instrument : pymeasure instrument, optional
        An open ``SR830`` / ``SR860`` of ``pymeasure.instruments.srs``; the adapter
        does not close it.
    address : str, optional
        VISA address to open instead (exactly one of ``instrument`` and ``address``);
        :meth:`close` closes it.
    timeout_s : float
        I/O timeout when opening from an address.
    read_termination, write_termination : str, optional
        Default: the model's for the interface (SR830 on serial: ``\\r``; else ``\\n``).
    visa_library : str
        pyvisa backend when opening from an address (``"@py"``: pyvisa-py).
    read_status : bool
        Whether :meth:`read_xy` also reads ``LIAS?``.
    """

    LIBRARY = f"pymeasure {pymeasure.__version__}"
    PYMEASURE_CLASS: ClassVar[type]
    OUR_DRIVER: ClassVar[type]

    def __init__(self, instrument: Any = None, *, address: str | None = None,
                 timeout_s: float = 2.0, read_termination: str | None = None,
                 write_termination: str | None = None, visa_library: str = "@py",
                 read_status: bool = True) -> None:
        cls_name = f"pymeasure.instruments.srs.{self.PYMEASURE_CLASS.__name__}"
        if (instrument is None) == (address is None):
            raise ValueError(f"{type(self).__name__}: give instrument= (an open {cls_name}) "
                             "or address=, one of them")
        if instrument is not None:
            if not isinstance(instrument, self.PYMEASURE_CLASS):
                raise TypeError(f"{type(self).__name__}: instrument must be a {cls_name}, "
                                f"got {type(instrument).__name__}")
            super().__init__(instrument, owns=False, read_status=read_status)
            return
        if not (isinstance(timeout_s, int | float) and math.isfinite(timeout_s)
                and timeout_s > 0):
            raise ValueError(f"{type(self).__name__}: timeout_s must be > 0, got {timeout_s!r}")
        read_default, write_default = self.OUR_DRIVER.default_terminations(
            interface_type(address))
        try:
            opened = self.PYMEASURE_CLASS(
                address, visa_library=visa_library,
                read_termination=read_default if read_termination is None else read_termination,
                write_termination=(write_default if write_termination is None
                                   else write_termination),
                timeout=round(timeout_s * 1000))
        except Exception as exc:  # noqa: BLE001 - pyvisa and PyMeasure raise their own kinds
            detail = " ".join(str(exc).split()) or type(exc).__name__
            raise InstrumentError(f"{self.MODEL.name} ({self.LIBRARY}) at {address}: cannot "
                                  f"open: {detail}") from exc
        super().__init__(opened, owns=True, read_status=read_status)

    @property
    def address(self) -> str:
        """The VISA address of PyMeasure's adapter."""
        connection = getattr(getattr(self.instrument, "adapter", None), "connection", None)
        return str(getattr(connection, "resource_name", "?"))

    def _get(self, name: str) -> Any:
        return getattr(self.instrument, name)

    def _put(self, name: str, value: Any) -> None:
        setattr(self.instrument, name, value)

    def _ask(self, command: str) -> str:
        return str(self.instrument.ask(command))

    def _snap_xy(self) -> tuple[float, float]:
        x_V, y_V = self.instrument.snap("X", "Y")
        return x_V, y_V

    def _sensitivity_table(self) -> tuple[float, ...]:
        return ascending(type(self.instrument).SENSITIVITIES)

    def _time_constant_table(self) -> tuple[float, ...]:
        return ascending(type(self.instrument).TIME_CONSTANTS)

    @staticmethod
    def _close_instrument(instrument: Any) -> None:
        instrument.adapter.close()


class PyMeasureSR830(_PyMeasureLockIn):
    """``pymeasure.instruments.srs.SR830`` as a LockIn (see :class:`_PyMeasureLockIn`)."""

    MODEL = srs.SR830
    PYMEASURE_CLASS = _PmSR830
    OUR_DRIVER = _OurSR830

    def _input_unit(self) -> str:
        # input_config: 'A', 'A - B' (voltage) or 'I (1 MOhm)', 'I (100 MOhm)' (current)
        return "A" if str(self.instrument.input_config).startswith("I") else "V"


class PyMeasureSR860(_PyMeasureLockIn):
    """``pymeasure.instruments.srs.SR860`` as a LockIn (see :class:`_PyMeasureLockIn`).

    PyMeasure gives the SR860's filter slope as its index (0-3); the adapter
    converts to dB/octave.
    """

    MODEL = srs.SR860
    PYMEASURE_CLASS = _PmSR860
    OUR_DRIVER = _OurSR860

    def _input_unit(self) -> str:
        # input_signal: 'VOLT' or 'CURR' (IVMD 0 / 1)
        return "A" if str(self.instrument.input_signal).upper().startswith("CURR") else "V"

    def _slope_to_dB(self, raw: Any) -> int:
        return srs.SLOPES_DB_PER_OCT[int(raw)]

    def _slope_from_dB(self, slope_dB_per_oct: int) -> Any:
        return srs.SLOPES_DB_PER_OCT.index(slope_dB_per_oct)


__all__ = ["PyMeasureSR830", "PyMeasureSR860"]
