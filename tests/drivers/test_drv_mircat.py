"""MIRcat QCL driver through ctypes against a fake MIRcat SDK written in C.

The fake (``mircat_fake_sdk.c``) exports the vendor functions with the vendor
signatures and a small state machine of the laser; it is compiled once per
session with the system C compiler and loaded by the driver exactly as the real
``MIRcatSDK.dll``/``libMIRcatSDK.so`` would be. Its ``fake_*`` functions set the
hardware state and expose what the driver sent.
"""

from __future__ import annotations

import ctypes
import math
import os
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from imager.devices.interfaces import Source
from imager.drivers import InstrumentError, InstrumentTimeoutError, MIRcatSource
from imager.drivers.mircat import RETURN_CODES, MIRcatError, load_sdk
from imager.drivers.mircat import sdk as mircat_module
from imager.labconfig import parse_lab_config
from imager.recipes.recipe import RecipeError

FAKE_SOURCE = Path(__file__).with_name("mircat_fake_sdk.c")
LIB_NAME = "MIRcatSDK.dll" if sys.platform == "win32" else "libMIRcatSDK.so"
# The fake finishes a tune or TEC wait after a few polls: poll often; the timeouts only bound
# waits that must end, so they are generous (a loaded machine may be slow to poll).
FAST = {"poll_s": 0.0005, "tune_timeout_s": 60.0, "tec_timeout_s": 60.0, "arm_timeout_s": 60.0}


def _compiler() -> str | None:
    for name in (os.environ.get("CC", ""), "cc", "gcc", "clang"):
        if name and shutil.which(name):
            return shutil.which(name)
    return None


@pytest.fixture(scope="session")
def sdk_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Build the fake SDK (and an unrelated empty library) once per session."""
    cc = _compiler()
    if cc is None:
        pytest.skip("no C compiler (cc, gcc or clang) to build the fake MIRcat SDK")
    out = tmp_path_factory.mktemp("mircat_sdk")
    empty = out / "empty.c"
    empty.write_text("int not_the_mircat_sdk(void) { return 0; }\n")
    for source, target in ((FAKE_SOURCE, LIB_NAME), (empty, "libempty.so")):
        result = subprocess.run([cc, "-shared", "-fPIC", "-O1", "-o", str(out / target),
                                 str(source)], capture_output=True, text=True)
        assert result.returncode == 0, result.stderr
    return out


class Fake:
    """The fake SDK's test hooks."""

    def __init__(self, path: Path) -> None:
        self.path = path
        lib = ctypes.CDLL(str(path))  # the same handle the driver gets (same path)
        self.lib = lib
        lib.fake_max_current_sent.restype = ctypes.c_float
        lib.fake_is_initialized.restype = ctypes.c_bool
        lib.fake_get_mode.restype = ctypes.c_uint8
        lib.fake_get_mode.argtypes = [ctypes.c_uint8]
        lib.fake_call_log.restype = ctypes.c_uint32
        lib.fake_call_log.argtypes = [ctypes.c_char_p, ctypes.c_uint32]
        lib.fake_set_current.argtypes = [ctypes.c_uint8, ctypes.c_float]
        lib.fake_set_range_um.argtypes = [ctypes.c_uint8, ctypes.c_float, ctypes.c_float]
        lib.fake_set_mode.argtypes = [ctypes.c_uint8, ctypes.c_uint8]
        lib.fake_set_cw_allowed.argtypes = [ctypes.c_uint8, ctypes.c_bool]
        for name in ("fake_set_key_switch", "fake_set_interlock", "fake_set_init_fails"):
            getattr(lib, name).argtypes = [ctypes.c_bool]
        for name in ("fake_set_tune_polls", "fake_set_tec_polls"):
            getattr(lib, name).argtypes = [ctypes.c_int]
        lib.fake_set_report_units.argtypes = [ctypes.c_uint8]
        lib.fake_set_system_error.argtypes = [ctypes.c_uint16]

    def __getattr__(self, name: str):
        return getattr(self.lib, f"fake_{name}")

    def log(self) -> list[str]:
        size = self.lib.fake_call_log(None, 0) + 1
        buffer = ctypes.create_string_buffer(size)
        self.lib.fake_call_log(buffer, size)
        return buffer.value.decode().splitlines()

    def sent_currents(self) -> list[tuple[int, float]]:
        """(qcl, current_mA) of every SetQCLParams/SetAllQclParams call."""
        out = []
        for line in self.log():
            parts = line.split()
            if parts[0] in ("SetQCLParams", "SetAllQclParams"):
                out.append((int(parts[1]), float(parts[4])))
        return out


