"""Scan files: HDF5/NeXus writer, flushed after every point (see docs/scanfile.md)."""

from imager.storage.writer import FORMAT_VERSION, POINT_DTYPE, ScanWriter, scan_file_name

__all__ = ["FORMAT_VERSION", "POINT_DTYPE", "ScanWriter", "scan_file_name"]
