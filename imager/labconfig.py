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

Optional sections: ``[projector]`` (a DMD for single-pixel scans) and
``[power_meter]`` (``driver = "pm100"``, ``address = "USB0::0x1313::0x8078::P0024811::INSTR"``),
a thermal sensor on a pick-off of the MIR beam; with it a scan pauses while
the MIR power is down (:mod:`imager.engine.power`).

``mirimager emulate`` prints such a file pointing at its emulators.
"""

from __future__ import annotations

import tomllib
from pathlib import Path
from typing import Any

from imager.recipes.recipe import RecipeError, _check_keys, _check_value
from imager.recipes.schema import Field
from imager.sim.instruments import SimulatedPump, SimulatedSource
from stages import WallClock, XYStage

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
SECTIONS: dict[str, dict[str, Field]] = {
    "stage_x": STAGE_FIELDS,
    "stage_y": STAGE_FIELDS,
    "lockin": {
        "driver": Field("str", "sr830", choices=("sr830", "sr860")),
        "address": Field("str", None, help="VISA address"),
        "timeout_s": Field("float", 2.0, 0.01, 60.0),
    },
    "chopper": {
        "driver": Field("str", "mc2000b", choices=("mc2000b",)),
        "serial_port": Field("str", None),
    },
    "source": SOURCE_FIELDS,
    "pump": {
        "driver": Field("str", "manual", choices=("manual",)),
        "max_power_mW": Field("float", 500.0, 0.001, 10000.0),
    },
}
OPTIONAL_SECTIONS: dict[str, dict[str, Field]] = {
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
REQUIRED = {"stage_x": ("serial_port",), "stage_y": ("serial_port",), "lockin": ("address",),
            "chopper": ("serial_port",), "power_meter": ("address",)}


class ManualSource(SimulatedSource):
    """A QCL set by hand: the software records its settings and enforces the power cap."""

    def settings(self) -> dict[str, Any]:
        return {**super().settings(), "kind": "manual"}


class ManualPump(SimulatedPump):
    """A pump laser set by hand (settings recorded)."""

    def settings(self) -> dict[str, Any]:
        return {**super().settings(), "kind": "manual"}


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
    config: dict[str, Any] = {"name": name, "source": source}
    for section, fields in SECTIONS.items():
        given = raw.get(section)
        if not isinstance(given, dict):
            raise RecipeError(f"{prefix}[{section}] is missing (every device must be named)")
        where = f"{prefix}[{section}] "
        _check_keys(where, given, fields)
        values = {k: _check_value(where, k, f, given[k]) if k in given else f.default
                  for k, f in fields.items()}
        for key in REQUIRED.get(section, ()):
            if not values.get(key):
                raise RecipeError(f"{where}{key}: required")
        config[section] = values
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
        where = f"{prefix}[{section}] "
        if not isinstance(given, dict):
            raise RecipeError(f"{where}must be a table")
        _check_keys(where, given, fields)
        config[section] = {k: _check_value(where, k, f, given[k]) if k in given else f.default
                           for k, f in fields.items()}
        for key in REQUIRED.get(section, ()):
            if not config[section].get(key):
                raise RecipeError(f"{where}{key}: required")
    return config


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
        self._closers: list[Any] = []
        try:
            self._open(config)
        except BaseException:
            self.close()
            raise

    def _open(self, config: dict[str, Any]) -> None:
        from imager.drivers import SR830, SR860, MC2000BChopper
        from stages.apt import AptController

        controllers: dict[str, Any] = {}
        axes = []
        for name in ("stage_x", "stage_y"):
            c = config[name]
            port = c["serial_port"]
            if port not in controllers:
                controllers[port] = AptController(
                    port, c["controller"], serial_read_timeout_s=c["serial_read_timeout_s"])
                self._closers.append(controllers[port])
            travel = None
            if c["travel_min_um"] is not None or c["travel_max_um"] is not None:
                lo = c["travel_min_um"] if c["travel_min_um"] is not None else -float("inf")
                hi = c["travel_max_um"] if c["travel_max_um"] is not None else float("inf")
                travel = (lo, hi)
            axes.append(controllers[port].axis(name, c["stage"], bay=c["bay"], travel_um=travel,
                                               require_homed=c["require_homed"]))
        self.stage_x, self.stage_y = axes
        self.stage = XYStage(self.stage_x, self.stage_y)
        lockin_class = {"sr830": SR830, "sr860": SR860}[config["lockin"]["driver"]]
        self.lockin = lockin_class(config["lockin"]["address"],
                                   timeout_s=config["lockin"]["timeout_s"])
        self._closers.append(self.lockin)
        self.chopper = MC2000BChopper(config["chopper"]["serial_port"])
        self._closers.append(self.chopper)
        if "projector" in config:
            from imager.drivers.alp4_dmd import ALP4Projector

            p = config["projector"]
            self.projector = ALP4Projector(p["api_version"], p["lib_dir"], p["device_number"],
                                           p["pixel_mirrors"])
            self._closers.append(self.projector)
        if "power_meter" in config:
            from imager.drivers.pm100 import PM100

            m = config["power_meter"]
            self.power_meter = PM100(m["address"], timeout_s=m["timeout_s"],
                                     average_count=m["average_count"])
            self._closers.append(self.power_meter)
        if config["source"]["driver"] == "mircat":
            from imager.drivers.mircat import MIRcatSource

            self.source = MIRcatSource.from_config(config["source"])  # never arms
            self._closers.append(self.source)
        else:
            self.source = ManualSource(power_mW=0.0, on=False,
                                       max_power_mW=config["source"]["max_power_mW"])
        self.pump = ManualPump(power_mW=0.0, max_power_mW=config["pump"]["max_power_mW"])

    def instruments(self) -> dict[str, Any]:
        devices = {"stage_x": self.stage_x, "stage_y": self.stage_y, "lockin": self.lockin,
                   "chopper": self.chopper, "source": self.source, "pump": self.pump}
        if hasattr(self, "projector"):
            devices["projector"] = self.projector
        if hasattr(self, "power_meter"):
            devices["power_meter"] = self.power_meter
        return devices

    def settings(self) -> dict[str, Any]:
        return {"kind": "hardware", "name": self.config["name"],
                "config_file": self.config["source"]}

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