@pytest.fixture
def fake(sdk_dir: Path) -> Iterator[Fake]:
    f = Fake(sdk_dir / LIB_NAME)
    f.reset()
    yield f
    assert "ArmDisarmLaser" not in f.log()  # the toggle is never used


def open_source(fake: Fake, **kwargs) -> MIRcatSource:
    options = {"max_current_mA": [700, 1000], "library": fake.path, **FAST, **kwargs}
    return MIRcatSource(**options)


@pytest.fixture
def src(fake: Fake) -> Iterator[MIRcatSource]:
    source = open_source(fake)
    yield source
    source.close()


def ready(src: MIRcatSource, wavelength_um: float = 7.4) -> None:
    src.arm()
    src.wavelength_um = wavelength_um


# ---------------------------------------------------------------- opening


def test_open_reads_the_laser_and_never_arms(fake: Fake, src: MIRcatSource) -> None:
    assert isinstance(src, Source)
    assert src.identify() == "Daylight Solutions MIRcat-FAKE SN FK-0001 (SDK 1.6.3)"
    assert src.num_qcls == 2
    assert src.qcl_ranges_um == {1: (6.8, 7.7), 2: (7.6, 8.6)}
    assert src.current_cap_mA(1) == 700.0  # configured
    assert src.current_cap_mA(2) == 900.0  # the laser's CW maximum is lower than 1000
    assert not src.armed and not src.on
    assert math.isnan(src.wavelength_um)
    assert fake.log() == ["Initialize"]  # nothing armed, tuned or sent


def test_max_current_list_must_match_the_qcls(fake: Fake) -> None:
    with pytest.raises(ValueError, match="3 values for 2 QCLs"):
        open_source(fake, max_current_mA=[500, 600, 700])
    assert not fake.is_initialized()  # deinitialized on the way out
    one = open_source(fake, max_current_mA=650)
    assert (one.current_cap_mA(1), one.current_cap_mA(2)) == (650.0, 650.0)
    one.close()


def test_ranges_reported_in_wavenumbers_are_converted(fake: Fake) -> None:
    fake.set_report_units(2)
    with open_source(fake) as src:
        assert src.qcl_ranges_um[1] == pytest.approx((6.8, 7.7), abs=1e-4)
        ready(src, 8.0)
        actual, _ = src.actual_wavelength_um()
        assert actual == pytest.approx(8.0, abs=1e-4)
        assert src.qcl == 2


def test_initialization_failure_is_translated(fake: Fake) -> None:
    fake.set_init_fails(True)
    with pytest.raises(MIRcatError) as info:
        open_source(fake)
    assert info.value.call == "MIRcatSDK_Initialize" and info.value.code == 32
    assert str(info.value).startswith(
        "MIRcat: MIRcatSDK_Initialize() returned MIRcatSDK_RET_INITIALIZATION_FAILURE (32): "
        "no MIRcat answered")


# ----------------------------------------------------------------- arming


@pytest.mark.parametrize(("hook", "words"), [("set_key_switch", "key switch is off"),
                                             ("set_interlock", "interlock is open")])
def test_arm_requires_key_switch_and_interlock(fake: Fake, src: MIRcatSource, hook: str,
                                               words: str) -> None:
    getattr(fake, hook)(False)
    with pytest.raises(InstrumentError, match=words) as info:
        src.arm()
    assert "\n" not in str(info.value)
    assert "ArmLaser" not in fake.log() and not src.armed
    getattr(fake, hook)(True)
    src.arm()
    assert src.armed and src.status()["tecs_at_temperature"]
    src.arm()  # already armed: nothing sent again
    assert fake.log().count("ArmLaser") == 1


def test_arm_refuses_a_system_error(fake: Fake, src: MIRcatSource) -> None:
    fake.set_system_error(0x0012)
    with pytest.raises(InstrumentError, match="system error 0x0012"):
        src.arm()
    assert "ArmLaser" not in fake.log()


