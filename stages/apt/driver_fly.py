"""Fly-scan motion of an APT axis: cruise velocity, velocity moves, K-Cube position triggers.

:class:`FlyMotion` is a mixin of :class:`~stages.apt.driver.AptStage`:

* :attr:`FlyMotion.velocity_um_per_s` - the controller's cruise velocity for
  the next moves (``MOT_SET_VELPARAMS`` through thorlabs-apt-device's
  ``set_velocity_params``), checked against the stage model's
  :attr:`~stages.apt.models.StageModel.max_velocity_um_per_s`;
* :meth:`FlyMotion.move_at_velocity` - ``MOT_MOVE_VELOCITY``, only where the
  soft travel limit is the stage's own end (the controller stops at nothing
  else but a stop command or the limit switch);
* :meth:`FlyMotion.configure_position_triggers` - a K-Cube trigger port pulses
  at evenly spaced positions (``MOT_SET_KCUBETRIGIOCONFIG`` and
  ``MOT_SET_KCUBEPOSTRIGPARAMS``, written as raw frames in the documented
  layouts: the library has no call for them), read back and compared.
"""

from __future__ import annotations

import math
import time
from typing import Any

from stages.apt import payloads as D
from stages.apt import protocol as P
from stages.interface import StageError, TravelLimitError
from stages.position_triggers import PULSE_WIDTH_RANGE_S

_MODES = {"forward": P.TrigMode.OUT_POSSTEPS_FWD, "reverse": P.TrigMode.OUT_POSSTEPS_REV,
          "both": P.TrigMode.OUT_POSSTEPS_BOTH}
_POSSTEPS = tuple(_MODES.values())


