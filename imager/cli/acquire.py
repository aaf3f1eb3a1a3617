"""Acquisition sub-commands: demo, scan, calibrate, resume (simulated lab by default)."""

from __future__ import annotations

import argparse
from pathlib import Path

from imager.cli.common import format_metrics, probe
from imager.cli.main import DeviceError, UserError


def _add_acquisition_options(p: argparse.ArgumentParser) -> None:
    p.add_argument("-o", "--output", metavar="PATH",
                   help="scan file (*.h5) or folder for it (default: ./data/, named by date "
                        "and recipe)")
    p.add_argument("--live", action="store_true",
                   help="show the image filling in (a window if there is a display, otherwise "
                        "a PNG next to the scan file refreshed every few seconds)")
    p.add_argument("--no-progress", action="store_true", help="no progress bar")
    p.add_argument("--seed", type=int, default=None,
                   help="noise seed of the simulated lab (overrides [sim] seed)")
    p.add_argument("--calibration", metavar="CAL.h5",
                   help="calibration file (mirimager calibrate) stored with the scan, so "
                        "images are shown in W/um^2")


def add_demo(sub) -> None:
    p = sub.add_parser(
        "demo", help="simulated USAF-1951 raster: scan file + PNG, end to end",
        description="Run a simulated point-and-scan session of a USAF-1951 chart (128 x 128 "
        "points, 400 um field, 0.3 s dwell: ~2 h of lab time on a virtual clock, seconds of "
        "wall time), write the scan file and a PNG, and print where they are.",
    )
    _add_acquisition_options(p)
    p.add_argument("--size", type=int, default=128, metavar="N",
                   help="points per side (default 128)")
    p.set_defaults(func=cmd_demo)


def add_scan(sub) -> None:
    p = sub.add_parser(
        "scan", help="run a recipe (simulated lab by default)",
        description="Run a scan recipe (TOML, see scans/). The recipe is validated before "
        "anything moves. Files go to ./data/ unless -o says otherwise.",
    )
    p.add_argument("recipe", metavar="RECIPE", help="recipe file (TOML)")
    _add_acquisition_options(p)
    p.add_argument("--lab", metavar="LAB.toml",
                   help="run on the devices of this lab configuration (real drivers; "
                        "'mirimager emulate' prints one for the emulated lab) instead of the "
                        "simulated lab")
    p.set_defaults(func=cmd_scan)


def add_calibrate(sub) -> None:
    p = sub.add_parser(
        "calibrate", help="responsivity and detection limit (simulated lab by default)",
        description="Run a calibration recipe (kind = \"calibration\", see "
        "scans/calibration.toml): sweep MIR power at a chart-free spot, fit the responsivity "
        "with its uncertainty, report the noise-equivalent intensity (detection limit, "
        "SNR = 1); optionally sweep pump power, MIR wavelength and temperature (Boltzmann fit) "
        "and record decay traces (lifetimes, Delta K vs MIR power). Later scans use the saved "
        "file with --calibration.",
    )
    p.add_argument("recipe", metavar="RECIPE", help="calibration recipe (TOML)")
    p.add_argument("-o", "--output", metavar="PATH",
                   help="calibration file (*.h5) or folder (default ./data/)")
    p.add_argument("--no-progress", action="store_true", help="no progress bar")
    p.add_argument("--seed", type=int, default=None, help="noise seed of the simulated lab")
    p.set_defaults(func=cmd_calibrate)


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
    p.set_defaults(func=cmd_resume)


def cmd_demo(args) -> int:
    from imager.recipes import default_recipe

    if not 2 <= args.size <= 1024:
        raise UserError(f"--size: must be an integer in [2, 1024], got {args.size}")
    recipe = default_recipe(scan={"nx": args.size, "ny": args.size})
    return _acquire(recipe, args)


def cmd_scan(args) -> int:
    from imager.recipes import load_recipe

    return _acquire(load_recipe(args.recipe), args)