def test_arm_waits_for_the_tecs(fake: Fake, src: MIRcatSource) -> None:
    fake.set_tec_polls(1_000_000)
    src.tec_timeout_s = 0.05
    with pytest.raises(InstrumentTimeoutError, match="TECs not at temperature within 0.05 s"):
        src.arm()
    with pytest.raises(MIRcatError, match=r"TECS_NOT_AT_SET_TEMPERATURE \(95\)"):
        src.tune(7.4)


def test_nothing_arms_or_emits_without_an_explicit_arm(fake: Fake, src: MIRcatSource) -> None:
    with pytest.raises(InstrumentError, match="not armed; call arm"):
        src.on = True
    with pytest.raises(MIRcatError) as info:
        src.wavelength_um = 7.4
    assert info.value.code == 93 and info.value.code_name == "MIRcatSDK_RET_LASER_NOT_ARMED"
    assert str(info.value) == ("MIRcat: MIRcatSDK_TuneToWW(7.4 um, QCL 1) returned "
                               "MIRcatSDK_RET_LASER_NOT_ARMED (93): the laser is not armed; "
                               "call arm() first")
    with pytest.raises(InstrumentError, match="no QCL in use yet; tune first or give qcl"):
        src.current_mA = 500
    src.set_current_mA(500, qcl=1)
    src.power_mW = 20
    src.settings()
    src.close()
    log = fake.log()
    assert "ArmLaser" not in log and "TurnEmissionOn" not in log


def test_interlock_opening_stops_everything(fake: Fake, src: MIRcatSource) -> None:
    ready(src)
    src.on = True
    fake.set_interlock(False)
    assert not src.on and not src.armed
    with pytest.raises(InstrumentError, match="not armed"):
        src.on = True


# ----------------------------------------------------------------- tuning


def test_tune_waits_until_tuned(fake: Fake, src: MIRcatSource) -> None:
    fake.set_tune_polls(5)
    src.arm()
    src.wavelength_um = 8.1
    assert src.wavelength_um == 8.1 and src.qcl == 2
    assert "TuneToWW 8.1000 1 2" in fake.log()  # microns, preferred QCL 2
    actual, valid = src.actual_wavelength_um()
    assert actual == pytest.approx(8.1) and not valid  # tuned, not emitting
    assert src.status()["tuned"]


def test_tune_timeout(fake: Fake, src: MIRcatSource) -> None:
    src.arm()
    fake.set_tune_polls(1_000_000)
    src.tune_timeout_s = 0.05
    with pytest.raises(InstrumentTimeoutError, match=r"not tuned to 7.2 um within 0.05 s"):
        src.wavelength_um = 7.2


def test_tune_without_wait(fake: Fake, src: MIRcatSource) -> None:
    src.arm()
    fake.set_tune_polls(3)
    src.tune(7.0, wait=False)
    assert not src.status()["tuned"]
    src.wait_until_tuned()
    assert src.actual_wavelength_um()[0] == pytest.approx(7.0)


def test_range_errors_name_the_range(fake: Fake, src: MIRcatSource) -> None:
    src.arm()
    with pytest.raises(ValueError) as info:
        src.wavelength_um = 9.0
    assert str(info.value) == ("MIRcat: 9 um is outside the tuning ranges "
                               "(QCL 1 6.800-7.700 um, QCL 2 7.600-8.600 um)")
    with pytest.raises(ValueError, match=r"outside the tuning range of QCL 1 6.800-7.700 um"):
        src.tune(8.0, qcl=1)
    with pytest.raises(ValueError, match="no QCL 3"):
        src.tune(7.0, qcl=3)
    with pytest.raises(ValueError, match="finite"):
        src.wavelength_um = math.nan
    assert not any(line.startswith("TuneToWW") for line in fake.log())
    src.wavelength_um = 6.8  # the range ends are inside (float32 from the SDK)
    src.wavelength_um = 8.6
    assert src.qcl == 2


def test_fixed_qcl_restricts_the_range(fake: Fake) -> None:
    with open_source(fake, qcl=2) as src:
        src.arm()
        with pytest.raises(ValueError, match="QCL 2 7.600-8.600 um"):
            src.wavelength_um = 7.0
        src.wavelength_um = 7.65
        assert "TuneToWW 7.6500 1 2" in fake.log()


