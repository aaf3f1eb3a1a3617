"""One emulated APT motor channel: controller state on top of a simulated stage.

The motion itself is :class:`stages.simulated.SimulatedStage` (trapezoidal
profile + settle time) on a wall clock; this class adds what a Thorlabs
controller keeps per channel: the position counter (zero at power-on, zero at
the home position after homing), enable state, homing / homed flags, fault
bits, the stored parameter blocks, and the end-of-move event to report.

Motion commands: absolute / relative moves and homing with the velocity
parameters; a velocity move (``MOT_MOVE_VELOCITY``) runs at them until a stop
or the travel limit; a jog (``MOT_MOVE_JOG``) uses the jog parameters, one
step or (continuous mode) until a stop; a stop (``MOT_MOVE_STOP``) is
immediate or decelerates at the profile's acceleration. On a K-Cube the
trigger ports (:class:`~stages.apt.kcube_triggers.KCubeTriggers`) pulse where
the axis crosses the position-trigger positions, and every pulse calls each
callable in :attr:`EmulatedAxis.trigger_outputs` with its time.
"""

from __future__ import annotations

import dataclasses
import logging
import struct
from collections.abc import Callable

from stages.apt import payloads as D
from stages.apt import protocol as P
from stages.apt.kcube_triggers import KCubeTriggers
from stages.apt.models import ControllerFamily, StageModel
from stages.interface import Clock
from stages.simulated import SimulatedStage, StageDynamics

log = logging.getLogger(__name__)

#: Parameter blocks the channel stores: GET id -> (SET id, REQ id, struct format).
PARAM_BLOCKS: dict[int, tuple[int, int, str]] = {
    P.MsgId.MOT_GET_VELPARAMS: (P.MsgId.MOT_SET_VELPARAMS, P.MsgId.MOT_REQ_VELPARAMS, "<Hiii"),
    P.MsgId.MOT_GET_JOGPARAMS: (P.MsgId.MOT_SET_JOGPARAMS, P.MsgId.MOT_REQ_JOGPARAMS, "<HHiiiiH"),
    P.MsgId.MOT_GET_GENMOVEPARAMS: (
        P.MsgId.MOT_SET_GENMOVEPARAMS, P.MsgId.MOT_REQ_GENMOVEPARAMS, "<Hi"),
    P.MsgId.MOT_GET_HOMEPARAMS: (P.MsgId.MOT_SET_HOMEPARAMS, P.MsgId.MOT_REQ_HOMEPARAMS, "<HHHii"),
    P.MsgId.MOT_GET_MOVERELPARAMS: (
        P.MsgId.MOT_SET_MOVERELPARAMS, P.MsgId.MOT_REQ_MOVERELPARAMS, "<Hi"),
    P.MsgId.MOT_GET_MOVEABSPARAMS: (
        P.MsgId.MOT_SET_MOVEABSPARAMS, P.MsgId.MOT_REQ_MOVEABSPARAMS, "<Hi"),
    P.MsgId.MOT_GET_LIMSWITCHPARAMS: (
        P.MsgId.MOT_SET_LIMSWITCHPARAMS, P.MsgId.MOT_REQ_LIMSWITCHPARAMS, "<HHHiiH"),
    P.MsgId.MOT_GET_POWERPARAMS: (
        P.MsgId.MOT_SET_POWERPARAMS, P.MsgId.MOT_REQ_POWERPARAMS, "<HHH"),
    P.MsgId.MOT_GET_DCPIDPARAMS: (
        P.MsgId.MOT_SET_DCPIDPARAMS, P.MsgId.MOT_REQ_DCPIDPARAMS, "<HIIIIH"),
    P.MsgId.MOT_GET_AVMODES: (P.MsgId.MOT_SET_AVMODES, P.MsgId.MOT_REQ_AVMODES, "<HH"),
    P.MsgId.MOT_GET_KCUBEKSTLOOPPARAMS: (
        P.MsgId.MOT_SET_KCUBEKSTLOOPPARAMS, P.MsgId.MOT_REQ_KCUBEKSTLOOPPARAMS, "<HHiiiiiI"),
}


