"""Which mode wins where: the planner's map of single pixel against the step raster.

Run:  python benchmarks/mode_map.py

For each available pump power over the DMD field (x) and MIR source fluctuation (y), the
acquisition planner (:func:`imager.planner.predict`, agreeing with twin acquisitions
within 20 %) predicts the PSNR against the noise-free image of

* the step raster of ``benchmarks/lab_time.py`` (64 x 64, 1 tc, 0.5 mW focused pump), and
* full-Hadamard single pixel on the same field, streamed at 1 tc per pattern (about a
  third of the raster's lab time), with the photodiode gain that does not saturate,
  without and with the MIR reference channel.

A cell names the mode with the higher PSNR (single pixel in a third of the time wins a
tie). Takes about a minute.
"""

from __future__ import annotations

import time

from lab_time import raster_recipe, spi_recipe

from imager.planner import predict
from imager.planner.recommend import _gain_for

PUMPS_MW = (100.0, 300.0, 1000.0, 2900.0)
MIR_REL_RMS = (0.003, 0.01, 0.03)


def mode_map_lines(seed: int = 0) -> list[str]:
    """The map as markdown table lines (PSNR in dB: raster / SPI / SPI + reference)."""
    lines = ["| MIR rms \\ pump over the field | " + " | ".join(
        f"{p / 1000:g} W" for p in PUMPS_MW) + " |", "|---" * (len(PUMPS_MW) + 1) + "|"]
    for mir in MIR_REL_RMS:
        cells = []
        raster = predict(raster_recipe(1, seed).with_overrides(
            "map", sim={"mir_power_rel_rms": mir}))
        for pump in PUMPS_MW:
            probe = spi_recipe(1.0, 1, seed, "stream", pump_mW=pump)
            gain = _gain_for(probe, True)
            spi = {ref: predict(spi_recipe(1.0, 1, seed, "stream", pump_mW=pump,
                                           gain_V_per_A=gain, reference=ref,
                                           sensitivity_V=0.05).with_overrides(
                "map", sim={"mir_power_rel_rms": mir})) for ref in (False, True)}
            best = max(spi.values(), key=lambda p: p.psnr_dB)
            winner = "**SPI**" if best.psnr_dB >= raster.psnr_dB else "raster"
            if winner == "**SPI**" and spi[False].psnr_dB < raster.psnr_dB:
                winner = "**SPI + ref**"
            cells.append(f"{winner} {raster.psnr_dB:.1f} / {spi[False].psnr_dB:.1f} / "
                         f"{spi[True].psnr_dB:.1f}")
        lines.append(f"| {mir * 100:g} % | " + " | ".join(cells) + " |")
    lab_raster = raster.lab_time_s / 60
    lab_spi = best.lab_time_s / 60
    lines.append("")
    lines.append(f"PSNR in dB (planner): step raster ({lab_raster:.1f} min) / single pixel "
                 f"streamed ({lab_spi:.1f} min) / with the MIR reference channel.")
    return lines


def main() -> int:
    start = time.perf_counter()
    print("\n".join(mode_map_lines()))
    print(f"\nwall time {time.perf_counter() - start:.0f} s")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
