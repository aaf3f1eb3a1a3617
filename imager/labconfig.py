"""Hardware labs from a lab configuration file (TOML).

A lab configuration names each device's driver and address::

    name = "mir-bench"
    [stage_x]
    driver = "apt"                 # Thorlabs APT over thorlabs-apt-device
    serial_port = "/dev/ttyUSB0"   # always explicit: never auto-detected
    controller = "KDC101"
    stage = "MTS25-Z8"
    [stage_y]
    driver = "apt"
    serial_port = "/dev/ttyUSB1"
    controller = "KDC101"
    stage = "MTS25-Z8"
    [lockin]
    driver = "sr830"               # sr830 | sr860, over pyvisa-py
    address = "TCPIP::192.168.1.20::1865::SOCKET"
    [chopper]
    driver = "mc2000b"
    serial_port = "/dev/ttyUSB2"
    [source]
    driver = "manual"              # set by hand on the QCL; recorded, power capped
    max_power_mW = 100
    # or a Daylight Solutions MIRcat through its SDK (imager.drivers.mircat):
    # driver = "mircat"
    # library = "C:/Program Files/Daylight Solutions/MIRcatSDK/MIRcatSDK.dll"
    # max_current_mA = [800, 900]  # hard cap per QCL (or one value for all)
    # qcl = 0                      # 0: the QCL whose range holds the wavelength
    [pump]
    driver = "manual"

Any section may instead name a class that implements its device Protocol
(``[lockin]``: :class:`~imager.devices.LockIn`, ``[stage_x]``/``[stage_y]``:
:class:`~stages.Stage`, ``[chopper]``, ``[source]``, ``[pump]``,
``[power_meter]``, ``[projector]``: the Protocols of :mod:`imager.devices`)::

    [lockin]
    driver = "imager.drivers.adapters.pymeasure_srs:PyMeasureSR830"
    address = "GPIB0::8::INSTR"    # every other key is a keyword argument of the class
    timeout_s = 5

The module is imported when the configuration is read: a class lacking a method of
the Protocol, or whose constructor does not take the section's keys, is a one-line
error naming the section (an attribute the object built lacks: when the lab opens).
``HardwareLab`` builds it with the other keys as keyword arguments and calls its
``close()``, if any, on closing. Adapters of PyMeasure and QCoDeS instruments:
:mod:`imager.drivers.adapters`.

Optional sections: ``[projector]`` (a DMD for single-pixel scans) and
``[power_meter]`` (``driver = "pm100"``, ``address = "USB0::0x1313::0x8078::P0024811::INSTR"``),
a thermal sensor on a pick-off of the MIR beam; with it a scan pauses while
the MIR power is down (:mod:`imager.engine.power`); ``[reference_lockin]`` (keys as
``[lockin]``): a lock-in on a detector at a MIR pick-off, read with every reading and
following the signal lock-in's filter (:mod:`imager.devices.reference`); readings are
then normalised by it (:mod:`reconstruction.reference`).

``mirimager emulate`` prints such a file pointing at its emulators.
"""

from __future__ import annotations

import tomllib
from pathlib import Path
from typing import Any

from imager.devices.interfaces import (
    Chopper,
    DeviceError,
    LockIn,
    PowerMeter,
    Projector,
    Pump,
    Source,
)
from imager.devices.loading import (
    DriverSpecError,
    build_device,
    is_class_spec,
    load_device_class,
)
from imager.devices.manual import ManualPump, ManualSource
from imager.lab import Capabilities
from imager.recipes.recipe import RecipeError, _check_keys, _check_value
from imager.recipes.schema import Field
from stages import Stage, WallClock, XYStage

APT_CONTROLLERS = ("KDC101", "TDC001", "BSC201", "BSC202", "BSC203", "BBD201", "BBD202", "BBD203")

