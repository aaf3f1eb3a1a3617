"""The MIRcat as an :class:`imager.devices.Source`: open, arm, tune, emit, close.

Current caps and ``power_mW`` are in :mod:`imager.drivers.mircat.caps`, the SDK
calls in :mod:`imager.drivers.mircat.sdk`.

Safety
------
Nothing arms the laser but an explicit :meth:`MIRcatSource.arm`, which first
checks key switch, interlock and system error, then waits for the TECs.
Emission is refused unless armed, tuned and every QCL's present current is
within its cap. :meth:`MIRcatSource.close` turns emission off, disarms and
deinitializes the SDK.
"""

from __future__ import annotations

import ctypes
import math
import os
import time
from collections.abc import Callable, Mapping, Sequence
from ctypes import c_bool, c_float, c_uint8, c_uint16
from typing import Any

from imager.devices.interfaces import Settings
from imager.drivers.errors import InstrumentError
from imager.drivers.mircat.caps import CurrentCaps, _float_list, _li_table
from imager.drivers.mircat.sdk import MODES, UNITS_MICRONS, _to_um, load_sdk


class MIRcatSource(CurrentCaps):
    """A Daylight Solutions MIRcat QCL through the vendor SDK (``Source`` protocol).

    Opening initializes the SDK and reads the QCLs, their tuning ranges and
    current limits; it never arms the laser. Call :meth:`arm`, then set
    :attr:`wavelength_um` (tunes and waits), then :attr:`on`.

    Parameters
    ----------
    max_current_mA : float or sequence of float
        Hard cap on the current of each QCL, one value per installed QCL or one
        for all. The laser's factory maximum lowers it further.
    max_power_mW : float
        Hard cap on ``power_mW`` (nominal or L-I table: see :mod:`imager.drivers.mircat.caps`).
    library : str or path, optional
        The SDK library; default: ``MIRcatSDK.dll``/``libMIRcatSDK.so`` on the
        library search path.
    qcl : int
        QCL to use, 1-4; 0 picks the first QCL whose range holds the wavelength.
    mode : {"keep", "cw", "pulsed"}
        Operating mode set on the QCL(s) in use when opening ("keep": as stored
        in the laser).
    li_current_mA, li_power_mW : sequence of float, optional
        Light-current table of QCL ``qcl`` (increasing currents and powers), to
        make ``power_mW`` command the laser.
    power_mW : float
        Initial nominal power (without a table), mW.
    tune_timeout_s, tec_timeout_s, arm_timeout_s : float
        Longest wait for a tune, for the TECs after arming, for arming.
    poll_s : float
        Interval between status polls while waiting.
    tune_tolerance_um : float
        A tune is complete when ``IsTuned`` and the actual wavelength is this
        close to the target.
    sleep : callable, optional
        ``sleep(seconds)`` used between polls (default :func:`time.sleep`).
    """

    def __init__(
        self,
        *,
        max_current_mA: float | Sequence[float],
        max_power_mW: float = 100.0,
        library: str | os.PathLike[str] | None = None,
        qcl: int = 0,
        mode: str = "keep",
        li_current_mA: Sequence[float] | None = None,
        li_power_mW: Sequence[float] | None = None,
        power_mW: float = 0.0,
        tune_timeout_s: float = 30.0,
        tec_timeout_s: float = 300.0,
        arm_timeout_s: float = 10.0,
        poll_s: float = 0.25,
        tune_tolerance_um: float = 0.05,
        sleep: Callable[[float], None] | None = None,
    ) -> None:
        if not (math.isfinite(max_power_mW) and max_power_mW > 0):
            raise ValueError(f"MIRcat: max_power_mW must be > 0, got {max_power_mW!r}")
        if mode not in ("keep", *MODES):
            raise ValueError(f"MIRcat: mode must be 'keep', 'cw' or 'pulsed', got {mode!r}")
        caps = _float_list("max_current_mA", max_current_mA)
        li = _li_table(li_current_mA, li_power_mW, qcl)
        self.max_power_mW = float(max_power_mW)
        self.mode = mode
        self.tune_timeout_s = float(tune_timeout_s)
        self.tec_timeout_s = float(tec_timeout_s)
        self.arm_timeout_s = float(arm_timeout_s)
        self.poll_s = float(poll_s)
        self.tune_tolerance_um = float(tune_tolerance_um)
        self._sleep = sleep or time.sleep
        self._li = li
        self._power_mW = self._check_power(power_mW) if self._li is None else 0.0
        self._lib: ctypes.CDLL | None = None
        self._open = False
        self.library = str(library) if library is not None else None
        lib = load_sdk(library)
        self._lib = lib
        self._open = True  # lets _call through; False again if anything below fails
        try:
            self._call("MIRcatSDK_Initialize")
        except BaseException:
            self._open = False
            raise
        try:
            self._setup(caps or [], int(qcl))
        except BaseException:
            self._deinitialize()
            raise

    # ------------------------------------------------------------------ set-up

    def _setup(self, caps: list[float], qcl: int) -> None:
        if self._has("MIRcatSDK_IsConnectedToLaser") and not self._get_bool(
                "MIRcatSDK_IsConnectedToLaser"):
            raise InstrumentError("MIRcat: the SDK initialized but no laser is connected "
                                  "(MIRcatSDK_IsConnectedToLaser)")
        n = self._get("MIRcatSDK_GetNumInstalledQcls", c_uint8)
        if not 1 <= n <= 4:
            raise InstrumentError(f"MIRcat: the laser reports {n} installed QCLs "
                                  "(MIRcatSDK_GetNumInstalledQcls)")
        self.num_qcls = n
        if len(caps) not in (1, n):
            raise ValueError(f"MIRcat: max_current_mA has {len(caps)} values for {n} QCLs "
                             "(give one per QCL or one for all)")
        if not 0 <= qcl <= n:
            raise ValueError(f"MIRcat: qcl = {qcl}, but this laser has QCLs 1..{n}")
        self.qcl_ranges_um: dict[int, tuple[float, float]] = {}
        for q in range(1, n + 1):
            lo, hi, units = c_float(), c_float(), c_uint8()
            self._call("MIRcatSDK_GetQclTuningRange", c_uint8(q), ctypes.byref(lo),
                       ctypes.byref(hi), ctypes.byref(units), args=str(q))
            a, b = _to_um(lo.value, units.value), _to_um(hi.value, units.value)
            self.qcl_ranges_um[q] = (min(a, b), max(a, b))
        self._config_caps_mA = {q: caps[0] if len(caps) == 1 else caps[q - 1]
                                for q in range(1, n + 1)}
        self.fixed_qcl = qcl
        self.model = self._text("MIRcatSDK_GetModelNumber")
        self.serial_number = self._text("MIRcatSDK_GetSerialNumber")
        self.api_version = self._api_version()
        self._modes = {q: int(self._get("MIRcatSDK_GetQCLOperatingMode", c_uint8, q))
                       for q in range(1, n + 1)}
        if self.mode != "keep":
            for q in [qcl] if qcl else range(1, n + 1):
                self._apply_mode(q, MODES[self.mode])
        self._caps_mA = {q: self._cap_for(q) for q in range(1, n + 1)}
        for q in range(1, n + 1):  # never leave a QCL set above its cap
            if self._read_current(q) > self._caps_mA[q]:
                self._send_params(q, self._caps_mA[q])
        target, units, preferred = c_float(), c_uint8(), c_uint8()
        self._call("MIRcatSDK_GetTuneWW", ctypes.byref(target), ctypes.byref(units),
                   ctypes.byref(preferred))
        self._wavelength_um = _to_um(target.value, units.value) if target.value > 0 else math.nan
        active = self._get("MIRcatSDK_GetActiveQcl", c_uint8)
        self.qcl = qcl or (active if 1 <= active <= n else None)

    # ----------------------------------------------------------------- status

    @property
    def armed(self) -> bool:
        """Whether the laser is armed (``MIRcatSDK_IsLaserArmed``)."""
        return self._open and self._get_bool("MIRcatSDK_IsLaserArmed")

    def status(self) -> dict[str, bool | int]:
        """Key switch, interlock, armed, TECs, tuned, emission and system error now."""
        s: dict[str, bool | int] = {
            "key_switch": self._get_bool("MIRcatSDK_IsKeySwitchStatusSet"),
            "interlock": self._get_bool("MIRcatSDK_IsInterlockedStatusSet"),
            "armed": self._get_bool("MIRcatSDK_IsLaserArmed"),
            "tecs_at_temperature": self._get_bool("MIRcatSDK_AreTECsAtSetTemperature"),
            "tuned": self._get_bool("MIRcatSDK_IsTuned"),
            "emission": self._get_bool("MIRcatSDK_IsEmissionOn"),
        }
        if self._has("MIRcatSDK_GetSystemErrorWord"):
            s["system_error_word"] = int(self._get("MIRcatSDK_GetSystemErrorWord", c_uint16))
        return s

    def identify(self) -> str:
        """Model, serial number and SDK version."""
        return (f"Daylight Solutions {self.model or 'MIRcat'} SN {self.serial_number or '?'} "
                f"(SDK {self.api_version or '?'})")

    # -------------------------------------------------------------- arm/disarm

    def arm(self, wait_for_tecs: bool = True) -> None:
        """Arm the laser: only after checking key switch, interlock and system errors.

        Parameters
        ----------
        wait_for_tecs : bool
            Then wait (``tec_timeout_s``) until the TECs are at temperature,
            which tuning needs.

        Raises
        ------
        InstrumentError
            Key switch off, interlock open, a system error, or the SDK refused.
        InstrumentTimeoutError
            Not armed or TECs not at temperature in time.
        """
        if not self._get_bool("MIRcatSDK_IsKeySwitchStatusSet"):
            raise InstrumentError("MIRcat: the key switch is off (MIRcatSDK_IsKeySwitchStatusSet);"
                                  " turn it to ON before arm()")
        if not self._get_bool("MIRcatSDK_IsInterlockedStatusSet"):
            raise InstrumentError("MIRcat: the interlock is open "
                                  "(MIRcatSDK_IsInterlockedStatusSet); close it before arm()")
        if self._has("MIRcatSDK_IsSystemError") and self._get_bool("MIRcatSDK_IsSystemError"):
            word = (self._get("MIRcatSDK_GetSystemErrorWord", c_uint16)
                    if self._has("MIRcatSDK_GetSystemErrorWord") else 0)
            raise InstrumentError(f"MIRcat: the laser reports system error 0x{word:04X} "
                                  "(MIRcatSDK_IsSystemError); see the laser manual and clear it")
        if not self._get_bool("MIRcatSDK_IsLaserArmed"):
            self._call("MIRcatSDK_ArmLaser", ok=(91,))  # 91: already armed
        self._wait("not armed", "MIRcatSDK_IsLaserArmed",
                   lambda: self._get_bool("MIRcatSDK_IsLaserArmed"), self.arm_timeout_s)
        if wait_for_tecs:
            self.wait_for_tecs()

    def wait_for_tecs(self, timeout_s: float | None = None) -> None:
        """Wait until every TEC is at its set temperature (``tec_timeout_s`` by default)."""
        self._wait("TECs not at temperature", "MIRcatSDK_AreTECsAtSetTemperature",
                   lambda: self._get_bool("MIRcatSDK_AreTECsAtSetTemperature"),
                   self.tec_timeout_s if timeout_s is None else timeout_s)

    def disarm(self) -> None:
        """Turn emission off, then disarm (no error if already disarmed)."""
        self.emission_off()
        if self._get_bool("MIRcatSDK_IsLaserArmed"):
            self._call("MIRcatSDK_DisarmLaser", ok=(92,))  # 92: already disarmed

    # --------------------------------------------------------------- tuning

    def _qcl_for(self, wavelength_um: float, qcl: int | None) -> int:
        def span(q: int) -> str:
            lo, hi = self.qcl_ranges_um[q]
            return f"QCL {q} {lo:.3f}-{hi:.3f} um"

        if not math.isfinite(wavelength_um):
            raise ValueError(f"MIRcat: wavelength_um must be finite, got {wavelength_um!r}")
        q = qcl or self.fixed_qcl
        if q:
            if q not in self.qcl_ranges_um:
                raise ValueError(f"MIRcat: no QCL {q} (this laser has QCLs 1..{self.num_qcls})")
            lo, hi = self.qcl_ranges_um[q]
            if not lo <= wavelength_um <= hi:
                raise ValueError(f"MIRcat: {wavelength_um:g} um is outside the tuning range "
                                 f"of {span(q)}")
            return q
        for q, (lo, hi) in self.qcl_ranges_um.items():
            if lo <= wavelength_um <= hi:
                return q
        ranges = ", ".join(span(q) for q in self.qcl_ranges_um)
        raise ValueError(f"MIRcat: {wavelength_um:g} um is outside the tuning ranges ({ranges})")

    def tune(self, wavelength_um: float, qcl: int | None = None, wait: bool = True) -> None:
        """Tune to ``wavelength_um`` (on ``qcl``, or the configured/first QCL holding it).

        Parameters
        ----------
        wavelength_um : float
            Target wavelength, um; must lie in the QCL's tuning range.
        qcl : int, optional
            QCL to use (default: the configured ``qcl`` or the first whose range holds it).
        wait : bool
            Wait until tuned (``tune_timeout_s``); else call :meth:`wait_until_tuned`.

        Raises
        ------
        ValueError
            Outside the tuning range (the message names the range).
        MIRcatError
            The SDK refused (not armed, TECs not at temperature, ...).
        InstrumentTimeoutError
            Not tuned in time.
        """
        wavelength_um = float(wavelength_um)
        q = self._qcl_for(wavelength_um, qcl)
        self._call("MIRcatSDK_TuneToWW", c_float(wavelength_um), c_uint8(UNITS_MICRONS),
                   c_uint8(q), args=f"{wavelength_um:g} um, QCL {q}")
        self._wavelength_um = wavelength_um
        self.qcl = q
        if wait:
            self.wait_until_tuned()

    def wait_until_tuned(self, timeout_s: float | None = None) -> None:
        """Wait until ``IsTuned`` and the actual wavelength is within ``tune_tolerance_um``."""
        target = self._wavelength_um

        def tuned() -> bool:
            if not self._get_bool("MIRcatSDK_IsTuned"):
                return False
            actual, _ = self.actual_wavelength_um()
            return abs(actual - target) <= self.tune_tolerance_um

        self._wait(f"not tuned to {target:g} um", "MIRcatSDK_IsTuned", tuned,
                   self.tune_timeout_s if timeout_s is None else timeout_s)

    def actual_wavelength_um(self) -> tuple[float, bool]:
        """The wavelength the laser is at now, um, and whether its light is valid."""
        value, units, valid = c_float(), c_uint8(), c_bool()
        self._call("MIRcatSDK_GetActualWW", ctypes.byref(value), ctypes.byref(units),
                   ctypes.byref(valid))
        return _to_um(value.value, units.value), bool(valid.value)

    # ------------------------------------------------------------ emission

    def emission_on(self) -> None:
        """Turn emission on: armed, tuned, and every QCL's current within its cap.

        Raises
        ------
        InstrumentError
            Not armed, a current above its cap (set on the laser's front panel?),
            or the SDK refused (not tuned, ...).
        """
        if not self._get_bool("MIRcatSDK_IsLaserArmed"):
            raise InstrumentError("MIRcat: the laser is not armed; call arm() before emission "
                                  "(key switch and interlock must be set)")
        for q, cap in self._caps_mA.items():
            current = self._read_current(q)
            if current > cap:
                raise InstrumentError(f"MIRcat: QCL {q} is set to {current:g} mA, above its cap "
                                      f"of {cap:g} mA; set current_mA first")
        self._call("MIRcatSDK_TurnEmissionOn", ok=(85,))  # 85: already on

    def emission_off(self) -> None:
        """Turn emission off (no error if it is off already)."""
        self._call("MIRcatSDK_TurnEmissionOff", ok=(83,))  # 83: already off

    # --------------------------------------------------- Source protocol

    @property
    def wavelength_um(self) -> float:
        """Target wavelength of the last tune, um (NaN if none is known)."""
        return self._wavelength_um

    @wavelength_um.setter
    def wavelength_um(self, value: float) -> None:
        self.tune(value)

    @property
    def on(self) -> bool:
        """Emission on/off (``MIRcatSDK_IsEmissionOn``); setting True never arms."""
        return self._open and self._get_bool("MIRcatSDK_IsEmissionOn")

    @on.setter
    def on(self, value: bool) -> None:
        if value:
            self.emission_on()
        elif self._open:
            self.emission_off()

    def settings(self) -> Settings:
        """Every setting worth recording in a scan file."""
        s: Settings = {
            "kind": "mircat", "model": self.model, "serial_number": self.serial_number,
            "sdk_version": self.api_version, "library": self.library or "",
            "num_qcls": self.num_qcls, "qcl": self.qcl or 0, "mode": self.mode,
            "wavelength_um": self._wavelength_um, "power_mW": self._power_mW,
            "power_basis": self.power_basis, "max_power_mW": self.max_power_mW,
        }
        for q, (lo, hi) in self.qcl_ranges_um.items():
            s[f"qcl{q}_min_um"], s[f"qcl{q}_max_um"] = lo, hi
            s[f"qcl{q}_max_current_mA"] = self._caps_mA[q]
        if self._open:
            s["on"] = self.on
            s["armed"] = self.armed
            s["actual_wavelength_um"] = self.actual_wavelength_um()[0]
            if self.qcl is not None:
                s["current_mA"] = self._read_current(self.qcl)
            s["power_mW"] = self.power_mW
        else:
            s["on"] = s["armed"] = False
        return s

    # --------------------------------------------------------------- closing

    def close(self) -> None:
        """Emission off, disarm, deinitialize the SDK (each attempted; first error raised)."""
        if not self._open:
            return
        errors: list[BaseException] = []
        for step in (self.emission_off, self._disarm_quietly, self._deinitialize):
            try:
                step()
            except Exception as exc:  # noqa: BLE001 - every step must be tried
                errors.append(exc)
        self._open = False
        if errors:
            raise errors[0]

    def _disarm_quietly(self) -> None:
        if self._get_bool("MIRcatSDK_IsLaserArmed"):
            self._call("MIRcatSDK_DisarmLaser", ok=(92,))

    def __enter__(self) -> MIRcatSource:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    @classmethod
    def from_config(cls, config: Mapping[str, Any], **overrides: Any) -> MIRcatSource:
        """Open from a lab configuration's ``[source]`` table (driver = "mircat").

        Parameters
        ----------
        config : mapping
            The validated ``[source]`` values (see :mod:`imager.labconfig`).
        **overrides
            Further keyword arguments (e.g. ``poll_s``).
        """
        if not config.get("max_current_mA"):
            raise ValueError('[source] max_current_mA: required for driver = "mircat" '
                             "(hard cap on QCL current, mA: one per QCL or one for all)")
        return cls(max_current_mA=config["max_current_mA"],
                   max_power_mW=config["max_power_mW"], library=config.get("library"),
                   qcl=config.get("qcl") or 0, mode=config.get("mode") or "keep",
                   li_current_mA=config.get("li_current_mA"),
                   li_power_mW=config.get("li_power_mW"),
                   tune_timeout_s=config.get("tune_timeout_s") or 30.0,
                   tec_timeout_s=config.get("tec_timeout_s") or 300.0, **overrides)
