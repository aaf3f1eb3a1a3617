"""The sub-commands: demo, scan, reconstruct, info."""

from __future__ import annotations

import argparse
import json
from pathlib import Path

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


def add_emulate(sub) -> None:
    p = sub.add_parser(
        "emulate", help="start the emulated lab (real wire protocols, simulated physics)",
        description="Start the physics twin behind real wire protocols: two Thorlabs APT "
        "controllers on ptys (x, y), an SRS lock-in on loopback TCP and on a pty, an MC2000B "
        "chopper on a pty and a PM100D power meter on loopback TCP. With --faults, fires "
        "instrument faults on a timetable (fault-handling drills). Writes a lab configuration "
        "pointing at them (use it with "
        "'mirimager devices --lab' and 'mirimager scan --lab') and runs until Ctrl-C.",
    )
    p.add_argument("--lockin", choices=("SR830", "SR860"), default="SR830")
    p.add_argument("--controller", choices=("KDC101", "TDC001"), default="KDC101",
                   help="APT controller per axis (default KDC101)")
    p.add_argument("--stage", default="MTS25-Z8", help="stage model (default MTS25-Z8)")
    p.add_argument("--lockin-via", choices=("tcp", "pty"), default="tcp",
                   help="lock-in address written to the lab configuration (default tcp)")
    p.add_argument("--config-out", metavar="LAB.toml", default="emulated_lab.toml",
                   help="where to write the lab configuration (default ./emulated_lab.toml)")
    p.add_argument("--chart", default="usaf1951",
                   help="chart: usaf1951, siemens_star, open or an image file")
    p.add_argument("--mir-power-mW", type=float, default=50.0, dest="mir_power_mW",
                   help="MIR power of the twin's QCL, mW (default 50)")
    p.add_argument("--seed", type=int, default=0, help="noise seed")
    p.add_argument("--fast-stages", action="store_true",
                   help="stages 20x faster than an MTS25-Z8 (quick dry runs)")
    p.add_argument("--faults", metavar="SCHEDULE", default="",
                   help="faults to fire, seconds after start: comma-separated KIND@T[+D][xN]"
                   "[=F], KIND one of lockin-timeout, lockin-garbled, lockin-disconnect, "
                   "overload, chopper-stop, stage-error, limit-switch, power-drop; e.g. "
                   "'chopper-stop@30+5,power-drop@60+10=0.5' (D: duration, s; N: count; "
                   "F: remaining power fraction)")
    p.set_defaults(func=cmd_emulate)


def cmd_emulate(args) -> int:
    import signal
    import threading

    from imager.emulators.bench import start_emulated_bench
    from imager.emulators.fault_schedule import FaultRunner, parse_fault_schedule
    from imager.sim.lab import SimConfig
    from stages.simulated import StageDynamics

    if not 0.0 <= args.mir_power_mW <= 500.0:
        raise UserError(f"--mir-power-mW: must be in [0, 500] mW, got {args.mir_power_mW:g}")
    try:
        schedule = parse_fault_schedule(args.faults)
    except ValueError as exc:
        raise UserError(str(exc)) from None
    config = SimConfig(seed=args.seed, chart=args.chart, chart_width_um=400.0)
    dynamics = (StageDynamics(velocity_um_per_s=48000.0, acceleration_um_per_s2=600000.0,
                              settle_s=0.005) if args.fast_stages else None)
    out = Path(args.config_out)
    try:
        bench = start_emulated_bench(config, lockin_model=args.lockin,
                                     controller=args.controller, stage=args.stage,
                                     dynamics=dynamics)
    except (ValueError, OSError) as exc:
        raise UserError(str(exc)) from None
    stop = threading.Event()
    previous = {s: signal.signal(s, lambda *_: stop.set()) for s in (signal.SIGINT,
                                                                     signal.SIGTERM)}
    runner = None
    try:
        bench.lab.source.power_mW = args.mir_power_mW
        text = bench.lab_config_toml(lockin_via=args.lockin_via)
        out.write_text(text)
        print(text)
        if schedule:
            runner = FaultRunner(bench, schedule, report=lambda m: print(m, flush=True)).start()
            print(f"{len(schedule)} fault(s) scheduled: " + ", ".join(
                f"{f.describe()} at {f.at_s:g} s" for f in schedule))
        print(f"lab configuration written to {out}; Ctrl-C to stop", flush=True)
        while not stop.wait(0.5):
            pass
    finally:
        for s, handler in previous.items():
            signal.signal(s, handler)
        if runner is not None:
            runner.stop()
        bench.close()
        print("emulated lab stopped")
    return 0