def cmd_calibrate(args) -> int:
    from imager.calibration import run_calibration
    from imager.lab import simulated_lab_for
    from imager.recipes import load_recipe

    recipe = load_recipe(args.recipe)
    if recipe.kind != "calibration":
        raise UserError(f"{recipe.source}: kind = {recipe.kind!r}; calibrate needs "
                        "kind = \"calibration\"")
    if args.seed is not None:
        recipe.sections["sim"]["seed"] = args.seed
    lab = simulated_lab_for(recipe)
    path = _output_path(args.output, recipe.name)
    if path.exists():
        raise FileExistsError(17, "file exists", str(path))
    result = run_calibration(lab, recipe, path, progress=not args.no_progress)
    r = result.responsivity
    print(f"calibration file: {path}")
    print(f"responsivity:     {r.slope_V_per_W_per_um2:.4g} +/- {r.slope_err_V_per_W_per_um2:.2g} "
          f"V per W/um^2 at pump {result.pump_mW:g} mW, {result.wavelength_um:g} um "
          f"(R^2 = {r.r_squared:.5f}, {r.n_levels} levels)")
    print(f"offset:           {r.offset_V * 1e6:.3g} +/- {r.offset_err_V * 1e6:.2g} uV")
    print(f"noise (1 sigma):  {r.noise_V * 1e6:.3g} uV per reading")
    print(f"detection limit:  {r.nei_W_per_um2 * 1e9:.3g} nW/um^2 (noise-equivalent intensity, "
          "SNR = 1)")
    for pump, fit in result.pump_sweep:
        print(f"  pump {pump:8.4g} mW: {fit.slope_V_per_W_per_um2:.4g} V per W/um^2, "
              f"NEI {fit.nei_W_per_um2 * 1e9:.3g} nW/um^2")
    for wavelength, fit in result.spectral:
        print(f"  MIR {wavelength:6.3g} um: {fit.slope_V_per_W_per_um2:.4g} V per W/um^2")
    if result.boltzmann is not None:
        b = result.boltzmann
        print(f"Boltzmann fit:    energy gap {b.energy_gap_cm1:.1f} +/- {b.energy_gap_err_cm1:.1f} "
              f"cm^-1 (R^2 = {b.r_squared:.4f})")
    for band, fit in result.delta_k.items():
        tau0 = result.lifetimes_s[band][0]
        print(f"  {band} nm: tau {tau0 * 1e6:.1f} us at the first level, Delta K slope "
              f"{fit.slope:.4g} +/- {fit.slope_err:.2g} s^-1/mW (R^2 = {fit.r_squared:.4f})")
    return 0


def cmd_resume(args) -> int:
    from imager.engine import run_raster, run_single_pixel
    from imager.recipes import parse_recipe
    from reconstruction import load_raster
    from reconstruction.spifile import load_single_pixel, scan_kind

    probe(args.file)
    kind = scan_kind(args.file)
    if kind not in ("raster", "single_pixel"):
        raise UserError(f"{args.file}: a {kind} file; only raster and single-pixel scans resume")
    scan = load_raster(args.file) if kind == "raster" else load_single_pixel(args.file)
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
        recipe.sections["sim"]["seed"] = seed
    _check_resumable(Path(args.file), kind, recipe)
    print(f"resuming {args.file}: {scan.points_done}/{scan.points_total} done, "
          f"status was {scan.exit_status}")
    run = run_raster if kind == "raster" else run_single_pixel
    with _open_lab(recipe, args.lab) as lab:
        result = run(lab, recipe, args.file, progress=not args.no_progress, resume=True)
    path = Path(args.file)
    _export_png(path, path.with_suffix(".png"))
    print(f"status:    {result.exit_status}, {result.points_done}/{scan.points_total} done; "
          f"image {path.with_suffix('.png')}")
    return 0 if result.exit_status == "success" else 130


def _check_resumable(path: Path, kind: str, recipe) -> None:
    """Refuse (one line, file untouched) a stopped scan whose tables are not the ones the
    writer appends to, before anything is written: a damaged or hand-edited file must not
    be half-resumed (e.g. a point table of another shape, a missing X_V)."""
    import os

    if recipe.kind != kind:
        raise UserError(f"{path}: a {kind} scan, but its stored recipe is of kind "
                        f"{recipe.kind!r}")
    if kind == "raster":
        from imager.storage.writer import POINT_DTYPE as dtype

        total, shape = recipe.grid.n_points, recipe.grid.shape
    else:
        from imager.recipes.recipe import single_pixel_basis
        from imager.storage.single_pixel import SPI_POINT_DTYPE as dtype

        total = single_pixel_basis(recipe).n_patterns
        shape = (total,)
    if not os.access(path, os.W_OK):
        raise UserError(f"{path}: not writable; resume continues a scan in its own file")
    try:
        problem = _resume_problem(path, kind, dtype, total, shape)
    except (OSError, KeyError, RuntimeError, TypeError, ValueError) as exc:
        problem = f"unreadable ({' '.join(str(exc).split()) or type(exc).__name__})"
    if problem is not None:
        raise UserError(f"{path}: cannot resume: {problem}")


def _resume_problem(path: Path, kind: str, dtype, total: int, shape: tuple) -> str | None:
    """What stops the writer from continuing ``path`` (None: nothing)."""
    import json
    import math

    import h5py
    import numpy as np

    problem = None
    with h5py.File(path, "r", locking=False) as f:
        entry = f["entry"]
        points, image = f.get("entry/scan/points"), f.get("entry/data/X_V")
        resumed = entry.attrs.get("resumed", "[]")
        scan_group = f.get("entry/scan")
        lab_start = (scan_group.attrs.get("lab_start_s", 0.0)
                     if isinstance(scan_group, h5py.Group) else 0.0)
        if "exit_status" not in entry.attrs:
            problem = "/entry has no exit_status attribute"
        elif not isinstance(points, h5py.Dataset) or points.dtype != dtype \
                or points.shape != (total,):
            problem = (f"/entry/scan/points is not the {total}-record table of the "
                       "recipe's plan")
        elif not isinstance(image, h5py.Dataset) or image.dtype.kind != "f" \
                or image.shape != shape:
            problem = f"/entry/data/X_V is not a float array of shape {shape}"
        elif isinstance(lab_start, bool) or not isinstance(lab_start, int | float | np.number) \
                or not math.isfinite(float(lab_start)):
            problem = f"/entry/scan attribute lab_start_s is {lab_start!r}, not a number"
        else:
            try:
                history = json.loads(resumed or "[]")
            except (TypeError, ValueError):
                history = None
            if not isinstance(history, list):
                problem = "/entry attribute resumed is not a JSON list"
            else:
                records = points[()]
                done = records["done"].astype(bool)
                first_missing = int(np.argmin(done)) if not done.all() else done.size
                if first_missing > 0:
                    last = records[first_missing - 1]
                    fields = ("t_lab_s", "x_set_um", "y_set_um") if kind == "raster" \
                        else ("t_lab_s",)
                    bad = [n for n in fields if not np.isfinite(last[n])]
                    if bad:
                        problem = (f"/entry/scan/points[{first_missing - 1}] (the last point "
                                   f"done) has {', '.join(bad)} not finite")
    return problem


