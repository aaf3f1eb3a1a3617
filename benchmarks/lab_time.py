"""Lab time in the twin: image quality against acquisition lab time, raster vs single pixel.

Run:  python benchmarks/lab_time.py [--out docs/] [--seed 0]

Images a 64 x 64 pixel grid over the same 400 um field (centred at 12500, 12500 um,
the default USAF-1951 chart, groups 5-7) in the simulated lab, with the same lock-in
(30 ms, 12 dB/oct), in three ways:

* step raster: one pump-spot point per pixel centre (snake order, 0.5 mW pump,
  1 mV sensitivity as ``scans/usaf_raster.toml``), dwell 1, 3, 5, 10 and 20 time constants;
* full Hadamard single-pixel imaging: all 4096 zigzag-ordered patterns, each with its
  complement (500 mW pump over the field, 10 mV sensitivity as
  ``scans/single_pixel.toml``), reconstructed with ``pinv`` (and ``tv``);
* compressive Hadamard: the first 5, 10, 25 and 50 % of the zigzag patterns,
  reconstructed with ``tv`` (and ``pinv``); single-pixel dwells 3 and 10 time constants.

Every acquisition is a real run of the engine (``run_raster`` / ``run_single_pixel``)
into a temporary folder; its lab time is the virtual-clock time of the acquisition
loop (``result.lab_time_s``). Quality is scored twice: SSIM/PSNR against each
method's own noise-free truth stored in its file (raster: the point-sampled
pump-spot response; single pixel: the pixel-averaged response map), and against one
common reference, the chart transmission averaged over each 6.25 um pixel, after a
least-squares scale of the image onto the reference and normalisation of both by the
reference's range. Rows "noise-free truth" score the two truths themselves against
that reference: the ceiling each method can reach on the common scale. Two ablation rows
repeat the 10 tc raster and the full Hadamard scan without the MIR power fluctuation.

Writes ``lab_time.png`` (SSIM against lab time) and ``lab_time.md`` (the table and
notes) into ``--out`` and prints the table. Takes well under a minute of wall time.
"""

from __future__ import annotations

import argparse
import tempfile
import time
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np
from fly_rows import (
    fly_rows,
    fly_summary,
    spi_stream_summary,
    strong_fly_rows,
    strong_fly_summary,
)

from imager.engine import run_raster
from imager.engine.single_pixel import run_single_pixel
from imager.recipes import default_recipe
from imager.recipes.recipe import Recipe, parse_recipe
from imager.sim import simulated_lab_for
from imager.sim.projector import pixel_centres_um
from reconstruction.metrics import psnr, ssim
from reconstruction.spifile import load_single_pixel, reconstruct_single_pixel

N = 64
FOV_UM = 400.0
CENTRE_UM = 12500.0
TIME_CONSTANT_S = 0.03
SLOPE_DB_PER_OCT = 12
RASTER_DWELL_TC = (1, 3, 5, 10, 20)
SPI_DWELL_TC = (3, 10)
SPI_RATIOS = (0.05, 0.1, 0.25, 0.5, 1.0)
SPI_PUMP_MW = 500.0
SPI_SENSITIVITY_V = 0.02
#: Strong single pixel: the patterned-mode pump limit (imager.twin.limits), streamed.
STRONG_SENSITIVITY_V = 0.1


@dataclass
class Row:
    """One image: how it was acquired and how good it is."""

    method: str
    recon: str
    dwell_tc: float | None
    ratio: float | None
    readings: int | None
    lab_time_s: float | None
    ssim_own: float | None
    ssim_common: float
    psnr_own_dB: float | None
    psnr_common_dB: float


