"""Stanford Research Systems SR860 lock-in amplifier driver (pyvisa).

Tables (manual, ``SCAL``/``OFLT``): sensitivity index 0 = 1 V ... 27 = 1 nV
(the reverse of the SR830's order), time constant index 0 = 1 us ... 21 =
30 ks. Reference source ``RSRC``: 0 internal, 1 external, 2 dual, 3 chop.
``SNAP? 0,1`` samples X and Y at one instant.

``LIAS?`` (latched) and ``CUROVLDSTAT?`` (current) bits used here: 0 CH1
output overload, 1 CH2 output overload, 3 external reference unlock, 4 input
range overload; mapped to :class:`~imager.devices.interfaces.LockInStatus`
as OUTPUT_OVERLOAD (0 or 1), REFERENCE_UNLOCK (3) and INPUT_OVERLOAD (4).
Replies end with ``\\n`` on every interface.
"""

from __future__ import annotations

from typing import ClassVar

from imager.devices.interfaces import LockInStatus, Settings
from imager.drivers.errors import InstrumentError
from imager.drivers.srs_lockin import SRSLockIn

SENSITIVITIES_V = tuple(
    v for v in (float(f"{m}e{e}") for e in range(0, -10, -1) for m in (5, 2, 1)) if 1e-9 <= v <= 1.0
)
TIME_CONSTANTS_S = tuple(float(f"{m}e{e}") for e in range(-6, 5) for m in (1, 3))
INPUT_RANGES_V = (1.0, 0.3, 0.1, 0.03, 0.01)


def decode_sr860_status(bits: int) -> LockInStatus:
    """Map SR860 ``LIAS?`` / ``CUROVLDSTAT?`` bits to :class:`LockInStatus`."""
    status = LockInStatus.OK
    if bits & 0b11:
        status |= LockInStatus.OUTPUT_OVERLOAD
    if bits & (1 << 3):
        status |= LockInStatus.REFERENCE_UNLOCK
    if bits & (1 << 4):
        status |= LockInStatus.INPUT_OVERLOAD
    return status


class SR860(SRSLockIn):
    """SR860 over any VISA address; see :class:`~imager.drivers.srs_lockin.SRSLockIn`."""

    MODEL = "SR860"
    SENSITIVITIES_V = SENSITIVITIES_V
    TIME_CONSTANTS_S = TIME_CONSTANTS_S
    SENSITIVITY_COMMAND = "SCAL"
    REFERENCE_COMMAND = "RSRC"
    REFERENCE_SOURCES: ClassVar[dict[str, int]] = {
        "internal": 0,
        "external": 1,
        "dual": 2,
        "chop": 3,
    }
    SNAP_XY = "SNAP? 0,1"
    EXTRA_RESTORED = ("IRNG",)

    def decode_status(self, lias: int) -> LockInStatus:
        """See :func:`decode_sr860_status`."""
        return decode_sr860_status(lias)

    def current_status(self) -> LockInStatus:
        """Overload/unlock state right now (``CUROVLDSTAT?``, not latched)."""
        return decode_sr860_status(self._link.query_int("CUROVLDSTAT?"))

    @property
    def input_range_V(self) -> float:
        """Voltage input range (peak), V: 1, 0.3, 0.1, 0.03 or 0.01."""
        index = self._link.query_int("IRNG?")
        if not 0 <= index < len(INPUT_RANGES_V):
            raise InstrumentError(f"SR860: IRNG? returned index {index} out of table")
        return INPUT_RANGES_V[index]

    @input_range_V.setter
    def input_range_V(self, value: float) -> None:
        fits = [i for i, v in enumerate(INPUT_RANGES_V) if v >= value * (1.0 - 1e-6)]
        if not fits:
            raise ValueError(f"input_range_V {value!r} exceeds 1 V")
        self.write(f"IRNG {max(fits)}")

    def read_xyrt(self) -> tuple[float, float, float, float]:
        """X, Y, R (V) and theta (deg) of one instant, via ``SNAPD?`` (default data channels)."""
        x_V, y_V, r_V, theta_deg = self._link.query_floats("SNAPD?", 4)
        return x_V, y_V, r_V, theta_deg

    def settings(self) -> Settings:
        """The common settings plus the input range."""
        out = super().settings()
        out["input_range_V"] = self.input_range_V
        return out
