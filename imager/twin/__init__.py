"""Physics twin of the NaYF4:Yb/Er upconversion film (rate equations, fitted to the paper).

``from imager.twin import Film``: band emission, 525/545 ratio, decay traces and
lifetimes versus temperature, pump power and MIR intensity/wavelength.
:mod:`imager.twin.detection` turns emission into photodiode signals and noise;
:mod:`imager.twin.fit` re-fits the parameters; :mod:`imager.twin.paper` redraws
the paper's figures. Parameter sources: ``imager/twin/README.md``.
"""

from importlib import import_module
from typing import Any

#: Public names -> their module; imported on first use (PEP 562), so that light users
#: (recipe checks importing instrument facts from :mod:`imager.twin.detection` or
#: :mod:`imager.twin.limits`) do not pay for scipy.
_EXPORTS = {
    "ChannelResponse": "detection", "Detector": "detection", "channel_response": "detection",
    "DEFAULT_PUMP_W": "film", "MIR_ON_BEAM_FWHM_UM": "film", "MIR_ON_POWER_W": "film",
    "MIR_ON_WAVELENGTH_UM": "film", "ROOM_TEMPERATURE_K": "film", "Film": "film",
    "FITTED": "parameters", "FilmParameters": "parameters",
}
__all__ = sorted(_EXPORTS)


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'imager.twin' has no attribute {name!r}")
    value = getattr(import_module(f"imager.twin.{module}"), name)
    globals()[name] = value
    return value
