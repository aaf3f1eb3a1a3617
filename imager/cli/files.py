"""Sub-commands on scan files, no hardware needed: reconstruct (info: `imager.cli.info`)."""

from __future__ import annotations

from pathlib import Path

from imager.cli import spectra, spectral_files
from imager.cli.common import (
    check_can_create,
    check_not_there,
    format_metrics,
    new_file,
    probe,
)
from imager.cli.main import UserError


def add_reconstruct(sub) -> None:
    p = sub.add_parser(
        "reconstruct", help="image from a scan file (no hardware needed)",
        description="Assemble the image from a scan file (also a partial one: unmeasured "
        "pixels grey), correct and export PNG (scale bar, colour bar) and float32 TIFF. "
        "Prints PSNR/SSIM/correlation against the truth for simulated scans. A single-pixel "
        "file also gets the image stored in it (a new NXprocess, the file's default plot; "
        "see --no-store). Several files, or a folder (its *.h5), reconstruct as a batch on "
        "dask workers: a local cluster (--workers) or a running one (--scheduler); a file "
        "that fails is named and skipped, exit status 1 (docs/batch.md).",
    )
    p.add_argument("file", metavar="FILE", nargs="+",
                   help="scan file (.h5); several files or folders: a batch")
    p.add_argument("-o", "--output", metavar="OUT", required=True,
                   help="OUT.png, OUT.tif, or a name/folder for both; a batch: a folder, "
                        "OUT/NAME.png and OUT/NAME.tif per file NAME.h5 (made if missing)")
    p.add_argument("--workers", metavar="N", type=int, default=None,
                   help="batch: worker processes of the local dask cluster, one BLAS thread "
                        "each (default: one per file, at most one per CPU core; with one "
                        "FILE it makes a batch of one)")
    p.add_argument("--scheduler", metavar="tcp://HOST:PORT", default=None,
                   help="batch: run on this running dask scheduler and its workers instead "
                        "(the files at the same paths on the workers)")
    p.add_argument("--no-progress", action="store_true", help="batch: no progress bar")
    p.add_argument("--snake", choices=("auto", "on", "off"), default="auto",
                   help="snake lag correction (default auto: for snake scans)")
    p.add_argument("--background", choices=("none", "plane", "median", "percentile"),
                   default="none", help="background subtraction (default none)")
    p.add_argument("--flat", metavar="REF.h5", help="flat-field by this reference scan")
    p.add_argument("--calibration", metavar="CAL.h5",
                   help="show MIR intensity (nW/um^2) with this calibration (default: the one "
                        "stored in the scan file, if any); spectral scans: intensity per "
                        "wavelength (W/um^2), interpolated over its spectral sweeps")
    p.add_argument("--method",
                   choices=("pinv", "tikhonov", "tv", "wavelet", "cvxpy-tv", "pnp-nlm"),
                   default="tv", help="single-pixel files: solver (default tv, total variation "
                   "constrained by the noise estimated from the pattern pairs; pnp-nlm: TV, "
                   "then plug-and-play with non-local means, keeps repeated structure such as "
                   "chart bars, ~0.5 s at 128^2, needs scikit-image)")
    p.add_argument("--ratio", type=float, default=None,
                   help="single-pixel files: use only the first RATIO*n^2 measurements "
                        "(a shorter acquisition), in (0, measured ratio]")
    p.add_argument("--overwrite", action="store_true",
                   help="replace existing OUT.png/OUT.tif (without it the command refuses "
                        "before computing anything)")
    p.add_argument("--no-reference", action="store_true",
                   help="single-pixel files: do not divide the readings by the MIR reference "
                        "channel's (by default a scan that recorded one is normalised by it)")
    p.add_argument("--no-store", action="store_true",
                   help="single-pixel and spectral files: do not store the result in the "
                        "scan file (by default an image is added as a new "
                        "/entry/reconstruction_K, NXprocess with NXdata, and made the file's "
                        "default plot; a spectral analysis as /entry/spectral_analysis_K, the "
                        "cube staying the default plot; nothing in the file is overwritten)")
    spectra.add_options(p)
    p.set_defaults(func=cmd_reconstruct)


