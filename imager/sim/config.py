"""Configuration of the simulated lab (:class:`SimConfig`)."""

from __future__ import annotations

from dataclasses import dataclass, field

from imager.sim.film import FilmResponse
from imager.sim.lockin import LOCKIN_INPUT_NOISE_V_PER_RTHZ, NoiseModel
from stages.simulated import StageDynamics


@dataclass
class SimConfig:
    """Configuration of the simulated lab.

    Attributes
    ----------
    seed : int
        Noise seed; the lock-in's noise at point ``i`` is drawn from the
        Philox stream of key ``(seed, i)`` (:meth:`SimulatedLockIn.begin_point`).
    chart : str
        ``"usaf1951"``, ``"siemens_star"``, ``"open"`` (no chart: transmission 1,
        the spot for calibrations) or an image file path.
    chart_width_um : float
        Width of a star or image chart (the USAF target is always to scale).
    usaf_groups : tuple of int
        Groups of the USAF target.
    chart_center_um : tuple of float
        Stage coordinates ``(x, y)`` of the chart centre; the stages start here.
    chart_pixel_um : float
        Pixel pitch of the chart's transmission map.
    mir_beam_fwhm_um : float
        Intensity FWHM of the MIR beam on the film (centred on the chart unless
        ``mir_beam_center_um`` is given). Chosen: 500 um, wider than the
        400 um field so the whole chart is lit.
    pump_fwhm_um : float
        Intensity FWHM of the focused pump spot (the imaging resolution).
    stage_travel_um : tuple of float
        Soft travel limits of both axes (25 mm, Z825B).
    noise : bool
        Add lock-in noise (``False``: noise-free readings, still filtered).
    detector_phase_deg : float
        Phase of the photodiode signal relative to the chopper reference.
    mir_beam_center_um : tuple of float or None
        MIR beam axis in stage coordinates; ``None`` = chart centre.
    stage_dynamics : StageDynamics
        Velocity/acceleration/settle/encoder of both axes.
    film : FilmResponse or None
        Film response model; ``None`` (default) builds the rate-equation twin
        (:class:`~imager.sim.twin_film.RateEquationFilm`) for ``channel`` with the
        pump spot ``pump_fwhm_um``. :class:`~imager.sim.film.FirstOrderFilm` is
        the first-order alternative (no photometer or decay recorder then).
    noise_model : NoiseModel
        Lock-in noise parameters (used when ``noise`` is true). Its input noise
        is the lock-in's own (6 nV/sqrt(Hz)); the photodiode's shot, Johnson and
        amplifier noise come from the film response.
    channel : str
        Photodiode readout of the default film: ``"660"`` (one photodiode behind a
        660 nm band-pass, the paper's) or ``"ratio"`` (525/545 nm photodiodes into
        an analog divider).
    temperature_K : float
        Initial sample-stage (lattice) temperature, 298 K (the paper's room
        temperature).
    reference_channel : bool
        A MIR reference detector on a pick-off of the beam, on a second lock-in
        (:mod:`imager.sim.reference`); off by default, as in the paper.
    detector_gain_V_per_A : float
        Transimpedance gain of the default film's photodiode amplifier, one of
        :data:`imager.twin.detection.AMPLIFIER_GAINS_V_PER_A` (5e8: the default raster
        stays far from saturation); its noise, bandwidth and saturation follow it.
    """

    seed: int = 0
    chart: str = "usaf1951"
    chart_width_um: float = 400.0
    usaf_groups: tuple[int, ...] = (5, 6, 7)
    chart_center_um: tuple[float, float] = (12500.0, 12500.0)
    chart_pixel_um: float = 0.5
    mir_beam_fwhm_um: float = 500.0
    pump_fwhm_um: float = 1.0
    stage_travel_um: tuple[float, float] = (0.0, 25000.0)
    noise: bool = True
    detector_phase_deg: float = 0.0
    mir_beam_center_um: tuple[float, float] | None = None
    stage_dynamics: StageDynamics = field(default_factory=StageDynamics)
    film: FilmResponse | None = None
    noise_model: NoiseModel = field(
        default_factory=lambda: NoiseModel(input_noise_V_per_rtHz=LOCKIN_INPUT_NOISE_V_PER_RTHZ))
    channel: str = "660"
    temperature_K: float = 298.0
    reference_channel: bool = False
    detector_gain_V_per_A: float = 5e8
