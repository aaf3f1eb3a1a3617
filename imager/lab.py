"""A lab: the set of devices a scan uses, and how a recipe configures them.

The engine sees a lab only through this interface. ``SimulatedLab`` (the
physics twin, :mod:`imager.sim`) is the default; real hardware labs built
from a lab configuration file implement the same attributes.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Protocol, runtime_checkable

import numpy as np

from imager.devices.interfaces import Chopper, LockIn, PowerMeter, Projector, Pump, Source
from imager.recipes import Recipe, RecipeError
from stages import Clock, XYStage


@dataclass(frozen=True)
class SimHooks:
    """What only a simulated lab can do; the engine uses it where a lab declares it.

    Attributes
    ----------
    begin_point : callable
        ``begin_point(index)``: point ``index`` starts (seeds its noise).
    expected_image : callable
        ``expected_image(x_um, y_um) -> (ny, nx)``: the noise-free raster image.
    expected_pattern_image : callable
        ``expected_pattern_image() -> (n, n)``: noise-free bucket signal per lit
        pixel of the projector's current field.
    advance_to : callable or None
        ``advance_to(t_s)``: move the virtual clock to lab time ``t_s`` (None: the
        twin runs on a real clock).
    chart : object
        The test chart (transmission map) stored with the scan.
    expected_cube : callable or None
        ``expected_cube(x_um, y_um, wavelengths_um) -> (nw, ny, nx)``: the noise-free
        raster image at each wavelength, the source left as it is.
    chart_truth : callable or None
        ``chart_truth(x_um, y_um, wavelengths_um) -> ChartTruth | None``: a spectral
        chart's material labels, spectra and transmittance cube on the grid
        (:class:`imager.sim.chemical_chart.ChartTruth`); None for other charts.
    expected_pattern_cube : callable or None
        ``expected_pattern_cube(wavelengths_um) -> (nw, n, n)``: the noise-free signal per
        lit DMD pixel of the projector's current field at each wavelength.
    """

    begin_point: Callable[[int], None]
    expected_image: Callable[[np.ndarray, np.ndarray], np.ndarray]
    expected_pattern_image: Callable[[], np.ndarray]
    advance_to: Callable[[float], None] | None
    chart: Any = None
    expected_cube: Callable[[np.ndarray, np.ndarray, np.ndarray], np.ndarray] | None = None
    chart_truth: Callable[[np.ndarray, np.ndarray, np.ndarray], Any] | None = None
    expected_pattern_cube: Callable[[np.ndarray], np.ndarray] | None = None


@dataclass(frozen=True)
class Capabilities:
    """The optional parts of a lab, declared once (``lab.capabilities()``); None = absent.

    ``power_meter`` watches the MIR power (:mod:`imager.engine.power`),
    ``projector`` structures the pump (single-pixel), ``temperature``,
    ``photometer`` and ``decay_recorder`` serve calibration sweeps, ``sim`` is a
    simulated lab's :class:`SimHooks` (hardware labs: None). ``reference`` reads a
    MIR reference detector on a pick-off of the beam through its own lock-in
    (``read_xy``; ``start_stream``/``stop_stream``/``read_stream`` to buffer alongside
    the signal lock-in): the engine reads it with every signal reading.
    """

    power_meter: PowerMeter | None = None
    projector: Projector | None = None
    temperature: Any = None
    photometer: Any = None
    decay_recorder: Any = None
    reference: Any = None
    sim: SimHooks | None = None


@runtime_checkable
class Lab(Protocol):
    """Devices of one imaging set-up.

    The optional ones (power meter, projector, calibration probes) and a
    simulated lab's hooks are declared by :meth:`capabilities`.
    """

    clock: Clock
    stage: XYStage
    lockin: LockIn
    chopper: Chopper
    source: Source
    pump: Pump

    def instruments(self) -> dict[str, Any]:
        """``{name: device}`` for every device whose settings go into the file."""
        ...

    def settings(self) -> dict[str, Any]:
        """Lab-level description for the file (``kind``, seed, ...)."""
        ...

    def capabilities(self) -> Capabilities:
        """The lab's optional devices and hooks (asked once per run)."""
        ...


# recipe section -> (lab attribute, {recipe key: device attribute})
_SETTINGS_MAP: dict[str, tuple[str, dict[str, str]]] = {
    "lockin": ("lockin", {
        "time_constant_s": "time_constant_s",
        "sensitivity_V": "sensitivity_V",
        "filter_slope_dB_per_oct": "filter_slope_dB_per_oct",
        "reference_phase_deg": "reference_phase_deg",
    }),
    "chopper": ("chopper", {"frequency_Hz": "frequency_Hz"}),
    "source": ("source", {"wavelength_um": "wavelength_um", "power_mW": "power_mW"}),
    "pump": ("pump", {"power_mW": "power_mW"}),
}


def apply_settings(lab: Lab, recipe: Recipe) -> None:
    """Apply the recipe's instrument settings to the lab's devices.

    A device that refuses a value (out of its range, not on its ladder, above
    the lab's power cap) raises RecipeError naming the recipe field.
    """
    for section, (device_name, keys) in _SETTINGS_MAP.items():
        device = getattr(lab, device_name)
        for key, attribute in keys.items():
            value = recipe.sections[section][key]
            try:
                setattr(device, attribute, value)
            except ValueError as exc:
                raise recipe.error(f"[{section}] {key}: {exc}") from None
    meter = lab.capabilities().power_meter
    if meter is not None:  # its correction wavelength follows the source
        try:
            meter.wavelength_um = recipe.sections["source"]["wavelength_um"]
        except ValueError as exc:
            raise recipe.error(f"[source] wavelength_um: {exc}") from None


__all__ = ["Capabilities", "Lab", "RecipeError", "SimHooks", "apply_settings"]
