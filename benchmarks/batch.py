"""Batch reconstruction on dask: throughput with 1 and 2 workers, overheads, scaling model.

Run:  python benchmarks/batch.py [--quick] [--files 16] [--size 64] [--ratio 1.0]
                                 [--method tv] [--repeats 3] [--wavelengths 8]

Makes ``--files`` single-pixel scan files with the simulated lab (``--size`` pixels square,
``--ratio`` of the Hadamard basis measured; a few distinct acquisitions, copied), then
reconstructs the whole batch (``reconstruction.batch.reconstruct_batch``: one task per
file, each stores a new NXprocess in its file) on an embedded cluster of 1 and of 2
worker processes, alternating runs (``--repeats`` each, median; both clusters stay up, so
a change of machine load hits both alike). Measured:

* per-item cost ``c``: the task's own time on its worker (open, TV, store), median; and
  the batch run in this process without dask (``scheduler="inline"``);
* per-task overhead ``o``: 200 empty tasks through the same path (submit, scheduler,
  worker, result back), per task, with one worker;
* cluster start and worker warm-up (first import of numpy/scipy/h5py on each worker), paid
  once per batch, not per file;
* throughput (files/s) and parallel efficiency (speed-up / workers).

Model: a batch of ``n`` files on ``N`` workers takes ``T(N) = n * (o + c / N)`` after
start-up (Amdahl: the serial part per file is ``o``, the scheduler's; the parallel part is
``c``), so throughput ``N / (N o + c)`` files/s, bounded by ``1 / o`` however many workers,
and the speed-up ``(o + c) / (o + c / N)``. The table compares it with the measured 2-worker
run and extends it to N workers (on N free cores). A spectral cube reconstructed per
wavelength is the same: one item per wavelength; its last line times a spectral
single-pixel file of ``--wavelengths`` wavelengths with 1 and 2 workers.

The machine's load average is printed: other processes (other builds, tests) take cores
from the workers and lower the measured speed-up; say so with the figures.
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path

SPI = ('kind = "single_pixel"\nname = "bench"\n[single_pixel]\nsize = {size}\nratio = {ratio}\n'
       'dwell_tc = 10\n[lockin]\nsensitivity_V = 0.02\n[pump]\npower_mW = 500\n'
       '[sim]\nseed = {seed}\n')


def make_files(folder: Path, n: int, distinct: int, size: int, ratio: float) -> list[Path]:
    """``n`` scan files: ``distinct`` acquisitions (other seeds), copied round-robin."""
    from imager.engine import run_single_pixel
    from imager.recipes import parse_recipe
    from imager.sim import simulated_lab_for

    sources = []
    for seed in range(1, distinct + 1):
        recipe = parse_recipe(SPI.format(size=size, ratio=ratio, seed=seed), "bench.toml")
        path = folder / f"source{seed}.h5"
        run_single_pixel(simulated_lab_for(recipe), recipe, path, progress=False)
        sources.append(path)
    files = []
    for i in range(n):
        target = folder / "batch" / f"scan{i:03d}.h5"
        target.parent.mkdir(exist_ok=True)
        shutil.copyfile(sources[i % distinct], target)
        files.append(target)
    return files


def make_cube(folder: Path, size: int, ratio: float, wavelengths: int) -> Path:
    """A spectral single-pixel scan: the same patterns at ``wavelengths`` wavelengths."""
    from imager.engine.kinds import kind_of
    from imager.recipes import parse_recipe
    from imager.sim import simulated_lab_for

    step = 1.8 / max(wavelengths - 1, 1)
    text = SPI.format(size=size, ratio=ratio, seed=1) + (
        f"[spectral]\nstart_um = 6.8\nstop_um = {6.8 + step * (wavelengths - 1):.6f}\n"
        f"step_um = {step:.6f}\n")
    recipe = parse_recipe(text, "cube.toml")
    path = folder / "cube" / "cube.h5"
    kind_of(recipe).run(simulated_lab_for(recipe), recipe, path, progress=False)
    return path


def _noop(i: int) -> int:
    return i


def _warm_up() -> int:
    """On a worker: import what a task uses (paid once per worker process)."""
    import reconstruction.batch_item  # noqa: F401
    import reconstruction.nxprocess  # noqa: F401
    import reconstruction.spi.solvers  # noqa: F401
    import reconstruction.spifile  # noqa: F401

    return os.getpid()


def empty_task_overhead_s(client, n: int = 200) -> float:
    """Per task: ``n`` empty tasks submitted and gathered as a batch's are."""
    from distributed import as_completed

    client.gather(client.map(_noop, range(10), pure=False))  # connections warm
    t0 = time.perf_counter()
    futures = [client.submit(_noop, i, pure=False) for i in range(n)]
    for future in as_completed(futures):
        future.result()
    return (time.perf_counter() - t0) / n


