"""MIR upconversion imager: instruments, scans, scan files and the simulated lab.

Interactive use::

    from imager import open_lab
    lab = open_lab()
    result = lab.raster(n=(64, 64))
"""

__version__ = "0.1.0"


def open_lab(*args, **kwargs):
    """Open a lab for interactive work; see :func:`imager.session.open_lab`."""
    from imager.session import open_lab as _open_lab

    return _open_lab(*args, **kwargs)