def add_paper(sub) -> None:
    p = sub.add_parser(
        "paper", help="regenerate the paper's figures from the physics twin",
        description="Redraw from the rate-equation twin the figures a reader of the paper would "
        "check (thermal baseline 2c, MIR off/on bands 2d, lifetimes and Delta K 2f/2g, ratio "
        "vs pump 3b, ratio vs MIR power 3e, spectral response 3g), the paper's values marked.",
    )
    p.add_argument("outdir", metavar="OUTDIR", help="folder for the PNG files")
    p.set_defaults(func=cmd_paper)


def cmd_paper(args) -> int:
    from imager.twin.paper import make_paper_figures

    for path in make_paper_figures(args.outdir):
        print(path)
    return 0


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


def cmd_resume(args) -> int:
    from imager.engine import run_raster, run_single_pixel
    from imager.recipes import parse_recipe
    from reconstruction import load_raster
    from reconstruction.spifile import load_single_pixel, scan_kind

    _probe(args.file)
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


def add_devices(sub) -> None:
    p = sub.add_parser(
        "devices", help="check that each device of a lab configuration answers",
        description="Open every device of a lab configuration and print its identity and "
        "state. Nothing moves. Exit status 1 if any device does not answer.",
    )
    p.add_argument("--lab", metavar="LAB.toml", required=True, help="lab configuration")
    p.set_defaults(func=cmd_devices)


def add_reconstruct(sub) -> None:
    p = sub.add_parser(
        "reconstruct", help="image from a scan file (no hardware needed)",
        description="Assemble the image from a scan file (also a partial one: unmeasured "
        "pixels grey), correct and export PNG (scale bar, colour bar) and float32 TIFF. "
        "Prints PSNR/SSIM/correlation against the truth for simulated scans.",
    )
    p.add_argument("file", metavar="FILE", help="scan file (.h5)")
    p.add_argument("-o", "--output", metavar="OUT", required=True,
                   help="OUT.png, OUT.tif, or a name/folder for both")
    p.add_argument("--snake", choices=("auto", "on", "off"), default="auto",
                   help="snake lag correction (default auto: for snake scans)")
    p.add_argument("--background", choices=("none", "plane", "median", "percentile"),
                   default="none", help="background subtraction (default none)")
    p.add_argument("--flat", metavar="REF.h5", help="flat-field by this reference scan")
    p.add_argument("--calibration", metavar="CAL.h5",
                   help="show MIR intensity (nW/um^2) with this calibration (default: the one "
                        "stored in the scan file, if any)")
    p.add_argument("--method", choices=("pinv", "tikhonov", "tv", "wavelet", "cvxpy-tv"),
                   default="tv", help="single-pixel files: solver (default tv, total variation "
                   "constrained by the noise estimated from the pattern pairs)")
    p.add_argument("--ratio", type=float, default=None,
                   help="single-pixel files: use only the first RATIO*n^2 measurements "
                        "(a shorter acquisition), in (0, measured ratio]")
    p.set_defaults(func=cmd_reconstruct)


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


def add_info(sub) -> None:
    p = sub.add_parser("info", help="describe a scan file",
                       description="Kind, size, status, points done, times, settings and the "
                       "event log (faults, retries, pauses) of a scan file.")
    p.add_argument("file", metavar="FILE", help="scan file (.h5)")
    p.add_argument("--json", action="store_true", help="machine-readable output")
    p.add_argument("--events", action="store_true",
                   help="list every event (default: the last 10)")
    p.set_defaults(func=cmd_info)


# --- acquisition -------------------------------------------------------------


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

    _probe(path)
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
        print("vs truth:  " + _format_metrics(rec.metrics))


def _format_metrics(metrics: dict) -> str:
    return (f"correlation {metrics['correlation']:.4f}, PSNR {metrics['psnr_dB']:.2f} dB, "
            f"SSIM {metrics['ssim']:.4f}")