def timed_batch(files, **kwargs) -> tuple[float, list]:
    from reconstruction.batch import reconstruct_batch

    t0 = time.perf_counter()
    results = reconstruct_batch(files, **kwargs)
    elapsed = time.perf_counter() - t0
    failed = [r.message for r in results if not r.ok]
    if failed:
        raise SystemExit(f"benchmark batch failed: {failed[0]}")
    return elapsed, results


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true",
                        help="8 files of 64x64 at ratio 0.5, 2 repeats (well under a minute)")
    parser.add_argument("--files", type=int, default=16)
    parser.add_argument("--size", type=int, default=64)
    parser.add_argument("--ratio", type=float, default=1.0)
    parser.add_argument("--method", default="tv")
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--wavelengths", type=int, default=8,
                        help="wavelengths of the spectral single-pixel cube")
    args = parser.parse_args()
    if args.quick:
        args.files, args.size, args.ratio, args.repeats = 8, 64, 0.5, 2
    from reconstruction.batch import local_client

    print(f"# {args.files} single-pixel files {args.size}x{args.size}, ratio {args.ratio:g}, "
          f"{args.method}; {os.cpu_count()} cores; load average before "
          f"{os.getloadavg()[0]:.2f}", flush=True)
    with tempfile.TemporaryDirectory(prefix="mirimager-batch-bench-") as tmp:
        t0 = time.perf_counter()
        files = make_files(Path(tmp), args.files, min(4, args.files), args.size, args.ratio)
        cube = make_cube(Path(tmp), args.size, args.ratio, args.wavelengths)
        print(f"# files made in {time.perf_counter() - t0:.1f} s (simulated acquisitions)")
        timed_batch(files, scheduler="inline", method=args.method)  # imports, caches warm
        inline = [timed_batch(files, scheduler="inline", method=args.method)[0]
                  for _ in range(args.repeats)]
        clients, start_s, warm_s = {}, {}, {}
        stacks = []
        try:
            for workers in (1, 2):
                t0 = time.perf_counter()
                stack = local_client(workers)
                clients[workers] = stack.__enter__()
                stacks.append(stack)
                start_s[workers] = time.perf_counter() - t0
                t0 = time.perf_counter()
                clients[workers].run(_warm_up)
                warm_s[workers] = time.perf_counter() - t0
                # one untimed batch: each worker's first tasks fill its caches
                timed_batch(files[: 2 * workers], client=clients[workers], method=args.method)
            overhead_s = empty_task_overhead_s(clients[1])
            overhead2_s = empty_task_overhead_s(clients[2])
            walls: dict[int, list[float]] = {1: [], 2: []}
            costs: dict[int, list[float]] = {1: [], 2: []}
            cube_walls: dict[int, list[float]] = {1: [], 2: []}
            for _ in range(args.repeats):
                for workers in (1, 2):
                    wall, results = timed_batch(files, client=clients[workers],
                                                method=args.method)
                    walls[workers].append(wall)
                    costs[workers] += [r.seconds for r in results]
                    cube_walls[workers].append(timed_batch(
                        [cube], client=clients[workers], method=args.method, store=False)[0])
        finally:
            for stack in reversed(stacks):
                stack.__exit__(*sys.exc_info())
    report(args, inline, walls, costs, overhead_s, overhead2_s, start_s, warm_s)
    c1, c2 = statistics.median(cube_walls[1]), statistics.median(cube_walls[2])
    print(f"cube of {args.wavelengths} wavelengths ({args.size}x{args.size}, one task per "
          f"wavelength): 1 worker {c1:.2f} s, 2 workers {c2:.2f} s, {c1 / c2:.2f}x")


def report(args, inline, walls, costs, overhead_s, overhead2_s, start_s, warm_s) -> None:
    n = args.files
    c, c2 = statistics.median(costs[1]), statistics.median(costs[2])
    o = overhead_s
    t1, t2 = statistics.median(walls[1]), statistics.median(walls[2])
    print(f"# load average after {os.getloadavg()[0]:.2f}")
    print(f"per-item cost c (task time on its worker, median)   {c * 1e3:8.1f} ms "
          f"({c2 * 1e3:.1f} ms with 2 workers: {c2 / c:.2f}x, cores shared if > 1)")
    print(f"per-item, this process without dask (inline)        "
          f"{statistics.median(inline) / n * 1e3:8.1f} ms")
    print(f"per-task overhead o (empty tasks, 1 worker)         {o * 1e3:8.2f} ms "
          f"({overhead2_s * 1e3:.2f} ms with 2)")
    print(f"per-item, 1-worker batch (wall / files)             {t1 / n * 1e3:8.1f} ms "
          f"(so overhead per item {(t1 / n - c) * 1e3:.1f} ms)")
    print(f"cluster start 1 / 2 workers                         {start_s[1]:8.2f} / "
          f"{start_s[2]:.2f} s, worker warm-up {warm_s[1]:.2f} / {warm_s[2]:.2f} s (once)")
    print()
    print(f"{'workers':>7} {'wall s':>8} {'files/s':>8} {'speed-up':>8} {'effic.':>7} "
          f"{'model files/s':>13} {'model speed-up':>14}")
    for workers, wall in ((1, t1), (2, t2)):
        model = workers / (workers * o + c)
        print(f"{workers:>7} {wall:8.3f} {n / wall:8.2f} {t1 / wall:8.2f} "
              f"{t1 / wall / workers:7.0%} {model:13.2f} {(o + c) / (o + c / workers):14.2f}")
    for workers in (4, 8, 16, 64):
        model = workers / (workers * o + c)
        print(f"{workers:>7} {'':>8} {'':>8} {'':>8} {'':>7} {model:13.2f} "
              f"{(o + c) / (o + c / workers):14.2f}")
    print(f"{'limit':>7} {'':>8} {'':>8} {'':>8} {'':>7} {1 / o:13.2f} {(o + c) / o:14.2f}"
          "   (1/o: the scheduler's rate)")
    print()
    print(f"2 workers / 1 worker throughput: {t1 / t2:.2f}x (target >= 1.7x); runs: "
          f"1 worker {', '.join(f'{w:.2f}' for w in walls[1])} s; "
          f"2 workers {', '.join(f'{w:.2f}' for w in walls[2])} s")


if __name__ == "__main__":
    main()
