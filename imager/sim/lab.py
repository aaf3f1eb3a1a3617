"""The simulated lab: chart + MIR optics + film + stages + lock-in on a virtual clock.

:class:`SimulatedLab` wires the twin together. The scan engine uses it like
real hardware (``stage.move_to``, ``stage.wait_settled``, ``clock.sleep``,
``lockin.read_xy``), plus :meth:`SimulatedLab.begin_point` to make each point's
noise reproducible, and :meth:`SimulatedLab.expected_image` for the noise-free
"truth" on the scan grid. For calibrations it also has a temperature stage
(``temperature``), a band photometer (``photometer``) and a decay recorder
(``decay_recorder``), see :mod:`imager.sim.probes`, and
:meth:`SimulatedLab.true_responsivity_V_per_W_per_um2` to check them against.
"""

from __future__ import annotations

import cmath
import math
import threading
from dataclasses import asdict

import numpy as np

from imager.devices.interfaces import Settings
from imager.lab import Capabilities, SimHooks
from imager.sim.charts import Chart, make_chart
from imager.sim.chemical_chart import (
    SpectralChart,
    SpectralOptics,
)
from imager.sim.clock import VirtualClock
from imager.sim.config import SimConfig
from imager.sim.faults import FaultInjector
from imager.sim.instruments import SimulatedChopper, SimulatedPump, SimulatedSource
from imager.sim.lab_truth import TruthHooks
from imager.sim.lockin import SimulatedLockIn
from imager.sim.optics import MirOptics
from imager.sim.power_meter import SimulatedPowerMeter
from imager.sim.power_noise import FluctuationModel, PowerFluctuation
from imager.sim.probes import (
    SimulatedBandPhotometer,
    SimulatedDecayRecorder,
    SimulatedTemperatureController,
)
from imager.sim.projector import SimulatedProjector, pixel_response_map_V
from imager.sim.reference import SimulatedReferenceChannel
from imager.sim.signal_chain import (
    detector_noise_V_per_rtHz,
    film_transfer,
    pump_exponent,
)
from imager.sim.twin_film import RateEquationFilm
from imager.twin import Film, FilmParameters
from imager.twin.detection import Detector, check_gain
from stages.interface import Clock
from stages.simulated import SimulatedStage
from stages.xy import XYStage


def _build_chart(cfg: SimConfig) -> Chart:
    if cfg.chart == "usaf1951":  # "open" and image files take width_um like the star
        chart = make_chart("usaf1951", groups=tuple(cfg.usaf_groups), pixel_um=cfg.chart_pixel_um)
    else:
        chart = make_chart(cfg.chart, width_um=cfg.chart_width_um, pixel_um=cfg.chart_pixel_um)
    return chart.centred_at(*cfg.chart_center_um)