def cmd_reconstruct(args) -> int:
    if isinstance(args.file, list):  # from the parser: one FILE is reconstructed as before
        if len(args.file) > 1 or args.workers is not None or args.scheduler is not None \
                or Path(args.file[0]).is_dir():
            spectra.refuse_batch(args)
            return _reconstruct_batch(args)
        args.file = args.file[0]
    for path in (args.file, args.flat, args.calibration):
        probe(path)
    from reconstruction.spifile import scan_kind

    if spectra.applies(args):  # a spectral scan: material maps and spectra
        return spectra.cmd_spectra(args)
    if scan_kind(args.file) == "spectral_single_pixel":  # the image at every wavelength
        return spectral_files.cmd_cube(args)
    from reconstruction import load_raster, reconstruct_raster
    from reconstruction.raster import load_flat

    for _, target in _output_targets(args):  # before any work: nothing is overwritten
        check_not_there(target, args.overwrite)
        check_can_create(target)
    if scan_kind(args.file) == "single_pixel":
        return _reconstruct_single_pixel(args)
    scan = load_raster(args.file)
    flat = None
    if args.flat:
        try:
            flat = load_flat(scan, args.flat)
        except ValueError as exc:
            raise UserError(f"--flat: {exc}") from None
    snake = {"auto": "auto", "on": True, "off": False}[args.snake]
    background = None if args.background == "none" else args.background
    rec = reconstruct_raster(scan, snake_correction=snake, background=background, flat=flat)
    image, label = _calibrated(rec.image, scan, args.calibration)
    _write_outputs(args, scan, rec, image, label)
    print(f"points: {scan.points_done}/{scan.points_total} measured, status {scan.exit_status}")
    if rec.lag_px:
        print(f"snake lag corrected: {rec.lag_px:+.3f} px")
    if rec.metrics:
        print("vs truth: " + format_metrics(rec.metrics))
    return 0


def _reconstruct_single_pixel(args) -> int:
    from reconstruction.spifile import load_single_pixel, reconstruct_single_pixel

    scan = load_single_pixel(args.file)
    try:
        rec = reconstruct_single_pixel(scan, args.method, ratio=args.ratio,
                                       reference=not args.no_reference)
    except ValueError as exc:
        message = " ".join(str(exc).split())
        if message.startswith("ratio must be"):
            raise UserError(f"--ratio: {message}") from None
        if not message.startswith(str(scan.path)):
            message = f"{args.file}: {message}"
        raise UserError(message) from None
    image, label = _calibrated(rec.image, scan, args.calibration)
    _write_outputs(args, scan, rec, image, label)
    print(f"patterns: {scan.points_done}/{scan.points_total} measured, status {scan.exit_status}")
    if rec.solver.get("reference_normalised"):
        print("readings divided by the MIR reference channel's (normalised to its mean)")
    print(f"method {rec.method}: {rec.measurements} measurements (ratio {rec.ratio:.3g}) of "
          f"{scan.basis_spec['kind']} {scan.basis_spec['size']}x{scan.basis_spec['size']}")
    if rec.metrics:
        print("vs truth: " + format_metrics(rec.metrics))
    if args.no_store:
        return 0
    from imager import __version__
    from reconstruction.errors import ScanFileError
    from reconstruction.nxprocess import store_reconstruction

    try:  # after the PNG/TIFF: a file that cannot take it still gets its images
        where = store_reconstruction(args.file, rec, scan, version=__version__)
    except ScanFileError as exc:
        raise UserError(f"{exc} (image files written; --no-store skips storing)") from None
    print(f"stored:   {where} in {args.file} (its default plot)")
    return 0


