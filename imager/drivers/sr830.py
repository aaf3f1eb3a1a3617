"""Stanford Research Systems SR830 lock-in amplifier driver (pyvisa).

Tables, ranges and status bits: :data:`imager.instruments.srs.SR830`
(sensitivity index 0 = 2 nV ... 26 = 1 V, time constant 0 = 10 us ... 19 =
30 ks; reference source ``FMOD`` 0 external, 1 internal; ``SNAP?1,2`` samples
X and Y at one instant; ``LIAS?`` bits 0-3 are
:class:`~imager.devices.interfaces.LockInStatus` as they are).

Interfaces: the SR830 answers on the interface chosen by ``OUTX`` (0 RS-232,
1 GPIB); the driver sends ``OUTX 0`` on serial (ASRL) addresses and ``OUTX 1``
on all others (GPIB, GPIB adapters, GPIB-LAN bridges on ``TCPIP`` sockets).
Its RS-232 replies end with ``\\r``; the default terminations are ``\\r`` for
ASRL and ``\\n`` elsewhere.
"""

from __future__ import annotations

from imager.drivers.srs_lockin import SRSLockIn
from imager.drivers.srs_settings import lockin_settings
from imager.instruments import srs


class SR830(SRSLockIn):
    """SR830 over any VISA address; see :class:`~imager.drivers.srs_lockin.SRSLockIn`.

    Examples
    --------
    >>> lia = SR830("GPIB0::8::INSTR")                        # doctest: +SKIP
    >>> lia.time_constant_s = 0.03; lia.sensitivity_V = 1e-3  # doctest: +SKIP
    >>> lia.read_xy()                                         # doctest: +SKIP
    LockInReading(x_V=..., y_V=..., status=<LockInStatus.OK: 0>)
    """

    SPEC = srs.SR830
    SETTINGS = lockin_settings(srs.SR830)

    @classmethod
    def default_terminations(cls, interface: str) -> tuple[str, str]:
        """``("\\r", "\\r")`` on serial, ``("\\n", "\\n")`` elsewhere."""
        return ("\r", "\r") if interface == "ASRL" else ("\n", "\n")

    def _initialise(self) -> None:
        self._link.write("OUTX 0" if self._link.interface == "ASRL" else "OUTX 1")
        super()._initialise()