class SimulatedLab(TruthHooks):
    """The physics twin: every simulated device, sharing one virtual clock.

    Parameters
    ----------
    config : SimConfig, optional
        Lab configuration; defaults to :class:`SimConfig()`.
    clock, stages, lock : optional
        For the emulated lab: a wall clock, the two simulated axes its APT
        emulators move, and the lock held by every emulator thread while it
        touches the twin.

    Attributes
    ----------
    clock : VirtualClock
        Or the clock given (a wall clock behind the wire-level emulators).
    stage : XYStage
        ``stage_x`` and ``stage_y`` together; both start at the chart centre,
        unless ``stages`` were given (axes driven by APT emulators).
    stage_x, stage_y : SimulatedStage
    lockin : SimulatedLockIn
    chopper : SimulatedChopper
        Disabled means the blade is parked open: the MIR is continuous and the
        lock-in unlocked.
    source : SimulatedSource
    power_meter : SimulatedPowerMeter
        Thermal sensor on a pick-off of the MIR beam (watches for power drops).
    pump : SimulatedPump
    temperature : SimulatedTemperatureController
        Sample stage; sets the film's lattice temperature.
    photometer : SimulatedBandPhotometer or None
        525/545/660 nm band signals (``None`` unless the film is a rate-equation film).
    decay_recorder : SimulatedDecayRecorder or None
        Decay traces after a pump pulse (``None`` unless the film is a rate-equation film).
    chart : Chart
        The chart in stage coordinates (a :class:`SpectralChart` for ``"chemical"``).
    optics : MirOptics
        The MIR optics at the source's current wavelength (a property: a spectral
        chart's transmission, and so the optics, follow the wavelength).
    film : FilmResponse
    """

    def __init__(self, config: SimConfig | None = None, *, clock: Clock | None = None,
                 stages: tuple[SimulatedStage, SimulatedStage] | None = None,
                 lock: threading.RLock | None = None) -> None:
        cfg = config if config is not None else SimConfig()
        if int(cfg.seed) < 0:
            raise ValueError(f"SimConfig.seed must be >= 0, got {cfg.seed!r}")
        self.config = cfg
        self.clock = clock if clock is not None else VirtualClock()
        self.chart = _build_chart(cfg)
        beam = {"beam_fwhm_um": cfg.mir_beam_fwhm_um, "pump_fwhm_um": cfg.pump_fwhm_um,
                "beam_centre_um": cfg.mir_beam_center_um}
        spectral = isinstance(self.chart, SpectralChart)
        self._spectral_optics = SpectralOptics(self.chart, **beam) if spectral else None
        self._fixed_optics = None if spectral else MirOptics(self.chart, **beam)
        self.film = cfg.film if cfg.film is not None else RateEquationFilm(
            Film(FilmParameters(pump_fwhm_um=cfg.pump_fwhm_um)),
            detector=Detector(transimpedance_V_per_A=check_gain(cfg.detector_gain_V_per_A)),
            channel=cfg.channel, temperature_K=cfg.temperature_K)
        xc, yc = cfg.chart_center_um
        travel = (float(cfg.stage_travel_um[0]), float(cfg.stage_travel_um[1]))
        if stages is None:
            self.stage_x = SimulatedStage("stage_x", self.clock, travel, cfg.stage_dynamics, xc)
            self.stage_y = SimulatedStage("stage_y", self.clock, travel, cfg.stage_dynamics, yc)
        else:  # axes moved by someone else (the APT emulators of the emulated lab)
            self.stage_x, self.stage_y = stages
        self.stage = XYStage(self.stage_x, self.stage_y)
        self.chopper = SimulatedChopper()
        self.source = SimulatedSource()
        self.pump = SimulatedPump()
        self.power_meter = SimulatedPowerMeter(self.source)
        self._detector_rot = cmath.exp(1j * math.radians(cfg.detector_phase_deg))
        detector_noise = getattr(self.film, "detector_noise_V_per_rtHz", None)
        nm = cfg.noise_model
        #: The MIR source's relative power fluctuation, a function of lab time
        #: (:mod:`imager.sim.power_noise`) that every lock-in reading the beam shares.
        self.mir_fluctuation = PowerFluctuation(
            FluctuationModel(nm.power_rel_rms, nm.power_correlation_s), int(cfg.seed), stream=0)
        #: The pump's relative power fluctuation; the signal follows it with the film's
        #: local exponent (:meth:`pump_exponent`).
        self.pump_fluctuation = PowerFluctuation(
            FluctuationModel(nm.pump_rel_rms, nm.pump_correlation_s), int(cfg.seed), stream=1)
        self._exponent_key: tuple | None = None
        self._exponent = 0.0
        self.lockin = SimulatedLockIn(
            self.clock,
            self.signal_phasor,
            chopper=self.chopper,
            static_after=self._static_after,
            seed=int(cfg.seed),
            noise=cfg.noise_model if cfg.noise else None,
            detector_noise=self._detector_noise_V_per_rtHz if callable(detector_noise) else None,
            gain_fluctuation=self.gain_fluctuation,
        )
        self.reference = (SimulatedReferenceChannel(self, seed=(int(cfg.seed) + 1) % 2**64,
                                                    noise=bool(cfg.noise))
                          if cfg.reference_channel else None)
        self.temperature = SimulatedTemperatureController(
            self.clock, cfg.temperature_K, on_set=self._set_film_temperature)
        self._set_film_temperature(cfg.temperature_K)
        twin = isinstance(self.film, RateEquationFilm)
        self.photometer = (SimulatedBandPhotometer(self, int(cfg.seed), noise=cfg.noise)
                           if twin else None)
        self.decay_recorder = (SimulatedDecayRecorder(self, int(cfg.seed), noise=cfg.noise)
                               if twin else None)
        self.projector = SimulatedProjector(self.clock)
        if isinstance(self.stage_x, SimulatedStage):  # K-Cube TRIG OUT -> lock-in TRIG IN
            self.stage_x.trigger_outputs.append(lambda t_s: self.lockin.trigger())
            if self.reference is not None:  # the same pulse into both lock-ins
                self.stage_x.trigger_outputs.append(lambda t_s: self.reference.trigger())
        self.faults = FaultInjector(self)
        self._bucket_key: tuple | None = None
        self._bucket_map: np.ndarray | None = None
        sync = self.lockin.sync
        if lock is not None:
            def sync() -> None:
                with lock:
                    self.lockin.sync()
        for stage in (self.stage_x, self.stage_y):
            stage.add_move_listener(sync)
        for device in (self.chopper, self.source, self.pump, self.temperature, self.projector):
            device.set_change_hook(sync)

    def _set_film_temperature(self, T_K: float) -> None:
        if hasattr(self.film, "temperature_K"):
            self.film.temperature_K = T_K

    # ------------------------------------------------------------------ physics
    @property
    def optics(self) -> MirOptics:
        """The MIR optics at the source's current wavelength (:meth:`optics_at`)."""
        if self._spectral_optics is None:
            return self._fixed_optics
        return self._spectral_optics.at(self.source.wavelength_um)

    def optics_at(self, wavelength_um: float) -> MirOptics:
        """The MIR optics at ``wavelength_um`` (per wavelength for a spectral chart)."""
        if self._spectral_optics is None:
            return self._fixed_optics
        return self._spectral_optics.at(wavelength_um)

    def _static_after(self) -> float:
        ex = self.stage_x.move_end_s
        ey = self.stage_y.move_end_s
        return ex if ex > ey else ey

    def signal_phasor(self, t_s: float) -> complex:
        """Photodiode signal phasor (V) demodulated at the chopper frequency, at time ``t_s``.

        MIR intensity at the pump spot (stage position at ``t_s``) through the
        film response, times the film's response at the chopper frequency
        (:meth:`_film_transfer`), rotated by the detector phase; zero when the
        source is off or the chopper is disabled.
        """
        source = self.source
        if not (source.on and self.chopper.enabled):
            return 0j
        pattern = self.projector.current_pattern()
        if pattern is not None:  # pump patterned by the DMD: the bucket signal
            return (float(pattern @ self.pixel_response_map_V().ravel()) * self._detector_rot
                    * self._film_transfer(patterned=True))
        intensity = self.optics.intensity_W_per_um2(
            self.stage_x.position_at(t_s), self.stage_y.position_at(t_s),
            source.emitted_power_mW * 1e-3)
        dv = self.film.dV_V(intensity, self.pump.power_mW, source.wavelength_um)
        return dv * self._detector_rot * self._film_transfer()

    def _film_transfer(self, patterned: bool = False) -> complex:
        """Film and photodiode amplifier at the chopper frequency (:func:`film_transfer`)."""
        return film_transfer(self, patterned)

    def gain_fluctuation(self, t_s: float, tau_s: float, n_poles: int) -> float:
        """Relative signal fluctuation a lock-in (``tau_s``, ``n_poles``) holds at ``t_s``:
        the MIR power's plus the pump power's times :meth:`pump_exponent`."""
        g = self.mir_fluctuation.filtered(t_s, tau_s, n_poles)
        if self.pump_fluctuation.model.rel_rms > 0.0:
            g += self.pump_exponent() * self.pump_fluctuation.filtered(t_s, tau_s, n_poles)
        return g

    def pump_exponent(self) -> float:
        """``d ln(signal) / d ln(pump power)`` now (:func:`pump_exponent`), cached."""
        patterned = self.projector.current_pattern() is not None
        key = (patterned, self.pump.power_mW, self.source.wavelength_um,
               self.temperature.temperature_K, self.projector.fov_um)
        if key != self._exponent_key:
            self._exponent, self._exponent_key = pump_exponent(self, patterned), key
        return self._exponent

    def pixel_response_map_V(self) -> np.ndarray:
        """Signal of each DMD pixel when lit (patterned mode), ``(n, n)`` volts, cached.

        See :func:`imager.sim.projector.pixel_response_map_V`; recomputed when the
        stage position, source, pump, temperature or pattern size change.
        """
        n = self.projector.shape[0]
        key = (n, self.projector.fov_um, self.stage_x.position_um(), self.stage_y.position_um(),
               self.source.on, self.source.emitted_power_mW, self.source.wavelength_um,
               self.chopper.enabled, self.pump.power_mW, self.temperature.temperature_K)
        if key != self._bucket_key:
            self._bucket_map = pixel_response_map_V(self, n, self.projector.fov_um)
            self._bucket_key = key
        return self._bucket_map

    def _detector_noise_V_per_rtHz(self) -> float:
        """Photodiode-chain noise density now (:func:`detector_noise_V_per_rtHz`)."""
        return detector_noise_V_per_rtHz(self)

    # ------------------------------------------------- views for the probes
    def pump_mW(self) -> float:
        """Pump power now, mW."""
        return self.pump.power_mW

    def mir_state(self) -> tuple[float, float, float]:
        """``(MIR intensity at the pump spot while on, wavelength, duty)``.

        The duty (fraction of time the MIR reaches the film) is 0.5 while chopped,
        1 with the blade parked open, 0 with the source off.
        """
        source = self.source
        if source.emitted_power_mW <= 0.0:
            return 0.0, source.wavelength_um, 0.0
        x, y = self.stage.position_um()
        intensity = self.optics.intensity_W_per_um2(x, y, source.emitted_power_mW * 1e-3)
        return intensity, source.wavelength_um, 0.5 if self.chopper.enabled else 1.0

    def mir_power_noise(self) -> float:
        """Relative rms MIR power fluctuation per reading (from the noise model)."""
        return self.config.noise_model.power_rel_rms

    # -------------------------------------------------------------- scan hooks
    def begin_point(self, index: int) -> None:
        """Start scan point ``index`` (seeds that point's lock-in and probe noise)."""
        self.lockin.begin_point(index)
        for probe in (self.photometer, self.decay_recorder, self.reference):
            if probe is not None:
                probe.begin_point(index)

    def end_point(self) -> None:
        """Leave the current point (later readings use the out-of-point noise stream)."""
        self.lockin.end_point()
        for probe in (self.photometer, self.decay_recorder, self.reference):
            if probe is not None:
                probe.end_point()

    def capabilities(self) -> Capabilities:
        """Every optional device of the twin, and its hooks (:class:`SimHooks`)."""
        return Capabilities(
            power_meter=getattr(self, "power_meter", None),
            projector=getattr(self, "projector", None),
            temperature=getattr(self, "temperature", None),
            photometer=getattr(self, "photometer", None),
            decay_recorder=getattr(self, "decay_recorder", None),
            reference=self.reference,
            sim=SimHooks(begin_point=self.begin_point, expected_image=self.expected_image,
                         expected_pattern_image=self.expected_pattern_image,
                         advance_to=getattr(self.clock, "advance_to", None),  # a real clock: none
                         chart=self.chart, expected_cube=self.expected_cube,
                         chart_truth=self.chart_truth,
                         expected_pattern_cube=self.expected_pattern_cube))

    def instruments(self) -> dict[str, object]:
        """Devices by scan-file name: stages, lock-in, chopper, source, pump, temperature, meter."""
        return {
            "stage_x": self.stage_x,
            "stage_y": self.stage_y,
            "lockin": self.lockin,
            "chopper": self.chopper,
            "source": self.source,
            "pump": self.pump,
            "temperature": self.temperature,
            "power_meter": self.power_meter,
            **({"reference": self.reference} if self.reference is not None else {}),
        }

    def settings(self) -> Settings:
        """Lab-level configuration for the scan file (``/entry/lab`` attributes)."""
        cfg = self.config
        out: Settings = {
            "kind": "simulated",
            "seed": int(cfg.seed),
            "chart": cfg.chart,
            "chart_name": self.chart.name,
            "chart_width_um": cfg.chart_width_um,
            "usaf_groups": ",".join(str(g) for g in cfg.usaf_groups),
            "chart_center_x_um": float(cfg.chart_center_um[0]),
            "chart_center_y_um": float(cfg.chart_center_um[1]),
            "chart_pixel_um": cfg.chart_pixel_um,
            "mir_beam_fwhm_um": cfg.mir_beam_fwhm_um,
            "mir_beam_center_x_um": self.optics.beam_centre_um[0],
            "mir_beam_center_y_um": self.optics.beam_centre_um[1],
            "pump_fwhm_um": cfg.pump_fwhm_um,
            "stage_travel_min_um": float(cfg.stage_travel_um[0]),
            "stage_travel_max_um": float(cfg.stage_travel_um[1]),
            "noise": bool(cfg.noise),
            "detector_phase_deg": cfg.detector_phase_deg,
            "channel": cfg.channel if cfg.film is None else "custom film",
            "reference_channel": bool(cfg.reference_channel),
        }
        film_settings = getattr(self.film, "settings", None)
        if callable(film_settings):
            out.update({f"film_{k}": v for k, v in film_settings().items()})
        out.update({f"noise_{k}": v for k, v in asdict(cfg.noise_model).items()})
        return out
