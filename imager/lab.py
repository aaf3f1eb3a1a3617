"""A lab: the set of devices a scan uses, and how a recipe configures them.

The engine sees a lab only through this interface. ``SimulatedLab`` (the
physics twin, :mod:`imager.sim`) is the default; real hardware labs built
from a lab configuration file implement the same attributes.
"""

from __future__ import annotations

from typing import Any, Protocol, runtime_checkable

from imager.devices.interfaces import Chopper, LockIn, Pump, Source
from imager.recipes import Recipe, RecipeError
from stages import Clock, XYStage


@runtime_checkable
class Lab(Protocol):
    """Devices of one imaging set-up.

    Optional: ``power_meter`` (a :class:`~imager.devices.PowerMeter` watching the
    MIR power, see :mod:`imager.engine.power`), ``projector`` (single-pixel).
    Optional, simulated labs only: ``begin_point(index)`` (seeds per-point
    noise), ``expected_image(x_um, y_um)`` (noise-free truth), ``chart``.
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
    meter = getattr(lab, "power_meter", None)
    if meter is not None:  # its correction wavelength follows the source
        try:
            meter.wavelength_um = recipe.sections["source"]["wavelength_um"]
        except ValueError as exc:
            raise recipe.error(f"[source] wavelength_um: {exc}") from None


__all__ = ["Lab", "RecipeError", "apply_settings"]
