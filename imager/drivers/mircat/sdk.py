"""The MIRcat SDK library: return codes, constants, loading, and checked calls into it.

API facts used here, from the vendor header ``MIRcatSDK.h`` of SDK 1.6.3
(published in github.com/photothermal/mircat-test, ``MIRcatSDK_1.6.3/include/``),
cross-checked against the constants transcribed in
github.com/autolab-project/autolab-drivers (``daylight_MIRCat/MIRcatSDKConstants.py``)
and the C# ``DllImport`` declarations of the same SDK (``CallingConvention.Cdecl``):

* every function returns ``uint32_t``: 0 is success, other values are the error
  codes of :data:`RETURN_CODES` (32 initialization failure, 64-115 function
  errors: 66 interlock/key switch not set, 80 wavelength out of tuning range,
  88 current out of range, 93 not armed, 94 not tuned, 95 TECs not at
  temperature, ...). Outputs are pointer arguments (``bool*``, ``uint8_t*``,
  ``uint16_t*``, ``float*``); no calling convention is declared (cdecl).
* wavelength units are ``uint8_t``: 1 = microns, 2 = cm-1. Tuning range
  queries may answer in either; this driver always tunes in microns.
* QCLs are numbered 1-4 (``GetNumInstalledQcls``, ``GetQclTuningRange``).
  ``TuneToWW(float, units, preferred_qcl)`` starts a tune (0 = no preferred QCL);
  ``IsTuned(bool*)`` and ``GetActualWW(float*, uint8_t*, bool*)`` tell when it
  is reached. ``TurnEmissionOn`` needs an armed and tuned laser.
* ``ArmLaser`` fails with code 66 unless the key switch is ON and the interlock
  closed (``IsKeySwitchStatusSet``, ``IsInterlockedStatusSet``); tuning fails
  with 95 until ``AreTECsAtSetTemperature``. ``ArmDisarmLaser`` only toggles
  and is never used here (a stale state could arm instead of disarm).
* the laser is driven by QCL *current*, not power: ``SetQCLParams(qcl,
  pulse_rate_Hz, pulse_width_ns, current_mA)`` (floats); ``SetAllQclParams``
  adds the set temperature and the mode (1 pulsed, 2 CW, 3 CW + modulation);
  factory limits are ``GetQCLMaxCwCurrent``/``GetQCLMaxPulsedCurrent``
  (``uint16_t*`` in mA).
"""

from __future__ import annotations

import ctypes
import ctypes.util
import math
import os
import sys
import time
from collections.abc import Callable
from ctypes import POINTER, c_bool, c_char_p, c_float, c_uint8, c_uint16
from pathlib import Path
from typing import Any

from imager.drivers.errors import InstrumentError, InstrumentTimeoutError

