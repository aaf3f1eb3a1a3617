"""Spectral scan files in the CLI: the PNG a spectral scan leaves, ``reconstruct`` of a
spectral single-pixel file (its cube), and what ``info`` says of spectral files.

``mirimager reconstruct`` hands a spectral raster to :mod:`imager.cli.spectra` (material
maps and spectra) and a spectral single-pixel file to :func:`cmd_cube` here: every
wavelength's image is solved (here, or one task per wavelength on dask with
``--workers``/``--scheduler``), the cube is stored in the file as an NXprocess (its
default plot) and drawn as one PNG; ``--tiff`` adds a float32 stack.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from imager.cli.common import check_can_create, check_not_there, new_file
from imager.cli.main import UserError

SPECTRAL_KINDS = ("spectral", "spectral_single_pixel")


def scan_png(scan_path: Path, png: Path, metadata: dict[str, str] | None = None) -> None:
    """The PNG ``mirimager scan`` leaves for a spectral scan: the material maps and spectra
    of a spectral raster (default analysis), or every wavelength's TV image of a spectral
    single-pixel scan. Prints what the analysis found (vs the truth when simulated)."""
    import numpy as np

    from reconstruction.spifile import scan_kind

    if scan_kind(scan_path) == "spectral_single_pixel":
        from reconstruction.spectral.plot import save_cube_montage
        from reconstruction.spectral.singlepixel import (
            load_spectral_single_pixel,
            reconstruct_cube,
        )

        scan = load_spectral_single_pixel(scan_path)
        if not np.isfinite(scan.raw_V[:, :2]).all():
            return
        images = reconstruct_cube(scan, "tv")
        save_cube_montage(png, images.cube, images.wavelengths_um, images.x_um, images.y_um,
                          title=f"{scan_path.name} ({scan.exit_status}) · single-pixel, tv",
                          metadata=metadata)
        return
    from reconstruction.spectral.cube import load_cube
    from reconstruction.spectral.plot import save_figure
    from reconstruction.spectral.unmix import analyse_cube

    cube = load_cube(scan_path)
    if not cube.measured.any():
        return
    cal, result = analyse_cube(cube)
    title = (f"{scan_path.name} ({cube.exit_status}) · {cal.kind} · builtin library · "
             f"{cube.shape[0]} wavelengths {cube.wavelength_um.min():g}-"
             f"{cube.wavelength_um.max():g} µm")
    save_figure(png, cal, result, title=title, metadata=metadata)
    if result.score is not None:
        corr = ", ".join(f"{n} {c:.3f}" for n, c in zip(result.unmixing.names,
                                                         result.correlation, strict=True)
                         if c == c)
        print(f"vs truth:  {100 * result.score:.1f} % of pixels classified as the chart's "
              f"material; spectra correlation {corr}")


def cmd_cube(args) -> int:
    """``mirimager reconstruct FILE -o OUT`` of a spectral single-pixel file."""
    from reconstruction.spectral.singlepixel import load_spectral_single_pixel, reconstruct_cube

    out = Path(args.output)
    if out.is_dir() or args.output.endswith(("/", "\\")):
        out = out / Path(args.file).stem
    base = out.with_suffix("") if out.suffix.lower() in (".png", ".tif", ".tiff") else out
    targets = {"png": base.with_name(base.name + ".png")}
    if getattr(args, "tiff", False):
        targets["tiff"] = base.with_name(base.name + "_cube.tif")
    if args.spectra:
        targets["spectra"] = base.with_name(base.name + "_spectra.png")
    for target in targets.values():
        check_not_there(target, args.overwrite)
        check_can_create(target)
    scan = load_spectral_single_pixel(args.file)
    try:
        images = reconstruct_cube(scan, args.method, ratio=args.ratio)
    except ValueError as exc:
        message = " ".join(str(exc).split())
        if message.startswith("ratio must be"):
            raise UserError(f"--ratio: {message}") from None
        raise UserError(f"{args.file}: {message}") from None
    analysis = _analyse(scan, images, args) if args.spectra else None
    _write(targets, images, scan, args, analysis)
    w = images.wavelengths_um
    print(f"cube:     {w.size} wavelengths {w.min():g}-{w.max():g} um x "
          f"{images.cube.shape[1]}x{images.cube.shape[2]} pixels, {images.method}, "
          f"{scan.points_done}/{scan.points_total} readings, status {scan.exit_status}")
    metrics = [im.metrics for im in images.images if im.metrics]
    if metrics:
        psnr = [m["psnr_dB"] for m in metrics if "psnr_dB" in m]
        if psnr:
            print(f"vs truth: PSNR {min(psnr):.1f}-{max(psnr):.1f} dB over the wavelengths")
    if args.no_store:
        return 0
    from reconstruction.errors import ScanFileError
    from reconstruction.spectral.export import store_analysis
    from reconstruction.spectral.store_cube import store_cube

    try:
        where = store_cube(args.file, images, scan)
        print(f"stored:   {where} in {args.file} (the file's default plot)")
        if analysis is not None:
            where = store_analysis(args.file, analysis[1], analysis[0])
            print(f"stored:   {where} in {args.file}")
    except ScanFileError as exc:
        raise UserError(f"{exc} (outputs written; --no-store skips storing)") from None
    return 0


def _analyse(scan: Any, images: Any, args) -> tuple[Any, Any]:
    """``--spectra``: material maps of the cube; prints the table."""
    from reconstruction.spectral.singlepixel import analyse_images

    try:
        cal, result = analyse_images(scan, images, args.library)
    except ValueError as exc:
        raise UserError(f"--library: {exc}") from None
    for note in cal.notes:
        print(f"note:     {note}")
    print(f"{'material':<16}{'pixels':>8}" + (f"{'corr. vs truth':>16}"
                                              if result.correlation is not None else ""))
    for k, name in enumerate(result.unmixing.names):
        line = f"{name:<16}{result.counts[k]:>8}"
        if result.correlation is not None:
            c = result.correlation[k]
            line += f"{c:>16.4f}" if c == c else f"{'n/a':>16}"
        print(line)
    if result.score is not None:
        print(f"vs truth: {100 * result.score:.1f} % of pixels classified as the truth")
    return cal, result


def _write(targets: dict[str, Path], images: Any, scan: Any, args,
           analysis: tuple[Any, Any] | None) -> None:
    from reconstruction.spectral.export import save_cube_tiff
    from reconstruction.spectral.plot import save_cube_montage, save_figure

    title = (f"{Path(args.file).name} ({scan.exit_status}) · single-pixel, {images.method} · "
             f"{images.wavelengths_um.size} wavelengths")
    for kind, target in targets.items():
        target.parent.mkdir(parents=True, exist_ok=True)
        try:
            with new_file(target, overwrite=args.overwrite) as tmp:
                if kind == "png":
                    save_cube_montage(tmp, images.cube, images.wavelengths_um, images.x_um,
                                      images.y_um, title=title)
                elif kind == "spectra":
                    save_figure(tmp, *analysis, title=f"{title} · {args.library} library")
                else:
                    save_cube_tiff(tmp, images.cube, images.wavelengths_um, images.x_um,
                                   images.y_um, kind="lock-in X per lit pixel", units="V")
        except FileExistsError:
            raise UserError(f"{target}: file exists; not overwritten (give --overwrite to "
                            "replace it)") from None
        print(f"{kind + ':':<10}{target}")


def info_scan(path: str, kind: str) -> tuple[Any, str, dict[str, int], list[float], list[float]]:
    """``(scan, order text, size, x range, y range)`` of a spectral file for ``info``."""
    if kind == "spectral":
        from reconstruction.spectral.cube import load_cube

        scan = load_cube(path)
        w = scan.wavelength_um
        order = (f"spectral raster, {w.size} wavelengths {w.min():g}-{w.max():g} um, "
                 f"{scan.order} order")
        x_um, y_um = scan.x_um, scan.y_um
    else:
        from reconstruction.spectral.singlepixel import load_spectral_single_pixel

        scan = load_spectral_single_pixel(path)
        w = scan.wavelengths_um
        order = (f"spectral single-pixel, {w.size} wavelengths {w.min():g}-{w.max():g} um, "
                 f"{scan.basis_spec.get('kind')} basis")
        x_um, y_um = scan.x_um, scan.y_um
    size = {"nx": len(x_um), "ny": len(y_um), "nw": int(w.size)}
    return scan, order, size, [float(x_um[0]), float(x_um[-1])], \
        [float(y_um[0]), float(y_um[-1])]