# ------------------------------------------------------------------ recipes
def raster_recipe(dwell_tc: float, seed: int) -> Recipe:
    """64 x 64 points at the single-pixel pixel centres, everything else as the demo."""
    centres = pixel_centres_um(N, FOV_UM, CENTRE_UM)
    return default_recipe(
        scan={"nx": N, "ny": N, "x_start_um": float(centres[0]), "x_stop_um": float(centres[-1]),
              "y_start_um": float(centres[0]), "y_stop_um": float(centres[-1]),
              "order": "snake", "dwell_tc": dwell_tc},
        lockin={"time_constant_s": TIME_CONSTANT_S,
                "filter_slope_dB_per_oct": SLOPE_DB_PER_OCT},
        sim={"seed": seed},
    )


#: Streamed 2.9 W + reference scans at 1 tc with adaptive ordering (the zigzag rows at 0.25
#: and 0.5 are among the planner rows; 0.35 gets its own).
ADAPTIVE_CASES = ((0.25, ("adaptive",)), (0.35, ("zigzag", "adaptive")), (0.5, ("adaptive",)))


def spi_recipe(ratio: float, dwell_tc: float, seed: int, readout: str = "reads",
               pump_mW: float = SPI_PUMP_MW, gain_V_per_A: float = 5e8,
               reference: bool = False, sensitivity_V: float = SPI_SENSITIVITY_V,
               ordering: str = "zigzag") -> Recipe:
    """The settings of ``scans/single_pixel.toml`` with another ratio, dwell, readout, pump,
    photodiode gain, lock-in sensitivity, MIR reference channel and ordering."""
    text = f"""kind = "single_pixel"
name = "lab_time_spi"
[single_pixel]
basis = "hadamard"
size = {N}
ordering = "{ordering}"
ratio = {ratio!r}
fov_um = {FOV_UM!r}
center_x_um = {CENTRE_UM!r}
center_y_um = {CENTRE_UM!r}
dwell_tc = {dwell_tc!r}
readout = "{readout}"
[lockin]
time_constant_s = {TIME_CONSTANT_S!r}
sensitivity_V = {sensitivity_V!r}
filter_slope_dB_per_oct = {SLOPE_DB_PER_OCT}
[pump]
power_mW = {pump_mW!r}
[sim]
chart = "usaf1951"
seed = {seed}
detector_gain_V_per_A = {gain_V_per_A!r}
reference_channel = {str(reference).lower()}
"""
    return parse_recipe(text, "<lab_time>")


# ------------------------------------------------------------ common reference
def _overlap_weights(centres_um: np.ndarray, pitch_um: float, chart_centres_um: np.ndarray,
                     chart_pixel_um: float) -> np.ndarray:
    """``W[j, k]``: fraction of image pixel ``j`` covered by chart pixel ``k`` (rows sum <= 1)."""
    lo = centres_um[:, None] - pitch_um / 2
    hi = centres_um[:, None] + pitch_um / 2
    c_lo = chart_centres_um[None, :] - chart_pixel_um / 2
    c_hi = chart_centres_um[None, :] + chart_pixel_um / 2
    return np.clip(np.minimum(hi, c_hi) - np.maximum(lo, c_lo), 0.0, None) / pitch_um


def common_reference(chart) -> np.ndarray:
    """Chart transmission averaged over each pixel of the 64 x 64 grid (0 off the chart)."""
    centres = pixel_centres_um(N, FOV_UM, CENTRE_UM)
    pitch = FOV_UM / N
    wx = _overlap_weights(centres, pitch, chart.x_um(), chart.pixel_um)
    wy = _overlap_weights(centres, pitch, chart.y_um(), chart.pixel_um)
    return wy @ chart.transmission @ wx.T


def on_reference_scale(image: np.ndarray, reference: np.ndarray) -> np.ndarray:
    """Least-squares scale of ``image`` onto ``reference``, then both normalised by its range.

    Returns the image on that scale; the reference itself maps to [0, 1].
    """
    scale = float(np.sum(image * reference) / np.sum(image * image))
    lo, hi = float(reference.min()), float(reference.max())
    return (scale * image - lo) / (hi - lo)


