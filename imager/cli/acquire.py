"""Acquisition sub-commands: demo, scan, calibrate (simulated lab by default); resume is in
``resume.py``."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from imager.cli.common import (
    PNG_SCAN_KEY,
    check_can_create,
    check_not_there,
    check_seed,
    format_metrics,
    new_file,
    probe,
    scan_identity,
)
from imager.cli.main import LabOpenError, UserError

OVERWRITE_HELP = ("replace an existing image (PNG, live PNG) of the same name; without it "
                  "the command refuses before it starts. Scan files are never replaced")


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
    p.add_argument("--overwrite", action="store_true", help=OVERWRITE_HELP)


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
    from imager.recipes import load_recipe

    recipe = load_recipe(args.recipe)
    if recipe.kind != "calibration":
        raise UserError(f"{recipe.source}: kind = {recipe.kind!r}; calibrate needs "
                        "kind = \"calibration\"")
    if args.seed is not None:
        check_seed(args.seed)
        recipe = recipe.with_overrides("--seed", sim={"seed": args.seed})
    path = args.output_path = _output_path(args.output, recipe.name)
    if path.exists():
        raise FileExistsError(17, "file exists", str(path))
    check_can_create(path)
    from imager.sim import simulated_lab_for  # (the twin loads SciPy: after the checks)

    lab = simulated_lab_for(recipe)
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
    from imager.engine.kinds import kind_of

    kind = kind_of(recipe)
    if kind is None:  # a calibration recipe (the only other kind the schema allows)
        raise UserError(f"{recipe.source}: kind = {recipe.kind!r}; run it with "
                        "'mirimager calibrate'")
    hardware = getattr(args, "lab", None) is not None
    if args.seed is not None:
        check_seed(args.seed)
        if not hardware:  # validated again, and written into the recipe text the file keeps
            recipe = recipe.with_overrides("--seed", sim={"seed": args.seed})
    calibration = _calibration_attrs(args.calibration)
    path = args.output_path = _output_path(args.output, recipe.name)
    png = path.with_suffix(".png")
    _check_outputs(path, png, args)
    if hardware and _has_sim_section(recipe):
        print(f"note:      {recipe.source}: its [sim] section (chart, beam, seed) describes the "
              "simulated lab and is not used with --lab (an emulated lab shows the chart "
              "'mirimager emulate --chart' started with)", file=sys.stderr)
    if hardware and args.seed is not None:
        print("note:      --seed is the simulated lab's noise seed; not used with --lab",
              file=sys.stderr)
    with _open_lab(recipe, getattr(args, "lab", None)) as lab:
        result = _run_scan(kind, lab, recipe, path, args, calibration)
    report = _save_scan_png(path, png, args.overwrite)
    print(f"scan file: {path}")
    print(f"image:     {png if report is not None else '(none: no complete pattern pair)'}")
    print(report or "", end="")
    print(f"status:    {result.exit_status}, {result.points_done}/{result.points_total} "
          f"{kind.unit}, "
          f"lab time {result.lab_time_s / 60:.1f} min, wall time {result.wall_time_s:.1f} s")
    if result.exit_status == "abort":
        print(f"stopped:   {result.error_message}; the file holds every completed point")
    return 0 if result.exit_status == "success" else 130


def _has_sim_section(recipe) -> bool:
    """True if the recipe's own text has a ``[sim]`` table (not just the defaults)."""
    import tomllib

    try:
        return "sim" in tomllib.loads(recipe.text or "")
    except tomllib.TOMLDecodeError:
        return False


def _check_outputs(path: Path, png: Path, args) -> None:
    """Before the scan: one line, exit 2, if its file exists or cannot be written, or an
    image it would write exists (without --overwrite). No lab time is spent on a scan
    whose results could not be saved."""
    if path.exists():
        raise FileExistsError(17, "file exists", str(path))
    check_can_create(path)
    check_not_there(png, args.overwrite)
    if args.live:
        from imager.cli.live import has_display, live_png_path

        if not has_display():
            check_not_there(live_png_path(path), args.overwrite)


def _save_scan_png(scan_path: Path, png: Path, replace: bool) -> str | None:
    """Draw the scan's PNG and put it in place: a new file, or (``replace``) over the old.

    Written under a temporary name and marked with the scan it shows (``PNG_SCAN_KEY``),
    before anything is printed, so a closed stdout (``| head``) cannot cost the image.
    Returns what the export reported (metrics), or None if there is no image yet.
    """
    import io
    from contextlib import redirect_stdout

    report = io.StringIO()
    try:
        with new_file(png, overwrite=replace) as tmp, redirect_stdout(report):
            _export_png(scan_path, tmp, {PNG_SCAN_KEY: scan_identity(scan_path)})
            if not tmp.exists():
                return None
    except FileExistsError:
        raise UserError(f"{png}: file exists (made while the scan ran); not overwritten: "
                        f"the scan is in {scan_path} ('mirimager reconstruct' draws it)"
                        ) from None
    return report.getvalue()


def _open_lab(recipe, lab_config: str | None):
    """The simulated lab of the recipe, or the hardware lab of a configuration file."""
    from contextlib import nullcontext

    if lab_config is None:
        from imager.sim import simulated_lab_for

        return nullcontext(simulated_lab_for(recipe))
    from imager.devices import DeviceError
    from imager.labconfig import load_lab_config, open_hardware_lab
    from imager.recipes import RecipeError
    from stages import StageError

    load_lab_config(lab_config)  # bad configuration: one-line error before any port opens
    try:
        return open_hardware_lab(lab_config)
    except RecipeError:  # a named driver class that does not fit: the user's to fix (exit 2)
        raise
    except (DeviceError, StageError, OSError, TimeoutError, ValueError) as exc:
        raise LabOpenError(f"{lab_config}: cannot open the lab: {exc}") from None


def _run_scan(kind, lab, recipe, path, args, calibration):
    options = {"progress": not args.no_progress, "calibration": calibration}
    if args.live:
        from imager.cli.live import run_with_live_view

        return run_with_live_view(lab, recipe, path, overwrite=args.overwrite, **options)
    return kind.run(lab, recipe, path, **options)


def _export_png(scan_path: Path, png: Path, metadata: dict[str, str] | None = None) -> None:
    """The scan's image as ``mirimager reconstruct`` draws it by default (raster: snake lag
    corrected when significant; single-pixel: TV), in nW/um^2 when the scan stores a
    calibration (``--calibration``), else in volts."""
    from imager.cli.files import _calibrated
    from reconstruction import load_raster, reconstruct_raster, save_png
    from reconstruction.export import image_title
    from reconstruction.spifile import load_single_pixel, reconstruct_single_pixel, scan_kind

    if scan_kind(scan_path) in ("spectral", "spectral_single_pixel"):
        from imager.cli.spectral_files import scan_png

        return scan_png(scan_path, png, metadata)
    if scan_kind(scan_path) == "single_pixel":
        scan = load_single_pixel(scan_path)
        if scan.pairs_measured == 0:
            return
        rec = reconstruct_single_pixel(scan, "tv")
    else:
        scan = load_raster(scan_path)
        rec = reconstruct_raster(scan)
    image, label = _calibrated(rec.image, scan, None)
    save_png(png, image, rec.x_um, rec.y_um, title=image_title(scan_path.name, scan, rec),
             units_label=label, metadata=metadata)
    if rec.metrics:
        print("vs truth:  " + format_metrics(rec.metrics))
