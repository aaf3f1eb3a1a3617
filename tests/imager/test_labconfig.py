"""Lab configurations: devices named by ``driver = "package.module:Class"``, the file's path
in the lab settings, ``[chopper] timeout_s``, and the one-line errors of each.

The classes named here are small in-process fakes defined in this module (named by its
``__name__``), so a whole hardware lab is built without a device.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from imager.cli.main import main
from imager.devices import LockInReading, LockInStatus
from imager.engine import run_raster
from imager.labconfig import HardwareLab, load_lab_config, parse_lab_config
from imager.recipes import RecipeError, default_recipe
from reconstruction import load_raster

ME = __name__


class FakeAxis:
    """A stage axis that arrives at once."""

    def __init__(self, name: str, start_um: float = 12500.0) -> None:
        self.name = name
        self._position_um = float(start_um)
        self.moves = 0

    @property
    def travel_um(self) -> tuple[float, float]:
        return (0.0, 25000.0)

    def move_to(self, position_um: float) -> None:
        self.moves += 1
        self._position_um = float(position_um)

    def position_um(self) -> float:
        return self._position_um

    def is_moving(self) -> bool:
        return False

    def wait_settled(self, timeout_s: float = 60.0) -> None:
        pass

    def home(self) -> None:
        self._position_um = 0.0

    def settings(self) -> dict:
        return {"kind": "fake axis", "name": self.name}


class FakeLockIn:
    """Reads ``gain_V_per_um`` x the x position of the lab's stage (set by the test)."""

    sensitivities_V = (1e-3, 1e-2, 1e-1, 1.0)
    closed: list[str] = []

    def __init__(self, gain_V_per_um: float = 1e-6, label: str = "lia") -> None:
        self.gain_V_per_um = gain_V_per_um
        self.label = label
        self.time_constant_s = 0.01
        self.sensitivity_V = 1.0
        self.filter_slope_dB_per_oct = 12
        self.reference_phase_deg = 0.0
        self.axis: FakeAxis | None = None

    def read_xy(self) -> LockInReading:
        x_um = self.axis.position_um() if self.axis is not None else 0.0
        return LockInReading(self.gain_V_per_um * x_um, 0.0, LockInStatus.OK)

    def settle_time_s(self, fraction: float = 0.99) -> float:
        return 5 * self.time_constant_s

    def settings(self) -> dict:
        return {"kind": "fake lock-in", "label": self.label, "gain_V_per_um": self.gain_V_per_um}

    def close(self) -> None:
        FakeLockIn.closed.append(self.label)


class FakeChopper:
    def __init__(self) -> None:
        self.frequency_Hz = 100.0
        self.enabled = True

    def settings(self) -> dict:
        return {"kind": "fake chopper"}


class NoRead:
    """Lacks read_xy() and settle_time_s(): not a LockIn."""

    time_constant_s = sensitivity_V = reference_phase_deg = 0.0
    sensitivities_V = (1.0,)
    filter_slope_dB_per_oct = 12

    def settings(self) -> dict:
        return {}


class PhaseNeverSet(FakeLockIn):
    """Declares reference_phase_deg but its instances lack it (found once built)."""

    reference_phase_deg: float

    def __init__(self) -> None:
        super().__init__(label="phase-never-set")
        del self.reference_phase_deg


class Unplugged(FakeLockIn):
    def __init__(self, address: str) -> None:
        raise OSError(f"no device at {address}")


NOT_A_CLASS = 42


def lab_toml(lockin: str = f'driver = "{ME}:FakeLockIn"\ngain_V_per_um = 2e-6\n',
             chopper: str = f'driver = "{ME}:FakeChopper"\n') -> str:
    return (f'name = "fake"\n[stage_x]\ndriver = "{ME}:FakeAxis"\nname = "stage_x"\n'
            f'[stage_y]\ndriver = "{ME}:FakeAxis"\nname = "stage_y"\n'
            f"[lockin]\n{lockin}[chopper]\n{chopper}"
            '[source]\ndriver = "manual"\nmax_power_mW = 100\n[pump]\ndriver = "manual"\n')


