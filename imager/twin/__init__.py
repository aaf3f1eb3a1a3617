"""Physics twin of the NaYF4:Yb/Er upconversion film (rate equations, fitted to the paper).

``from imager.twin import Film``: band emission, 525/545 ratio, decay traces and
lifetimes versus temperature, pump power and MIR intensity/wavelength.
:mod:`imager.twin.detection` turns emission into photodiode signals and noise;
:mod:`imager.twin.fit` re-fits the parameters; :mod:`imager.twin.paper` redraws
the paper's figures. Parameter sources: ``imager/twin/README.md``.
"""

from imager.twin.detection import ChannelResponse, Detector, channel_response
from imager.twin.film import (
    DEFAULT_PUMP_W,
    MIR_ON_BEAM_FWHM_UM,
    MIR_ON_POWER_W,
    MIR_ON_WAVELENGTH_UM,
    ROOM_TEMPERATURE_K,
    Film,
)
from imager.twin.parameters import FITTED, FilmParameters

__all__ = [
    "ChannelResponse",
    "DEFAULT_PUMP_W",
    "Detector",
    "FITTED",
    "MIR_ON_BEAM_FWHM_UM",
    "MIR_ON_POWER_W",
    "MIR_ON_WAVELENGTH_UM",
    "ROOM_TEMPERATURE_K",
    "Film",
    "channel_response",
    "FilmParameters",
]
