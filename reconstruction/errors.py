"""Exceptions of the reconstruction package, in a module that imports nothing.

The command line needs `ScanFileError` to print a one-line error; importing it from here
costs nothing (``reconstruction.hdf5_read`` would first import h5py and NumPy).
"""

from __future__ import annotations

__all__ = ["ScanFileError"]


class ScanFileError(ValueError):
    """A scan file is missing, unreadable, of the wrong kind or too new.

    The message is a single line that names the file and the problem.
    """
