"""``mirimager``: argument parsing, dispatch, and one-line errors with exit status 2."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence

from imager import __version__

EXIT_USAGE = 2


class UserError(Exception):
    """Bad input from the user: printed as one line, exit status 2."""


class DeviceError(Exception):
    """A device could not be opened or did not answer: one line, exit status 1."""


def _user_error_types() -> tuple[type[BaseException], ...]:
    from imager.recipes import RecipeError
    from reconstruction import ScanFileError
    from stages import TravelLimitError

    return (UserError, RecipeError, ScanFileError, TravelLimitError, FileExistsError)


def _fault_types() -> tuple[type[BaseException], ...]:
    from imager.devices import DeviceError as InstrumentFault
    from imager.engine.faults import ScanFault
    from stages import StageError

    return (ScanFault, StageError, InstrumentFault, TimeoutError)


def build_parser() -> argparse.ArgumentParser:
    from imager.cli import acquire, files, hardware

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
    files.add_info(sub)
    acquire.add_calibrate(sub)
    hardware.add_devices(sub)
    hardware.add_paper(sub)
    hardware.add_emulate(sub)
    acquire.add_resume(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``mirimager`` console command; returns the exit status."""
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        return int(args.func(args) or 0)
    except _user_error_types() as exc:
        message = str(exc) if not isinstance(exc, FileExistsError) else (
            f"{exc.filename}: file exists; scan files are never overwritten (choose another -o)"
        )
        print(f"mirimager {args.command}: error: {message}", file=sys.stderr)
        return EXIT_USAGE
    except DeviceError as exc:
        print(f"mirimager {args.command}: error: {exc}", file=sys.stderr)
        return 1
    except _fault_types() as exc:
        print(f"mirimager {args.command}: scan stopped: {exc} (the file keeps every completed "
              "point; 'mirimager resume FILE' continues it)", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print(f"mirimager {args.command}: interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