class EmulatedAxis:
    """Controller-side state of one motor channel.

    Parameters
    ----------
    stage : StageModel
        Stage on this channel (counts/mm and travel).
    family : ControllerFamily
        Velocity/acceleration scaling of the controller.
    clock : Clock
        Time source for the simulated motion (a :class:`~stages.clock.WallClock`).
    dynamics : StageDynamics, optional
        Velocity, acceleration and settle time; the encoder step is set from
        the stage's counts/mm.
    start_um : float, optional
        Physical position at power-on (default mid-travel).
    counter_zero_at_power_on : bool
        Like real controllers, the position counter reads 0 at power-on
        wherever the stage is; homing zeroes it at the home position. If False
        the counter is absolute from the start.
    chan_ident : int
        Channel number carried in messages (1 for every supported controller).
    kcube : bool
        The controller is a K-Cube: it has trigger ports with position triggers.

    Attributes
    ----------
    trigger_outputs : list of callable
        Wired to the trigger port in a position-step mode: each pulse calls
        ``callback(t_s)``, ``t_s`` its rising edge on the emulator's clock.
    triggers : KCubeTriggers or None
        Trigger configuration and parameters (K-Cubes only).
    """

    def __init__(
        self,
        stage: StageModel,
        family: ControllerFamily,
        clock: Clock,
        dynamics: StageDynamics | None = None,
        start_um: float | None = None,
        counter_zero_at_power_on: bool = True,
        chan_ident: int = 1,
        kcube: bool = False,
    ) -> None:
        self.stage_model = stage
        self.family = family
        self.chan_ident = chan_ident
        self.cpu = stage.counts_per_um
        lo, hi = stage.travel_um
        start = 0.5 * (lo + hi) if start_um is None else float(start_um)
        dyn = dataclasses.replace(dynamics or StageDynamics(), encoder_um=1.0 / self.cpu)
        self.stage = SimulatedStage(stage.name, clock, travel_um=(lo, hi), dynamics=dyn,
                                    start_um=start)
        self._clock = clock
        self.offset_counts = round(start * self.cpu) if counter_zero_at_power_on else 0
        self.enabled = True
        self.homing = False
        self.homed = False
        self.motion_error = False
        self.limit_bits = 0
        self._clamped_bits = 0
        self.pending: str | None = None  # "completed" | "homed" | "stopped"
        self.trigger_mode = 0
        self.motion = "move"  # "move" | "jog" | "home": what the current trajectory is
        self._next_dynamics: StageDynamics | None = None
        self.triggers = KCubeTriggers(chan_ident) if kcube else None
        self.trigger_outputs: list[Callable[[float], None]] = []
        # pulses of the old trajectory that are due go out before it is replaced
        self.stage.add_move_listener(lambda: self.fire_triggers(self._clock.now_s()))
        self.params: dict[int, bytes] = {}
        self._init_params()

    # ------------------------------------------------------------ parameters
    def _init_params(self) -> None:
        d = self.stage.dynamics
        int32_max = 2**31 - 1  # the wire fields are int32: saturate absurdly fast dynamics
        vel = min(self.family.velocity_to_apt(d.velocity_um_per_s, self.cpu), int32_max)
        acc = min(self.family.acceleration_to_apt(d.acceleration_um_per_s2, self.cpu), int32_max)
        c = self.chan_ident
        step = round(100.0 * self.cpu)  # 0.1 mm jog step
        defaults = {
            P.MsgId.MOT_GET_VELPARAMS: (c, 0, acc, vel),
            P.MsgId.MOT_GET_JOGPARAMS: (c, 2, step, 0, acc, vel, 2),
            P.MsgId.MOT_GET_GENMOVEPARAMS: (c, 0),
            P.MsgId.MOT_GET_HOMEPARAMS: (c, 2, 1, vel, 0),
            P.MsgId.MOT_GET_MOVERELPARAMS: (c, 0),
            P.MsgId.MOT_GET_MOVEABSPARAMS: (c, 0),
            P.MsgId.MOT_GET_LIMSWITCHPARAMS: (c, 2, 2, 0, 0, 1),
            P.MsgId.MOT_GET_POWERPARAMS: (c, 20, 100),
            P.MsgId.MOT_GET_DCPIDPARAMS: (c, 435, 195, 993, 195, 15),
            P.MsgId.MOT_GET_AVMODES: (c, 11),
            P.MsgId.MOT_GET_KCUBEKSTLOOPPARAMS: (c, 1, 0, 0, 0, 0, 0, 0),
        }
        for get_id, values in defaults.items():
            self.params[get_id] = struct.pack(PARAM_BLOCKS[get_id][2], *values)

    def set_params(self, get_id: int, data: bytes) -> None:
        """Store a SET payload (channel field rewritten); velocity params change the motion."""
        fmt = PARAM_BLOCKS[get_id][2]
        size = struct.calcsize(fmt)
        if len(data) < size:
            log.warning("%s: short parameter block 0x%04x (%d < %d bytes), ignored",
                        self.stage_model.name, get_id, len(data), size)
            return
        self.params[get_id] = struct.pack("<H", self.chan_ident) + bytes(data[2:size])
        if get_id == P.MsgId.MOT_GET_VELPARAMS:
            _, _, acc, vel = struct.unpack(fmt, self.params[get_id])
            if vel > 0 and acc > 0:  # applies from the next move on
                self._next_dynamics = dataclasses.replace(
                    self.stage.dynamics,
                    velocity_um_per_s=self.family.velocity_from_apt(vel, self.cpu),
                    acceleration_um_per_s2=self.family.acceleration_from_apt(acc, self.cpu),
                )

    def param_int(self, get_id: int, index: int) -> int:
        """Field ``index`` of a stored parameter block."""
        return int(struct.unpack(PARAM_BLOCKS[get_id][2], self.params[get_id])[index])

    # --------------------------------------------------------------- readout
    def position_counts(self, now_s: float) -> int:
        """Position counter now (counts relative to the power-on or home zero)."""
        return round(self.stage.position_at(now_s) * self.cpu) - self.offset_counts

    def status(self, now_s: float) -> D.MotorStatus:
        """Status as reported in status updates and end-of-move messages."""
        S = P.StatusBits
        bits = S.CONNECTED | S.POWER_OK | self.limit_bits
        if self.enabled:
            bits |= S.ENABLED
        if now_s < self.stage.move_end_s:
            up = self.stage.trajectory.direction >= 0
            if self.motion == "jog":
                bits |= (S.JOGGING_FORWARD if up else S.JOGGING_REVERSE) | S.ACTIVE
            else:
                bits |= (S.MOVING_FORWARD if up else S.MOVING_REVERSE) | S.ACTIVE
        elif now_s >= self.stage.settled_at_s:
            bits |= S.SETTLED
        if self.homing:
            bits |= S.HOMING
        if self.homed:
            bits |= S.HOMED
        if self.motion_error:
            bits |= S.MOTION_ERROR | S.ERROR
        pos = self.position_counts(now_s)
        t_unit_s = self.family.velocity_factor / 65536.0
        vel = round(self.stage.velocity_at(now_s) * self.cpu * t_unit_s)
        return D.MotorStatus(self.chan_ident, pos, int(bits), velocity=vel, encoder_count=pos)

    # --------------------------------------------------------------- motion
    def _prepare(self) -> None:
        """Clear the limit and fault bits of the last move; new velocity parameters apply."""
        self._clamped_bits = 0
        self.limit_bits = 0
        self.motion_error = False
        if self._next_dynamics is not None and self._clock.now_s() >= self.stage.move_end_s:
            self.stage.dynamics, self._next_dynamics = self._next_dynamics, None

    def _start(self, target_um: float, event: str, motion: str = "move",
               profile: tuple[float, float] | None = None) -> None:
        self._prepare()
        lo, hi = self.stage.travel_um
        if target_um < lo:
            target_um, self._clamped_bits = lo, int(P.StatusBits.REVERSE_LIMIT)
        elif target_um > hi:
            target_um, self._clamped_bits = hi, int(P.StatusBits.FORWARD_LIMIT)
        v, a = profile if profile is not None else (None, None)
        self.stage.move_to(target_um, velocity_um_per_s=v, acceleration_um_per_s2=a)
        self._moved(event, motion)

    def _run(self, sign: int, motion: str, profile: tuple[float, float] | None = None) -> None:
        """Run towards a travel limit until stopped; at the limit its switch trips."""
        self._prepare()
        v, a = profile if profile is not None else (None, None)
        self.stage.move_at_velocity(sign, velocity_um_per_s=v, acceleration_um_per_s2=a)
        self._clamped_bits = int(P.StatusBits.FORWARD_LIMIT if sign > 0
                                 else P.StatusBits.REVERSE_LIMIT)
        self._moved("stopped", motion)

    def _moved(self, event: str, motion: str) -> None:
        """The trajectory changed: the end-of-move event to report, trigger pulses anew."""
        self.pending = event
        self.motion = motion
        self.reschedule_triggers(self._clock.now_s())

    def reschedule_triggers(self, now_s: float) -> None:
        """Schedule the trigger pulses of the current trajectory from ``now_s`` on."""
        if self.triggers is not None:
            self.triggers.schedule(self.stage.trajectory, now_s,
                                   lambda counts: (counts + self.offset_counts) / self.cpu)

    def fire_triggers(self, now_s: float) -> int:
        """Call :attr:`trigger_outputs` for every pulse due by ``now_s``; return how many."""
        if self.triggers is None or self.triggers.next_s is None:
            return 0
        times = self.triggers.due(now_s)
        for t_s in times:
            for callback in list(self.trigger_outputs):
                callback(t_s)
        return len(times)

    def _accepts_motion(self, what: str) -> bool:
        if not self.enabled:
            log.info("%s: %s ignored, channel disabled", self.stage_model.name, what)
        return self.enabled

    def move_absolute(self, counts: int) -> None:
        """Start a move to counter value ``counts`` (beyond travel: stops at the limit)."""
        if self._accepts_motion("absolute move"):
            self._start((counts + self.offset_counts) / self.cpu, "completed")

    def move_relative(self, delta_counts: int, now_s: float) -> None:
        """Start a move by ``delta_counts`` from the current position."""
        if self._accepts_motion("relative move"):
            self.move_absolute(self.position_counts(now_s) + delta_counts)

    def move_velocity(self, up: bool) -> None:
        """``MOT_MOVE_VELOCITY``: run at the velocity parameters until a stop or the limit.

        ``up``: towards increasing position counts.
        """
        if self._accepts_motion("velocity move"):
            self._run(1 if up else -1, "move")

    def _jog_profile(self) -> tuple[int, int, tuple[float, float] | None]:
        mode, step, _, acc, vel, _ = struct.unpack(
            PARAM_BLOCKS[P.MsgId.MOT_GET_JOGPARAMS][2], self.params[P.MsgId.MOT_GET_JOGPARAMS])[1:]
        profile = None
        if vel > 0 and acc > 0:
            profile = (self.family.velocity_from_apt(vel, self.cpu),
                       self.family.acceleration_from_apt(acc, self.cpu))
        return mode, step, profile

    def jog(self, up: bool, now_s: float) -> None:
        """``MOT_MOVE_JOG``: one jog step, or (continuous jog mode 1) run until a stop.

        ``up``: towards increasing position counts.
        """
        if not self._accepts_motion("jog"):
            return
        mode, step, profile = self._jog_profile()
        sign = 1 if up else -1
        if mode == 1:
            self._run(sign, "jog", profile)
        else:
            target = self.position_counts(now_s) + sign * abs(step)
            self._start((target + self.offset_counts) / self.cpu, "completed", "jog", profile)

    def stop(self, now_s: float, immediate: bool) -> None:
        """``MOT_MOVE_STOP``: halt at once, or decelerate at the profile's acceleration."""
        if immediate or self.homing:
            self.halt(now_s)
            return
        self.stage.stop(immediate=False)
        self._clamped_bits = 0
        self._moved("stopped", self.motion)

    def home(self) -> None:
        """Start homing: move to the travel minimum; the counter is zeroed on arrival."""
        if self._accepts_motion("home"):
            self.homed = False
            self.homing = True
            self._start(self.stage.travel_um[0], "homed", "home")

    def halt(self, now_s: float, event: str = "stopped") -> None:
        """Stop where the axis is now (immediately; used for stop and for faults)."""
        here = self.stage.position_at(now_s)
        lo, hi = self.stage.travel_um
        at_count = min(max(round(here * self.cpu) / self.cpu, lo), hi)
        if at_count == self.stage.target_um:  # a move to it would be a no-op
            self.stage.stop(immediate=True)
        else:
            self.stage.move_to(at_count)
        self.homing = False
        self._clamped_bits = 0
        self._moved(event, self.motion)

    def set_enabled(self, enabled: bool, now_s: float) -> None:
        """Enable or disable the drive; disabling stops motion."""
        if not enabled and (self.pending or now_s < self.stage.settled_at_s):
            self.halt(now_s)
        self.enabled = enabled

    def set_counter(self, counts: int, now_s: float) -> None:
        """``MOT_SET_POSCOUNTER``: make the current position read ``counts``."""
        self.offset_counts = round(self.stage.position_at(now_s) * self.cpu) - counts
        self.reschedule_triggers(now_s)  # trigger positions are counter values

    # --------------------------------------------------------------- faults
    def inject_motion_error(self, now_s: float) -> None:
        """Position error: halt, set the motion-error bit, report a stopped move."""
        self.halt(now_s)
        self.motion_error = True

    def trigger_limit(self, forward: bool, now_s: float) -> None:
        """A hardware limit switch trips: halt and hold the bit until the next move."""
        self.halt(now_s)
        self.limit_bits = int(P.StatusBits.FORWARD_LIMIT if forward else P.StatusBits.REVERSE_LIMIT)

    # --------------------------------------------------------------- events
    def poll(self, now_s: float) -> str | None:
        """Return the end-of-move event due now (``completed``/``homed``/``stopped``)."""
        if self.pending is None or now_s < self.stage.settled_at_s:
            return None
        event, self.pending = self.pending, None
        if event == "homed":
            self.homing = False
            self.homed = True
            self.stage.homed = True
            self.offset_counts = round(self.stage.travel_um[0] * self.cpu)
        elif self._clamped_bits:
            self.limit_bits = self._clamped_bits
            self._clamped_bits = 0
            event = "stopped"
        return event

    @property
    def busy(self) -> bool:
        """True while an end-of-move event is still to come."""
        return self.pending is not None