# ----------------------------------------------------------------- current caps


def test_current_caps_are_never_exceeded(fake: Fake, src: MIRcatSource) -> None:
    ready(src)
    src.current_mA = 650
    assert src.current_mA == 650.0
    src.current_mA = 700  # exactly the cap
    for bad in (700.01, 5000, -1, math.nan, math.inf):
        with pytest.raises(ValueError, match=r"QCL 1 current must be within \[0, 700\] mA"):
            src.current_mA = bad
    with pytest.raises(ValueError, match=r"QCL 2 current must be within \[0, 900\] mA"):
        src.set_current_mA(950, qcl=2)  # config 1000, but the laser's CW max is 900
    src.set_current_mA(900, qcl=2)
    assert fake.max_current_sent() == 900.0
    caps = {1: 700.0, 2: 900.0}
    sent = fake.sent_currents()
    assert sent == [(1, 650.0), (1, 700.0), (2, 900.0)]
    assert all(current <= caps[q] for q, current in sent)
    assert "SetQCLParams 1 100000.0 500.0 650.000" in fake.log()  # pulse settings kept


def test_current_above_the_cap_at_opening_is_lowered(fake: Fake) -> None:
    fake.set_current(1, 780.0)  # left high on the front panel
    with open_source(fake) as src:
        assert fake.sent_currents() == [(1, 700.0)]
        ready(src)
        assert src.current_mA == 700.0


def test_current_raised_behind_our_back_blocks_emission(fake: Fake, src: MIRcatSource) -> None:
    ready(src)
    fake.set_current(2, 950.0)
    with pytest.raises(InstrumentError, match="QCL 2 is set to 950 mA, above its cap of 900 mA"):
        src.on = True
    assert "TurnEmissionOn" not in fake.log()


def test_mode_is_set_within_the_cap(fake: Fake) -> None:
    fake.set_mode(1, 1)  # pulsed
    fake.set_current(1, 950.0)
    with open_source(fake, mode="cw", qcl=1) as src:
        assert fake.get_mode(1) == 2
        assert fake.sent_currents() == [(1, 700.0)]
        assert fake.log()[1].startswith("SetAllQclParams 1 100000.0 500.0 700.000 19.00 2")
        assert src.settings()["mode"] == "cw"
    fake.reset()
    with open_source(fake, mode="pulsed", max_current_mA=[1200, 1200]) as src:
        assert fake.get_mode(1) == 1 and fake.get_mode(2) == 1
        assert src.current_cap_mA(1) == 1000.0  # the laser's pulsed maximum


def test_cw_refused_on_a_pulsed_only_qcl(fake: Fake) -> None:
    fake.set_mode(1, 1)
    fake.set_cw_allowed(1, False)
    with pytest.raises(InstrumentError, match="QCL 1 cannot run CW"):
        open_source(fake, mode="cw", qcl=1)
    assert not fake.is_initialized()
    assert fake.sent_currents() == []


# ----------------------------------------------------------------- power


def test_nominal_power_is_recorded_and_capped(fake: Fake, src: MIRcatSource) -> None:
    assert src.power_basis == "nominal"
    src.power_mW = 42.0
    assert src.power_mW == 42.0 and src.settings()["power_mW"] == 42.0
    with pytest.raises(ValueError, match=r"power_mW must be within \[0, 100\] mW"):
        src.power_mW = 100.5
    assert fake.sent_currents() == []  # nominal power never touches the laser


def test_li_table_commands_current_within_both_caps(fake: Fake) -> None:
    table = {"li_current_mA": [200, 400, 600, 800], "li_power_mW": [0, 20, 60, 120]}
    with open_source(fake, qcl=1, max_current_mA=[1000, 1000], max_power_mW=100,
                     **table) as src:
        assert src.power_basis == "li_table"
        # min(1000 configured, 800 laser CW max, 733.3 mA where the table gives 100 mW)
        assert src.current_cap_mA(1) == pytest.approx(733.333, abs=1e-3)
        src.power_mW = 40
        assert fake.sent_currents() == [(1, 500.0)]
        assert src.power_mW == pytest.approx(40.0)
        src.power_mW = 100
        assert src.power_mW == pytest.approx(100.0, abs=1e-3)
        with pytest.raises(ValueError, match="max_power_mW"):
            src.power_mW = 101
        with pytest.raises(ValueError, match=r"within \[0, 733.333\] mA"):
            src.current_mA = 750
        assert fake.max_current_sent() <= src.current_cap_mA(1) + 1e-3
    with pytest.raises(ValueError, match="give qcl"):
        open_source(fake, **table)
    with pytest.raises(ValueError, match="increase strictly"):
        open_source(fake, qcl=1, li_current_mA=[200, 100], li_power_mW=[0, 10])


