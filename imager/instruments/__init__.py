"""Instrument facts: tables and formulas from the manuals, one module per instrument family.

The simulated devices (:mod:`imager.sim`), the drivers (:mod:`imager.drivers`) and
the wire-level emulators (:mod:`imager.emulators`) import them from here, so a
range, a ladder or a formula is written once, with its source.

* :mod:`imager.instruments.srs` -- SRS SR830 / SR860 lock-in amplifiers;
* :mod:`imager.instruments.pm100` -- Thorlabs PM100 power meters (sensor flags);
* :mod:`imager.instruments.mc2000b` -- Thorlabs MC2000B chopper (blades, reference modes).

Importing them loads no NumPy or SciPy.
"""