def test_named_classes_make_the_lab_and_run_a_raster(tmp_path: Path) -> None:
    path = tmp_path / "lab.toml"
    path.write_text(lab_toml())
    config = load_lab_config(path)
    assert config["config_file"] == str(path)
    assert config["source"]["driver"] == "manual"  # the [source] section, not the path
    FakeLockIn.closed.clear()
    with HardwareLab(config) as lab:
        assert isinstance(lab.stage_x, FakeAxis) and lab.stage_x.name == "stage_x"
        assert isinstance(lab.lockin, FakeLockIn) and lab.lockin.gain_V_per_um == 2e-6
        assert isinstance(lab.chopper, FakeChopper)
        settings = lab.settings()
        assert settings["config_file"] == str(path)
        assert settings["lockin_driver"] == f"{ME}:FakeLockIn"
        assert "source_driver" not in settings  # a built-in driver
        lab.lockin.axis = lab.stage_x
        recipe = default_recipe(scan={"nx": 4, "ny": 3, "x_start_um": 12000.0,
                                      "x_stop_um": 12300.0, "y_start_um": 12000.0,
                                      "y_stop_um": 12200.0}, lockin={"sensitivity_V": 1.0})
        result = run_raster(lab, recipe, tmp_path / "scan.h5", progress=False)
    assert FakeLockIn.closed == ["lia"]
    assert result.exit_status == "success"
    scan = load_raster(tmp_path / "scan.h5")
    assert scan.lab["config_file"] == str(path)
    assert scan.settings["lockin"]["gain_V_per_um"] == 2e-6
    expected = 2e-6 * scan.points["x_um"]
    assert scan.points["X_V"] == pytest.approx(expected)


@pytest.mark.parametrize("lockin, message", [
    (f'driver = "{ME}:NoRead"\n',
     f"[lockin] driver: {ME}:NoRead does not implement LockIn: missing read_xy(), "
     "settle_time_s()"),
    ('driver = "no_such_module_xyz:Thing"\n',
     "[lockin] driver: cannot import 'no_such_module_xyz' (ModuleNotFoundError"),
    (f'driver = "{ME}:Nothing"\n', f"[lockin] driver: '{ME}' has no 'Nothing'"),
    (f'driver = "{ME}:NOT_A_CLASS"\n', f"[lockin] driver: '{ME}:NOT_A_CLASS' is not a class"),
    ('driver = "a b:C"\n', '[lockin] driver: "a b:C" is not "package.module:Class"'),
    (f'driver = "{ME}:FakeLockIn"\ngain = 3\n',
     f"[lockin] keys do not fit {ME}:FakeLockIn(gain_V_per_um, label): "),
])
def test_a_class_that_does_not_fit_is_a_one_line_error(lockin: str, message: str) -> None:
    with pytest.raises(RecipeError) as info:
        parse_lab_config(lab_toml(lockin=lockin), "lab.toml")
    text = str(info.value)
    assert text.startswith("lab.toml: ") and message in text
    assert "\n" not in text


def _scan_args(tmp_path: Path, lab: Path) -> list[str]:
    recipe = tmp_path / "r.toml"
    recipe.write_text('name = "r"\n[scan]\nnx = 2\nny = 2\n')
    return ["scan", str(recipe), "--lab", str(lab), "-o", str(tmp_path / "s.h5"),
            "--no-progress"]


def test_cli_refuses_a_class_that_does_not_fit_with_exit_2(tmp_path: Path, capsys) -> None:
    lab = tmp_path / "lab.toml"
    lab.write_text(lab_toml(lockin=f'driver = "{ME}:NoRead"\n'))
    for argv in (["devices", "--lab", str(lab)], _scan_args(tmp_path, lab)):
        assert main(argv) == 2
        err = capsys.readouterr().err.strip()
        assert "\n" not in err and "Traceback" not in err
        assert "[lockin] driver:" in err and "missing read_xy()" in err
    # declared on the class, missing on the object built: found when the lab opens
    lab.write_text(lab_toml(lockin=f'driver = "{ME}:PhaseNeverSet"\n'))
    FakeLockIn.closed.clear()
    assert main(_scan_args(tmp_path, lab)) == 2
    err = capsys.readouterr().err.strip()
    assert "\n" not in err
    assert f"{ME}:PhaseNeverSet object does not implement LockIn: missing " \
           "reference_phase_deg" in err
    assert FakeLockIn.closed == ["phase-never-set"]  # closed before the error
    assert not (tmp_path / "s.h5").exists()