STAGE_FIELDS: dict[str, Field] = {
    "driver": Field("str", "apt", choices=("apt",)),
    "serial_port": Field("str", None, help="device path, e.g. /dev/ttyUSB0 or a pty"),
    "controller": Field("str", "KDC101", choices=APT_CONTROLLERS),
    "stage": Field("str", "MTS25-Z8", help="stage model (counts/um table in stages.apt.models)"),
    "bay": Field("int", 0, 0, 2, help="bay/channel on a multi-bay controller"),
    "travel_min_um": Field("float", None, help="soft travel limit (default: the stage's)"),
    "travel_max_um": Field("float", None),
    "require_homed": Field("bool", True, help="refuse moves before an explicit home"),
    "serial_read_timeout_s": Field("float", None, 0.001, 1.0,
                                   help="APT library read timeout (sets its polling rate)"),
}
# [source]: driver "manual" uses only max_power_mW; the other keys are for "mircat"
# (imager.drivers.mircat; max_current_mA is required there)
SOURCE_FIELDS: dict[str, Field] = {
    "driver": Field("str", "manual", choices=("manual", "mircat")),
    "max_power_mW": Field("float", 100.0, 0.001, 10000.0, help="hard cap on MIR power"),
    "library": Field("str", None, help="MIRcat SDK library (default: MIRcatSDK.dll / "
                     "libMIRcatSDK.so on the library path)"),
    "max_current_mA": Field("float_list", None, 0.0, 10000.0,
                            help="hard cap on QCL current, one per QCL or one for all"),
    "qcl": Field("int", 0, 0, 4, help="QCL to use (0: the first whose range holds it)"),
    "mode": Field("str", "keep", choices=("keep", "cw", "pulsed"),
                  help="QCL operating mode set when opening"),
    "li_current_mA": Field("float_list", None, 0.0, 10000.0,
                           help="L-I table of QCL qcl: currents (makes power_mW settable)"),
    "li_power_mW": Field("float_list", None, 0.0, 10000.0, help="L-I table: powers"),
    "tune_timeout_s": Field("float", 30.0, 0.1, 600.0, help="longest wait for a tune"),
    "tec_timeout_s": Field("float", 300.0, 0.1, 3600.0,
                           help="longest wait for the TECs after arming"),
}
LOCKIN_FIELDS = {
    "driver": Field("str", "sr830", choices=("sr830", "sr860")),
    "address": Field("str", None, help="VISA address"),
    "timeout_s": Field("float", 2.0, 0.01, 60.0),
}
SECTIONS: dict[str, dict[str, Field]] = {
    "stage_x": STAGE_FIELDS,
    "stage_y": STAGE_FIELDS,
    "lockin": LOCKIN_FIELDS,
    "chopper": {
        "driver": Field("str", "mc2000b", choices=("mc2000b",)),
        "serial_port": Field("str", None),
        "timeout_s": Field("float", None, 0.001, 60.0,
                           help="wait for each reply byte (default: the driver's)"),
    },
    "source": SOURCE_FIELDS,
    "pump": {
        "driver": Field("str", "manual", choices=("manual",)),
        "max_power_mW": Field("float", 500.0, 0.001, 10000.0),
    },
}
OPTIONAL_SECTIONS: dict[str, dict[str, Field]] = {
    #: the MIR reference channel: a lock-in on a detector at a pick-off of the MIR beam
    "reference_lockin": LOCKIN_FIELDS,
    "projector": {
        "driver": Field("str", "alp4", choices=("alp4",), help="ViALUX DMD over ALP4lib"),
        "api_version": Field("str", "4.3", choices=("4.1", "4.2", "4.3", "4.4", "5.0", "5.1")),
        "lib_dir": Field("str", None, help="folder of the vendor ALP library"),
        "device_number": Field("int", None, 0, 2**31 - 1, help="DMD serial number"),
        "pixel_mirrors": Field("int", 8, 1, 256, help="mirrors per pattern pixel side"),
    },
    "power_meter": {
        "driver": Field("str", "pm100", choices=("pm100",),
                        help="Thorlabs PM100D/PM100USB/PM400 over pyvisa (SCPI)"),
        "address": Field("str", None, help="VISA address"),
        "timeout_s": Field("float", 2.0, 0.01, 60.0),
        "average_count": Field("int", 10, 1, 100000, help="samples averaged per reading"),
    },
}
#: the Protocol a class named by ``driver = "package.module:Class"`` implements, per section
PROTOCOLS: dict[str, type] = {"stage_x": Stage, "stage_y": Stage, "lockin": LockIn,
                              "reference_lockin": LockIn,
                              "chopper": Chopper, "source": Source, "pump": Pump,
                              "projector": Projector, "power_meter": PowerMeter}
REQUIRED = {"stage_x": ("serial_port",), "stage_y": ("serial_port",), "lockin": ("address",),
            "reference_lockin": ("address",),
            "chopper": ("serial_port",), "power_meter": ("address",)}


