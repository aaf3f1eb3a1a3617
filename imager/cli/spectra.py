"""``mirimager reconstruct FILE --spectra``: material maps and spectra of a spectral scan.

The options are added to ``reconstruct`` by :func:`add_options`; ``files.cmd_reconstruct``
hands a spectral file (or any file given with ``--spectra``) to :func:`cmd_spectra`. Every
check of the user's input (options, files, outputs) is made before anything is computed
or written; a bad one is one line naming the option and what it allows, exit status 2.
"""

from __future__ import annotations

import math
import warnings
from pathlib import Path

from imager.cli.common import check_can_create, check_not_there, new_file, probe
from imager.cli.main import UserError

#: The options only a spectral analysis takes: (attribute, option).
SPECTRAL_OPTIONS = (("reference", "--reference"), ("library", "--library"),
                    ("pixel", "--pixel"), ("region", "--region"), ("band", "--band"),
                    ("tiff", "--tiff"), ("csv", "--csv"))
#: Options of raster and single-pixel files a spectral analysis does not take.
OTHER_OPTIONS = (("flat", "--flat"), ("ratio", "--ratio"), ("no_reference", "--no-reference"))


def add_options(p) -> None:
    """Add ``--spectra`` and its companions to the ``reconstruct`` parser ``p``."""
    g = p.add_argument_group("spectral scans (kind \"spectral\")")
    g.add_argument("--spectra", action="store_true",
                   help="analyse a spectral scan (also the default for one): calibrate the "
                        "cube, unmix every pixel against reference spectra into material "
                        "maps, print a table, write OUT.png (map, spectra per material) and "
                        "store the analysis in the file (/entry/spectral_analysis_K)")
    g.add_argument("--reference", metavar="REF.h5",
                   help="spectral scan of the same grid and wavelengths without sample: "
                        "the cube is divided by it (transmittance). Default: divided by the "
                        "scan's blank-spot readings (relative transmittance, with the MIR "
                        "beam profile relative to the blank spot)")
    g.add_argument("--library", metavar="builtin|file|CSV", default="builtin",
                   help="reference spectra: builtin (polymer library at the scan's "
                        "wavelengths, default), file (the material spectra a simulated scan "
                        "stores), or a CSV file (header row wavelength_um,NAME,...; rows of "
                        "numbers; interpolated)")
    g.add_argument("--pixel", metavar="X_UM,Y_UM", action="append",
                   help="also show the spectrum at this point (nearest pixel); repeatable; "
                        "negative values as --pixel=-5,10")
    g.add_argument("--region", metavar="X0,X1,Y0,Y1",
                   help="also show the mean spectrum over this rectangle (um)")
    g.add_argument("--band", metavar="LO_UM:HI_UM", action="append",
                   help="also show the mean image over these wavelengths; repeatable")
    g.add_argument("--tiff", action="store_true",
                   help="also write OUT_cube.tif (float32 stack, one page per wavelength) "
                        "and OUT_maps.tif (one page per material)")
    g.add_argument("--csv", action="store_true",
                   help="also write OUT_spectra.csv (x_um, y_um, one column per wavelength)")


def refuse_batch(args) -> None:
    """A batch (several files or a folder) does not take the spectral options."""
    for attribute, option in (("spectra", "--spectra"), *SPECTRAL_OPTIONS):
        if getattr(args, attribute, None) not in (None, False, "builtin"):
            raise UserError(f"{option}: analyses one spectral FILE at a time, not a batch")


def applies(args) -> bool:
    """Whether ``reconstruct`` hands this file to :func:`cmd_spectra` (a spectral scan);
    UserError for spectral options on another kind of file."""
    from reconstruction.spifile import scan_kind

    kind = scan_kind(args.file)
    if kind == "spectral":
        return True
    if kind == "spectral_single_pixel":  # its cube first (spectral_files.cmd_cube)
        for attribute, option in SPECTRAL_OPTIONS:
            if attribute != "library" and getattr(args, attribute) not in (None, False):
                raise UserError(f"{option}: not for spectral single-pixel scans (their "
                                "--spectra takes --library only)")
        return False
    if args.spectra:
        raise UserError(f"--spectra: {args.file} is a {kind!r} scan; --spectra needs a "
                        "spectral scan (kind 'spectral')")
    for attribute, option in SPECTRAL_OPTIONS:
        if getattr(args, attribute) not in (None, False, "builtin"):
            raise UserError(f"{option}: only for spectral scans; {args.file} is a {kind!r} "
                            "scan")
    return False


def _numbers(text: str, count: int, sep: str, option: str, form: str) -> list[float]:
    parts = text.split(sep)
    try:
        values = [float(v) for v in parts]
    except ValueError:
        values = []
    if len(values) != count or len(parts) != count or not all(map(math.isfinite, values)):
        raise UserError(f"{option}: {text!r} is not {form} ({count} finite numbers "
                        f"separated by {sep!r})")
    return values


