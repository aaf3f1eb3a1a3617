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
    [pump]
    driver = "manual"

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
    "source": {
        "driver": Field("str", "manual", choices=("manual",)),
        "max_power_mW": Field("float", 100.0, 0.001, 10000.0, help="hard cap on MIR power"),
    },
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
}
REQUIRED = {"stage_x": ("serial_port",), "stage_y": ("serial_port",), "lockin": ("address",),
            "chopper": ("serial_port",)}


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
    config: dict[str, Any] = {"name": raw.get("name", "lab"), "source": source}
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
        self.source = ManualSource(power_mW=0.0, on=False,
                                   max_power_mW=config["source"]["max_power_mW"])
        self.pump = ManualPump(power_mW=0.0, max_power_mW=config["pump"]["max_power_mW"])

    def instruments(self) -> dict[str, Any]:
        devices = {"stage_x": self.stage_x, "stage_y": self.stage_y, "lockin": self.lockin,
                   "chopper": self.chopper, "source": self.source, "pump": self.pump}
        if hasattr(self, "projector"):
            devices["projector"] = self.projector
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
