"""Unit scaling for Thorlabs APT controllers and the stages they drive.

Positions travel over the wire as integer encoder counts (DC servos) or
microsteps (steppers); velocities and accelerations in controller-specific
"APT units". This module holds the two tables needed to convert:

Controller families (velocity / acceleration scaling)
-----------------------------------------------------
=================  ==========================================  ===================================
family             controllers                                 APT units per count/s, count/s^2
=================  ==========================================  ===================================
``dc_servo``       KDC101, TDC001                              T = 2048 / 6e6 s:
                                                               vel = T * 65536, acc = T^2 * 65536
``brushless_dc``   BBD10x, BBD20x (KBD101, TBD001)             T = 102.4e-6 s, same formulas
``stepper``        BSC20x (KST101, TST101, MST602)             vel = 53.68, acc = 1 / 90.9
=================  ==========================================  ===================================

Sources: Thorlabs "APT Communications Protocol" (issue 20 and later), section
"Conversion between position, velocity and acceleration units and APT units";
the same factors are used by pylablib (``KinesisMotor._calculate_scale``) and
by MSL-Equipment's KDC101 driver. The library thorlabs-apt-device passes
these integers through unscaled (its docstrings say "counts/second", which is
only true for the old BSC10x family).

Stage models (counts per mm)
----------------------------
See :data:`STAGE_MODELS`; each entry names its source. Z8-series actuators
(and the MTS25/50-Z8 stages built on them) use 512 counts per motor
revolution x a 67.49016:1 gearhead on a 1.0 mm lead screw = 34554.96
counts/mm. That is the value of the current protocol doc (Z8xx on KDC101:
34554.96, velocity factor 772981.3692, acceleration factor 263.8443072 - the
two factors equal 34554.96 x T x 65536 and 34554.96 x T^2 x 65536) and of
Kinesis' settings (StepsPerRev 512, GearboxRatio 67.49016, Pitch 1.0). Older
documents and pylablib use the nominal 67:1 ratio, 512 x 67 = 34304
counts/mm; the two differ by 0.73 % (183 um over 25 mm of travel), which is
why the table carries the sourced value and not the nominal one.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

DC_SERVO_T_S = 2048.0 / 6e6
BRUSHLESS_T_S = 102.4e-6


@dataclass(frozen=True)
class ControllerFamily:
    """How one family of controllers scales velocity and acceleration.

    Attributes
    ----------
    name : str
        Family key (``"dc_servo"``, ``"brushless_dc"``, ``"stepper"``).
    velocity_factor : float
        APT velocity units per (count / s).
    acceleration_factor : float
        APT acceleration units per (count / s^2).
    status_message : str
        ``"dc"`` if the family reports ``MOT_GET_DCSTATUSUPDATE`` (0x0491),
        ``"stepper"`` for ``MOT_GET_STATUSUPDATE`` (0x0481).
    source : str
        Where the factors come from.
    """

    name: str
    velocity_factor: float
    acceleration_factor: float
    status_message: str
    source: str

    def velocity_to_apt(self, velocity_um_per_s: float, counts_per_um: float) -> int:
        """Velocity in um/s -> APT velocity units (rounded to an integer)."""
        return round(velocity_um_per_s * counts_per_um * self.velocity_factor)

    def velocity_from_apt(self, velocity_apt: int, counts_per_um: float) -> float:
        """APT velocity units -> um/s."""
        return velocity_apt / (counts_per_um * self.velocity_factor)

    def acceleration_to_apt(self, acceleration_um_per_s2: float, counts_per_um: float) -> int:
        """Acceleration in um/s^2 -> APT acceleration units (rounded, at least 1 if > 0)."""
        value = round(acceleration_um_per_s2 * counts_per_um * self.acceleration_factor)
        return max(value, 1) if acceleration_um_per_s2 > 0.0 else value

    def acceleration_from_apt(self, acceleration_apt: int, counts_per_um: float) -> float:
        """APT acceleration units -> um/s^2."""
        return acceleration_apt / (counts_per_um * self.acceleration_factor)


_PROTOCOL = "Thorlabs APT Communications Protocol (issue 20+), unit conversion section"

FAMILIES: dict[str, ControllerFamily] = {
    "dc_servo": ControllerFamily(
        "dc_servo", DC_SERVO_T_S * 65536.0, DC_SERVO_T_S**2 * 65536.0, "dc",
        f"{_PROTOCOL}: KDC101/TDC001, T = 2048/6e6 s; pylablib; MSL-Equipment",
    ),
    "brushless_dc": ControllerFamily(
        "brushless_dc", BRUSHLESS_T_S * 65536.0, BRUSHLESS_T_S**2 * 65536.0, "dc",
        f"{_PROTOCOL}: BBD10x/BBD20x/TBD001/KBD101, T = 102.4e-6 s; pylablib",
    ),
    "stepper": ControllerFamily(
        "stepper", 53.68, 1.0 / 90.9, "stepper",
        f"{_PROTOCOL}: BSC20x/TST101/KST101/MST602 (vel x 53.68, acc / 90.9); pylablib; "
        "thorlabs-apt-device BSC201_DRV250 (409600 usteps/mm -> 21987328, 4506)",
    ),
}


@dataclass(frozen=True)
class ControllerModel:
    """One controller model as thorlabs-apt-device sees it.

    Attributes
    ----------
    name : str
        Model name, e.g. ``"KDC101"``, ``"BSC202"``.
    family : str
        Key into :data:`FAMILIES`.
    n_bays : int
        Number of bays (1 for single-channel USB units).
    rack : bool
        True for bay systems addressed as motherboard ``0x11`` + bays ``0x21..``;
        False for single-channel units answering as ``0x50``.
    serial_prefix : int
        First two digits of the serial number (protocol doc / Kinesis), used
        by the emulator's ``HW_GET_INFO`` reply.
    """

    name: str
    family: str
    n_bays: int
    rack: bool
    serial_prefix: int

    @property
    def scaling(self) -> ControllerFamily:
        """Velocity / acceleration scaling of this controller."""
        return FAMILIES[self.family]


CONTROLLER_MODELS: dict[str, ControllerModel] = {
    m.name: m
    for m in (
        ControllerModel("KDC101", "dc_servo", 1, False, 27),
        ControllerModel("TDC001", "dc_servo", 1, False, 83),
        ControllerModel("BSC201", "stepper", 1, True, 40),
        ControllerModel("BSC202", "stepper", 2, True, 70),
        ControllerModel("BSC203", "stepper", 3, True, 70),
        ControllerModel("BBD201", "brushless_dc", 1, True, 73),
        ControllerModel("BBD202", "brushless_dc", 2, True, 73),
        ControllerModel("BBD203", "brushless_dc", 3, True, 73),
    )
}


@dataclass(frozen=True)
class StageModel:
    """Encoder scale and travel of one stage or actuator model.

    Attributes
    ----------
    name : str
        Thorlabs part number.
    counts_per_mm : float
        Encoder counts (or microsteps) per mm on the controller families in
        ``families``.
    travel_mm : float
        Specified travel.
    families : tuple of str
        Controller families this scale applies to.
    kdc_stage_id : int
        Stage id a KDC101/TDC001 reports in ``HW_GET_INFO`` (0 if none).
    source : str
        Where ``counts_per_mm`` comes from.
    max_velocity_mm_per_s : float
        Fastest velocity the stage is specified for (the driver refuses more).
    velocity_source : str
        Where ``max_velocity_mm_per_s`` comes from.
    """

    name: str
    counts_per_mm: float
    travel_mm: float
    families: tuple[str, ...]
    kdc_stage_id: int
    source: str
    max_velocity_mm_per_s: float
    velocity_source: str

    @property
    def counts_per_um(self) -> float:
        """Encoder counts per micrometre."""
        return self.counts_per_mm / 1000.0

    @property
    def max_velocity_um_per_s(self) -> float:
        """Specified maximum velocity, um/s."""
        return self.max_velocity_mm_per_s * 1000.0

    @property
    def travel_um(self) -> tuple[float, float]:
        """Full travel ``(0, travel)`` in um (0 = home position)."""
        return (0.0, self.travel_mm * 1000.0)


_Z8 = (
    "512 counts/rev x 67.49016:1 gearhead / 1.0 mm pitch: APT protocol doc (Z8xx on KDC101: "
    "34554.96, 772981.3692, 263.8443072) and Kinesis Z8 settings; nominal 67:1 gives 34304"
)
_BBD = "APT protocol doc (BBD20x table); pylablib _get_step_scale"
_BSC = "APT protocol doc (BSC20x, 409600 usteps/mm); pylablib; thorlabs-apt-device BSC201_DRV250"
_V_MTS = "Thorlabs MTS25/MTS50-Z8 specifications: max velocity 2.4 mm/s"
_V_Z8 = ("Thorlabs Z8-series actuator manual: max velocity 2.6 mm/s (<= 2.3 mm/s recommended "
         "for a fully controlled profile)")
_V_CHECK = "Thorlabs specification sheet value, not re-checked here: verify before relying on it"

STAGE_MODELS: dict[str, StageModel] = {
    s.name: s
    for s in (
        StageModel("MTS25-Z8", 34554.96, 25.0, ("dc_servo",), 7, _Z8, 2.4, _V_MTS),
        StageModel("MTS50-Z8", 34554.96, 50.0, ("dc_servo",), 8, _Z8, 2.4, _V_MTS),
        StageModel("Z825B", 34554.96, 25.0, ("dc_servo",), 9, _Z8, 2.6, _V_Z8),
        StageModel("Z812B", 34554.96, 12.0, ("dc_servo",), 10, _Z8, 2.6, _V_Z8),
        StageModel("Z806", 34554.96, 6.0, ("dc_servo",), 11, _Z8, 2.6, _V_Z8),
        StageModel("DDSM100", 2000.0, 100.0, ("brushless_dc",), 0, _BBD, 500.0, _V_CHECK),
        StageModel("DDS220", 20000.0, 220.0, ("brushless_dc",), 0, _BBD, 300.0, _V_CHECK),
        StageModel("MLS203-X", 20000.0, 110.0, ("brushless_dc",), 0, _BBD + "; X travel 110 mm",
                   250.0, _V_CHECK),
        StageModel("MLS203-Y", 20000.0, 75.0, ("brushless_dc",), 0, _BBD + "; Y travel 75 mm",
                   250.0, _V_CHECK),
        StageModel("NRT100", 409600.0, 100.0, ("stepper",), 0, _BSC, 30.0, _V_CHECK),
        StageModel("NRT150", 409600.0, 150.0, ("stepper",), 0, _BSC, 30.0, _V_CHECK),
        StageModel("DRV250", 409600.0, 50.0, ("stepper",), 0, _BSC, 5.0, _V_CHECK),
    )
}

KDC_STAGE_IDS: dict[int, str] = {
    s.kdc_stage_id: s.name for s in STAGE_MODELS.values() if s.kdc_stage_id
}


def controller_model(name: str) -> ControllerModel:
    """Look up a controller model by name (case-insensitive).

    Raises
    ------
    ValueError
        If the model is not in :data:`CONTROLLER_MODELS` (the message lists them).
    """
    key = name.strip().upper()
    if key not in CONTROLLER_MODELS:
        known = ", ".join(sorted(CONTROLLER_MODELS))
        raise ValueError(f"unknown APT controller {name!r}; known: {known}")
    return CONTROLLER_MODELS[key]


def stage_model(name: str, controller: ControllerModel | None = None) -> StageModel:
    """Look up a stage model by name (case-insensitive) and check it fits ``controller``.

    Raises
    ------
    ValueError
        If the stage is unknown, or its scale is not defined for the
        controller's family (e.g. a Z8 actuator on a stepper controller).
    """
    key = name.strip().upper()
    if key not in STAGE_MODELS:
        known = ", ".join(sorted(STAGE_MODELS))
        raise ValueError(f"unknown stage model {name!r}; known: {known}")
    stage = STAGE_MODELS[key]
    if controller is not None and controller.family not in stage.families:
        raise ValueError(
            f"stage {stage.name} has no known scale on a {controller.name} "
            f"({controller.family}); it is listed for {', '.join(stage.families)}"
        )
    if not (math.isfinite(stage.counts_per_mm) and stage.counts_per_mm > 0.0):
        raise ValueError(f"stage {stage.name}: bad counts_per_mm {stage.counts_per_mm!r}")
    return stage
