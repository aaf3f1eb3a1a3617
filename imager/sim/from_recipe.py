"""The simulated lab a recipe describes (its ``[sim]`` section)."""

from __future__ import annotations

from pathlib import Path

from imager.recipes import Recipe


def simulated_lab_for(recipe: Recipe | None = None):
    """Build the simulated lab described by a recipe's ``[sim]`` section.

    Parameters
    ----------
    recipe : Recipe, optional
        Defaults to the demo recipe's simulation settings.

    Returns
    -------
    imager.sim.SimulatedLab
    """
    from imager.recipes import default_recipe
    from imager.sim.lab import SimConfig, SimulatedLab

    recipe = recipe or default_recipe()
    sim = recipe.sections["sim"]
    chart = sim["chart"]
    from_file = recipe.source not in ("<default>", "<string>")
    if chart not in ("usaf1951", "siemens_star", "open", "knife_edge") and from_file:
        candidate = Path(recipe.source).parent / chart
        if candidate.exists():
            chart = str(candidate)
    from dataclasses import replace

    noise_model = replace(SimConfig().noise_model, power_rel_rms=sim["mir_power_rel_rms"])
    config = SimConfig(
        seed=sim["seed"],
        chart=chart,
        chart_width_um=sim["chart_width_um"],
        usaf_groups=tuple(sim["usaf_groups"]),
        chart_center_um=(sim["chart_center_x_um"], sim["chart_center_y_um"]),
        mir_beam_fwhm_um=sim["mir_beam_fwhm_um"],
        pump_fwhm_um=sim["pump_fwhm_um"],
        noise=sim["noise"],
        channel=sim["channel"],
        temperature_K=sim["temperature_K"],
        reference_channel=sim["reference_channel"],
        noise_model=noise_model,
        detector_gain_V_per_A=sim["detector_gain_V_per_A"],
    )
    try:
        return SimulatedLab(config)
    except (ValueError, OSError) as exc:
        raise recipe.error(f"[sim] chart: {exc}") from None
