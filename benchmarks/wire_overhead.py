"""Per-point cost of a raster over the emulated wire (real drivers, real client libraries).

Run:  python benchmarks/wire_overhead.py

A 6x6 raster with 3 um steps and zero dwell runs through the real drivers
(thorlabs-apt-device, pyvisa-py, thorlabs-mc2000b) against the emulated lab,
with realistic MTS25-Z8 stage dynamics, for several APT library read
timeouts (which set its status-polling period). The same plan on the
simulated lab gives the physics floor (move + settle time). The difference is
what the wire and the client libraries cost per point.
"""

from __future__ import annotations

import tempfile
import time
from pathlib import Path

from imager.emulators.bench import start_emulated_bench
from imager.engine import run_raster
from imager.labconfig import HardwareLab, parse_lab_config
from imager.recipes import default_recipe
from imager.sim import simulated_lab_for


def _recipe():
    return default_recipe(scan={"nx": 6, "ny": 6, "x_start_um": 12490.0, "x_stop_um": 12505.0,
                                "y_start_um": 12490.0, "y_stop_um": 12505.0, "dwell_s": 0.0},
                          lockin={"time_constant_s": 0.003})


def main() -> None:
    recipe = _recipe()
    n = recipe.grid.n_points
    with tempfile.TemporaryDirectory() as tmp:
        sim = run_raster(simulated_lab_for(recipe), recipe, Path(tmp) / "sim.h5", progress=False)
        physics_ms = sim.lab_time_s / n * 1e3
        rows = []
        for lockin_via in ("tcp", "pty"):
            for timeout_s in (0.1, 0.02, 0.005):
                with start_emulated_bench() as bench:
                    text = bench.lab_config_toml(lockin_via=lockin_via,
                                                 serial_read_timeout_s=timeout_s)
                    with HardwareLab(parse_lab_config(text)) as lab:
                        path = Path(tmp) / f"hw_{lockin_via}_{timeout_s}.h5"
                        start = time.perf_counter()
                        run_raster(lab, recipe, path, progress=False)
                        wall_ms = (time.perf_counter() - start) / n * 1e3
                        t0 = time.perf_counter()
                        for _ in range(50):
                            lab.lockin.read_xy()
                        read_ms = (time.perf_counter() - t0) / 50 * 1e3
                rows.append((lockin_via, timeout_s, wall_ms, read_ms))
    print("\nRaster over the emulated wire: 6x6, 3 um steps, zero dwell, MTS25-Z8 dynamics")
    print(f"physics floor (simulated lab: move + settle): {physics_ms:.1f} ms/point")
    header = (f"{'lock-in via':>11} | {'APT read timeout s':>18} | {'wall ms/pt':>10} | "
              f"{'overhead ms/pt':>14} | {'lock-in read ms':>15}")
    print(header)
    print("-" * len(header))
    for via, timeout_s, wall_ms, read_ms in rows:
        print(f"{via:>11} | {timeout_s:18g} | {wall_ms:10.1f} | {wall_ms - physics_ms:14.1f} | "
              f"{read_ms:15.2f}")


if __name__ == "__main__":
    main()