# ----------------------------------------------------------------- emission, closing


def test_emission_on_off(fake: Fake, src: MIRcatSource) -> None:
    src.arm()
    with pytest.raises(MIRcatError, match=r"LASER_NOT_TUNED \(94\)"):
        src.on = True
    src.wavelength_um = 7.4
    src.on = True
    assert src.on and src.actual_wavelength_um()[1]
    src.on = True  # already on: no error
    src.on = False
    assert not src.on
    src.on = False  # already off: no error


def test_close_turns_off_disarms_and_deinitializes(fake: Fake) -> None:
    src = open_source(fake)
    ready(src)
    src.on = True
    src.close()
    assert fake.log()[-3:] == ["TurnEmissionOff", "DisarmLaser", "DeInitialize"]
    assert not fake.is_initialized() and not src.is_open
    assert not src.on
    src.on = False  # the engine switches the source off on abort: harmless when closed
    with pytest.raises(InstrumentError, match="closed"):
        src.on = True
    src.close()  # twice is fine
    assert fake.log().count("DeInitialize") == 1
    assert src.settings()["on"] is False


def test_context_manager_closes_on_error(fake: Fake) -> None:
    with pytest.raises(RuntimeError, match="boom"), open_source(fake) as src:
        ready(src)
        src.on = True
        raise RuntimeError("boom")
    assert fake.log()[-3:] == ["TurnEmissionOff", "DisarmLaser", "DeInitialize"]


def test_settings_are_flat_and_complete(fake: Fake, src: MIRcatSource) -> None:
    ready(src)
    src.current_mA = 500
    s = src.settings()
    assert s["kind"] == "mircat" and s["model"] == "MIRcat-FAKE" and s["sdk_version"] == "1.6.3"
    assert s["qcl"] == 1 and s["wavelength_um"] == 7.4 and s["current_mA"] == 500.0
    assert s["qcl2_max_current_mA"] == 900.0 and s["qcl1_min_um"] == 6.8
    assert s["armed"] is True and s["on"] is False and s["max_power_mW"] == 100.0
    assert all(isinstance(v, float | int | str | bool) for v in s.values())


def test_every_documented_return_code_has_a_name() -> None:
    assert set(RETURN_CODES) == {0, 1, 32, *range(64, 116)}
    error = MIRcatError("MIRcatSDK_SetQCLParams", 88, "1, 100000 Hz, 500 ns, 950 mA")
    assert str(error) == ("MIRcat: MIRcatSDK_SetQCLParams(1, 100000 Hz, 500 ns, 950 mA) returned "
                          "MIRcatSDK_RET_CURRENT_OUTOFRANGE (88): the current is outside the "
                          "QCL's allowed range")
    assert isinstance(error, InstrumentError)
    assert "unknown error code (7)" in str(MIRcatError("MIRcatSDK_IsTuned", 7))


# ----------------------------------------------------------------- library loading


def test_missing_library_is_a_clear_error(tmp_path: Path) -> None:
    missing = tmp_path / "MIRcatSDK.dll"
    with pytest.raises(InstrumentError) as info:
        MIRcatSource(max_current_mA=500, library=missing)
    assert str(info.value) == (f"MIRcat SDK library not found at {missing}; install the Daylight "
                               'Solutions SDK or use driver = "manual"')


