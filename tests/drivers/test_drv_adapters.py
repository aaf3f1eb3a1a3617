"""Adapters of PyMeasure's SR830/SR860 and QCoDeS's SR830 (``imager.drivers.adapters``)
against the emulators, and a raster through ``mirimager scan --lab`` with the lock-in
named as ``driver = "imager.drivers.adapters.pymeasure_srs:PyMeasureSR830"``.

The emulated lock-in runs on a virtual clock the test advances, so a reading is the
filter's output at an exact time after a change, however slow the machine. Replies are
awaited for up to a minute.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from emulated_lab import EmulatedLab, Signal, start_emulated_lab
from pymeasure.instruments.srs import SR830 as PmSR830
from pymeasure.instruments.srs import SR860 as PmSR860
from qcodes.instrument_drivers.stanford_research import SR830 as QcSR830

from imager.cli.main import main
from imager.devices import DeviceError, LockIn, LockInStatus
from imager.drivers import InstrumentError, InstrumentTimeoutError
from imager.drivers.adapters.pymeasure_srs import PyMeasureSR830, PyMeasureSR860
from imager.drivers.adapters.qcodes_srs import QCoDeSSR830
from imager.emulators.bench import start_emulated_bench
from imager.engine import run_raster
from imager.instruments import srs
from imager.recipes import load_recipe
from imager.sim import simulated_lab_for
from imager.sim.clock import VirtualClock
from imager.sim.lab import SimConfig
from reconstruction import correlation, load_raster
from reconstruction.events import load_events
from stages.simulated import StageDynamics

pytestmark = pytest.mark.filterwarnings(  # QCoDeS's note on its own SR830 buffer parameters
    "ignore::qcodes.utils.QCoDeSDeprecationWarning")
PATIENCE_S = 60.0
ADAPTERS = {"PyMeasureSR830": (PyMeasureSR830, "SR830"),
            "PyMeasureSR860": (PyMeasureSR860, "SR860"),
            "QCoDeSSR830": (QCoDeSSR830, "SR830")}
LADDERS = {"SR830": srs.SR830, "SR860": srs.SR860}


@pytest.fixture(params=sorted(ADAPTERS))
def kind(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture(params=["tcp", "pty"])
def transport(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture
def lab(kind: str, request: pytest.FixtureRequest):
    """The emulated lock-in of the adapter's model, on TCP (and a pty for the tests that
    use one: a pty is only opened where needed)."""
    pty = "transport" in request.fixturenames and request.getfixturevalue("transport") == "pty"
    with start_emulated_lab(ADAPTERS[kind][1], time_constant_s=1e-3, chopper_pty=False,
                            pty=pty, clock=VirtualClock()) as lab:
        yield lab


def _address(lab: EmulatedLab, transport: str) -> str:
    server = lab.lockin_tcp if transport == "tcp" else lab.lockin_pty
    assert server is not None
    return server.resource_name


@pytest.fixture
def lia(kind: str, lab: EmulatedLab, transport: str):
    with ADAPTERS[kind][0](address=_address(lab, transport), timeout_s=PATIENCE_S) as lia:
        yield lia


def _settle(lab: EmulatedLab, n_tau: float = 20.0) -> None:
    lab.clock.sleep(n_tau * lab.lockin_backend.time_constant_s)


def test_settings_snap_up_to_the_instruments_tables_and_reach_it(lia, lab, kind) -> None:
    backend = lab.lockin_backend
    assert isinstance(lia, LockIn)
    model = LADDERS[ADAPTERS[kind][1]]
    assert lia.sensitivities_V == model.ladder_V  # the library's table, ascending
    assert lia.time_constants_s == tuple(sorted(model.time_constants_s))
    lia.time_constant_s = 0.002
    lia.sensitivity_V = 0.004
    lia.filter_slope_dB_per_oct = 24
    lia.reference_phase_deg = 190.0
    assert (lia.time_constant_s, lia.sensitivity_V) == (0.003, 0.005)
    assert (backend.time_constant_s, backend.sensitivity_V) == (0.003, 0.005)
    assert lia.filter_slope_dB_per_oct == backend.filter_slope_dB_per_oct == 24
    assert lia.reference_phase_deg == pytest.approx(-170.0)
    assert backend.reference_phase_deg == pytest.approx(-170.0)
    assert lia.settle_time_s(0.999) == pytest.approx(backend.settle_time_s(0.999), rel=1e-9)
    for attribute, bad in (("sensitivity_V", 2.0), ("time_constant_s", 1e6),
                           ("filter_slope_dB_per_oct", 9), ("reference_phase_deg", float("nan"))):
        with pytest.raises(ValueError, match=attribute):
            setattr(lia, attribute, bad)
    assert backend.sensitivity_V == 0.005  # nothing sent
    s = lia.settings()
    assert s["kind"].startswith(f"{ADAPTERS[kind][1]} via ")
    assert s["adapter"] == f"{type(lia).__module__}:{kind}"
    assert s["sensitivity_V"] == 0.005 and s["reference_source"].startswith("ext")
    assert s["reference_frequency_Hz"] == pytest.approx(100.0)
    assert all(isinstance(v, str | int | float) for v in s.values())


def test_readings_and_status_bits(lia, lab: EmulatedLab) -> None:
    assert isinstance(lab.signal, Signal)
    lia.sensitivity_V = 5e-3
    lab.signal.value_V = 2e-3 + 1e-3j
    _settle(lab)
    reading = lia.read_xy()
    expected = lab.lockin_backend.output_V()
    assert (reading.x_V, reading.y_V) == pytest.approx((expected.real, expected.imag),
                                                       rel=1e-5)
    assert (reading.x_V, reading.y_V) == pytest.approx((2e-3, 1e-3), rel=1e-3)
    assert reading.status == LockInStatus.OK
    lab.signal.value_V = 8e-3  # above the 5 mV full scale
    _settle(lab)
    assert lia.read_xy().status & LockInStatus.OUTPUT_OVERLOAD
    lab.signal.value_V = 1e-3
    _settle(lab)
    lia.read_xy()  # the latched overload is read out
    assert lia.read_xy().status == LockInStatus.OK
    lab.chopper.enabled = False
    assert lia.read_xy().status & LockInStatus.REFERENCE_UNLOCK


def _set_timeout(lia, timeout_s: float) -> None:
    """Set the I/O timeout through the adapted library."""
    if isinstance(lia, QCoDeSSR830):
        lia.instrument.timeout(timeout_s)
    else:
        lia.instrument.adapter.connection.timeout = timeout_s * 1000.0


def test_library_failures_become_instrument_errors(kind: str, lab: EmulatedLab) -> None:
    assert lab.lockin_tcp is not None and isinstance(lab.signal, Signal)
    lab.signal.value_V = 1e-3
    _settle(lab)
    with ADAPTERS[kind][0](address=lab.lockin_tcp.resource_name, timeout_s=PATIENCE_S) as lia:
        lab.lockin_tcp.faults.garble_next_reply()
        with pytest.raises(InstrumentError, match=r"reading X, Y \(SNAP\?\)") as info:
            lia.read_xy()
        assert isinstance(info.value, DeviceError)  # the engine retries it
        assert lia.read_xy().x_V == pytest.approx(1e-3, rel=1e-3)  # the link carries on
        _set_timeout(lia, 0.5)  # a reply that never comes: the bound only makes it quick
        lab.lockin_tcp.faults.drop_next_reply()
        with pytest.raises(InstrumentTimeoutError, match="no reply reading X, Y") as info:
            lia.read_xy()
        assert isinstance(info.value, TimeoutError)
        _set_timeout(lia, PATIENCE_S)
        assert lia.read_xy().x_V == pytest.approx(1e-3, rel=1e-3)


def _library_object(kind: str, address: str):
    if kind == "QCoDeSSR830":
        return QcSR830("test_adapters_lia", address, visalib="@py", terminator="\n",
                       timeout=PATIENCE_S)
    cls = PmSR830 if kind == "PyMeasureSR830" else PmSR860
    return cls(address, visa_library="@py", read_termination="\n", write_termination="\n",
               timeout=int(PATIENCE_S * 1000))


def _close_library_object(obj) -> None:
    obj.close() if isinstance(obj, QcSR830) else obj.adapter.close()


def test_wraps_an_open_instrument_and_leaves_it_open(kind: str, lab: EmulatedLab) -> None:
    obj = _library_object(kind, _address(lab, "tcp"))
    try:
        lia = ADAPTERS[kind][0](instrument=obj)
        lia.sensitivity_V = 2e-3
        lia.close()
        assert lab.lockin_backend.sensitivity_V == 2e-3
        assert "Stanford_Research_Systems" in obj.ask("*IDN?")  # still open
    finally:
        _close_library_object(obj)


def test_refuses_a_current_input_and_bad_arguments(kind: str, lab: EmulatedLab) -> None:
    cls = ADAPTERS[kind][0]
    obj = _library_object(kind, _address(lab, "tcp"))
    try:
        if kind == "QCoDeSSR830":
            obj.input_config("I 1M")
        elif kind == "PyMeasureSR830":
            obj.input_config = "I (1 MOhm)"
        else:
            obj.input_signal = "CURR"
        with pytest.raises(InstrumentError, match="set to measure current"):
            cls(instrument=obj)
        with pytest.raises(ValueError, match="give instrument= .* or address="):
            cls(instrument=obj, address="TCPIP::127.0.0.1::1::SOCKET")
    finally:
        _close_library_object(obj)
    with pytest.raises(ValueError, match="one of them"):
        cls()
    with pytest.raises(TypeError, match="instrument must be a"):
        cls(instrument=object())
    with pytest.raises(InstrumentError, match="cannot open|opening"):
        cls(address="TCPIP::127.0.0.1::1::SOCKET", timeout_s=PATIENCE_S)


# --------------------------------------------------------------------- the whole bench
FAST = StageDynamics(velocity_um_per_s=48000.0, acceleration_um_per_s2=600000.0, settle_s=0.005)
RECIPE = ('name = "hw"\n[scan]\nnx = 8\nny = 8\nx_start_um = 12350\nx_stop_um = 12650\n'
          'y_start_um = 12350\ny_stop_um = 12650\n'
          '[lockin]\ntime_constant_s = 0.003\nsensitivity_V = 2e-4\n[source]\npower_mW = 200\n')


@pytest.mark.parametrize("model, spec, via", [
    ("SR830", "imager.drivers.adapters.pymeasure_srs:PyMeasureSR830", "tcp"),
    ("SR830", "imager.drivers.adapters.qcodes_srs:QCoDeSSR830", "pty"),
])
def test_scan_with_the_lockin_named_by_class(tmp_path: Path, capsys, model, spec, via) -> None:
    recipe_path = tmp_path / "r.toml"
    recipe_path.write_text(RECIPE)
    config = tmp_path / "lab.toml"
    out = tmp_path / "hw.h5"
    with start_emulated_bench(SimConfig(), lockin_model=model, dynamics=FAST) as bench:
        bench.lab.source.power_mW = 200.0  # the (manual) QCL of the emulated lab
        text = bench.lab_config_toml(lockin_via=via)
        text, n = re.subn(r'(\[lockin\]\n)driver = "sr830"\n',
                          rf'\1driver = "{spec}"\ntimeout_s = {PATIENCE_S}\n', text)
        assert n == 1
        config.write_text(text)
        status = main(["scan", str(recipe_path), "--lab", str(config), "-o", str(out),
                       "--no-progress"])
    assert status == 0, capsys.readouterr().err
    scan = load_raster(out)
    assert scan.exit_status == "success" and scan.points_done == 64
    assert scan.lab["lockin_driver"] == spec and scan.lab["config_file"] == str(config)
    assert scan.settings["lockin"]["kind"].startswith(f"{model} via ")
    assert scan.settings["lockin"]["time_constant_s"] == pytest.approx(0.003)
    # 0.2 mV full scale overloads on the chart: the engine ranged up the adapter's ladder
    ranged = [e.message for e in load_events(out) if e.kind == "overload"]
    assert any("sensitivity 0.0002 -> 0.0005 V" in m for m in ranged)
    recipe = load_recipe(recipe_path)
    sim = run_raster(simulated_lab_for(recipe), recipe, tmp_path / "sim.h5", progress=False)
    assert correlation(scan.image_V, sim.image_V) >= 0.95
