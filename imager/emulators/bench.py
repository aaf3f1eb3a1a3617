"""The whole emulated lab: one physics twin behind every real wire protocol.

:func:`start_emulated_bench` runs a :class:`~imager.sim.lab.SimulatedLab` on
the wall clock and puts real protocols in front of it: two Thorlabs APT
controllers on ptys moving the twin's x and y axes, an SR830 or SR860 lock-in
on loopback TCP and on a pty reading the twin's photodiode, and an MC2000B
chopper on a pty whose blade is the twin's chopper, and a PM100D power meter on
loopback TCP reading the twin's MIR pick-off. A real lab configuration
(:meth:`EmulatedBench.lab_config_toml`) points the real drivers at it: a dry
run of the hardware path, ``mirimager emulate`` on the command line.

Every emulator thread holds one lock while it touches the twin, so a move
commanded over APT and a lock-in reading over TCP see a consistent lab. The x
controller's position-trigger output is cabled to the lock-in's rear-panel
TRIG IN, so a fly scan can fill the lock-in's buffer at encoder positions.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass, field

from imager.emulators.mc2000b import MC2000BEmulator
from imager.emulators.pm100 import PM100Emulator
from imager.emulators.serve import (
    serve_lockin_pty,
    serve_lockin_tcp,
    serve_mc2000b_pty,
    serve_pm100_tcp,
)
from imager.emulators.sr830 import SR830Emulator
from imager.emulators.sr860 import SR860Emulator
from imager.emulators.srs_lockin import SRSLockInEmulator
from imager.emulators.wire import PtyServer, TcpServer
from imager.sim.lab import SimConfig, SimulatedLab
from stages.apt.emulator import AptEmulator
from stages.clock import WallClock
from stages.simulated import StageDynamics

LOCKINS: dict[str, type[SRSLockInEmulator]] = {"SR830": SR830Emulator, "SR860": SR860Emulator}


@dataclass
class EmulatedBench:
    """Everything :func:`start_emulated_bench` started; :meth:`close` stops it."""

    lab: SimulatedLab
    apt_x: AptEmulator
    apt_y: AptEmulator
    lockin: SRSLockInEmulator
    chopper: MC2000BEmulator
    lockin_tcp: TcpServer
    lockin_pty: PtyServer
    chopper_pty: PtyServer
    controller: str
    stage: str
    power_meter: PM100Emulator | None = None
    power_meter_tcp: TcpServer | None = None
    reference: SRSLockInEmulator | None = None
    """The MIR reference channel's lock-in (a twin with ``reference_channel``)."""
    reference_tcp: TcpServer | None = None
    _closed: bool = field(default=False, repr=False)

    def lab_config_toml(self, lockin_via: str = "tcp", serial_read_timeout_s: float = 0.02) -> str:
        """A lab configuration for the real drivers, pointing at these emulators.

        Parameters
        ----------
        lockin_via : {"tcp", "pty"}
            Lock-in address: the TCP socket or the RS-232 pty.
        serial_read_timeout_s : float
            APT library read timeout (its status polling period; see stages.apt).
        """
        address = (self.lockin_tcp.resource_name if lockin_via == "tcp"
                   else self.lockin_pty.resource_name)
        lines = ["# Emulated lab (mirimager emulate): real drivers, simulated physics.",
                 f"# Twin: {self.twin_summary()}.",
                 "# A recipe's [sim] section does not apply to this lab (the chart is the one",
                 "# 'mirimager emulate --chart' started with).",
                 'name = "emulated"', ""]
        for name, apt in (("stage_x", self.apt_x), ("stage_y", self.apt_y)):
            lines += [f"[{name}]", 'driver = "apt"', f'serial_port = "{apt.port}"',
                      f'controller = "{self.controller}"', f'stage = "{self.stage}"',
                      "require_homed = true",
                      f"serial_read_timeout_s = {serial_read_timeout_s}", ""]
        lines += ["[lockin]", f'driver = "{self.lockin.MODEL.lower()}"', f'address = "{address}"',
                  "", "[chopper]", 'driver = "mc2000b"', f'serial_port = "{self.chopper_pty.port}"',
                  "", "[source]", 'driver = "manual"',
                  f"max_power_mW = {self.lab.source.max_power_mW:g}", "",
                  "[pump]", 'driver = "manual"', ""]
        if self.power_meter_tcp is not None:
            lines += ["[power_meter]", 'driver = "pm100"',
                      f'address = "{self.power_meter_tcp.resource_name}"', ""]
        if self.reference_tcp is not None:
            lines += ["[reference_lockin]", f'driver = "{self.reference.MODEL.lower()}"',
                      f'address = "{self.reference_tcp.resource_name}"', ""]
        return "\n".join(lines)

    def twin_summary(self) -> str:
        """The twin's chart, beam and seed in one line (what a dry run images).

        Returns
        -------
        str
            E.g. ``"chart usaf1951 (groups 5, 6, 7) centred at (12500, 12500) um, MIR beam
            500 um FWHM, seed 0"``.
        """
        cfg = self.lab.config
        if cfg.chart == "usaf1951":
            chart = f"usaf1951 (groups {', '.join(str(g) for g in cfg.usaf_groups)})"
        else:
            chart = f"{cfg.chart} ({cfg.chart_width_um:g} um wide)"
        x_um, y_um = cfg.chart_center_um
        return (f"chart {chart} centred at ({x_um:g}, {y_um:g}) um, MIR beam "
                f"{cfg.mir_beam_fwhm_um:g} um FWHM, seed {cfg.seed}")

    def close(self) -> None:
        """Stop every server and emulator (idempotent)."""
        if self._closed:
            return
        self._closed = True
        for server in (self.lockin_tcp, self.lockin_pty, self.chopper_pty, self.power_meter_tcp,
                       self.reference_tcp, self.apt_x, self.apt_y):
            if server is None:
                continue
            try:
                server.close()
            except Exception:  # noqa: BLE001 - close the rest
                pass

    def __enter__(self) -> EmulatedBench:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def wire_position_triggers(apt_x: AptEmulator, lockin: SRSLockInEmulator) -> bool:
    """Cable the x controller's trigger output to the lock-in's rear-panel TRIG IN.

    Each position-trigger pulse of the x axis (a K-Cube in a position-step
    trigger mode, see :mod:`stages.apt.kcube_triggers`) then acts as a TTL edge
    on TRIG IN: with the SR830 at ``SRAT 14`` (SR860: capture per trigger) every
    pulse stores one buffer point. The emulator calls it on its serving thread,
    within a fraction of a millisecond of the crossing, with the bench's lock held.

    Returns
    -------
    bool
        False if the lock-in emulator has no ``trigger_input`` (nothing wired).
    """
    trigger_in = getattr(lockin, "trigger_input", None)
    if trigger_in is None:
        return False
    apt_x.axes[0].trigger_outputs.append(lambda _t_s: trigger_in())
    return True