RETURN_CODES: dict[int, str] = {
    0: "MIRcatSDK_RET_SUCCESS",
    1: "MIRcatSDK_RET_UNSUPPORTED_TRANSPORT",
    32: "MIRcatSDK_RET_INITIALIZATION_FAILURE",
    64: "MIRcatSDK_RET_ARMDISARM_FAILURE",
    65: "MIRcatSDK_RET_STARTTUNE_FAILURE",
    66: "MIRcatSDK_RET_INTERLOCKS_KEYSWITCH_NOTSET",
    67: "MIRcatSDK_RET_STOP_SCAN_FAILURE",
    68: "MIRcatSDK_RET_PAUSE_SCAN_FAILURE",
    69: "MIRcatSDK_RET_RESUME_SCAN_FAILURE",
    70: "MIRcatSDK_RET_MANUAL_STEP_SCAN_FAILURE",
    71: "MIRcatSDK_RET_START_SWEEPSCAN_FAILURE",
    72: "MIRcatSDK_RET_START_STEPMEASURESCAN_FAILURE",
    73: "MIRcatSDK_RET_INDEX_OUTOFBOUNDS",
    74: "MIRcatSDK_RET_START_MULTISPECTRALSCAN_FAILURE",
    75: "MIRcatSDK_RET_TOO_MANY_ELEMENTS",
    76: "MIRcatSDK_RET_NOT_ENOUGH_ELEMENTS",
    77: "MIRcatSDK_RET_BUFFER_TOO_SMALL",
    78: "MIRcatSDK_RET_FAVORITE_NAME_NOTRECOGNIZED",
    79: "MIRcatSDK_RET_FAVORITE_RECALL_FAILURE",
    80: "MIRcatSDK_RET_WW_OUTOFTUNINGRANGE",
    81: "MIRcatSDK_RET_NO_SCAN_INPROGRESS",
    82: "MIRcatSDK_RET_EMISSION_ON_FAILURE",
    83: "MIRcatSDK_RET_EMISSION_ALREADY_OFF",
    84: "MIRcatSDK_RET_EMISSION_OFF_FAILURE",
    85: "MIRcatSDK_RET_EMISSION_ALREADY_ON",
    86: "MIRcatSDK_RET_PULSERATE_OUTOFRANGE",
    87: "MIRcatSDK_RET_PULSEWIDTH_OUTOFRANGE",
    88: "MIRcatSDK_RET_CURRENT_OUTOFRANGE",
    89: "MIRcatSDK_RET_SAVE_SETTINGS_FAILURE",
    90: "MIRcatSDK_RET_QCL_NUM_OUTOFRANGE",
    91: "MIRcatSDK_RET_LASER_ALREADY_ARMED",
    92: "MIRcatSDK_RET_LASER_ALREADY_DISARMED",
    93: "MIRcatSDK_RET_LASER_NOT_ARMED",
    94: "MIRcatSDK_RET_LASER_NOT_TUNED",
    95: "MIRcatSDK_RET_TECS_NOT_AT_SET_TEMPERATURE",
    96: "MIRcatSDK_RET_CW_NOT_ALLOWED_ON_QCL",
    97: "MIRcatSDK_RET_INVALID_LASER_MODE",
    98: "MIRcatSDK_RET_TEMPERATURE_OUT_OF_RANGE",
    99: "MIRcatSDK_RET_LASER_POWER_OFF_ERROR",
    100: "MIRcatSDK_RET_COMM_ERROR",
    101: "MIRcatSDK_RET_NOT_INITIALIZED",
    102: "MIRcatSDK_RET_ALREADY_CREATED",
    103: "MIRcatSDK_RET_START_SWEEP_ADVANCED_SCAN_FAILURE",
    104: "MIRcatSDK_RET_INJECT_PROC_TRIG_ERROR",
    105: "MIRcatSDK_RET_PASSED_NULL_POINTER",
    106: "MIRcatSDK_RET_TABLE_NUM_OUT_OF_RANGE",
    107: "MIRcatSDK_RET_STRCPY_ERROR",
    108: "MIRcatSDK_RET_TOO_MANY_CAL_ENTRIES",
    109: "MIRcatSDK_RET_CANNOT_DELETE_FACTORY_CAL",
    110: "MIRcatSDK_RET_CANNOT_OVERWRITE_FACTORY_CAL",
    111: "MIRcatSDK_RET_ADMIN_PASSWORD_INCORRECT",
    112: "MIRcatSDK_RET_NO_DEVICE_AT_HANDLE",
    113: "MIRcatSDK_RET_CONNECT_FAIL_AT_HANDLE",
    114: "MIRcatSDK_RET_NO_CONTROLLER_AT_HANDLE",
    115: "MIRcatSDK_RET_DISCONNECT_ERROR",
}
"""Return codes of the MIRcat SDK (``MIRcatSDK.h``), value -> name."""

_HINTS: dict[int, str] = {
    32: "no MIRcat answered (power, USB/serial cable, another program holding the port?)",
    66: "the interlock is open or the key switch is off",
    80: "the wavelength is outside the tuning range",
    88: "the current is outside the QCL's allowed range",
    90: "no such QCL in this laser",
    93: "the laser is not armed; call arm() first",
    94: "the laser is not tuned; set wavelength_um first",
    95: "the TECs are not at temperature yet; wait and retry",
    96: "this QCL cannot run CW",
    100: "no answer from the laser (cable, power)",
    101: "the SDK is not initialized (source closed?)",
}

UNITS_MICRONS = 1
UNITS_CM1 = 2
MODE_PULSED = 1
MODE_CW = 2
MODE_CW_MOD = 3
_CW_MODES = (2, 3, 6, 7, 8, 9, 10)  # CW, CW+mod, and the CW filter/MR variants of the header
MODES = {"pulsed": MODE_PULSED, "cw": MODE_CW}

