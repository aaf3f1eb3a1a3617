"""Adapters: instrument objects of other libraries behind this project's device Protocols.

A lab that already trusts another library's driver can keep it: an adapter wraps
the instrument object (or opens one from an address) and implements
:class:`~imager.devices.interfaces.LockIn`, so the engine, the fault handling
and the scan file work with it unchanged.

* :mod:`imager.drivers.adapters.pymeasure_srs` -- :class:`PyMeasureSR830`,
  :class:`PyMeasureSR860` over ``pymeasure.instruments.srs``;
* :mod:`imager.drivers.adapters.qcodes_srs` -- :class:`QCoDeSSR830` over
  ``qcodes.instrument_drivers.stanford_research.SR830``.

In a lab configuration::

    [lockin]
    driver = "imager.drivers.adapters.pymeasure_srs:PyMeasureSR830"
    address = "GPIB0::8::INSTR"
    timeout_s = 5

In Python, around an object already open::

    from pymeasure.instruments.srs import SR830
    from imager.drivers.adapters.pymeasure_srs import PyMeasureSR830
    lockin = PyMeasureSR830(instrument=SR830("GPIB0::8::INSTR"))

Each adapter module imports its library, so it is imported only when named
(the libraries are optional: ``pip install pymeasure`` or ``pip install qcodes``).
"""
