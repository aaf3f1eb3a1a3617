"""Engine overhead per point: simulated devices, zero dwell, HDF5 flush included.

Run:  python benchmarks/engine_overhead.py [--repeats 3] [--quick]

Prints, for 64x64 and 128x128 grids, milliseconds per point in CPU time
(``time.process_time``: what the process itself spent, the figure that holds
on a busy machine) and wall time (``time.perf_counter``) for

* ``engine``: the whole :func:`run_raster` call divided by the points: the
  plan, the simulated stage and lock-in on the virtual clock (physics, noise),
  the fault checks, one point record + one pixel + ``flush`` per point, and
  the one-off setup (truth image, file header). This is the figure held to
  the target: nothing is subtracted from it;
* ``sim devices`` and ``file write``: those parts of it timed alone (the
  device calls of the loop: point hook, move, settle, lock-in and power-meter
  reads, encoder; ``ScanWriter.write_point`` with its flush);
* ``engine - devices``: the engine's own cost per point, without the
  simulated physics a real lab would not spend CPU on;
* ``setup``: the one-off cost before the first point, ms;
* bluesky's ``RunEngine`` running ``grid_scan`` on ``ophyd.sim`` devices
  (motor1, motor2, det) on the same grid, in the same run (where bluesky and
  ophyd are installed: ``pip install -e ".[bench]"``), and the ratio of its
  CPU time per point to the engine's. bluesky writes no file here (no
  subscriber), so the comparison favours it.

Target: engine <= 0.2 ms of CPU per point.
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

from imager.engine import run_raster
from imager.plans import raster_points
from imager.recipes import default_recipe
from imager.sim import simulated_lab_for
from imager.storage import ScanWriter

TARGET_CPU_MS = 0.2

Timing = tuple[float, float]
"""(CPU ms, wall ms) per point."""


def _recipe(n: int):
    return default_recipe(scan={"nx": n, "ny": n, "dwell_s": 0.0})


def _timed(work: Callable[[], int]) -> Timing:
    """Run ``work()`` (it returns its point count); CPU and wall ms per point."""
    cpu, wall = time.process_time(), time.perf_counter()
    count = work()
    return ((time.process_time() - cpu) / count * 1e3,
            (time.perf_counter() - wall) / count * 1e3)


def engine_ms(n: int, folder: Path, tag: str) -> Timing:
    """The whole ``run_raster`` call per point (setup included)."""
    recipe = _recipe(n)
    lab = simulated_lab_for(recipe)

    def work() -> int:
        result = run_raster(lab, recipe, folder / f"engine_{n}_{tag}.h5", progress=False,
                            handle_ctrl_c=False)
        assert result.exit_status == "success"
        return result.points_done

    return _timed(work)


def setup_ms(n: int, folder: Path, tag: str) -> Timing:
    """Fixed cost before the first point (truth image, file header), CPU and wall ms."""
    recipe = _recipe(n)
    lab = simulated_lab_for(recipe)
    grid = recipe.grid

    def work() -> int:
        truth = lab.expected_image(grid.x_um, grid.y_um)
        writer = ScanWriter(folder / f"setup_{n}_{tag}.h5", grid, recipe_text=recipe.text,
                            dwell_s=0.0, instruments={}, lab=lab.settings(), truth_V=truth,
                            chart=lab.chart)
        writer.close("success")
        return 1

    return _timed(work)


def devices_ms(n: int) -> Timing:
    """The simulated device calls of the loop alone (power meter included), per point."""
    recipe = _recipe(n)
    lab = simulated_lab_for(recipe)
    stage, lockin = lab.stage, lab.lockin
    meter = getattr(lab, "power_meter", None)

    def work() -> int:
        count = 0
        for p in raster_points(recipe.grid):
            lab.begin_point(p.index)
            stage.move_to(p.x_um, p.y_um)
            stage.wait_settled()
            lockin.read_xy()
            if meter is not None:  # the engine's power monitor reads it after each reading
                meter.read_power_mW()
            stage.position_um()
            count += 1
        return count

    return _timed(work)


def writer_ms(n: int, folder: Path, tag: str) -> Timing:
    """``ScanWriter.write_point`` (record + pixel + flush) alone, per point."""
    recipe = _recipe(n)
    lab = simulated_lab_for(recipe)
    reading = lab.lockin.read_xy()
    writer = ScanWriter(folder / f"writer_{n}_{tag}.h5", recipe.grid, recipe_text=recipe.text,
                        dwell_s=0.0, instruments={}, lab={"kind": "benchmark"})

    def work() -> int:
        for p in raster_points(recipe.grid):
            writer.write_point(p, p.x_um, p.y_um, reading, 0.0, 0.0)
        return recipe.grid.n_points

    timing = _timed(work)
    writer.close("success")
    return timing


def bluesky_ms(n: int) -> Timing | None:
    """bluesky ``grid_scan`` on ``ophyd.sim`` devices, per point; None if not installed."""
    try:
        from bluesky import RunEngine
        from bluesky.plans import grid_scan
        from ophyd.sim import det, motor1, motor2
    except ImportError:
        return None
    engine = RunEngine({})

    def work() -> int:
        engine(grid_scan([det], motor2, -1, 1, n, motor1, -1, 1, n, snake_axes=True))
        return n * n

    return _timed(work)


def _median(runs: list[Timing]) -> Timing:
    return (statistics.median(r[0] for r in runs), statistics.median(r[1] for r in runs))


def _pair(t: Timing | None, width: int = 13, digits: int = 3) -> str:
    if t is None:
        return f"{'n/a':>{width}}"
    return f"{f'{t[0]:.{digits}f} / {t[1]:.{digits}f}':>{width}}"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=3, help="runs per engine figure (median)")
    parser.add_argument("--quick", action="store_true",
                        help="bluesky on 64x64 only (128x128 takes one to two minutes)")
    args = parser.parse_args()
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        for n in (64, 128):
            reps = range(args.repeats)
            rows.append((
                n,
                _median([engine_ms(n, folder, str(i)) for i in reps]),
                _median([devices_ms(n) for _ in reps]),
                _median([writer_ms(n, folder, str(i)) for i in reps]),
                _median([setup_ms(n, folder, str(i)) for i in reps]),
            ))
    blue = {n: bluesky_ms(n) for n in ((64,) if args.quick else (64, 128))}
    print()
    print("Per-point cost, ms, as CPU / wall (zero dwell, flush per point; engine parts: "
          f"median of {args.repeats}; bluesky: one run)")
    header = (f"{'grid':>9} | {'engine':>13} | {'sim devices':>13} | {'file write':>13} | "
              f"{'engine-devices':>14} | {'setup ms':>13} | {'target':>6} | "
              f"{'bluesky':>13} | {'CPU ratio':>9}")
    print(header)
    print("-" * len(header))
    for n, engine, devices, writer, setup in rows:
        own = (engine[0] - devices[0], engine[1] - devices[1])
        b = blue.get(n)
        ratio = f"{b[0] / engine[0]:8.1f}x" if b is not None else f"{'n/a':>9}"
        ok = "ok" if engine[0] <= TARGET_CPU_MS else "MISS"
        print(f"{n:>4}x{n:<4} | {_pair(engine)} | {_pair(devices)} | {_pair(writer)} | "
              f"{_pair(own, 14)} | {_pair(setup, 13, 1)} | {ok:>6} | {_pair(b)} | {ratio}")
    if all(v is None for v in blue.values()):
        print('bluesky/ophyd not installed (pip install -e ".[bench]" to measure them here)')
    print(f"target: engine <= {TARGET_CPU_MS} ms of CPU per point. 'engine' is the whole "
          "run_raster call divided by the points\n(simulated physics and setup included); "
          "'sim devices' and 'file write' are those parts alone.")


if __name__ == "__main__":
    main()