def start_emulated_bench(
    config: SimConfig | None = None,
    *,
    lockin_model: str = "SR830",
    controller: str = "KDC101",
    stage: str = "MTS25-Z8",
    dynamics: StageDynamics | None = None,
) -> EmulatedBench:
    """Start the emulated lab.

    Parameters
    ----------
    config : SimConfig, optional
        The twin (chart, beam, noise, seed); default :class:`SimConfig()`.
    lockin_model : {"SR830", "SR860"}
    controller, stage : str
        APT controller (one per axis; single-channel models) and stage model.
    dynamics : StageDynamics, optional
        Velocity, acceleration and settle time of the emulated axes.

    Returns
    -------
    EmulatedBench
        With ``config.reference_channel``, the MIR reference detector's lock-in too (a
        second SR830/SR860 on loopback TCP, ``[reference_lockin]`` in the lab
        configuration). The axes start at the chart centre, homed (a controller left powered
        since its last homing), counters absolute. The x controller's trigger
        output is cabled to the lock-in's TRIG IN (:func:`wire_position_triggers`).
    """
    if lockin_model not in LOCKINS:
        raise ValueError(f"lockin_model must be one of {sorted(LOCKINS)}, got {lockin_model!r}")
    config = config or SimConfig()
    clock = WallClock()
    lock = threading.RLock()
    started: list = []
    try:
        axes = []
        for start_um in config.chart_center_um:
            apt = AptEmulator(controller, stage, dynamics=dynamics, start_um=start_um,
                              counter_zero_at_power_on=False, clock=clock, lock=lock, homed=True)
            started.append(apt.start())
            axes.append(apt)
        lab = SimulatedLab(config, clock=clock,
                           stages=(axes[0].axes[0].stage, axes[1].axes[0].stage), lock=lock)
        lockin = LOCKINS[lockin_model](lab.lockin, chopper=lab.chopper, lock=lock)
        wire_position_triggers(axes[0], lockin)
        chopper = MC2000BEmulator(lab.chopper, lock=lock)
        tcp = serve_lockin_tcp(lockin)
        started.append(tcp)
        pty = serve_lockin_pty(lockin)
        started.append(pty)
        chopper_pty = serve_mc2000b_pty(chopper)
        started.append(chopper_pty)
        power_meter = PM100Emulator(lab.power_meter, lock=lock)
        power_meter_tcp = serve_pm100_tcp(power_meter)
        started.append(power_meter_tcp)
        reference = reference_tcp = None
        if lab.reference is not None:  # the MIR reference detector's own lock-in
            reference = LOCKINS[lockin_model](lab.reference.lockin, chopper=lab.chopper,
                                              lock=lock)
            reference_tcp = serve_lockin_tcp(reference)
            started.append(reference_tcp)
    except BaseException:
        for server in reversed(started):
            server.close()
        raise
    return EmulatedBench(lab, axes[0], axes[1], lockin, chopper, tcp, pty, chopper_pty,
                         controller, stage, power_meter, power_meter_tcp, reference,
                         reference_tcp)
