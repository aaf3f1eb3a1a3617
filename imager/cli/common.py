"""Helpers shared by the sub-command modules: probing a user's file, formatting values."""

from __future__ import annotations


def probe(path: str | None) -> None:
    """A one-line error (exit 2) if libhdf5 hangs or crashes reading a file the user named
    (reconstruction/probe.py: the reads are tried in a short-lived child process first)."""
    if path is not None:
        from reconstruction.probe import probe_scan_file

        probe_scan_file(path)


def format_metrics(metrics: dict) -> str:
    return (f"correlation {metrics['correlation']:.4f}, PSNR {metrics['psnr_dB']:.2f} dB, "
            f"SSIM {metrics['ssim']:.4f}")


def short(value) -> str:
    if isinstance(value, float):
        return f"{value:g}"
    return str(value)
