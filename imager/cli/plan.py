"""``mirimager plan``: predicted noise, image quality and lab time, and recommended settings."""

from __future__ import annotations

import math

from imager.cli.main import UserError


def add_plan(sub) -> None:
    p = sub.add_parser(
        "plan", help="predict noise, image quality and lab time; recommend settings",
        description="Predict a recipe's per-pixel noise and SNR, image quality (PSNR against "
        "the noise-free image) and lab time from the twin's noise budget (detector, shot, "
        "MIR source and pump noise, the lock-in's memory), without acquiring; then the "
        "fastest settings per mode (step raster, fly raster, single pixel) that reach "
        "--target-snr. Warns about amplifier saturation and lock-in overloads.")
    p.add_argument("recipe", metavar="RECIPE", help="scan recipe (TOML)")
    p.add_argument("--target-snr", type=float, default=20.0,
                   help="per-pixel SNR at the brightest pixel to reach (default 20)")
    p.add_argument("--no-search", action="store_true",
                   help="only predict the recipe as written")
    p.set_defaults(func=cmd_plan)


def _settings(p) -> str:
    s = p.settings
    parts = [f"pump {s['pump_mW']:g} mW", f"gain {s['detector_gain_V_per_A']:.0e} V/A"]
    if "dwell_s" in s:
        parts.append(f"dwell {s['dwell_s'] / s['time_constant_s']:g} tc")
    if "velocity_um_per_s" in s:
        parts.append(f"{s['velocity_um_per_s']:.0f} um/s")
    if "readout" in s:
        parts.append(f"{s['readout']}, ratio {s['ratio']:g}")
    if s.get("reference_channel"):
        parts.append("MIR reference")
    return ", ".join(parts)


def _row(p) -> str:
    return (f"  {p.mode:<13} {p.signal_V * 1e6:10.3g} {p.sigma_pixel_V * 1e6:10.3g} "
            f"{p.snr:7.1f} {p.psnr_dB:6.1f} {p.lab_time_s / 60:8.2f}  {_settings(p)}")


def _spectral_note(recipe, own) -> None:
    """A spectral recipe: the rows are one wavelength's image; the whole scan's lab time."""
    from imager.planner.predict import spectral_lab_time_s
    from imager.recipes.recipe import spectral_wavelengths

    dwell_s = own.settings.get("dwell_s", 0.0)
    total_s = spectral_lab_time_s(recipe, own.lab_time_s, dwell_s)
    if total_s is None:
        return
    spec, n = recipe.sections["spectral"], len(spectral_wavelengths(recipe))
    print(f"  spectral: {n} wavelengths, {spec['order']} order: about {total_s / 60:.1f} min "
          "of lab time in all (QCL tuning and settling included; the blank spot and power "
          f"readings not); the row above is one image at "
          f"{recipe.sections['source']['wavelength_um']:g} um")


HEADER = (f"  {'mode':<13} {'signal uV':>10} {'noise uV':>10} {'SNR':>7} {'PSNR':>6} "
          f"{'lab min':>8}  settings")


def cmd_plan(args) -> int:
    if not (math.isfinite(args.target_snr) and args.target_snr > 0):
        raise UserError(f"--target-snr must be > 0, got {args.target_snr:g}")
    from imager.planner import predict
    from imager.planner.recommend import recommend
    from imager.recipes import load_recipe

    recipe = load_recipe(args.recipe)
    own = predict(recipe)
    print(f"{args.recipe} as written (noise per pixel at the brightest; PSNR against the "
          "noise-free image, gain drift included):")
    print(HEADER)
    print(_row(own))
    for warning in own.warnings:
        print(f"  warning: {warning}")
    _spectral_note(recipe, own)
    if args.no_search:
        return 0
    print(f"\nfastest settings reaching SNR >= {args.target_snr:g} per mode (else the best "
          "SNR):")
    print(HEADER)
    for p in recommend(recipe, args.target_snr):
        mark = "" if p.snr >= args.target_snr else "   (target not reached)"
        print(_row(p) + mark)
    return 0
