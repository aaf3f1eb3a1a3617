"""``mirimager resume``: continue a stopped scan in its own file, from its first missing
point or pattern, after checking (before anything is written) that the file is one the
writer can continue, is not held by a scan still running, and that the image beside it is
one this scan made (or ``--overwrite`` is given)."""

from __future__ import annotations

from pathlib import Path

from imager.cli.acquire import _open_lab, _save_scan_png
from imager.cli.common import PNG_SCAN_KEY, png_text, probe, scan_identity
from imager.cli.main import UserError


def add_resume(sub) -> None:
    p = sub.add_parser(
        "resume", help="continue a stopped scan in its own file",
        description="Continue a scan stopped by Ctrl-C, a fault or a killed process, from its "
        "first missing point (raster) or pattern (single-pixel), with the settings recorded in "
        "the file, writing into the same file. On the simulated lab the resumed data equal an "
        "uninterrupted scan's (noise is seeded per point; the lab clock is restored).",
    )
    p.add_argument("file", metavar="FILE", help="stopped scan file (.h5)")
    p.add_argument("--lab", metavar="LAB.toml",
                   help="lab configuration, for scans taken on hardware")
    p.add_argument("--no-progress", action="store_true", help="no progress bar")
    p.add_argument("--overwrite", action="store_true",
                   help="replace FILE's .png even if this scan did not make it (resume "
                        "replaces the image an earlier run of the same scan wrote without it)")
    p.set_defaults(func=cmd_resume)


def cmd_resume(args) -> int:
    probe(args.file)
    from imager.engine.kinds import KINDS
    from imager.recipes import parse_recipe
    from reconstruction.spifile import scan_kind

    kind = KINDS.get(scan_kind(args.file))
    if kind is None:
        raise UserError(f"{args.file}: a {scan_kind(args.file)} file; only raster and "
                        "single-pixel scans resume")
    scan = kind.load(args.file)
    if scan.exit_status == "success" or scan.points_done == scan.points_total:
        raise UserError(f"{args.file}: nothing to resume ({scan.points_done}/"
                        f"{scan.points_total} done, status {scan.exit_status})")
    recipe = parse_recipe(scan.recipe_toml, str(args.file))
    if scan.lab.get("kind") == "hardware" and args.lab is None:
        raise UserError(f"{args.file}: taken on the hardware lab {scan.lab.get('name')!r}; "
                        "give its configuration with --lab")
    if scan.lab.get("kind") == "simulated" and args.lab is None:
        seed = scan.lab.get("seed", 0)
        if isinstance(seed, bool) or not isinstance(seed, int):
            raise UserError(f"{args.file}: /entry/lab attribute seed is {seed!r}, "
                            "not an integer")
        if recipe.sections["sim"]["seed"] != seed:  # a file written before --seed was kept
            recipe = recipe.with_overrides(f"seed recorded in {args.file}", sim={"seed": seed})
    path, png = Path(args.file), Path(args.file).with_suffix(".png")
    _check_resumable(path, kind, recipe)
    if png.exists() and not (args.overwrite or _made_by(png, path)):
        raise UserError(f"{png}: file exists and is not this scan's image; not overwritten "
                        "(give --overwrite to replace it)")
    print(f"resuming {args.file}: {scan.points_done}/{scan.points_total} done, "
          f"status was {scan.exit_status}")
    with _open_lab(recipe, args.lab) as lab:
        try:
            result = kind.run(lab, recipe, args.file, progress=not args.no_progress, resume=True)
        except BlockingIOError:  # a resume started since the check above holds the file
            raise UserError(f"{args.file}: {_LOCKED}") from None
    report = _save_scan_png(path, png, args.overwrite or _made_by(png, path))
    print(f"status:    {result.exit_status}, {result.points_done}/{scan.points_total} done; "
          + (f"image {png}" if report is not None else "no image yet"))
    print(report or "", end="")
    return 0 if result.exit_status == "success" else 130


_LOCKED = "the scan is still running (file locked by another process)"


def _made_by(png: Path, scan_path: Path) -> bool:
    """True if ``png`` is the image an earlier run of this scan wrote (its PNG text names
    the scan and its start time): resume may replace it."""
    return png.exists() and png_text(png).get(PNG_SCAN_KEY) == scan_identity(scan_path)


def _check_resumable(path: Path, kind, recipe) -> None:
    """Refuse (one line, file untouched) a stopped scan whose tables are not the ones the
    writer appends to, before anything is written: a damaged or hand-edited file must not
    be half-resumed (e.g. a point table of another shape, a missing X_V)."""
    import os

    from imager.engine.kinds import kind_of
    from reconstruction.errors import ScanFileError

    runs = kind_of(recipe)
    if runs is None or runs.name != kind.name:
        raise UserError(f"{path}: a {kind.name} scan, but its stored recipe makes a "
                        f"{runs.name if runs else recipe.kind!r} scan")
    sizes = kind.sizes(recipe)
    if not os.access(path, os.W_OK):
        raise UserError(f"{path}: not writable; resume continues a scan in its own file")
    _check_not_locked(path)
    try:
        problem = _resume_problem(path, kind.name, sizes)
    except ScanFileError as exc:  # a broken link where a table should be, ...
        problem = str(exc).removeprefix(f"{path}: ")
    except (OSError, KeyError, RuntimeError, TypeError, ValueError) as exc:
        problem = f"unreadable ({' '.join(str(exc).split()) or type(exc).__name__})"
    if problem is not None:
        raise UserError(f"{path}: cannot resume: {problem}")


def _check_not_locked(path: Path) -> None:
    """UserError if another process has the file open for writing (a scan still running,
    or another resume): HDF5 then refuses even a locking reader."""
    import h5py

    try:
        h5py.File(path, "r").close()
    except BlockingIOError:
        raise UserError(f"{path}: {_LOCKED}") from None
    except OSError:  # a file system without locks: the writer finds out itself
        pass


def _resume_problem(path: Path, kind: str, sizes: dict[str, int]) -> str | None:
    """What stops the writer from continuing ``path`` (None: nothing): the scan-file
    schema's check (`reconstruction.schema.resume_problem`, which the writer's ``reopen``
    runs too), against the tables the stored recipe plans (``sizes``)."""
    import h5py

    from reconstruction.schema import layout_of, resume_problem

    with h5py.File(path, "r", locking=False) as f:
        return resume_problem(f, layout_of(kind), sizes, path)