def cmd_demo(args) -> int:
    from imager.recipes import default_recipe

    if not 2 <= args.size <= 1024:
        raise UserError(f"--size: must be an integer in [2, 1024], got {args.size}")
    recipe = default_recipe(scan={"nx": args.size, "ny": args.size})
    return _acquire(recipe, args)


def cmd_scan(args) -> int:
    from imager.recipes import load_recipe

    return _acquire(load_recipe(args.recipe), args)


# --- offline -----------------------------------------------------------------


def cmd_reconstruct(args) -> int:
    from reconstruction import load_raster, reconstruct_raster
    from reconstruction.spifile import scan_kind

    for path in (args.file, args.flat, args.calibration):
        _probe(path)
    if scan_kind(args.file) == "single_pixel":
        return _reconstruct_single_pixel(args)
    scan = load_raster(args.file)
    flat = None
    if args.flat:
        flat = load_raster(args.flat).image_V
        if flat.shape != scan.image_V.shape:
            raise UserError(f"--flat: reference scan has shape {flat.shape}, "
                            f"scan has {scan.image_V.shape}")
    snake = {"auto": "auto", "on": True, "off": False}[args.snake]
    background = None if args.background == "none" else args.background
    rec = reconstruct_raster(scan, snake_correction=snake, background=background, flat=flat)
    image, label = _calibrated(rec.image, scan, args.calibration)
    _write_outputs(args, scan, rec, image, label)
    print(f"points: {scan.points_done}/{scan.points_total} measured, status {scan.exit_status}")
    if rec.lag_px:
        print(f"snake lag corrected: {rec.lag_px:+.3f} px")
    if rec.metrics:
        print("vs truth: " + _format_metrics(rec.metrics))
    return 0


def _reconstruct_single_pixel(args) -> int:
    from reconstruction.spifile import load_single_pixel, reconstruct_single_pixel

    scan = load_single_pixel(args.file)
    try:
        rec = reconstruct_single_pixel(scan, args.method, ratio=args.ratio)
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
    print(f"method {rec.method}: {rec.measurements} measurements (ratio {rec.ratio:.3g}) of "
          f"{scan.basis_spec['kind']} {scan.basis_spec['size']}x{scan.basis_spec['size']}")
    if rec.metrics:
        print("vs truth: " + _format_metrics(rec.metrics))
    return 0


def _write_outputs(args, scan, rec, image, label) -> None:
    from reconstruction import save_png, save_tiff

    out = Path(args.output)
    suffix = out.suffix.lower()
    targets = []
    if suffix == ".png":
        targets = [("png", out)]
    elif suffix in (".tif", ".tiff"):
        targets = [("tiff", out)]
    else:
        if out.is_dir() or args.output.endswith(("/", "\\")):
            out = out / Path(args.file).stem
        targets = [("png", out.with_name(out.name + ".png")),
                   ("tiff", out.with_name(out.name + ".tif"))]
    for kind, target in targets:
        try:
            target.parent.mkdir(parents=True, exist_ok=True)
            if kind == "png":
                save_png(target, image, rec.x_um, rec.y_um, units_label=label,
                         title=f"{Path(args.file).name} ({scan.exit_status})")
            else:
                save_tiff(target, image, rec.x_um, rec.y_um)
        except ValueError as exc:  # e.g. pixel coordinates too large to draw
            raise UserError(f"{args.file}: cannot write {target}: {exc}") from None
        except OSError as exc:
            raise UserError(f"{target}: cannot write: {exc.strerror or exc}") from None
        print(f"{kind}: {target}" + (f" (values: {label})" if kind == "tiff" else ""))


def _probe(path: str | None) -> None:
    """A one-line error (exit 2) if libhdf5 hangs or crashes reading a file the user named
    (reconstruction/probe.py: the reads are tried in a short-lived child process first)."""
    if path is not None:
        from reconstruction.probe import probe_scan_file

        probe_scan_file(path)


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


