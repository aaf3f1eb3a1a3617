"""The page of ``benchmarks/lab_time.py``: the table with how it was made and what it shows."""

from __future__ import annotations

import textwrap
from pathlib import Path
from typing import Any

import numpy as np
from lab_time import TIME_CONSTANT_S, Row


def write_markdown(path: Path, lines: list[str], rows: list[Row], run: Any, wall_s: float,
                   seed: int, fly_lines: list[str] = (), map_lines: list[str] = ()) -> None:
    """The table with a few sentences on how it was made and what it shows."""

    def row(method: str, recon: str, dwell: float, ratio: float | None = None) -> Row:
        return next(r for r in rows if r.method == method and r.recon == recon
                    and r.dwell_tc == dwell and r.ratio == ratio)

    full, compressive, quiet = "full Hadamard", "compressive Hadamard", ", no MIR power noise"
    r1 = row("step raster", "raw", 1)
    r10 = row("step raster", "raw", 10)
    r10q = row("step raster", "raw" + quiet, 10)
    fp, ft, fp3 = row(full, "pinv", 10, 1.0), row(full, "tv", 10, 1.0), row(full, "pinv", 3, 1.0)
    fpq = row(full, "pinv" + quiet, 10, 1.0)
    tv25, tv50 = row(compressive, "tv", 10, 0.25), row(compressive, "tv", 10, 0.5)
    peak_raster = float(np.max(run.truths["raster"]))
    peak_spi = float(np.max(run.truths["spi"]))
    moves_min = (r1.lab_time_s - r1.readings * r1.dwell_tc * TIME_CONSTANT_S) / 60
    prose = f"""Made by `python benchmarks/lab_time.py` (seed {seed}, {wall_s:.0f} s wall time):
every row is a real acquisition by the engine in the simulated lab, on the same 64 x 64 grid
over the same 400 um field (USAF-1951 groups 5-7) with the same lock-in (30 ms, 12 dB/oct);
lab time is the virtual-clock time of the acquisition loop. The step raster (0.5 mW focused
pump, 1 mV) samples the pixel centres; the single-pixel scans show zigzag Hadamard patterns,
each with its complement (500 mW over the field, 10 mV), reconstructed with `pinv` and `tv`.

The two "own truths" differ: the raster's is the point-sampled response of the 1 um pump spot
at each pixel centre, the single-pixel one the response averaged over each DMD pixel. The
common reference is the chart transmission averaged over each pixel; each image is scaled onto
it by least squares and both are normalised by its range. The "noise-free truth" rows are each
method's ceiling on that scale (beam shading for both; for the raster also aliasing of bars
finer than the 6.25 um pitch).

At the single-pixel settings of `scans/single_pixel.toml` (500 mW over the field) the step
raster ({r1.ssim_own:.2f} / {r1.ssim_common:.2f} own / common SSIM in {r1.lab_time_s / 60:.0f}
min at 1 tc; its {moves_min:.0f} min of stage moves let the filter settle, so its SSIM is flat
with dwell) is matched only slowly: TV on 25 % gives {tv25.ssim_own:.2f} / {tv25.ssim_common:.2f}
in {tv25.lab_time_s / 60:.0f} min, on 50 % {tv50.ssim_own:.2f} / {tv50.ssim_common:.2f} in
{tv50.lab_time_s / 60:.0f} min, full Hadamard {fp.ssim_own:.2f} / {fp.ssim_common:.2f}
(`pinv`) and {ft.ssim_own:.2f} / {ft.ssim_common:.2f} (TV) in {fp.lab_time_s / 60:.0f} min.
The DMD spreads 500 mW so thinly that the superlinear film gives a pixel at most
{peak_spi * 1e6:.1f} uV (the focused spot {peak_raster * 1e6:.0f} uV), while each bucket
reading carries the noise of the whole lit field, {run.noise_V["spi"] * 1e6:.0f} uV rms
(a dark raster point: {run.noise_V["raster dark"] * 1e6:.0f} uV). Without the MIR power
fluctuation full-Hadamard `pinv` goes from {fp.ssim_own:.2f} to {fpq.ssim_own:.2f} (raster
{r10.ssim_own:.2f} -> {r10q.ssim_own:.2f}). At 3 tc the filter keeps about 20 % of the
previous pattern's bucket: full Hadamard falls to {fp3.ssim_own:.2f} with `pinv`.

The rows "W" are single pixel as the planner (`mirimager plan`) recommends it: the pump at the
patterned mode's limit (`imager/twin/limits.py`: the DMD's power handling, 2.9 W over the
field), the highest photodiode gain that does not saturate, the patterns read through the
lock-in's buffer and fitted through its filter ("streamed": 1-2 tc per pattern), and the MIR
reference channel (each sample normalised by a second lock-in on a beam pick-off). The
summary lines below the fly rows give the lab time at which they reach the step raster's
SSIM. The rows "adaptive" are the same streamed scans at 1 tc with `ordering = "adaptive"`
(half of the patterns in zigzag order, then three rounds chosen from TV previews of the
readings so far; each round ends with a buffer block): at equal pattern counts they compare
with the zigzag rows above (ratio 0.35 has its zigzag row beside it).
"""
    paragraphs = [textwrap.fill(" ".join(p.split()), 95, break_on_hyphens=False)
                  for p in prose.split("\n\n")]
    fly_text = ("Fly scans (`[scan] mode = \"fly\"`, rows \"fly\": dwell = time per pixel in "
                "time constants, own truth = the settled signal averaged across each pixel):\n\n"
                + "\n".join(f"* {line}" for line in fly_lines)) if fly_lines else ""
    map_text = ("## Which mode wins where (planner)\n\n" + textwrap.fill(
        "Predicted by the acquisition planner (`benchmarks/mode_map.py`; it agrees with twin "
        "acquisitions within 20 %): PSNR against the noise-free image of the step raster "
        "above at 1 tc and of streamed full-Hadamard single pixel at 1 tc per pattern, for "
        "the pump power available over the DMD field and the MIR source's fluctuation. The "
        "reference channel keeps single pixel ahead when the MIR source is noisy; below "
        "about 1 W over the field the film's superlinear response leaves single pixel too "
        "little signal.", 95) + "\n\n" + "\n".join(map_lines)) if map_lines else ""
    text = "\n\n".join(["# Lab time in the twin: image quality against acquisition time",
                         "![SSIM against lab time](lab_time.png)", "\n".join(lines),
                         *paragraphs, fly_text, map_text]) + "\n"
    path.write_text(text, encoding="utf-8")
