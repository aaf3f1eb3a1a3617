"""BLAS threads and the single-pixel path: the library's one-thread limit against N threads.

Run:  python benchmarks/blas_threads.py [--threads 2] [--busy 1] [--repeats 5]

Times (median of ``--repeats``) a total-variation reconstruction at 128^2 (Hadamard
zigzag, 25 %, Shepp-Logan, sigma = 0.01) and an orthonormal Walsh-Hadamard transform of a
256 x 256 image, twice: as the library runs them (``reconstruction.threads``: one BLAS
thread while a transform or solver runs) and with that limit off and BLAS set to
``--threads`` threads (what numpy does by default on this machine). ``--busy N`` starts N
CPU-bound processes beside the measurement (a busy machine, where the thread hand-offs
of many small matrix products cost most); they are stopped at the end. Also prints what
the limit itself costs per call: the outermost call (threadpoolctl, cached controller),
a nested call (a counter), and a fresh ``threadpoolctl.threadpool_limits`` for comparison.

Reference (2-core machine, one other CPU-bound process): TV 128^2 1.10 s on 2 threads,
0.21 s on one; FWHT 256^2 16 ms on 2 threads, 0.24 ms on one. Idle machine: TV 0.57 s
against 0.33 s, FWHT about equal.
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import time
from collections.abc import Callable

import numpy as np
from threadpoolctl import threadpool_info, threadpool_limits

from reconstruction import threads
from reconstruction.spi import HadamardBasis, reconstruct
from reconstruction.spi.phantoms import shepp_logan
from reconstruction.spi.transforms import fwht

SIGMA = 0.01


def median_s(func: Callable[[], object], repeats: int) -> float:
    """Median wall time of ``func()`` over ``repeats`` calls (after one warm-up call)."""
    func()
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        func()
        times.append(time.perf_counter() - t0)
    return statistics.median(times)


def per_call_us(func: Callable[[], object], n: int = 2000) -> float:
    t0 = time.perf_counter()
    for _ in range(n):
        func()
    return (time.perf_counter() - t0) / n * 1e6


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--threads", type=int, default=2, help="BLAS threads without the limit")
    parser.add_argument("--busy", type=int, default=0, help="CPU-bound processes beside")
    parser.add_argument("--repeats", type=int, default=5)
    args = parser.parse_args()

    rng = np.random.default_rng(0)
    basis = HadamardBasis(size=128, ordering="zigzag", ratio=0.25)
    y = basis.forward(shepp_logan(128)) + SIGMA * rng.standard_normal(basis.m)
    x256 = rng.standard_normal(256 * 256)
    cases = {
        "TV 128^2, 25 % (s)": lambda: reconstruct(y, basis, method="tv", noise_sigma=SIGMA),
        "FWHT 256^2 (ms)": lambda: fwht(x256),
    }
    scale = {"TV 128^2, 25 % (s)": 1.0, "FWHT 256^2 (ms)": 1e3}
    busy = [subprocess.Popen([sys.executable, "-c", "while True: pass"])
            for _ in range(args.busy)]
    try:
        results: dict[str, dict[str, float]] = {}
        for label in ("limit (library default)", f"{args.threads} BLAS threads"):
            limited = label.startswith("limit")
            threads.set_blas_limit(1 if limited else None)
            with threadpool_limits(limits=args.threads, user_api="blas"):
                results[label] = {name: median_s(f, args.repeats) * scale[name]
                                  for name, f in cases.items()}
        threads.set_blas_limit(1)
        outer = per_call_us(lambda: threads.one_blas_thread(lambda: None)())
        with threads.one_blas_thread():
            nested = per_call_us(lambda: threads.one_blas_thread(lambda: None)())
        fresh = per_call_us(lambda: threadpool_limits(1, "blas").restore_original_limits(), 200)
    finally:
        for p in busy:
            p.kill()
            p.wait()

    libs = ", ".join(f"{i['internal_api']} ({i['num_threads']} threads)"
                     for i in threadpool_info() if i["user_api"] == "blas")
    print(f"BLAS: {libs}; {args.busy} CPU-bound process(es) beside; median of {args.repeats}")
    print(f"{'case':<22}" + "".join(f"{label:>26}" for label in results) + f"{'ratio':>8}")
    labels = list(results)
    for name in cases:
        a, b = (results[label][name] for label in labels)
        print(f"{name:<22}{a:26.3f}{b:26.3f}{b / a:8.1f}x")
    print(f"cost of the limit per call: outermost {outer:.1f} us, nested {nested:.2f} us "
          f"(a fresh threadpool_limits: {fresh:.0f} us)")


if __name__ == "__main__":
    main()