def cmd_devices(args) -> int:
    from imager.labconfig import HardwareLab, load_lab_config

    config = load_lab_config(args.lab)
    print(f"lab: {config['name']} ({args.lab})")
    try:
        lab = HardwareLab(config)
    except Exception as exc:  # noqa: BLE001 - reported, exit status 1
        print(f"FAILED to open the lab: {type(exc).__name__}: {exc}")
        return 1
    failures = 0
    with lab:
        for name, device in lab.instruments().items():
            try:
                identity = device.identify() if hasattr(device, "identify") else ""
                state = device.settings()
                if hasattr(device, "position_um"):
                    state = {"position_um": round(device.position_um(), 3), **state}
                items = ", ".join(f"{k}={_short(v)}" for k, v in state.items()
                                  if not k.endswith("_source"))
                print(f"{name + ':':<9} ok   {identity.strip()}")
                print(f"{'':<14}{items}")
            except Exception as exc:  # noqa: BLE001 - every device gets its line
                failures += 1
                print(f"{name + ':':<9} FAIL {type(exc).__name__}: {exc}")
    return 1 if failures else 0


def cmd_info(args) -> int:
    import dataclasses

    from reconstruction import ScanFileError, load_raster
    from reconstruction.events import format_event, load_events, summarize_events
    from reconstruction.spifile import load_single_pixel, scan_kind

    _probe(args.file)
    kind = scan_kind(args.file)
    if kind == "single_pixel":
        scan = load_single_pixel(args.file)
        spec = scan.basis_spec
        order = ", ".join(f"{k}={v}" for k, v in spec.items() if k not in ("kind", "size"))
        order = f"{spec['kind']} basis: {order}"
    elif kind == "calibration":
        raise UserError(f"{args.file}: a calibration file; 'mirimager calibrate' printed its "
                        "summary (read it with reconstruction.calibration.load_calibration)")
    else:
        scan = load_raster(args.file)
        order = scan.order
    info = {
        "file": str(args.file),
        "kind": scan.kind,
        "size": {"nx": len(scan.x_um), "ny": len(scan.y_um)},
        "x_um": [float(scan.x_um[0]), float(scan.x_um[-1])],
        "y_um": [float(scan.y_um[0]), float(scan.y_um[-1])],
        "order": order,
        "exit_status": scan.exit_status,
        "error_message": scan.attrs.get("error_message", ""),
        "points_done": scan.points_done,
        "points_total": scan.points_total,
        "start_time": scan.attrs.get("start_time", ""),
        "end_time": scan.attrs.get("end_time", ""),
        "settings": scan.settings,
        "has_truth": scan.truth_V is not None,
    }
    try:
        events = load_events(args.file)
        info["events"] = [dataclasses.asdict(e) for e in events]
    except ScanFileError as exc:  # show the rest of the file anyway
        events, info["events_error"] = [], str(exc)
    if args.json:
        print(json.dumps(info, indent=2, default=_json_default))
        return 0
    nx, ny = info["size"]["nx"], info["size"]["ny"]
    print(f"file:     {info['file']}")
    print(f"kind:     {info['kind']} ({info['order']}), {nx} x {ny} points, "
          f"x {info['x_um'][0]:g}..{info['x_um'][1]:g} um, "
          f"y {info['y_um'][0]:g}..{info['y_um'][1]:g} um")
    print(f"status:   {info['exit_status']}"
          + (f" ({info['error_message']})" if info["error_message"] else ""))
    unit = "patterns" if kind == "single_pixel" else "points"
    print(f"{unit + ':':<10}{info['points_done']}/{info['points_total']} done")
    print(f"time:     {info['start_time']} -> {info['end_time'] or '(not ended)'}")
    for device, settings in sorted(info["settings"].items()):
        items = ", ".join(f"{k}={_short(v)}" for k, v in sorted(settings.items())
                          if k != "NX_class")
        print(f"{device + ':':<10}{items}" if len(device) < 9 else f"{device}: {items}")
    if scan.truth_V is not None:
        print("truth:    noise-free expected image stored (simulated scan)")
    print(f"events:   {info.get('events_error') or summarize_events(events)}")
    shown = events if args.events or len(events) <= 10 else events[-10:]
    if len(shown) < len(events):
        print(f"          ... {len(events) - len(shown)} earlier (--events shows all)")
    for event in shown:
        print(f"          {format_event(event)}")
    return 0


def _short(value) -> str:
    if isinstance(value, float):
        return f"{value:g}"
    return str(value)


def _json_default(value):
    import numpy as np

    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, np.ndarray):
        return value.tolist()
    if isinstance(value, bytes):
        return value.decode("utf-8", errors="backslashreplace")
    return str(value)
