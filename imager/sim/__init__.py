"""The simulated lab: a physics twin of chart, optics, film, stages and lock-in.

Everything runs on a :class:`VirtualClock`, so waiting costs no wall time.
"""

from imager.sim.charts import Chart, make_chart
from imager.sim.clock import VirtualClock
from imager.sim.from_recipe import simulated_lab_for
from imager.sim.lab import SimConfig, SimulatedLab
from imager.sim.twin_film import RateEquationFilm

__all__ = ["Chart", "RateEquationFilm", "SimConfig", "SimulatedLab", "VirtualClock", "make_chart",
           "simulated_lab_for"]