class FlyMotion:
    """Cruise velocity, velocity moves and position triggers of an :class:`AptStage`."""

    name: str
    model: Any
    controller: Any
    bay: int
    require_homed: bool
    _cpu: float
    _travel_um: tuple[float, float]
    _velocity_cmd_um_per_s: float | None
    _position_triggers: dict[str, float | int | str] | None

    @property
    def max_velocity_um_per_s(self) -> float:
        """Fastest cruise velocity the stage model is specified for (stages.apt.models)."""
        return self.model.max_velocity_um_per_s

    @property
    def velocity_um_per_s(self) -> float:
        """Cruise velocity of the next moves, um/s (NaN until the controller reports one)."""
        if self._velocity_cmd_um_per_s is not None:
            return self._velocity_cmd_um_per_s
        vp = self.controller.device.velparams_[self.bay][0]
        if not vp.get("msg"):
            return math.nan
        return self.controller.model.scaling.velocity_from_apt(vp["max_velocity"], self._cpu)

    @velocity_um_per_s.setter
    def velocity_um_per_s(self, value: float) -> None:
        vmax = self.max_velocity_um_per_s
        if isinstance(value, bool) or not (isinstance(value, int | float) and math.isfinite(value)
                                           and 0.0 < value <= vmax):
            raise ValueError(f"{self.name}: velocity_um_per_s must be in (0, {vmax:g}] um/s "
                             f"({self.model.name}), got {value!r}")
        self.set_velocity(float(value))

    def set_velocity(self, velocity_um_per_s: float | None,
                     acceleration_um_per_s2: float | None = None) -> None:
        """Write maximum velocity and acceleration (None keeps the controller's value).

        Unlike :attr:`velocity_um_per_s` this does not check the model's maximum.
        """
        scaling, vp = self.controller.model.scaling, self._dev.velparams_[self.bay][0]
        vel = vp["max_velocity"] if velocity_um_per_s is None else scaling.velocity_to_apt(
            velocity_um_per_s, self._cpu)
        acc = vp["acceleration"] if acceleration_um_per_s2 is None else (
            scaling.acceleration_to_apt(acceleration_um_per_s2, self._cpu))
        if vel <= 0 or acc <= 0:
            raise ValueError(f"{self.name}: velocity and acceleration must be > 0 "
                             f"(APT units {vel}, {acc})")
        self._dev.set_velocity_params(acceleration=acc, max_velocity=vel, bay=self.bay, channel=0)
        self._velocity_cmd_um_per_s = scaling.velocity_from_apt(vel, self._cpu)

    def move_at_velocity(self, direction: int | str) -> None:
        """Run at :attr:`velocity_um_per_s` until :meth:`stop` or the travel limit.

        Parameters
        ----------
        direction : {+1, -1, "forward", "reverse"}
            Towards larger (forward) or smaller positions.

        Raises
        ------
        TravelLimitError
            If the soft travel limit on that side is narrower than the stage's
            travel: the controller would run past it (use ``move_to``).
        StageError
            If the axis is not homed and ``require_homed`` is set.
        """
        if direction not in (1, -1, "forward", "reverse"):
            raise ValueError(f"{self.name}: direction must be +1, -1, 'forward' or 'reverse', "
                             f"got {direction!r}")
        forward = direction in (1, "forward")
        end_um = self.model.travel_um[1 if forward else 0]
        soft_um = self._travel_um[1 if forward else 0]
        if soft_um != end_um:
            raise TravelLimitError(f"{self.name}: a velocity move would run past the soft travel "
                                   f"limit {soft_um:g} um to {end_um:g} um; use move_to")
        if self.require_homed and not self._latest().status.has(P.StatusBits.HOMED):
            raise StageError(f"{self.name}: not homed; call home() first (or construct "
                             "with require_homed=False)")
        # the direction byte itself: 2 runs towards increasing counts on every controller
        # (stages.apt.emulator_channel); the library's "forward" depends on its device class
        frame = P.short(P.MsgId.MOT_MOVE_VELOCITY, self._dev.bays[self.bay], P.HOST,
                        self._dev.channels[0], 2 if forward else 1)
        self._command("velocity", round(end_um * self._cpu),
                      lambda: self.controller.send(P.encode(frame)))

    # ------------------------------------------------------------ triggers
    def configure_position_triggers(self, start_um: float, interval_um: float, count: int,
                                    pulse_width_s: float = 1e-5, *, direction: str = "both",
                                    port: int = 1, cycles: int = 1,
                                    timeout_s: float = 2.0) -> tuple[float, ...]:
        """Make trigger port ``port`` pulse where the axis crosses evenly spaced positions.

        Positions ``start + k * interval`` (``k < count``) in encoder counts;
        forward moves pulse at them in increasing, reverse moves in decreasing
        order. The other port keeps its mode (unless it was in a position-step
        mode too, which the controller does not allow: it is disabled).

        Parameters
        ----------
        start_um, interval_um : float
            First position and spacing (> 0), within the soft travel.
        count : int
            Number of positions, 1 to 2**31 - 1.
        pulse_width_s : float
            Pulse width, 1e-6 to 1 s (active high).
        direction : {"both", "forward", "reverse"}
            Which moves pulse.
        port : {1, 2}
            Trigger port.
        cycles : int
            Forward/reverse cycles (the controller's NumCycles) before the
            port goes quiet until it is configured again; >= 1.
        timeout_s : float
            Bound on waiting for the read-back.

        Returns
        -------
        tuple of float
            The trigger positions in um, as the controller will fire them
            (encoder counts / counts per um).

        Raises
        ------
        ValueError
            A parameter out of range (one line naming it and the range).
        StageError
            Not a K-Cube, no read-back, or a read-back that differs.
        """
        if not self.controller.model.name.startswith("K"):
            raise StageError(f"{self.name}: position triggers need a K-Cube (KDC101); "
                             f"this axis is on a {self.controller.model.name}")
        start_c, step_c, width_us = self._check_triggers(start_um, interval_um, count,
                                                         pulse_width_s, direction, port, cycles)
        last_c = start_c + (count - 1) * step_c
        dest, chan = self._dev.bays[self.bay], self._dev.channels[0]
        cfg = self._ask("trigio", P.MsgId.MOT_REQ_KCUBETRIGIOCONFIG, dest, chan, timeout_s)
        modes = [[int(cfg["trig1_mode"]), int(cfg["trig1_polarity"])],
                 [int(cfg["trig2_mode"]), int(cfg["trig2_polarity"])]]
        modes[port - 1] = [int(_MODES[direction]), int(P.TrigPolarity.HIGH)]
        other = modes[2 - port]
        if other[0] in _POSSTEPS:
            other[0] = int(P.TrigMode.DISABLED)
        config = D.TrigIOConfig(chan, modes[0][0], modes[0][1], modes[1][0], modes[1][1])
        params = D.PosTrigParams(chan, start_c, step_c, count, last_c, step_c, count, width_us,
                                 cycles)
        for msg, data in ((P.MsgId.MOT_SET_KCUBETRIGIOCONFIG, D.pack_trigioconfig(config)),
                          (P.MsgId.MOT_SET_KCUBEPOSTRIGPARAMS, D.pack_postrigparams(params))):
            self.controller.send(P.encode(P.long(msg, dest, P.HOST, data)))
        got_cfg = self._ask("trigio", P.MsgId.MOT_REQ_KCUBETRIGIOCONFIG, dest, chan, timeout_s)
        got = self._ask("postrig", P.MsgId.MOT_REQ_KCUBEPOSTRIGPARAMS, dest, chan, timeout_s)
        read = (D.TrigIOConfig(chan, *(int(got_cfg[k]) for k in (
                    "trig1_mode", "trig1_polarity", "trig2_mode", "trig2_polarity"))),
                D.PosTrigParams(chan, *(int(got[k]) for k in (
                    "start_pos_fwd", "interval_fwd", "num_pulses_fwd", "start_pos_rev",
                    "interval_rev", "num_pulses_rev", "pulse_width", "num_cycles"))))
        if read != (config, params):
            raise StageError(f"{self.name}: trigger settings read back differ: wrote "
                             f"{config}, {params}; read {read[0]}, {read[1]}")
        positions = tuple((start_c + k * step_c) / self._cpu for k in range(count))
        self._position_triggers = {
            "trigger_start_um": positions[0], "trigger_interval_um": step_c / self._cpu,
            "trigger_count": count, "trigger_pulse_width_s": width_us * 1e-6,
            "trigger_direction": direction, "trigger_port": port, "trigger_cycles": cycles}
        return positions

    def _check_triggers(self, start_um: float, interval_um: float, count: int,
                        pulse_width_s: float, direction: str, port: int,
                        cycles: int) -> tuple[int, int, int]:
        """Validated ``(start_counts, interval_counts, width_us)``; ValueError naming the field."""
        def whole(value: Any, field: str, lo: int) -> None:
            if isinstance(value, bool) or not isinstance(value, int) or not lo <= value < 2**31:
                raise ValueError(f"{self.name}: {field} must be an integer in "
                                 f"[{lo}, {2**31 - 1}], got {value!r}")

        whole(count, "count", 1)
        whole(cycles, "cycles", 1)
        if port not in (1, 2):
            raise ValueError(f"{self.name}: port must be 1 or 2, got {port!r}")
        if direction not in _MODES:
            raise ValueError(f"{self.name}: direction must be one of {', '.join(_MODES)}, "
                             f"got {direction!r}")
        lo_s, hi_s = PULSE_WIDTH_RANGE_S
        if not (math.isfinite(pulse_width_s) and lo_s <= pulse_width_s <= hi_s):
            raise ValueError(f"{self.name}: pulse_width_s must be in [{lo_s:g}, {hi_s:g}] s, "
                             f"got {pulse_width_s!r}")
        step_min_um = 1.0 / self._cpu
        if not (math.isfinite(interval_um) and interval_um >= step_min_um):
            raise ValueError(f"{self.name}: interval_um must be >= {step_min_um:.4g} um "
                             f"(one encoder count), got {interval_um!r}")
        lo, hi = self._travel_um
        end_um = start_um + (count - 1) * interval_um
        if not (math.isfinite(start_um) and lo <= start_um and end_um <= hi):
            raise ValueError(f"{self.name}: trigger positions {start_um!r} to {end_um!r} um "
                             f"(start_um + (count - 1) * interval_um) must lie within travel "
                             f"[{lo:g}, {hi:g}] um")
        return (round(start_um * self._cpu), round(interval_um * self._cpu),
                round(pulse_width_s * 1e6))

    def _ask(self, kind: str, req: int, dest: int, chan: int, timeout_s: float) -> dict:
        """Send request ``req`` and return the fields of its ``kind`` reply."""
        log = self.controller.log
        seq = self.controller.send(P.encode(P.short(req, dest, P.HOST, chan)))
        got = log.wait_until(lambda: next((e.fields for e in log.replies(self.bay, seq)
                                           if e.kind == kind), None),
                             time.monotonic() + timeout_s)
        if got is None:
            raise StageError(f"{self.name}: no reply to {P.MsgId(req).name} within "
                             f"{timeout_s:g} s")
        return got

    def position_trigger_settings(self) -> dict[str, float | int | str]:
        """The last position-trigger configuration written (empty if none)."""
        return dict(self._position_triggers or {})