def _reconstruct_batch(args) -> int:
    """Several files or a folder: one dask task per file (reconstruction/batch.py)."""
    import os
    import sys
    import time

    from reconstruction.batch import BatchError, collect_items, planned_outputs, reconstruct_batch

    if args.workers is not None and args.workers < 1:
        raise UserError(f"--workers: must be an integer >= 1, got {args.workers}")
    if args.workers is not None and args.scheduler is not None:
        raise UserError("--workers: sizes the local cluster; a --scheduler's cluster has "
                        "its own workers (give one of them)")
    if args.ratio is not None and not args.ratio > 0:
        raise UserError(f"--ratio: must be > 0, got {args.ratio:g}")
    out = Path(args.output)
    if out.suffix.lower() in (".png", ".tif", ".tiff") or (out.exists() and not out.is_dir()):
        raise UserError(f"-o {args.output}: a batch needs a folder for its images "
                        "(OUT/NAME.png, OUT/NAME.tif per file)")
    try:  # before any work: nothing is overwritten, no two files write the same image
        items = collect_items(args.file)
        targets = planned_outputs(items, out)
    except BatchError as exc:
        raise UserError(str(exc)) from None
    for path in (args.flat, args.calibration):
        probe(path)
    if args.calibration:
        _calibrated(0.0, None, args.calibration)  # a bad calibration: one line, exit 2
    for target in targets:
        check_not_there(target, args.overwrite)
    check_can_create(out / "x.png", str(out))
    from tqdm import tqdm

    from imager.cli.probe import probe_scan_file

    workers = args.workers or min(len(items), os.cpu_count() or 1)
    where = (f"scheduler {args.scheduler}" if args.scheduler else
             f"local cluster of {workers} worker{'s' * (workers > 1)}")
    bars: list = []  # shown once the cluster is up (a bad --scheduler: one line, no bar)

    def bar(_=None):
        if not bars:
            bars.append(tqdm(total=len(items), unit="file", desc="reconstruct",
                             file=sys.stderr, disable=args.no_progress, dynamic_ncols=True))
        return bars[0]

    def progress(result) -> None:
        bar().update(1)
        if not result.ok:
            bar().write(f"failed: {result.message}", file=sys.stderr)

    start = time.perf_counter()
    try:
        results = reconstruct_batch(
            items, method=args.method, out_dir=out, scheduler=args.scheduler,
            workers=None if args.scheduler else workers, progress=progress, on_ready=bar,
            check=probe_scan_file, ratio=args.ratio, reference=not args.no_reference,
            store=not args.no_store, overwrite=args.overwrite,
            snake={"auto": "auto", "on": True, "off": False}[args.snake],
            background=None if args.background == "none" else args.background,
            flat=args.flat and os.path.abspath(args.flat),
            calibration=args.calibration and os.path.abspath(args.calibration))
    except BatchError as exc:
        raise UserError(str(exc)) from None
    finally:
        for shown in bars:
            shown.close()
    for result in results:
        if result.ok:
            print(f"{result.path}: {result.message}")
    failed = [r.path for r in results if not r.ok]
    print(f"reconstructed {len(results) - len(failed)} of {len(results)} files in "
          f"{time.perf_counter() - start:.1f} s ({where})")
    if failed:
        print(f"mirimager reconstruct: {len(failed)} file{'s' * (len(failed) > 1)} failed "
              f"(skipped): {', '.join(failed)}", file=sys.stderr)
    return 1 if failed else 0


def _output_targets(args) -> list[tuple[str, Path]]:
    """``[(kind, path)]`` that ``reconstruct -o OUT`` writes: OUT.png, OUT.tif, or both."""
    out = Path(args.output)
    suffix = out.suffix.lower()
    if suffix == ".png":
        return [("png", out)]
    if suffix in (".tif", ".tiff"):
        return [("tiff", out)]
    if out.is_dir() or args.output.endswith(("/", "\\")):
        out = out / Path(args.file).stem
    return [("png", out.with_name(out.name + ".png")),
            ("tiff", out.with_name(out.name + ".tif"))]


def _calibrated(image, scan, calibration_path: str | None):
    """Image in nW/um^2 when a calibration is given or stored, else volts."""
    from reconstruction.calibration import load_calibration, responsivity_from_attrs

    if calibration_path is not None:
        try:
            fit, _ = load_calibration(calibration_path)
        except ValueError as exc:
            raise UserError(f"--calibration: {exc}") from None
    elif scan.calibration:
        try:
            fit = responsivity_from_attrs(scan.calibration)
        except ValueError as exc:
            raise UserError(f"{scan.path}: /entry/calibration: {exc}") from None
    else:
        return image, "lock-in X (V)"
    return fit.to_W_per_um2(image) * 1e9, "MIR intensity (nW/µm²)"


def _write_outputs(args, scan, rec, image, label) -> None:
    from reconstruction import save_png, save_tiff
    from reconstruction.export import image_title

    for kind, target in _output_targets(args):
        try:
            target.parent.mkdir(parents=True, exist_ok=True)
            with new_file(target, overwrite=args.overwrite) as tmp:
                if kind == "png":
                    save_png(tmp, image, rec.x_um, rec.y_um, units_label=label,
                             title=image_title(Path(args.file).name, scan, rec))
                else:
                    save_tiff(tmp, image, rec.x_um, rec.y_um)
        except ValueError as exc:  # e.g. pixel coordinates too large to draw
            raise UserError(f"{args.file}: cannot write {target}: {exc}") from None
        except FileExistsError:  # created by someone else while this one computed
            raise UserError(f"{target}: file exists; not overwritten (give --overwrite to "
                            "replace it, or choose another output)") from None
        except OSError as exc:
            raise UserError(f"{target}: cannot write: {exc.strerror or exc}") from None
        print(f"{kind}: {target}" + (f" (values: {label})" if kind == "tiff" else ""))
