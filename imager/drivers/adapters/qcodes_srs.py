"""QCoDeS's SRS SR830 as :class:`~imager.devices.interfaces.LockIn`.

:class:`QCoDeSSR830` wraps a ``qcodes.instrument_drivers.stanford_research.SR830``
or opens one from a VISA address. Tables come from the QCoDeS parameters
(``sensitivity.vals``, ``time_constant.val_mapping``), readings from its
``snap("x", "y")``; the status is ``LIAS?`` (its ``ask``) mapped as in
:mod:`imager.instruments.srs`. The input must be a voltage input: QCoDeS
switches its X, Y and sensitivity units to A on a current input, which the
adapter refuses. See :mod:`imager.drivers.adapters.base`.

In a lab configuration::

    [lockin]
    driver = "imager.drivers.adapters.qcodes_srs:QCoDeSSR830"
    address = "GPIB0::8::INSTR"
    name = "lockin"      # the QCoDeS instrument name (unique while it is open)

QCoDeS prints its "Connected to: ..." line when the instrument opens.
"""

from __future__ import annotations

import math
import warnings
from typing import Any

import qcodes
from qcodes.instrument_drivers.stanford_research import SR830 as _QcSR830
from qcodes.utils import QCoDeSDeprecationWarning

from imager.drivers.adapters.base import AdaptedLockIn, ascending
from imager.drivers.errors import InstrumentError
from imager.drivers.sr830 import SR830 as _OurSR830
from imager.drivers.visa_link import interface_type
from imager.instruments import srs


class QCoDeSSR830(AdaptedLockIn):
    """QCoDeS's ``SR830`` as a LockIn.

    Parameters
    ----------
    instrument : qcodes SR830, optional
        An open instrument; the adapter does not close it.
    address : str, optional
        VISA address to open instead (exactly one of ``instrument`` and ``address``);
        :meth:`close` closes it.
    name : str
        QCoDeS instrument name when opening from an address.
    timeout_s : float
        I/O timeout when opening from an address.
    terminator : str, optional
        Read and write termination; default the SR830's for the interface
        (serial: ``\\r``, else ``\\n``).
    visalib : str
        pyvisa backend when opening from an address (``"@py"``: pyvisa-py).
    read_status : bool
        Whether :meth:`read_xy` also reads ``LIAS?``.
    """

    LIBRARY = f"qcodes {qcodes.__version__}"
    MODEL = srs.SR830

    def __init__(self, instrument: Any = None, *, address: str | None = None,
                 name: str = "imager_lockin", timeout_s: float = 2.0,
                 terminator: str | None = None, visalib: str = "@py",
                 read_status: bool = True) -> None:
        if (instrument is None) == (address is None):
            raise ValueError("QCoDeSSR830: give instrument= (an open qcodes SR830) or "
                             "address=, one of them")
        if instrument is not None:
            if not isinstance(instrument, _QcSR830):
                raise TypeError("QCoDeSSR830: instrument must be a qcodes.instrument_drivers."
                                f"stanford_research.SR830, got {type(instrument).__name__}")
            super().__init__(instrument, owns=False, read_status=read_status)
            return
        if not (isinstance(timeout_s, int | float) and math.isfinite(timeout_s)
                and timeout_s > 0):
            raise ValueError(f"QCoDeSSR830: timeout_s must be > 0, got {timeout_s!r}")
        if terminator is None:
            terminator = _OurSR830.default_terminations(interface_type(address))[0]
        try:
            with warnings.catch_warnings():  # QCoDeS's own deprecation notes on its buffers
                warnings.simplefilter("ignore", QCoDeSDeprecationWarning)
                opened = _QcSR830(name, address, visalib=visalib, terminator=terminator,
                                  timeout=float(timeout_s))
        except Exception as exc:  # noqa: BLE001 - pyvisa and QCoDeS raise their own kinds
            detail = " ".join(str(exc).split()) or type(exc).__name__
            raise InstrumentError(f"SR830 ({self.LIBRARY}) at {address}: cannot open: "
                                  f"{detail}") from exc
        super().__init__(opened, owns=True, read_status=read_status)

    @property
    def address(self) -> str:
        """The instrument's VISA address."""
        return str(getattr(self.instrument, "address", "?"))

    def _get(self, name: str) -> Any:
        return getattr(self.instrument, name)()

    def _put(self, name: str, value: Any) -> None:
        getattr(self.instrument, name)(value)

    def _ask(self, command: str) -> str:
        return str(self.instrument.ask(command))

    def _snap_xy(self) -> tuple[float, float]:
        x_V, y_V = self.instrument.snap("x", "y")
        return x_V, y_V

    def _input_unit(self) -> str:
        self.instrument.input_config()  # the getter sets the units of X, Y and sensitivity
        return str(self.instrument.X.unit)

    def _sensitivity_table(self) -> tuple[float, ...]:
        return ascending(self.instrument.sensitivity.vals.valid_values)

    def _time_constant_table(self) -> tuple[float, ...]:
        return ascending(self.instrument.time_constant.val_mapping)

    @staticmethod
    def _close_instrument(instrument: Any) -> None:
        instrument.close()


__all__ = ["QCoDeSSR830"]