def test_cli_reports_a_device_that_cannot_open_with_exit_1(tmp_path: Path, capsys) -> None:
    import importlib

    import imager.devices

    cli = importlib.import_module("imager.cli.main")  # (imager.cli.main is also a function)

    # one DeviceError: an instrument's fault; the CLI's "cannot open" is LabOpenError
    assert not hasattr(cli, "DeviceError") and cli.LabOpenError is not imager.devices.DeviceError
    lab = tmp_path / "lab.toml"
    lab.write_text(lab_toml(lockin=f'driver = "{ME}:Unplugged"\naddress = "GPIB0::8"\n'))
    assert main(_scan_args(tmp_path, lab)) == 1
    err = capsys.readouterr().err.strip()
    assert "\n" not in err
    assert f"cannot open the lab: [lockin] {ME}:Unplugged: OSError: no device at GPIB0::8" \
        in err


def test_chopper_timeout_reaches_the_driver(monkeypatch: pytest.MonkeyPatch) -> None:
    import imager.drivers

    made: list[tuple] = []

    class RecordingChopper(FakeChopper):
        def __init__(self, port: str, **kwargs) -> None:
            super().__init__()
            made.append((port, kwargs))

    monkeypatch.setattr(imager.drivers, "MC2000BChopper", RecordingChopper)
    for line, kwargs in (("timeout_s = 0.5\n", {"timeout_s": 0.5}), ("", {})):
        chopper = f'driver = "mc2000b"\nserial_port = "/dev/ttyFAKE"\n{line}'
        with HardwareLab(parse_lab_config(lab_toml(chopper=chopper))):
            pass
        assert made.pop() == ("/dev/ttyFAKE", kwargs)
    with pytest.raises(RecipeError, match=r"\[chopper\] timeout_s: must be in \[0.001, 60\]"):
        parse_lab_config(lab_toml(chopper='driver = "mc2000b"\nserial_port = "/dev/x"\n'
                                          "timeout_s = 0\n"))


def test_a_reference_lockin_follows_the_signal_filter_and_is_recorded(tmp_path: Path) -> None:
    """``[reference_lockin]``: read with every reading, its filter kept at the signal
    lock-in's, its readings in ``/entry/reference``."""
    import h5py

    text = lab_toml() + (f'[reference_lockin]\ndriver = "{ME}:FakeLockIn"\n'
                         'gain_V_per_um = 1e-7\nlabel = "ref"\n')
    path = tmp_path / "lab.toml"
    path.write_text(text)
    with HardwareLab(load_lab_config(path)) as lab:
        reference = lab.capabilities().reference
        assert reference is not None and reference.device.label == "ref"
        assert lab.instruments()["reference"] is reference
        lab.lockin.axis = reference.device.axis = lab.stage_x
        recipe = default_recipe(scan={"nx": 3, "ny": 2, "x_start_um": 12000.0,
                                      "x_stop_um": 12200.0, "y_start_um": 12000.0,
                                      "y_stop_um": 12100.0},
                                lockin={"sensitivity_V": 1.0, "time_constant_s": 0.1,
                                        "filter_slope_dB_per_oct": 24})
        run_raster(lab, recipe, tmp_path / "scan.h5", progress=False)
        assert reference.device.time_constant_s == 0.1
        assert reference.device.filter_slope_dB_per_oct == 24
    with h5py.File(tmp_path / "scan.h5", "r") as f:
        rows = f["entry/reference"][()]
        points = f["entry/scan/points"][()]
    assert rows["index"].tolist() == points["index"].tolist()
    assert rows["X_V"] == pytest.approx(1e-7 * points["x_um"])