def _outputs(args) -> dict[str, Path]:
    out = Path(args.output)
    if out.is_dir() or args.output.endswith(("/", "\\")):
        base = out / Path(args.file).stem
    elif out.suffix.lower() in (".png", ".tif", ".tiff", ".csv", ".npy"):
        base = out.with_suffix("")
    else:
        base = out
    targets = {"png": base.with_name(base.name + ".png")}
    if args.tiff:
        targets["cube"] = base.with_name(base.name + "_cube.tif")
        targets["maps"] = base.with_name(base.name + "_maps.tif")
    if args.csv:
        targets["csv"] = base.with_name(base.name + "_spectra.csv")
    return targets


def _check_input(args) -> tuple[list, list | None, list]:
    """The parsed --pixel, --region and --band values; the other options' checks."""
    for attribute, option in OTHER_OPTIONS:
        if getattr(args, attribute, None) not in (None, False):
            raise UserError(f"{option}: not for spectral scans ({args.file} is one)")
    if getattr(args, "background", "none") != "none":
        raise UserError("--background: not for spectral scans (the unmixing fits a scale "
                        "per pixel)")
    pixels = [_numbers(p, 2, ",", "--pixel", "X_UM,Y_UM") for p in args.pixel or []]
    region = args.region and _numbers(args.region, 4, ",", "--region", "X0,X1,Y0,Y1")
    bands = [_numbers(b, 2, ":", "--band", "LO_UM:HI_UM") for b in args.band or []]
    if args.reference and args.calibration:
        raise UserError("--calibration: not used with --reference (the responsivity cancels "
                        "in the transmittance); give one of them")
    if args.library not in ("builtin", "file") and not Path(args.library).is_file():
        raise UserError(f"--library: {args.library!r} is not builtin, file or an existing "
                        "CSV file")
    if args.reference:
        from reconstruction.errors import ScanFileError

        try:
            probe(args.reference)
        except (UserError, ScanFileError) as exc:
            raise UserError(f"--reference: {exc}") from None
    for target in _outputs(args).values():
        check_not_there(target, args.overwrite)
        check_can_create(target)
    return pixels, region or None, bands


def _calibrated(args, cube):
    import numpy as np

    from reconstruction.errors import ScanFileError
    from reconstruction.spectral import calibrate as cal

    if args.reference:
        try:
            reference = _load_reference(args.reference)
            return cal.transmittance(cube, reference)
        except (ScanFileError, ValueError) as exc:
            raise UserError(f"--reference: {exc}") from None
    responsivity, option = None, "--calibration: "
    try:
        if args.calibration:
            responsivity = cal.load_spectral_responsivity(args.calibration)
        elif cube.blank_X_V is None or not np.isfinite(cube.blank_X_V).any():
            option = ""  # the stored calibration: its errors name the file and group
            responsivity = cal.responsivity_of_scan(cube)
        with warnings.catch_warnings():  # its notes say it
            warnings.simplefilter("ignore", UserWarning)
            return cal.calibrate(cube, responsivity=responsivity)
    except (ScanFileError, ValueError) as exc:
        raise UserError(f"{option}{exc}") from None


def _load_reference(path: str):
    from reconstruction.spectral.cube import load_cube

    return load_cube(path)


def _check_ranges(cube, pixels, region, bands) -> None:
    from reconstruction.spectral.analysis import nearest_pixel, rectangle_mask

    for x, y in pixels:
        try:
            nearest_pixel(cube.x_um, cube.y_um, x, y)
        except ValueError as exc:
            raise UserError(f"--pixel: {exc}") from None
    if region is not None:
        try:
            rectangle_mask(cube.x_um, cube.y_um, *region)
        except ValueError as exc:
            raise UserError(f"--region: {exc}") from None
    w = cube.wavelength_um
    for lo, hi in bands:
        if not ((w >= min(lo, hi) - 1e-9) & (w <= max(lo, hi) + 1e-9)).any():
            listed = ", ".join(f"{v:g}" for v in sorted(w)) if w.size <= 12 else \
                f"{w.size} of them, {w.min():g} to {w.max():g}"
            raise UserError(f"--band: {lo:g}:{hi:g} um holds none of the scan's wavelengths "
                            f"({listed} um)")


def cmd_spectra(args) -> int:
    """Analyse a spectral scan (``mirimager reconstruct FILE --spectra``)."""
    pixels, region, bands = _check_input(args)
    import numpy as np

    from reconstruction.spectral.cube import load_cube

    cube = load_cube(args.file)
    _check_ranges(cube, pixels, region, bands)
    with np.errstate(all="ignore"), warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # NaN/inf in a damaged file's data
        return _analyse(args, cube, pixels, region, bands)