_B, _U8, _U16, _F = POINTER(c_bool), POINTER(c_uint8), POINTER(c_uint16), POINTER(c_float)
# name -> (argtypes, required)
_SIGNATURES: dict[str, tuple[tuple[Any, ...], bool]] = {
    "MIRcatSDK_Initialize": ((), True),
    "MIRcatSDK_DeInitialize": ((), True),
    "MIRcatSDK_GetAPIVersion": ((POINTER(c_uint16),) * 3, False),
    "MIRcatSDK_IsConnectedToLaser": ((_B,), False),
    "MIRcatSDK_GetModelNumber": ((c_char_p, c_uint8), False),
    "MIRcatSDK_GetSerialNumber": ((c_char_p, c_uint8), False),
    "MIRcatSDK_GetNumInstalledQcls": ((_U8,), True),
    "MIRcatSDK_GetQclTuningRange": ((c_uint8, _F, _F, _U8), True),
    "MIRcatSDK_IsInterlockedStatusSet": ((_B,), True),
    "MIRcatSDK_IsKeySwitchStatusSet": ((_B,), True),
    "MIRcatSDK_IsEmissionOn": ((_B,), True),
    "MIRcatSDK_IsLaserArmed": ((_B,), True),
    "MIRcatSDK_IsSystemError": ((_B,), False),
    "MIRcatSDK_GetSystemErrorWord": ((_U16,), False),
    "MIRcatSDK_AreTECsAtSetTemperature": ((_B,), True),
    "MIRcatSDK_GetActiveQcl": ((_U8,), True),
    "MIRcatSDK_ArmLaser": ((), True),
    "MIRcatSDK_DisarmLaser": ((), True),
    "MIRcatSDK_GetActualWW": ((_F, _U8, _B), True),
    "MIRcatSDK_GetTuneWW": ((_F, _U8, _U8), True),
    "MIRcatSDK_TuneToWW": ((c_float, c_uint8, c_uint8), True),
    "MIRcatSDK_IsTuned": ((_B,), True),
    "MIRcatSDK_TurnEmissionOn": ((), True),
    "MIRcatSDK_TurnEmissionOff": ((), True),
    "MIRcatSDK_GetQCLPulseRate": ((c_uint8, _F), True),
    "MIRcatSDK_GetQCLPulseWidth": ((c_uint8, _F), True),
    "MIRcatSDK_GetQCLCurrent": ((c_uint8, _F), True),
    "MIRcatSDK_SetQCLParams": ((c_uint8, c_float, c_float, c_float), True),
    "MIRcatSDK_GetQCLMaxPulsedCurrent": ((c_uint8, _U16), False),
    "MIRcatSDK_GetQCLMaxCwCurrent": ((c_uint8, _U16), False),
    "MIRcatSDK_isCwAllowed": ((c_uint8, _B), False),
    "MIRcatSDK_GetQCLOperatingMode": ((c_uint8, _U8), True),
    "MIRcatSDK_GetQclSetTemperature": ((c_uint8, _F), False),
    "MIRcatSDK_SetAllQclParams": ((c_uint8, c_float, c_float, c_float, c_float, c_uint8), False),
}


def default_library_names() -> tuple[str, ...]:
    """File names tried when no library path is configured (this platform's)."""
    if sys.platform == "win32":
        return ("MIRcatSDK.dll",)
    return ("libMIRcatSDK.so", "MIRcatSDK.so")


_NOT_FOUND = ("MIRcat SDK library not found at {where}; install the Daylight Solutions SDK "
              'or use driver = "manual"')


