"""Current caps of the MIRcat QCLs and what ``power_mW`` means (nominal or L-I table).

Power and current caps
----------------------
Only current can be commanded, so the hard safety limit is a current cap per
QCL: ``max_current_mA`` from the lab configuration, lowered further to the
laser's own factory maximum for the QCL's mode. Every current sent to the SDK
passes one check against that cap (:meth:`CurrentCaps._send_params`); a
current above it is refused, never clamped, and a current above the cap found
on a QCL at opening is lowered to the cap. Choose ``max_current_mA`` from the
QCL's light-current curves so that no wavelength gives more than
``max_power_mW``.

``power_mW`` is then either

* *nominal* (default): the power the operator measured and entered, recorded
  in the scan file and capped by ``max_power_mW``; setting it does not change
  the laser (set :attr:`MIRcatSource.current_mA` for that), or
* *from an L-I table* (``li_current_mA`` + ``li_power_mW``, measured on QCL
  ``qcl`` at the working wavelength): setting ``power_mW`` sets the current
  interpolated from the table, reading it interpolates the present current.
  The current cap of that QCL then also stays within the table and at or
  below the current of ``max_power_mW``.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from ctypes import c_float, c_uint8, c_uint16

import numpy as np

from imager.drivers.errors import InstrumentError
from imager.drivers.mircat.sdk import _CW_MODES, MODE_CW, SDKSession


def _float_list(name: str, values: float | Sequence[float] | None) -> list[float] | None:
    if values is None:
        return None
    items = [values] if isinstance(values, int | float) else list(values)
    out = [float(v) for v in items]
    if not out or not all(math.isfinite(v) and v >= 0 for v in out):
        raise ValueError(f"MIRcat: {name} must be finite numbers >= 0, got {values!r}")
    return out


def _li_table(li_current_mA: Sequence[float] | None, li_power_mW: Sequence[float] | None,
              qcl: int) -> tuple[list[float], list[float]] | None:
    """The checked L-I table ``(currents, powers)`` of QCL ``qcl``, or None without one."""
    li_i = _float_list("li_current_mA", li_current_mA)
    li_p = _float_list("li_power_mW", li_power_mW)
    if (li_i is None) != (li_p is None):
        raise ValueError("MIRcat: li_current_mA and li_power_mW go together (an L-I table)")
    if li_i is not None and li_p is not None:
        if len(li_i) != len(li_p) or len(li_i) < 2:
            raise ValueError("MIRcat: li_current_mA and li_power_mW need the same length >= 2")
        if any(b <= a for a, b in zip(li_i, li_i[1:], strict=False)) or any(
                b <= a for a, b in zip(li_p, li_p[1:], strict=False)):
            raise ValueError("MIRcat: the L-I table must increase strictly in current "
                             "and power")
        if qcl == 0:
            raise ValueError("MIRcat: an L-I table belongs to one QCL; give qcl = 1..4")
    return (li_i, li_p) if li_i is not None and li_p is not None else None


class CurrentCaps(SDKSession):
    """Current caps per QCL, QCL modes, and ``current_mA``/``power_mW`` of the source.

    Base of :class:`~imager.drivers.mircat.source.MIRcatSource`, which sets the
    attributes declared here when it opens.
    """

    num_qcls: int
    fixed_qcl: int
    qcl: int | None
    max_power_mW: float
    _power_mW: float
    _li: tuple[list[float], list[float]] | None
    _config_caps_mA: dict[int, float]
    _caps_mA: dict[int, float]
    _modes: dict[int, int]

    # ------------------------------------------------------- current/power

    def current_cap_mA(self, qcl: int | None = None) -> float:
        """The hard current cap of ``qcl`` (default: the QCL in use), mA."""
        return self._caps_mA[self._qcl_in_use(qcl)]

    def _qcl_in_use(self, qcl: int | None) -> int:
        q = qcl or self.qcl
        if q is None:
            raise InstrumentError("MIRcat: no QCL in use yet; tune first or give qcl")
        if q not in self._caps_mA:
            raise ValueError(f"MIRcat: no QCL {q} (this laser has QCLs 1..{self.num_qcls})")
        return q

    def set_current_mA(self, current_mA: float, qcl: int | None = None) -> None:
        """Set the QCL current (pulse rate and width kept); refused above the cap."""
        self._send_params(self._qcl_in_use(qcl), float(current_mA))

    @property
    def current_mA(self) -> float:
        """Current of the QCL in use, mA (as set in the laser)."""
        return self._read_current(self._qcl_in_use(None))

    @current_mA.setter
    def current_mA(self, value: float) -> None:
        self.set_current_mA(value)

    def _check_power(self, value: float) -> float:
        value = float(value)
        if not 0.0 <= value <= self.max_power_mW:  # also rejects NaN
            raise ValueError(f"MIRcat: power_mW must be within [0, {self.max_power_mW:g}] mW "
                             f"(max_power_mW), got {value!r}")
        return value

    @property
    def power_basis(self) -> str:
        """``"nominal"`` (operator-entered) or ``"li_table"`` (commands the current)."""
        return "nominal" if self._li is None else "li_table"

    @property
    def power_mW(self) -> float:
        """MIR power, mW: nominal as entered, or from the L-I table and the present current."""
        if self._li is None or not self._open:
            return self._power_mW
        currents, powers = self._li
        return float(np.interp(self._read_current(self.fixed_qcl), currents, powers))

    @power_mW.setter
    def power_mW(self, value: float) -> None:
        value = self._check_power(value)
        if self._li is None:
            self._power_mW = value  # recorded only: the laser is set by current
            return
        currents, powers = self._li
        if value > powers[-1]:
            raise ValueError(f"MIRcat: power_mW {value:g} mW is beyond the L-I table "
                             f"(up to {powers[-1]:g} mW)")
        self._power_mW = value
        self._send_params(self.fixed_qcl, float(np.interp(value, powers, currents)))

    # ------------------------------------------------------- caps and modes

    def _factory_max_mA(self, q: int, mode: int) -> float:
        name = ("MIRcatSDK_GetQCLMaxCwCurrent" if mode in _CW_MODES
                else "MIRcatSDK_GetQCLMaxPulsedCurrent")
        if not self._has(name):
            return math.inf
        value = self._get(name, c_uint16, q)
        return float(value) if value > 0 else math.inf

    def _cap_for(self, q: int, mode: int | None = None) -> float:
        mode = self._modes[q] if mode is None else mode
        cap = min(self._config_caps_mA[q], self._factory_max_mA(q, mode))
        if self._li is not None and q == self.fixed_qcl:
            currents, powers = self._li
            cap = min(cap, currents[-1],
                      float(np.interp(self.max_power_mW, powers, currents)))
        return cap

    def _apply_mode(self, q: int, mode: int) -> None:
        current = self._modes[q]
        if current == mode or (mode == MODE_CW and current in _CW_MODES):
            return  # CW with modulation counts as CW
        if not self._has("MIRcatSDK_SetAllQclParams"):
            raise InstrumentError("MIRcat: this SDK lacks MIRcatSDK_SetAllQclParams; set the "
                                  f"QCL {q} mode on the laser, or use mode = \"keep\"")
        if mode == MODE_CW and self._has("MIRcatSDK_isCwAllowed") and not self._get_bool(
                "MIRcatSDK_isCwAllowed", q):
            raise InstrumentError(f"MIRcat: QCL {q} cannot run CW (MIRcatSDK_isCwAllowed); "
                                  "use mode = \"pulsed\" or another qcl")
        cap = self._cap_for(q, mode)
        self._send_params(q, min(self._read_current(q), cap), mode=mode, cap_mA=cap)
        self._modes[q] = mode

    def _read_current(self, q: int) -> float:
        return float(self._get("MIRcatSDK_GetQCLCurrent", c_float, q))

    def _send_params(self, q: int, current_mA: float, *, mode: int | None = None,
                     cap_mA: float | None = None) -> None:
        """The only path that sends a current to the laser: refused above the cap."""
        cap = self._caps_mA[q] if cap_mA is None else cap_mA
        if not (math.isfinite(current_mA) and 0.0 <= current_mA <= cap):
            raise ValueError(f"MIRcat: QCL {q} current must be within [0, {cap:g}] mA "
                             f"(max_current_mA and the laser's limit), got {current_mA!r}")
        rate = self._get("MIRcatSDK_GetQCLPulseRate", c_float, q)
        width = self._get("MIRcatSDK_GetQCLPulseWidth", c_float, q)
        if mode is None:
            self._call("MIRcatSDK_SetQCLParams", c_uint8(q), c_float(rate), c_float(width),
                       c_float(current_mA), args=f"{q}, {rate:g} Hz, {width:g} ns, "
                       f"{current_mA:g} mA")
            return
        temperature = (self._get("MIRcatSDK_GetQclSetTemperature", c_float, q)
                       if self._has("MIRcatSDK_GetQclSetTemperature") else 19.0)
        self._call("MIRcatSDK_SetAllQclParams", c_uint8(q), c_float(rate), c_float(width),
                   c_float(current_mA), c_float(temperature), c_uint8(mode),
                   args=f"{q}, {rate:g} Hz, {width:g} ns, {current_mA:g} mA, "
                   f"{temperature:g} C, mode {mode}")
