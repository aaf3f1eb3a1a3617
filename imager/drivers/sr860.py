"""Stanford Research Systems SR860 lock-in amplifier driver (pyvisa).

Tables, ranges and status bits: :data:`imager.instruments.srs.SR860`
(sensitivity index 0 = 1 V ... 27 = 1 nV, the reverse of the SR830's order;
time constant 0 = 1 us ... 21 = 30 ks; reference source ``RSRC`` 0 internal,
1 external, 2 dual, 3 chop; ``SNAP? 0,1`` samples X and Y at one instant).

``LIAS?`` (latched) and ``CUROVLDSTAT?`` (current) bits used here: 0 CH1
output overload, 1 CH2 output overload, 3 external reference unlock, 4 input
range overload; mapped to :class:`~imager.devices.interfaces.LockInStatus`
as OUTPUT_OVERLOAD (0 or 1), REFERENCE_UNLOCK (3) and INPUT_OVERLOAD (4).
Replies end with ``\\n`` on every interface.
"""

from __future__ import annotations

from imager.devices.interfaces import LockInStatus
from imager.drivers.srs_lockin import SRSLockIn
from imager.drivers.srs_settings import Setting, Table, lockin_settings
from imager.instruments import srs


class SR860(SRSLockIn):
    """SR860 over any VISA address; see :class:`~imager.drivers.srs_lockin.SRSLockIn`.

    Besides the common settings it has ``input_range_V`` (``IRNG``: the voltage
    input range, peak, 1 V ... 10 mV; set: rounds up), restored after a
    reconnection and recorded in :meth:`settings`.
    """

    SPEC = srs.SR860
    SETTINGS = (
        *lockin_settings(srs.SR860),
        Setting("input_range_V", "IRNG", Table(srs.SR860.input_ranges_V),
                "Voltage input range (peak), V: 1, 0.3, 0.1, 0.03 or 0.01 (set: rounds up)."),
    )
    input_range_V: float

    def current_status(self) -> LockInStatus:
        """Overload/unlock state right now (``CUROVLDSTAT?``, not latched)."""
        return self.decode_status(self._link.query_int("CUROVLDSTAT?"))