def test_missing_default_library(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(mircat_module, "default_library_names",
                        lambda: ("libMIRcatSDK-not-installed.so",))
    monkeypatch.setattr(mircat_module.ctypes.util, "find_library", lambda name: None)
    with pytest.raises(InstrumentError, match=r"not found at libMIRcatSDK-not-installed.so "
                                              r"\(system library path\); install the Daylight"):
        load_sdk()


def test_library_that_is_not_the_sdk(sdk_dir: Path, tmp_path: Path) -> None:
    with pytest.raises(InstrumentError, match="lacks MIRcatSDK_Initialize"):
        load_sdk(sdk_dir / "libempty.so")
    garbage = tmp_path / LIB_NAME
    garbage.write_text("not a library")
    with pytest.raises(InstrumentError, match="could not be loaded"):
        load_sdk(garbage)


# ----------------------------------------------------------------- lab configuration

LAB = """
name = "bench"
[stage_x]
serial_port = "/dev/ttyUSB0"
[stage_y]
serial_port = "/dev/ttyUSB1"
[lockin]
address = "TCPIP::127.0.0.1::1865::SOCKET"
[chopper]
serial_port = "/dev/ttyUSB2"
[pump]
[source]
"""


def test_lab_config_accepts_a_mircat_source(sdk_dir: Path) -> None:
    text = LAB + (f'driver = "mircat"\nlibrary = "{(sdk_dir / LIB_NAME).as_posix()}"\n'
                  'max_current_mA = [700, 900]\nmax_power_mW = 80\nqcl = 2\nmode = "cw"\n'
                  'tune_timeout_s = "2 min"\n')
    source = parse_lab_config(text, "lab.toml")["source"]
    assert source["driver"] == "mircat" and source["max_current_mA"] == [700.0, 900.0]
    assert source["qcl"] == 2 and source["tune_timeout_s"] == 120.0
    assert source["tec_timeout_s"] == 300.0 and source["li_power_mW"] is None
    manual = parse_lab_config(LAB, "lab.toml")["source"]
    assert manual["driver"] == "manual" and manual["max_power_mW"] == 100.0


@pytest.mark.parametrize(("line", "message"), [
    ('driver = "daylight"', "[source] driver: must be one of 'manual', 'mircat'"),
    ("max_current_mA = [700, -5]", "[source] max_current_mA[1]: must be in [0, 10000]"),
    ("qcl = 5", "[source] qcl: must be an integer in [0, 4]"),
    ("tune_s = 3", "[source] unknown key 'tune_s'"),
])
def test_lab_config_errors_are_one_line(line: str, message: str) -> None:
    with pytest.raises(RecipeError) as info:
        parse_lab_config(LAB + line + "\n", "lab.toml")
    assert str(info.value).startswith("lab.toml: " + message)
    assert "\n" not in str(info.value)


def test_source_opens_from_the_lab_config(fake: Fake) -> None:
    text = LAB + (f'driver = "mircat"\nlibrary = "{fake.path.as_posix()}"\n'
                  "max_current_mA = [600]\nmax_power_mW = 80\nqcl = 1\n")
    config = parse_lab_config(text, "lab.toml")["source"]
    with MIRcatSource.from_config(config, poll_s=0.0005) as src:
        assert src.current_cap_mA(2) == 600.0 and src.max_power_mW == 80.0
        assert src.fixed_qcl == 1 and src.tune_timeout_s == 30.0
        assert fake.log() == ["Initialize"]
        ready(src, 7.0)
    assert fake.log()[-2:] == ["DisarmLaser", "DeInitialize"]
    with pytest.raises(RecipeError, match=r'^lab.toml: \[source\] max_current_mA: required for '
                                          r'driver = "mircat"'):
        parse_lab_config(LAB + 'driver = "mircat"\n', "lab.toml")
    with pytest.raises(ValueError, match=r'^\[source\] max_current_mA: required for driver = '
                                         r'"mircat"'):
        MIRcatSource.from_config({**config, "max_current_mA": None})
    with pytest.raises(RecipeError, match=r"li_current_mA, li_power_mW: give both"):
        parse_lab_config(LAB + 'driver = "mircat"\nmax_current_mA = [600]\n'
                         "li_current_mA = [100, 200]\n", "lab.toml")
    missing = parse_lab_config(LAB + 'driver = "mircat"\nlibrary = "/nonexistent/MIRcatSDK.dll"'
                               "\nmax_current_mA = [600]\n", "lab.toml")["source"]
    with pytest.raises(InstrumentError, match='not found at /nonexistent/MIRcatSDK.dll; '
                                              'install the Daylight Solutions SDK or use '
                                              'driver = "manual"'):
        MIRcatSource.from_config(missing)