def _output_path(output: str | None, recipe_name: str) -> Path:
    from imager.storage import scan_file_name

    if output and output.endswith((".h5", ".hdf5", ".nxs")):
        return Path(output)
    folder = Path(output) if output else Path("data")
    return folder / scan_file_name(recipe_name)


def _calibration_attrs(path: str | None) -> dict | None:
    """Responsivity attributes of a calibration file, for storing with a scan."""
    if path is None:
        return None
    from reconstruction.calibration import load_calibration

    probe(path)
    try:
        fit, context = load_calibration(path)
    except ValueError as exc:
        raise UserError(f"--calibration: {exc}") from None
    return {**fit.as_dict(), **context}


def _acquire(recipe, args) -> int:

    if recipe.kind == "calibration":
        raise UserError(f"{recipe.source}: kind = 'calibration'; run it with "
                        "'mirimager calibrate'")
    calibration = _calibration_attrs(args.calibration)
    if args.seed is not None:
        recipe.sections["sim"]["seed"] = args.seed
    path = _output_path(args.output, recipe.name)
    if path.exists():
        raise FileExistsError(17, "file exists", str(path))
    with _open_lab(recipe, getattr(args, "lab", None)) as lab:
        result = _run_scan(lab, recipe, path, args, calibration)
    png = path.with_suffix(".png")
    print(f"scan file: {path}")
    print(f"image:     {png}")
    _export_png(path, png)
    total = result.grid.n_points if recipe.kind == "raster" else result.basis.n_patterns
    unit = "points" if recipe.kind == "raster" else "patterns"
    print(f"status:    {result.exit_status}, {result.points_done}/{total} {unit}, "
          f"lab time {result.lab_time_s / 60:.1f} min, wall time {result.wall_time_s:.1f} s")
    if result.exit_status == "abort":
        print(f"stopped:   {result.error_message}; the file holds every completed point")
    return 0 if result.exit_status == "success" else 130


def _open_lab(recipe, lab_config: str | None):
    """The simulated lab of the recipe, or the hardware lab of a configuration file."""
    from contextlib import nullcontext

    if lab_config is None:
        from imager.lab import simulated_lab_for

        return nullcontext(simulated_lab_for(recipe))
    from imager.drivers import InstrumentError
    from imager.labconfig import load_lab_config, open_hardware_lab

    load_lab_config(lab_config)  # bad configuration: one-line error before any port opens
    try:
        return open_hardware_lab(lab_config)
    except (InstrumentError, OSError, TimeoutError, ValueError) as exc:
        raise DeviceError(f"{lab_config}: cannot open the lab: {exc}") from None


def _run_scan(lab, recipe, path, args, calibration):
    from imager.engine import run_raster, run_single_pixel

    progress = not args.no_progress
    if args.live:
        from imager.cli.live import run_with_live_view

        result = run_with_live_view(lab, recipe, path, progress=progress,
                                    calibration=calibration)
    elif recipe.kind == "single_pixel":
        result = run_single_pixel(lab, recipe, path, progress=progress, calibration=calibration)
    else:
        result = run_raster(lab, recipe, path, progress=progress, calibration=calibration)
    return result


def _export_png(scan_path: Path, png: Path) -> None:
    from reconstruction import load_raster, reconstruct_raster, save_png
    from reconstruction.spifile import load_single_pixel, reconstruct_single_pixel, scan_kind

    if scan_kind(scan_path) == "single_pixel":
        scan = load_single_pixel(scan_path)
        if scan.pairs_measured == 0:
            return
        rec = reconstruct_single_pixel(scan, "tv")
        title = f"{scan_path.name} ({scan.exit_status}, TV, {rec.measurements} meas.)"
    else:
        scan = load_raster(scan_path)
        rec = reconstruct_raster(scan, snake_correction=False)
        title = f"{scan_path.name} ({scan.exit_status})"
    save_png(png, rec.image, rec.x_um, rec.y_um, title=title)
    if rec.metrics:
        print("vs truth:  " + format_metrics(rec.metrics))
