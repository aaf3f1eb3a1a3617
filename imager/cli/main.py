"""``mirimager``: argument parsing, dispatch, and one-line errors with exit status 2."""

from __future__ import annotations

import argparse
import errno
import os
import sys
from collections.abc import Sequence
from pathlib import Path

from imager import __version__

EXIT_USAGE = 2


class UserError(Exception):
    """Bad input from the user: printed as one line, exit status 2."""


class LabOpenError(Exception):
    """A device of a lab configuration could not be opened: one line, exit status 1.

    (Not :class:`imager.devices.DeviceError`, a device's fault during a scan.)
    """


def _loaded(*names: str) -> tuple[type[BaseException], ...]:
    """The exception classes ``"module:Class"`` whose modules are already imported.

    An exception of a module never imported cannot have been raised: asking only
    ``sys.modules`` keeps a fast one-line error fast (no NumPy or h5py imported for it).
    """
    found = []
    for name in names:
        module, _, attribute = name.partition(":")
        cls = getattr(sys.modules.get(module), attribute, None)
        if cls is not None:
            found.append(cls)
    return tuple(found)


def _user_error_types() -> tuple[type[BaseException], ...]:
    return (UserError, FileExistsError, *_loaded(
        "imager.recipes.recipe:RecipeError", "reconstruction.errors:ScanFileError",
        "stages.interface:TravelLimitError"))


def _fault_types() -> tuple[type[BaseException], ...]:
    return (TimeoutError, *_loaded(
        "imager.engine.faults:ScanFault", "stages.interface:StageError",
        "imager.devices.interfaces:DeviceError"))


def build_parser() -> argparse.ArgumentParser:
    from imager.cli import acquire, files, hardware, info, plan, resume

    parser = argparse.ArgumentParser(
        prog="mirimager",
        description="Mid-infrared imaging with an upconversion nanocrystal film: acquire "
        "raster scans (simulated lab by default), keep every point on disk, reconstruct images.",
    )
    parser.add_argument("--version", action="version", version=f"mirimager {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    acquire.add_demo(sub)
    acquire.add_scan(sub)
    files.add_reconstruct(sub)
    info.add_info(sub)
    plan.add_plan(sub)
    acquire.add_calibrate(sub)
    hardware.add_devices(sub)
    hardware.add_paper(sub)
    hardware.add_emulate(sub)
    resume.add_resume(sub)
    return parser


#: an output the user chose cannot be written (a folder not writable, a read-only or full disk)
_WRITE_ERRNOS = frozenset({errno.EACCES, errno.EPERM, errno.EROFS, errno.ENOSPC, errno.EDQUOT})


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``mirimager`` console command; returns the exit status.

    Bad input (a recipe, a file, an option, an output that cannot be written or
    already exists) is one line on stderr and exit status 2; a device that cannot be
    opened exit status 1; a scan stopped by a fault exit status 1 (the line says
    whether its file can be resumed). Output piped into a reader that stops early
    (``| head``) ends the command quietly (exit status 1, no traceback).
    """
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        status = int(args.func(args) or 0)
        sys.stdout.flush()  # a closed pipe shows up here, not at interpreter exit
        return status
    except BrokenPipeError:
        _stdout_to_devnull()
        return 1
    except _user_error_types() as exc:
        message = str(exc) if not isinstance(exc, FileExistsError) else (
            f"{_file_named(exc, args)}: file exists; scan files are never overwritten "
            "(choose another -o)"
        )
        return _error(args, message, EXIT_USAGE)
    except LabOpenError as exc:
        return _error(args, str(exc), 1)
    except _fault_types() as exc:
        return _error(args, f"{exc} ({_what_is_kept(_scan_file_of(args))})", 1, "scan stopped")
    except KeyboardInterrupt:
        print(f"mirimager {args.command}: interrupted", file=sys.stderr)
        return 130
    except OSError as exc:
        if exc.errno not in _WRITE_ERRNOS:
            raise
        return _error(args, f"{_file_named(exc, args)}: cannot write: "
                      f"{os.strerror(exc.errno).lower()}", EXIT_USAGE)


def _error(args, message: str, status: int, what: str = "error") -> int:
    print(f"mirimager {args.command}: {what}: {message}", file=sys.stderr)
    return status


def _stdout_to_devnull() -> None:
    """Point stdout at /dev/null, so the interpreter's final flush cannot fail again."""
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
    except (OSError, ValueError):  # stdout is not a file (tests capturing it)
        pass


def _file_named(exc: OSError, args) -> str:
    """The file an OSError is about: the link/rename target, its file name, or the output
    the command chose (a writer's FileExistsError may carry neither)."""
    return str(exc.filename2 or exc.filename or _scan_file_of(args)
               or getattr(args, "output", None) or "output")


def _scan_file_of(args) -> Path | None:
    """The scan file a stopped ``scan``/``demo``/``resume`` wrote into, if it has one."""
    path = getattr(args, "output_path", None)
    if path is None and args.command == "resume":
        path = args.file
    return None if path is None else Path(path)


def _what_is_kept(path: Path | None) -> str:
    """After a fault: whether a scan file holds completed points that resume continues."""
    if path is None or not path.exists():
        return "no scan file was written"
    try:
        import h5py

        with h5py.File(path, "r", locking=False) as f:
            done = f["entry/scan/points"].fields("done")[()].astype(bool)
    except Exception:  # noqa: BLE001 - unreadable or not a scan file: nothing to resume
        return f"{path} holds no completed point"
    if 0 < done.sum() < done.size:
        return (f"{path} keeps every completed point; 'mirimager resume {path}' "
                "continues it")
    return f"{path} holds no completed point" if not done.any() else f"{path} is complete"


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