def _analyse(args, cube, pixels, region, bands) -> int:
    from reconstruction.spectral import analysis as an
    from reconstruction.spectral.unmix import analyse, reference_spectra

    cal = _calibrated(args, cube)
    try:
        names, refs = reference_spectra(cube.wavelength_um, args.library, cube)
    except ValueError as exc:
        raise UserError(f"--library: {exc}") from None
    from reconstruction.spectral.calibrate import noise_V, spectral_shape

    values, sigma = spectral_shape(cal)
    common = cal.common_rel
    result = analyse(values, sigma, names, refs, args.library, cube.labels,
                     cube.material_names, cube.material_transmission, common)
    points, markers = [], []
    for k, (x, y) in enumerate(pixels, start=1):
        spectrum, (ix, iy) = an.pixel_spectrum(values, sigma, cube.x_um, cube.y_um, x, y,
                                               common)
        label = f"P{k} ({cube.x_um[ix]:g}, {cube.y_um[iy]:g}) µm"
        points.append((label, spectrum))
        markers.append((f"P{k}", float(cube.x_um[ix]), float(cube.y_um[iy])))
    if region is not None:
        mask = an.rectangle_mask(cube.x_um, cube.y_um, *region)
        points.append((f"region ({int(mask.sum())} px)",
                       an.region_spectrum(values, sigma, mask, common)))
    band_images = [(f"{lo:g}-{hi:g} µm", an.band_image(values, cube.wavelength_um, lo, hi)[0])
                   for lo, hi in bands]
    _report(cube, cal, result, noise_V(cube))
    if points:
        _print_spectra(cube.wavelength_um, points)
    _write(args, cube, cal, result, points, band_images, markers)
    if args.no_store:
        return 0
    from imager import __version__
    from reconstruction.errors import ScanFileError
    from reconstruction.spectral.export import store_analysis

    try:
        where = store_analysis(args.file, result, cal, version=__version__)
    except ScanFileError as exc:
        raise UserError(f"{exc} (outputs written; --no-store skips storing)") from None
    print(f"stored:   {where} in {args.file} (the cube stays the default plot)")
    return 0


def _report(cube, cal, result, noise) -> None:
    nw, ny, nx = cube.shape
    w = cube.wavelength_um
    print(f"cube:     {nw} wavelengths {w.min():g}-{w.max():g} um x {ny}x{nx} pixels, "
          f"{cube.points_done}/{cube.points_total} readings, status {cube.exit_status}")
    finite = noise[noise == noise]
    noise_text = f"; lock-in noise {float(finite.mean()):.3g} V per reading (from Y)" \
        if finite.size else ""
    print(f"values:   {cal.kind} (units {cal.units}){noise_text}")
    for note in cal.notes:
        print(f"note:     {note}")
    u = result.unmixing
    print(f"unmixing: {u.method}; {len(u.names)} materials ({result.library} library), "
          f"{u.seconds:.3f} s")
    classified = max(int((result.labels >= 0).sum()), 1)
    truth = result.correlation is not None
    print(f"{'material':<16}{'pixels':>8}{'fraction':>10}" + (f"{'corr. vs truth':>16}"
                                                              if truth else ""))
    for k, name in enumerate(u.names):
        line = f"{name:<16}{result.counts[k]:>8}{result.counts[k] / classified:>10.3f}"
        if truth:
            c = result.correlation[k]
            line += f"{c:>16.4f}" if c == c else f"{'n/a':>16}"
        print(line)
    if result.score is not None:
        print(f"vs truth: {100 * result.score:.1f} % of pixels classified as the truth")
        if truth and (result.correlation != result.correlation).any():
            print("          (n/a: no truth spectrum of that name, or it is flat)")


def _print_spectra(wavelength_um, points) -> None:
    print("wavelength_um  " + "  ".join(f"{label.replace('µm', 'um'):>24}"
                                        for label, _ in points))
    for i in sorted(range(len(wavelength_um)), key=lambda i: wavelength_um[i]):
        print(f"{wavelength_um[i]:<13g}  " + "  ".join(
            f"{s.values[i]:>11.4g} ± {s.sigma[i]:<10.2g}" for _, s in points))


def _write(args, cube, cal, result, points, band_images, markers) -> None:
    from reconstruction.spectral import export
    from reconstruction.spectral.plot import save_figure

    title = (f"{Path(args.file).name} ({cube.exit_status}) · {cal.kind} · "
             f"{result.library} library · {cube.shape[0]} wavelengths "
             f"{cube.wavelength_um.min():g}-{cube.wavelength_um.max():g} µm")
    writers = {
        "png": lambda p: save_figure(p, cal, result, title=title, points=points,
                                     bands=band_images, markers=markers),
        "cube": lambda p: export.save_cube_tiff(p, cal.values, cal.wavelength_um, cal.x_um,
                                                cal.y_um, kind=cal.kind, units=cal.units),
        "maps": lambda p: export.save_maps_tiff(p, result.unmixing.fractions,
                                                result.unmixing.names, cal.x_um, cal.y_um),
        "csv": lambda p: export.save_spectra(p, cal.values, cal.x_um, cal.y_um,
                                             cal.wavelength_um)}
    for kind, target in _outputs(args).items():
        try:
            target.parent.mkdir(parents=True, exist_ok=True)
            with new_file(target, overwrite=args.overwrite) as tmp:
                writers[kind](tmp)
        except ValueError as exc:
            raise UserError(f"{args.file}: cannot write {target}: {exc}") from None
        except FileExistsError:
            raise UserError(f"{target}: file exists; not overwritten (give --overwrite to "
                            "replace it, or choose another output)") from None
        except OSError as exc:
            raise UserError(f"{target}: cannot write: {exc.strerror or exc}") from None
        print(f"{kind + ':':<10}{target}")