def parse_lab_config(text: str, source: str = "<lab>") -> dict[str, Any]:
    """Validate a lab configuration; RecipeError (one line, names the field) if wrong."""
    try:
        raw = tomllib.loads(text)
    except (tomllib.TOMLDecodeError, ValueError) as exc:  # ValueError: absurdly long integers
        raise RecipeError(f"{source}: not valid TOML: {str(exc).splitlines()[0]}") from None
    prefix = f"{source}: "
    _check_keys(prefix, raw, {"name": None, **SECTIONS, **OPTIONAL_SECTIONS})
    name = raw.get("name", "lab")
    if not isinstance(name, str) or not name.strip() or len(name) > 200:
        raise RecipeError(f"{prefix}name: must be a non-empty string of at most 200 characters")
    config: dict[str, Any] = {"name": name, "config_file": source}
    for section, fields in SECTIONS.items():
        given = raw.get(section)
        if not isinstance(given, dict):
            raise RecipeError(f"{prefix}[{section}] is missing (every device must be named)")
        config[section] = _section(prefix, section, fields, given)
    source_values = config["source"]
    if source_values["driver"] == "mircat":
        if not source_values["max_current_mA"]:
            raise RecipeError(f'{prefix}[source] max_current_mA: required for driver = "mircat" '
                              "(hard cap on QCL current, mA: one per QCL or one for all)")
        table = (source_values["li_current_mA"], source_values["li_power_mW"])
        if (table[0] is None) != (table[1] is None) or (
                table[0] is not None and len(table[0]) != len(table[1])):
            raise RecipeError(f"{prefix}[source] li_current_mA, li_power_mW: give both, "
                              "of equal length")
    for section, fields in OPTIONAL_SECTIONS.items():
        given = raw.get(section)
        if given is None:
            continue
        if not isinstance(given, dict):
            raise RecipeError(f"{prefix}[{section}] must be a table")
        config[section] = _section(prefix, section, fields, given)
    return config


def _section(prefix: str, section: str, fields: dict[str, Field],
             given: dict[str, Any]) -> dict[str, Any]:
    """One device section, validated: a built-in driver's keys against ``fields``; a class
    named by ``driver = "package.module:Class"`` imported and checked (its Protocol, its
    constructor's parameters), the other keys kept as they are for its constructor."""
    where = f"{prefix}[{section}] "
    if is_class_spec(given.get("driver")):
        options = {k: v for k, v in given.items() if k != "driver"}
        try:
            load_device_class(given["driver"], PROTOCOLS[section], where, options)
        except DriverSpecError as exc:
            raise RecipeError(str(exc)) from None
        return dict(given)
    _check_keys(where, given, fields)
    values = {k: _check_value(where, k, f, given[k]) if k in given else f.default
              for k, f in fields.items()}
    for key in REQUIRED.get(section, ()):
        if not values.get(key):
            raise RecipeError(f"{where}{key}: required")
    return values


def load_lab_config(path: str | Path) -> dict[str, Any]:
    """Read and validate a lab configuration file."""
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise RecipeError(f"{path}: cannot read lab configuration ({exc.strerror})") from None
    return parse_lab_config(text, str(path))