def load_sdk(library: str | os.PathLike[str] | None = None) -> ctypes.CDLL:
    """Load the MIRcat SDK library and declare the functions this driver uses.

    Parameters
    ----------
    library : str or path, optional
        Path of ``MIRcatSDK.dll``/``libMIRcatSDK.so``; default: the platform's
        names on the system library search path.

    Returns
    -------
    ctypes.CDLL
        The library, with ``argtypes``/``restype`` set.

    Raises
    ------
    InstrumentError
        The library is missing, cannot be loaded or lacks a required function.
    """
    if library is not None:
        path = Path(library).expanduser()
        if not path.is_file():
            raise InstrumentError(_NOT_FOUND.format(where=path))
        if sys.platform == "win32":  # pragma: no cover - Windows only
            os.add_dll_directory(str(path.resolve().parent))
        try:
            lib = ctypes.CDLL(str(path))
        except OSError as exc:
            raise InstrumentError(f"MIRcat SDK library at {path} could not be loaded ({exc}); "
                                  "check it matches this Python (32/64 bit)") from None
        where = str(path)
    else:
        lib, where = None, ""
        candidates = list(default_library_names())
        found = ctypes.util.find_library("MIRcatSDK")
        if found:
            candidates.append(found)
        for name in candidates:
            try:
                lib, where = ctypes.CDLL(name), name
                break
            except OSError:
                continue
        if lib is None:
            tried = " or ".join(default_library_names())
            raise InstrumentError(_NOT_FOUND.format(where=f"{tried} (system library path)"))
    for name, (argtypes, required) in _SIGNATURES.items():
        try:
            function = getattr(lib, name)
        except AttributeError:
            if required:
                raise InstrumentError(f"MIRcat SDK library at {where} lacks {name} "
                                      "(SDK older than 1.6?)") from None
            continue
        function.argtypes = list(argtypes)
        function.restype = ctypes.c_uint32
    return lib


class MIRcatError(InstrumentError):
    """An SDK call returned an error code.

    Attributes
    ----------
    call : str
        The SDK function, e.g. ``"MIRcatSDK_ArmLaser"``.
    code : int
        Its return code.
    code_name : str
        The code's name in ``MIRcatSDK.h``.
    """

    def __init__(self, call: str, code: int, args: str = "") -> None:
        self.call, self.code = call, int(code)
        self.code_name = RETURN_CODES.get(self.code, "unknown error code")
        hint = _HINTS.get(self.code)
        super().__init__(f"MIRcat: {call}({args}) returned {self.code_name} ({self.code})"
                         + (f": {hint}" if hint else ""))


def _to_um(value: float, units: int) -> float:
    """An SDK wavelength (float32, microns or cm-1) in um, rounded to 10 pm."""
    if units == UNITS_CM1:
        return round(1e4 / value, 5) if value > 0 else math.nan
    return round(float(value), 5)


class SDKSession:
    """Calls into a loaded SDK: return codes checked, outputs read through pointers.

    Base of :class:`~imager.drivers.mircat.source.MIRcatSource`, which sets the
    attributes declared here when it opens.
    """

    _lib: ctypes.CDLL | None
    _open: bool
    poll_s: float
    _sleep: Callable[[float], None]

    @property
    def is_open(self) -> bool:
        """True until :meth:`close`."""
        return self._open

    def _has(self, name: str) -> bool:
        return self._lib is not None and hasattr(self._lib, name)

    def _call(self, name: str, *arguments: Any, args: str = "",
              ok: tuple[int, ...] = ()) -> int:
        if self._lib is None or not self._open:
            raise InstrumentError(f"MIRcat: {name}: the source is closed")
        code = int(getattr(self._lib, name)(*arguments))
        if code != 0 and code not in ok:
            raise MIRcatError(name, code, args)
        return code

    def _get(self, name: str, ctype: Any, qcl: int | None = None) -> Any:
        out = ctype()
        if qcl is None:
            self._call(name, ctypes.byref(out))
        else:
            self._call(name, c_uint8(qcl), ctypes.byref(out), args=str(qcl))
        return out.value

    def _get_bool(self, name: str, qcl: int | None = None) -> bool:
        return bool(self._get(name, c_bool, qcl))

    def _text(self, name: str) -> str:
        if not self._has(name):
            return ""
        buffer = ctypes.create_string_buffer(64)
        self._call(name, buffer, c_uint8(64))
        return buffer.value.decode("ascii", "replace").strip()

    def _api_version(self) -> str:
        if not self._has("MIRcatSDK_GetAPIVersion"):
            return ""
        parts = [c_uint16(), c_uint16(), c_uint16()]
        self._call("MIRcatSDK_GetAPIVersion", *(ctypes.byref(p) for p in parts))
        return ".".join(str(p.value) for p in parts)

    def _wait(self, what: str, call: str, done: Callable[[], bool], timeout_s: float) -> None:
        deadline = time.monotonic() + timeout_s
        while not done():
            if time.monotonic() > deadline:
                raise InstrumentTimeoutError(f"MIRcat: {what} within {timeout_s:g} s ({call})")
            self._sleep(self.poll_s)

    def _deinitialize(self) -> None:
        try:
            self._call("MIRcatSDK_DeInitialize")
        finally:
            self._open = False
