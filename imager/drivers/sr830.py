"""Stanford Research Systems SR830 lock-in amplifier driver (pyvisa).

Tables (manual, ``SENS``/``OFLT``): sensitivity index 0 = 2 nV ... 26 = 1 V
(1-2-5), time constant index 0 = 10 us ... 19 = 30 ks (1-3). Reference source
``FMOD``: 0 external, 1 internal. ``SNAP?1,2`` samples X and Y at one instant.
``LIAS?`` bits: 0 input/reserve overload, 1 filter overload, 2 output
overload, 3 reference unlock -- the same layout as
:class:`~imager.devices.interfaces.LockInStatus`.

Interfaces: the SR830 answers on the interface chosen by ``OUTX`` (0 RS-232,
1 GPIB); the driver sends ``OUTX 0`` on serial (ASRL) addresses and ``OUTX 1``
on all others (GPIB, GPIB adapters, GPIB-LAN bridges on ``TCPIP`` sockets).
Its RS-232 replies end with ``\\r``; the default terminations are ``\\r`` for
ASRL and ``\\n`` elsewhere.
"""

from __future__ import annotations

from typing import ClassVar

from imager.devices.interfaces import LockInStatus
from imager.drivers.srs_lockin import SRSLockIn

SENSITIVITIES_V = tuple(
    v for v in (float(f"{m}e{e}") for e in range(-9, 1) for m in (1, 2, 5)) if 2e-9 <= v <= 1.0
)
TIME_CONSTANTS_S = tuple(float(f"{m}e{e}") for e in range(-5, 5) for m in (1, 3))


class SR830(SRSLockIn):
    """SR830 over any VISA address; see :class:`~imager.drivers.srs_lockin.SRSLockIn`.

    Examples
    --------
    >>> lia = SR830("GPIB0::8::INSTR")                        # doctest: +SKIP
    >>> lia.time_constant_s = 0.03; lia.sensitivity_V = 1e-3  # doctest: +SKIP
    >>> lia.read_xy()                                         # doctest: +SKIP
    LockInReading(x_V=..., y_V=..., status=<LockInStatus.OK: 0>)
    """

    MODEL = "SR830"
    SENSITIVITIES_V = SENSITIVITIES_V
    TIME_CONSTANTS_S = TIME_CONSTANTS_S
    SENSITIVITY_COMMAND = "SENS"
    REFERENCE_COMMAND = "FMOD"
    REFERENCE_SOURCES: ClassVar[dict[str, int]] = {"external": 0, "internal": 1}
    SNAP_XY = "SNAP?1,2"

    @classmethod
    def default_terminations(cls, interface: str) -> tuple[str, str]:
        """``("\\r", "\\r")`` on serial, ``("\\n", "\\n")`` elsewhere."""
        return ("\r", "\r") if interface == "ASRL" else ("\n", "\n")

    def _initialise(self) -> None:
        self._link.write("OUTX 0" if self._link.interface == "ASRL" else "OUTX 1")
        super()._initialise()

    def decode_status(self, lias: int) -> LockInStatus:
        """Bits 0-3 of ``LIAS?`` are :class:`LockInStatus` as they are."""
        return LockInStatus(int(lias) & 0x0F)
