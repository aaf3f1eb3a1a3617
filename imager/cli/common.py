"""Helpers shared by the sub-command modules: probing a user's file, checking and creating
output files without overwriting anything, formatting values."""

from __future__ import annotations

import os
import secrets
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from imager.cli.main import UserError

#: what ``--seed`` accepts (the recipe's ``[sim] seed`` range)
SEED_RANGE = (0, 2**31 - 1)
#: PNG text key naming the scan an image was made from (``mirimager resume`` replaces
#: the image its own scan made earlier, nothing else)
PNG_SCAN_KEY = "mirimager-scan"


def probe(path: str | None) -> None:
    """A one-line error (exit 2) if libhdf5 hangs or crashes reading a file the user named
    (imager/cli/probe.py: the reads are tried in a short-lived child process first)."""
    if path is not None:
        if not os.path.lexists(path):  # before anything heavy is imported: a fast error
            raise UserError(f"{path}: no such file")
        from imager.cli.probe import probe_scan_file

        probe_scan_file(path)


def format_metrics(metrics: dict) -> str:
    return (f"correlation {metrics['correlation']:.4f}, PSNR {metrics['psnr_dB']:.2f} dB, "
            f"SSIM {metrics['ssim']:.4f}")


def short(value) -> str:
    if isinstance(value, float):
        return f"{value:g}"
    return str(value)


def check_seed(seed: int | None, option: str = "--seed") -> None:
    """UserError (one line naming ``option`` and the range) unless ``seed`` is allowed."""
    lo, hi = SEED_RANGE
    if seed is not None and not lo <= seed <= hi:
        raise UserError(f"{option}: must be an integer in [{lo}, {hi}], got {seed}")


def check_can_create(path: str | os.PathLike[str], name: str | None = None) -> None:
    """UserError (one line naming ``path``, or ``name``) unless a new file ``path`` could
    be written.

    Its folder, or the nearest existing parent of it (folders are made as needed),
    must be a folder this process may write to, on a writable file system. Called
    before a scan starts, so a bad output costs no lab time.
    """
    path = Path(path)
    name = name or str(path)
    folder = path.parent
    while not folder.exists() and folder != folder.parent:
        folder = folder.parent
    if not folder.is_dir():
        raise UserError(f"{name}: cannot create: {folder} is not a folder")
    if not os.access(folder, os.W_OK | os.X_OK):
        try:
            read_only = bool(os.statvfs(folder).f_flag & os.ST_RDONLY)
        except (AttributeError, OSError):  # no statvfs (Windows)
            read_only = False
        why = "read-only file system" if read_only else f"folder {folder} is not writable"
        raise UserError(f"{name}: cannot write: {why}")


def check_not_there(path: str | os.PathLike[str], overwrite: bool) -> None:
    """UserError (one line naming ``path``) if it exists and ``overwrite`` is not given."""
    if not overwrite and os.path.lexists(path):
        raise UserError(f"{path}: file exists; not overwritten (give --overwrite to replace "
                        "it, or choose another output)")


@contextmanager
def new_file(target: str | os.PathLike[str], overwrite: bool = False) -> Iterator[Path]:
    """Write a file under a temporary name beside ``target``, then put it in place.

    The caller writes the yielded path. When the block ends without an error,
    the file becomes ``target``: hard-linked, so an existing ``target`` is never
    touched (``FileExistsError`` naming it) - or, with ``overwrite``, atomically
    replaced. An empty or missing file (the caller wrote nothing) is not put in
    place. The temporary file is removed in every case.

    Yields
    ------
    Path
        Where to write (same folder, a hidden name ending like ``target``).
    """
    target = Path(target)
    tmp = target.with_name(f".{target.name}.{os.getpid()}-{secrets.token_hex(4)}.part"
                           f"{target.suffix}")
    try:
        yield tmp
        if not tmp.exists() or tmp.stat().st_size == 0:
            return
        if overwrite:
            os.replace(tmp, target)
            return
        try:
            os.link(tmp, target)
        except FileExistsError:
            raise FileExistsError(17, "file exists", str(target)) from None
        except OSError:  # a file system without hard links (FAT, some network shares)
            with open(tmp, "rb") as src, open(target, "xb") as dst:
                dst.write(src.read())
    finally:
        tmp.unlink(missing_ok=True)


def png_text(path: str | os.PathLike[str]) -> dict[str, str]:
    """The text chunks of a PNG file (empty if it is not a readable PNG)."""
    from PIL import Image, UnidentifiedImageError

    try:
        with Image.open(path) as image:
            return dict(getattr(image, "text", {}))
    except (OSError, UnidentifiedImageError, ValueError):
        return {}


def scan_identity(scan_path: str | os.PathLike[str]) -> str:
    """A scan's name and start time (``/entry`` start_time): what its PNG is marked with."""
    import h5py

    with h5py.File(scan_path, "r", locking=False) as f:
        start = f["entry"].attrs.get("start_time", "")
    start = start.decode() if isinstance(start, bytes) else str(start)
    return f"{Path(scan_path).name} started {start}"