def score_common(image: np.ndarray, reference: np.ndarray) -> tuple[float, float]:
    """(SSIM, PSNR in dB) of ``image`` against the common reference, on a [0, 1] range."""
    lo, hi = float(reference.min()), float(reference.max())
    ref01 = (reference - lo) / (hi - lo)
    img01 = on_reference_scale(image, reference)
    return ssim(img01, ref01, data_range=1.0), psnr(img01, ref01, data_range=1.0)


# --------------------------------------------------------------- acquisitions
@dataclass
class Runner:
    """Runs acquisitions into ``folder`` and scores them; keeps the images and truths."""

    folder: Path
    seed: int
    reference: np.ndarray
    images: dict[str, np.ndarray]
    truths: dict[str, np.ndarray]
    noise_V: dict[str, float]

    def _lab(self, recipe: Recipe, power_noise: bool):
        lab = simulated_lab_for(recipe)
        if not power_noise:  # ablation: no MIR power fluctuation
            lab.lockin.noise = replace(lab.lockin.noise, power_rel_rms=0.0)
            lab.lockin.gain_fluctuation = None
        return lab

    def raster(self, dwell: float, power_noise: bool = True) -> list[Row]:
        recipe = raster_recipe(dwell, self.seed)
        lab = self._lab(recipe, power_noise)
        path = self.folder / f"raster_{dwell:g}tc_{power_noise}.h5"
        result = run_raster(lab, recipe, path, progress=False, handle_ctrl_c=False)
        assert result.exit_status == "success", result.error_message
        assert np.allclose(result.x_um, pixel_centres_um(N, FOV_UM, CENTRE_UM))
        image, truth = result.image_V, result.truth_V
        recon = "raw" if power_noise else "raw, no MIR power noise"
        if power_noise:
            self.images[f"raster {dwell:g} tc"] = image
            self.truths["raster"] = truth
            dark = truth < 0.01 * np.max(truth)  # opaque chart: additive noise only
            self.noise_V["raster dark"] = float(np.std(image[dark] - truth[dark]))
        ssim_c, psnr_c = score_common(image, self.reference)
        return [Row("step raster", recon, dwell, None, result.points_done, result.lab_time_s,
                    ssim(image, truth), ssim_c, psnr(image, truth), psnr_c)]

    def single_pixel(self, ratio: float, dwell: float, power_noise: bool = True,
                     recons: tuple[str, ...] = ("pinv", "tv"), readout: str = "reads",
                     strong: bool = False, reference: bool = False,
                     ordering: str = "zigzag") -> list[Row]:
        """One single-pixel acquisition; ``strong``: at the patterned-mode pump limit
        with the photodiode gain the planner picks (no saturation)."""
        extra: dict = {}
        if strong:
            from imager.planner.recommend import _gain_for
            from imager.twin.limits import PATTERNED_LIMIT_MW

            pump = round(0.98 * PATTERNED_LIMIT_MW, 1)
            probe = spi_recipe(ratio, dwell, self.seed, readout, pump_mW=pump)
            extra = {"pump_mW": pump, "gain_V_per_A": _gain_for(probe, True),
                     "sensitivity_V": STRONG_SENSITIVITY_V}
        recipe = spi_recipe(ratio, dwell, self.seed, readout, reference=reference,
                            ordering=ordering, **extra)
        lab = self._lab(recipe, power_noise)
        path = self.folder / (f"spi_{dwell:g}tc_{ratio:g}_{power_noise}_{readout}_{strong}_"
                              f"{reference}_{ordering}.h5")
        result = run_single_pixel(lab, recipe, path, progress=False, handle_ctrl_c=False)
        assert result.exit_status == "success", result.error_message
        scan = load_single_pixel(path)
        assert np.allclose(scan.x_um, pixel_centres_um(N, FOV_UM, CENTRE_UM))
        truth = scan.truth_V
        method = "full Hadamard" if ratio == 1.0 else "compressive Hadamard"
        if ordering == "adaptive":
            method += ", adaptive"
        if readout == "stream":
            method += ", streamed"
        if strong:
            method += f", {extra['pump_mW'] / 1000:.1f} W"
        if reference:
            method += " + MIR reference"
        if power_noise:
            self.truths["spi"] = truth
            if ratio == 1.0 and dwell == max(SPI_DWELL_TC) and not strong:
                self.noise_V["spi"] = bucket_noise_V(scan.raw_V)
        rows = []
        for recon in recons:
            image = reconstruct_single_pixel(scan, recon).image
            if power_noise:
                prefix = "strong " if strong and reference else ""
                self.images[f"{prefix}spi {dwell:g} tc {ratio:g} {recon}"] = image
            ssim_c, psnr_c = score_common(image, self.reference)
            label = recon if power_noise else f"{recon}, no MIR power noise"
            rows.append(Row(method, label, dwell, ratio, result.points_done, result.lab_time_s,
                            ssim(image, truth), ssim_c, psnr(image, truth), psnr_c))
        return rows


