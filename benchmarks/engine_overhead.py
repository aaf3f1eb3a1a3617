"""Engine overhead per point: simulated devices, zero dwell, HDF5 flush included.

Run:  python benchmarks/engine_overhead.py [--repeats 3]

Prints a table of wall-clock milliseconds per point for our engine on 64x64
and 128x128 grids (the whole engine: plan, simulated stage/lock-in on the
virtual clock, one record + one pixel + flush per point), the parts of it
measured alone, and -- where bluesky and ophyd are installed
(``pip install -e ".[bench]"``) -- bluesky's RunEngine with ophyd.sim
devices on the same grid sizes, with the ratio. Reference measured on this
kind of machine: bluesky + ophyd.sim 3.7 ms/point; target <= 0.3 ms/point.
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from pathlib import Path

from imager.engine import run_raster
from imager.lab import simulated_lab_for
from imager.plans import raster_points
from imager.recipes import default_recipe
from imager.storage import ScanWriter

TARGET_MS = 0.3
BLUESKY_REFERENCE_MS = 3.7


def _recipe(n: int):
    return default_recipe(scan={"nx": n, "ny": n, "dwell_s": 0.0})


def engine_ms_per_point(n: int, folder: Path, tag: str) -> float:
    recipe = _recipe(n)
    lab = simulated_lab_for(recipe)
    start = time.perf_counter()
    result = run_raster(lab, recipe, folder / f"engine_{n}_{tag}.h5", progress=False,
                        handle_ctrl_c=False)
    elapsed = time.perf_counter() - start
    assert result.exit_status == "success"
    return elapsed / result.points_done * 1e3


def setup_ms(n: int, folder: Path, tag: str) -> float:
    """Fixed cost before the first point (lab, truth image, file header), in ms."""
    recipe = _recipe(n)
    lab = simulated_lab_for(recipe)
    grid = recipe.grid
    start = time.perf_counter()
    truth = lab.expected_image(grid.x_um, grid.y_um)
    writer = ScanWriter(folder / f"setup_{n}_{tag}.h5", grid, recipe_text=recipe.text,
                        dwell_s=0.0, instruments={}, lab=lab.settings(), truth_V=truth,
                        chart=lab.chart)
    writer.close("success")
    return (time.perf_counter() - start) * 1e3


def devices_ms_per_point(n: int) -> float:
    recipe = _recipe(n)
    lab = simulated_lab_for(recipe)
    stage, lockin = lab.stage, lab.lockin
    start = time.perf_counter()
    count = 0
    for p in raster_points(recipe.grid):
        lab.begin_point(p.index)
        stage.move_to(p.x_um, p.y_um)
        stage.wait_settled()
        lockin.read_xy()
        stage.position_um()
        count += 1
    return (time.perf_counter() - start) / count * 1e3


def writer_ms_per_point(n: int, folder: Path, tag: str) -> float:
    recipe = _recipe(n)
    lab = simulated_lab_for(recipe)
    reading = lab.lockin.read_xy()
    writer = ScanWriter(folder / f"writer_{n}_{tag}.h5", recipe.grid, recipe_text=recipe.text,
                        dwell_s=0.0, instruments={}, lab={"kind": "benchmark"})
    start = time.perf_counter()
    for p in raster_points(recipe.grid):
        writer.write_point(p, p.x_um, p.y_um, reading, 0.0, 0.0)
    elapsed = time.perf_counter() - start
    writer.close("success")
    return elapsed / recipe.grid.n_points * 1e3


def bluesky_ms_per_point(n: int) -> float | None:
    try:
        from bluesky import RunEngine
        from bluesky.plans import grid_scan
        from ophyd.sim import det, motor1, motor2
    except ImportError:
        return None
    engine = RunEngine({})
    start = time.perf_counter()
    engine(grid_scan([det], motor2, -1, 1, n, motor1, -1, 1, n, snake_axes=True))
    return (time.perf_counter() - start) / (n * n) * 1e3


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=3, help="runs per figure (median)")
    parser.add_argument("--quick", action="store_true",
                        help="bluesky on 64x64 only (128x128 takes about a minute)")
    args = parser.parse_args()
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        for n in (64, 128):
            def med(fn, *a):
                return statistics.median(fn(*a) for _ in range(args.repeats))

            engine = statistics.median(
                engine_ms_per_point(n, folder, str(i)) for i in range(args.repeats))
            devices = med(devices_ms_per_point, n)
            writer = statistics.median(
                writer_ms_per_point(n, folder, str(i)) for i in range(args.repeats))
            setup = statistics.median(setup_ms(n, folder, str(i)) for i in range(args.repeats))
            rows.append((n, engine, devices, writer, setup))
    blue = {}
    for n in (64,) if args.quick else (64, 128):
        value = bluesky_ms_per_point(n)
        if value is not None:
            blue[n] = value
    print()
    print("Engine overhead per point (wall clock, zero dwell, flush per point; median of "
          f"{args.repeats})")
    header = (f"{'grid':>9} | {'engine ms/pt':>12} | {'sim devices':>11} | {'file write':>10} | "
              f"{'setup ms':>8} | {'target':>6} | {'bluesky ms/pt':>13} | {'ratio':>6}")
    print(header)
    print("-" * len(header))
    for n, engine, devices, writer, setup in rows:
        b = blue.get(n)
        bs = f"{b:13.3f}" if b is not None else f"{'n/a':>13}"
        ratio = f"{b / engine:5.1f}x" if b is not None else f"{'n/a':>6}"
        ok = "ok" if engine <= TARGET_MS else "MISS"
        print(f"{n:>4}x{n:<4} | {engine:12.3f} | {devices:11.3f} | {writer:10.3f} | "
              f"{setup:8.1f} | {ok:>6} | {bs} | {ratio}")
    if not blue:
        print(f"bluesky not installed: reference {BLUESKY_REFERENCE_MS} ms/pt "
              '(pip install -e ".[bench]" to measure it here)')
    print(f"target <= {TARGET_MS} ms/pt. 'engine' is the whole run_raster call divided by the "
          "points (setup included);\n'sim devices' and 'file write' are those parts alone; "
          "'setup' is the one-off cost before the first point (truth image, file header).")


if __name__ == "__main__":
    main()