class HardwareLab:
    """Real devices behind the same interface as the simulated lab (see :mod:`imager.lab`).

    Build it with :func:`open_hardware_lab`; :meth:`close` releases every port.
    """

    def __init__(self, config: dict[str, Any]) -> None:
        self.config = config
        self.clock = WallClock()
        self.projector: Any = None
        self.power_meter: Any = None
        self.reference: Any = None
        self._closers: list[Any] = []
        try:
            self._open(config)
        except BaseException:
            self.close()
            raise

    def _open(self, config: dict[str, Any]) -> None:
        controllers: dict[str, Any] = {}
        self.stage_x, self.stage_y = (self._open_stage(config, name, controllers)
                                      for name in ("stage_x", "stage_y"))
        self.stage = XYStage(self.stage_x, self.stage_y)
        self.lockin = self._open_lockin(config, "lockin")
        if "reference_lockin" in config:
            from imager.devices.reference import FollowingLockIn

            self.reference = FollowingLockIn(self._open_lockin(config, "reference_lockin"),
                                             self.lockin)
        self.chopper = self._external(config, "chopper")
        if self.chopper is None:
            from imager.drivers import MC2000BChopper

            c = config["chopper"]
            timeout = {} if c["timeout_s"] is None else {"timeout_s": c["timeout_s"]}
            self.chopper = self._opened(MC2000BChopper(c["serial_port"], **timeout))
        if "projector" in config:
            self.projector = self._external(config, "projector")
            if self.projector is None:
                from imager.drivers.alp4_dmd import ALP4Projector

                p = config["projector"]
                self.projector = self._opened(ALP4Projector(
                    p["api_version"], p["lib_dir"], p["device_number"], p["pixel_mirrors"]))
        if "power_meter" in config:
            self.power_meter = self._external(config, "power_meter")
            if self.power_meter is None:
                from imager.drivers.pm100 import PM100

                m = config["power_meter"]
                self.power_meter = self._opened(PM100(m["address"], timeout_s=m["timeout_s"],
                                                      average_count=m["average_count"]))
        self.source = self._external(config, "source")
        if self.source is None and config["source"]["driver"] == "mircat":
            from imager.drivers.mircat import MIRcatSource

            self.source = self._opened(MIRcatSource.from_config(config["source"]))  # never arms
        elif self.source is None:
            self.source = ManualSource(power_mW=0.0, on=False,
                                       max_power_mW=config["source"]["max_power_mW"])
        self.pump = self._external(config, "pump")
        if self.pump is None:
            self.pump = ManualPump(power_mW=0.0, max_power_mW=config["pump"]["max_power_mW"])

    def _open_lockin(self, config: dict[str, Any], section: str) -> Any:
        device = self._external(config, section)
        if device is None:
            from imager.drivers import SR830, SR860

            values = config[section]
            device = self._opened({"sr830": SR830, "sr860": SR860}[values["driver"]](
                values["address"], timeout_s=values["timeout_s"]))
        return device

    def _opened(self, device: Any) -> Any:
        """Remember ``device`` for :meth:`close` and return it."""
        self._closers.append(device)
        return device

    def _open_stage(self, config: dict[str, Any], name: str, controllers: dict[str, Any]):
        """The axis of section ``name``: a named class, or an APT controller's bay."""
        external = self._external(config, name)
        if external is not None:
            return external
        from stages.apt import AptController

        c = config[name]
        port = c["serial_port"]
        if port not in controllers:
            controllers[port] = self._opened(AptController(
                port, c["controller"], serial_read_timeout_s=c["serial_read_timeout_s"]))
        travel = None
        if c["travel_min_um"] is not None or c["travel_max_um"] is not None:
            lo = c["travel_min_um"] if c["travel_min_um"] is not None else -float("inf")
            hi = c["travel_max_um"] if c["travel_max_um"] is not None else float("inf")
            travel = (lo, hi)
        return controllers[port].axis(name, c["stage"], bay=c["bay"], travel_um=travel,
                                      require_homed=c["require_homed"])

    def _external(self, config: dict[str, Any], section: str) -> Any:
        """The device of a section naming a class (``driver = "package.module:Class"``),
        built with the section's other keys; None for a built-in driver.

        Raises
        ------
        RecipeError
            The class (or the object it built) does not implement the section's Protocol.
        DeviceError
            Its constructor failed (a device that does not answer ...); the message names
            the section and the class.
        """
        values = config[section]
        spec = values["driver"]
        if not is_class_spec(spec):
            return None
        where = f"{config['config_file']}: [{section}] "
        options = {k: v for k, v in values.items() if k != "driver"}
        try:
            cls = load_device_class(spec, PROTOCOLS[section], where, options)
            device = build_device(cls, spec, PROTOCOLS[section], where, options)
        except DriverSpecError as exc:
            raise RecipeError(str(exc)) from None
        except Exception as exc:  # noqa: BLE001 - any library's failure to open, one line
            detail = " ".join(str(exc).split()) or type(exc).__name__
            raise DeviceError(f"[{section}] {spec}: {type(exc).__name__}: {detail}") from exc
        if callable(getattr(device, "close", None)):
            self._closers.append(device)
        return device

    def instruments(self) -> dict[str, Any]:
        devices = {"stage_x": self.stage_x, "stage_y": self.stage_y, "lockin": self.lockin,
                   "chopper": self.chopper, "source": self.source, "pump": self.pump}
        if self.projector is not None:
            devices["projector"] = self.projector
        if self.power_meter is not None:
            devices["power_meter"] = self.power_meter
        if self.reference is not None:
            devices["reference"] = self.reference
        return devices

    def capabilities(self) -> Capabilities:
        """The configured optional devices (``[projector]``, ``[power_meter]``,
        ``[reference_lockin]``); no simulation hooks."""
        return Capabilities(power_meter=self.power_meter, projector=self.projector,
                            reference=self.reference)

    def settings(self) -> dict[str, Any]:
        """``kind``, ``name``, ``config_file`` and ``<section>_driver`` for each section that
        names a class (``"package.module:Class"``)."""
        out = {"kind": "hardware", "name": self.config["name"],
               "config_file": self.config["config_file"]}
        for section in PROTOCOLS:
            driver = self.config.get(section, {}).get("driver")
            if is_class_spec(driver):
                out[f"{section}_driver"] = driver
        return out

    def close(self) -> None:
        """Close every device opened so far (reverse order, errors ignored)."""
        while self._closers:
            device = self._closers.pop()
            try:
                device.close()
            except Exception:  # noqa: BLE001 - closing the rest matters more
                pass

    def __enter__(self) -> HardwareLab:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def open_hardware_lab(path: str | Path) -> HardwareLab:
    """Validate a lab configuration file and open its devices."""
    return HardwareLab(load_lab_config(path))