def bucket_noise_V(raw: np.ndarray) -> float:
    """Noise of one bucket reading from the complementary pair sums (robust, drift-free).

    A pattern and its complement light the whole field together, so every pair sums
    to the same value but for noise: ``std(sum) = sqrt(2) s``; consecutive differences
    of the sums (``sqrt(2) std(sum)``) cancel slow drift, the MAD resists outliers.
    """
    sums = raw[0::2] + raw[1::2]
    diff = np.diff(sums)
    mad = float(np.median(np.abs(diff - np.median(diff))))
    return mad / 0.6745 / np.sqrt(2.0) / np.sqrt(2.0)


# --------------------------------------------------------------------- output
HEADER = ("method", "recon", "dwell (tc)", "ratio", "readings", "lab time (min)",
          "SSIM own truth", "SSIM common ref", "PSNR own (dB)", "PSNR common (dB)")


def _fmt(value: float | None, spec: str) -> str:
    return "-" if value is None else format(value, spec)


def table_lines(rows: list[Row]) -> list[str]:
    """The rows as a Markdown table (also readable as plain text)."""
    cells = [HEADER]
    for r in rows:
        cells.append((r.method, r.recon, _fmt(r.dwell_tc, "g"), _fmt(r.ratio, "g"),
                      _fmt(r.readings, "d"),
                      _fmt(None if r.lab_time_s is None else r.lab_time_s / 60, ".1f"),
                      _fmt(r.ssim_own, ".3f"), _fmt(r.ssim_common, ".3f"),
                      _fmt(r.psnr_own_dB, ".1f"), _fmt(r.psnr_common_dB, ".1f")))
    widths = [max(len(c[i]) for c in cells) for i in range(len(HEADER))]
    left = {0, 1}
    lines = []
    for k, c in enumerate(cells):
        padded = [s.ljust(w) if i in left else s.rjust(w)
                  for i, (s, w) in enumerate(zip(c, widths, strict=True))]
        lines.append("| " + " | ".join(padded) + " |")
        if k == 0:
            rule = [("-" * w) if i in left else ("-" * (w - 1) + ":")
                    for i, w in enumerate(widths)]
            lines.append("| " + " | ".join(rule) + " |")
    return lines


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=Path("docs"),
                        help="folder for lab_time.png and lab_time.md (default docs/)")
    parser.add_argument("--seed", type=int, default=0, help="noise seed of the simulated lab")
    args = parser.parse_args(argv)
    args.out.mkdir(parents=True, exist_ok=True)
    start = time.perf_counter()
    reference = common_reference(simulated_lab_for(raster_recipe(10, args.seed)).chart)
    images: dict[str, np.ndarray] = {}
    with tempfile.TemporaryDirectory(prefix="lab_time_") as tmp:
        run = Runner(Path(tmp), args.seed, reference, images, {}, {})
        raster_rows = [row for dwell in RASTER_DWELL_TC for row in run.raster(dwell)]
        spi_rows = [row for dwell in SPI_DWELL_TC for ratio in SPI_RATIOS
                    for row in run.single_pixel(ratio, dwell)]
        ablation_rows = (run.raster(10, power_noise=False)
                         + run.single_pixel(1.0, 10, power_noise=False, recons=("pinv",)))
        stream_rows = [row for dwell in (1, 2) for ratio in (0.5, 1.0)
                       for row in run.single_pixel(ratio, dwell, recons=("tv",),
                                                   readout="stream")]
        strong_rows = [row for dwell in (1, 2) for ratio in (0.25, 0.5)
                       for row in run.single_pixel(ratio, dwell, recons=("tv",),
                                                   readout="stream", strong=True,
                                                   reference=True)]
        strong_rows += run.single_pixel(0.5, 1, recons=("tv",), readout="stream", strong=True)
        adaptive_rows = [row for ratio, orderings in ADAPTIVE_CASES for ordering in orderings
                         for row in run.single_pixel(ratio, 1, recons=("tv",), readout="stream",
                                                     strong=True, reference=True,
                                                     ordering=ordering)]
        fly, shifts = fly_rows(Path(tmp), args.seed, N, FOV_UM, CENTRE_UM, TIME_CONSTANT_S,
                               SLOPE_DB_PER_OCT, score_common, reference, Row)
        strong_fly = strong_fly_rows(Path(tmp), args.seed, N, FOV_UM, CENTRE_UM,
                                     TIME_CONSTANT_S, SLOPE_DB_PER_OCT, score_common, reference,
                                     Row, raster_recipe)
    ceilings = {}
    truth_rows = []
    for name, label in (("raster", "step raster"), ("spi", "single pixel")):
        ssim_c, psnr_c = score_common(run.truths[name], reference)
        ceilings[name] = ssim_c
        truth_rows.append(Row(label, "noise-free truth", None, None, None, None, None, ssim_c,
                              None, psnr_c))
    rows = raster_rows + spi_rows + truth_rows + ablation_rows
    wall_s = time.perf_counter() - start
    lines = table_lines(rows + stream_rows + strong_rows + adaptive_rows + fly + strong_fly)
    print("\n".join(lines))
    fly_lines = fly_summary(raster_rows[0], fly, shifts, N, TIME_CONSTANT_S)
    dyn = simulated_lab_for(raster_recipe(1, args.seed)).stage_x.dynamics
    step_s = dyn.move_duration_s(FOV_UM / (N - 1)) + dyn.settle_s
    fly_lines += strong_fly_summary(raster_rows[0], strong_fly, step_s)
    fly_lines += spi_stream_summary(raster_rows[0], stream_rows)
    fly_lines += spi_stream_summary(raster_rows[0], [r for r in strong_rows
                                                     if "reference" in r.method])
    fly_lines += spi_stream_summary(raster_rows[0], [r for r in adaptive_rows
                                                     if "adaptive" in r.method])
    print("\nfly scan against the step raster (same chart, same lock-in):")
    print("\n".join("  " + line for line in fly_lines))
    print(f"\nwall time {wall_s:.1f} s")
    from lab_time_figure import make_figure  # it imports this module's rows and scale

    make_figure(rows + strong_rows + fly + strong_fly, ceilings, images, reference,
                args.out / "lab_time.png")
    from mode_map import mode_map_lines  # it imports this module's recipes

    map_lines = mode_map_lines(args.seed)
    print("\n".join(map_lines))
    from lab_time_doc import write_markdown  # it imports this module's rows and constants

    write_markdown(args.out / "lab_time.md", lines, rows, run, wall_s, args.seed, fly_lines,
                   map_lines)
    print(f"wrote {args.out / 'lab_time.png'} and {args.out / 'lab_time.md'}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
