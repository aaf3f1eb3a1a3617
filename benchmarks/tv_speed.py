"""TV reconstruction speed, memory and convergence: the shipped solver against the previous one.

Run:  python benchmarks/tv_speed.py [--repeats 5] [--big] [--no-gap] [--gap-size 128]

Problem: zigzag Walsh-Hadamard patterns, sigma = 0.01 on the orthonormal
measurements (noise level given), constrained TV (symmetric discretisation),
one BLAS thread. Printed in one run:

1. Time and PSNR at 128^2 / 25 % (and 5 %, 10 %) of the shipped `TotalVariation`
   and of ``reference``: a frozen copy, in this file, of the solver as it was
   before issue 13 (generic primal-dual loop, new full-size temporaries every
   iteration, the FWHT by 16 x 16 GEMM blocks that allocate). Both run in
   the same process, alternately, ``--repeats`` times; the table shows the
   minimum time of each (the least disturbed by other load) and the ratio.
   With ``--big``, 1024^2 / 25 % too (one run each; the reference takes ~30 s).
2. Memory peak (tracemalloc, a separate run of each).
3. Convergence: the shipped solver's PSNR against the same problem run to
   1000 iterations (``tol = 0``) on the bar chart of
   `reconstruction.spi.phantoms` at 5 / 10 / 25 %, and on Shepp-Logan and (with
   scikit-image) camera, astronaut and moon, at 128^2 (``--gap-size``: another
   side; bar charts from 256^2 on have a slow tail, see
   `reconstruction.spi.solvers.tv`).

The machine load (``/proc/loadavg``) is printed before and after: compare
ratios, not absolute times, on a busy machine.

Targets (issue 13, quiet machine, one thread): 128^2 / 25 % <= 0.1 s, 1024^2 /
25 % <= 10 s, the same PSNR; within 0.1 dB of the 1000-iteration run.
Measured (2-core VM, OpenBLAS SkylakeX, load average 0.5-0.9, camera, 25 %), two
runs: 128^2 0.073-0.075 s against 0.110-0.115 s (x1.5), 1024^2 10.4-11.1 s
against 27.6-29.3 s (x2.65), peak 103 MB against 252 MB; same iterations and
PSNR; largest gap to the 1000-iteration run 0.007 dB (bar chart, 10 %).
"""

from __future__ import annotations

import os

for _var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ[_var] = "1"  # before numpy is imported

import argparse  # noqa: E402
import importlib.util  # noqa: E402
import time  # noqa: E402
import tracemalloc  # noqa: E402
from collections.abc import Callable  # noqa: E402
from pathlib import Path  # noqa: E402

import numpy as np  # noqa: E402

from reconstruction import psnr  # noqa: E402
from reconstruction.spi import HadamardBasis  # noqa: E402
from reconstruction.spi.noise import noise_radius  # noqa: E402
from reconstruction.spi.phantoms import bar_chart, shepp_logan  # noqa: E402
from reconstruction.spi.solvers import TotalVariation  # noqa: E402
from reconstruction.spi.transforms import sylvester  # noqa: E402
from reconstruction.threads import one_blas_thread  # noqa: E402

SIGMA = 0.01
TARGET_128_S, TARGET_1024_S, TARGET_DB = 0.1, 10.0, 0.1
HAVE_SKIMAGE = importlib.util.find_spec("skimage") is not None


# --- the previous solver, frozen (reconstruction/spi at commit 9746180) -----------------


def _old_fwht(x: np.ndarray) -> np.ndarray:
    """The previous FWHT: blocks of <= 4 bits, each a (batched) GEMM into a new array."""
    n = x.shape[-1]
    bits = n.bit_length() - 1
    count = -(-bits // 4)
    base, extra = divmod(bits, count)
    out = np.array(x, copy=True, order="C").reshape(1, n)
    lead = 1
    for b in [base + 1 if i < extra else base for i in range(count)]:
        f = 1 << b
        rest = out.size // (lead * f)
        h = sylvester(f)
        if rest == 1:
            out = out.reshape(lead, f) @ h
        elif lead == 1:
            out = h @ out.reshape(f, rest)
        else:
            out = np.matmul(h, out.reshape(lead, f, rest))
        lead *= f
    return out.reshape(n)


@one_blas_thread
def reference_tv(
    basis: HadamardBasis, y: np.ndarray, eps: float, tol: float = 3e-4, maxiter: int = 3000
) -> tuple[np.ndarray, int]:
    """The previous `TotalVariation(eps=eps).solve(y)` (symmetric, relax 1.5); image and
    iterations."""
    n, index = basis.size, basis.operator.index

    def forward(x):
        return _old_fwht(x.reshape(-1))[index]

    def adjoint(r):
        c = np.zeros(n * n)
        c[index] = r
        return _old_fwht(c).reshape(n, n)

    def project(v):
        r = forward(v)
        r -= y
        nr = float(np.linalg.norm(r))
        if nr <= eps:
            return v
        r *= 1.0 - eps / nr
        out = adjoint(r)
        np.subtract(v, out, out=out)
        return out

    def grad(x):
        g = np.zeros((2, n, n))
        np.subtract(x[1:, :], x[:-1, :], out=g[0, :-1, :])
        np.subtract(x[:, 1:], x[:, :-1], out=g[1, :, :-1])
        return g

    def shift(g):
        b = np.zeros_like(g)
        b[0, 1:, :] = g[0, :-1, :]
        b[1, :, 1:] = g[1, :, :-1]
        return b

    def k(x):
        g = grad(x)
        out = np.concatenate([g, shift(g)])
        out *= 0.5
        return out

    def kt(p):
        b, out2 = p[2:], p[:2].copy()
        out2[0, :-1, :] += b[0, 1:, :]
        out2[1, :, :-1] += b[1, :, 1:]
        out2 *= 0.5
        g0, g1 = out2[0], out2[1]
        out = np.empty((n, n))
        out[0, :] = g0[0, :]
        np.subtract(g0[1:-1, :], g0[:-2, :], out=out[1:-1, :])
        out[-1, :] = -g0[-2, :]
        out[:, 0] += g1[:, 0]
        out[:, 1:-1] += g1[:, 1:-1] - g1[:, :-2]
        out[:, -1] -= g1[:, -2]
        np.negative(out, out=out)
        return out

    def prox_fstar(q):
        pairs = q.reshape(-1, 2, *q.shape[1:])
        nrm = pairs[:, 0] * pairs[:, 0]
        nrm += pairs[:, 1] * pairs[:, 1]
        np.sqrt(nrm, out=nrm)
        np.maximum(nrm, 1.0, out=nrm)
        pairs /= nrm[:, None]
        return q

    x = adjoint(y)
    scale = float(np.sqrt(np.mean(x * x)))
    kx = k(x)
    p = np.zeros_like(kx)
    theta = 0.99 / 2.0
    tau, sigma = theta * scale, theta / scale
    alpha, eta, delta, rho = 0.5, 0.95, 1.5, 1.5
    ktp = kt(p)
    it = 0
    for it in range(1, maxiter + 1):
        v = ktp * (-tau)
        v += x
        x_new = project(v)
        kx_new = k(x_new)
        q = kx_new * 2.0
        q -= kx
        q *= sigma
        q += p
        p_new = prox_fstar(q)
        ktp_new = kt(p_new)
        if it % 5 == 0 or it == maxiter:
            rp = np.linalg.norm((x - x_new) / tau - (ktp - ktp_new))
            rd = np.linalg.norm((p - p_new) / sigma - (kx - kx_new))
            rp /= max(float(np.linalg.norm(ktp_new)), 1e-300)
            rd /= max(float(np.linalg.norm(kx_new)), 1e-300)
            if rp <= tol and rd <= tol:
                return x_new, it
            if rp > delta * rd:
                tau, sigma = tau / (1 - alpha), sigma * (1 - alpha)
                alpha *= eta
            elif rd > delta * rp:
                tau, sigma = tau * (1 - alpha), sigma / (1 - alpha)
                alpha *= eta
        for old, new in ((x, x_new), (kx, kx_new), (p, p_new), (ktp, ktp_new)):
            old *= 1.0 - rho
            new *= rho
            old += new
    return x, it


# --- measurement ----------------------------------------------------------------------


def load() -> str:
    try:
        return " ".join(Path("/proc/loadavg").read_text().split()[:3])
    except OSError:
        return "n/a"


def scene(name: str, n: int) -> np.ndarray:
    if name == "shepp":
        return shepp_logan(n)
    if name == "bars":
        return bar_chart(n)
    from skimage import color, data, transform

    img = getattr(data, name)()
    img = color.rgb2gray(img) if img.ndim == 3 else img / 255.0
    return transform.resize(img, (n, n), anti_aliasing=True)


def problem(name: str, n: int, ratio: float, seed: int = 1):
    image = scene(name, n)
    basis = HadamardBasis(n, "zigzag", ratio)
    y = basis.forward(image) + SIGMA * np.random.default_rng(seed).standard_normal(basis.m)
    return image, basis, y, noise_radius(SIGMA, basis.m)


def shipped(basis: HadamardBasis, y: np.ndarray, eps: float) -> tuple[np.ndarray, int]:
    solver = TotalVariation(basis.operator, eps=eps)
    x = solver.solve(y)
    return x, solver.info.iterations


def peak_mb(func: Callable[[], object]) -> float:
    tracemalloc.start()
    try:
        func()
        return tracemalloc.get_traced_memory()[1] / 1e6
    finally:
        tracemalloc.stop()


def compare(name: str, n: int, ratio: float, repeats: int) -> dict:
    image, basis, y, eps = problem(name, n, ratio)
    runs = {"reference": reference_tv, "shipped": shipped}
    times: dict[str, list[float]] = {k: [] for k in runs}
    out: dict = {"case": f"{name} {n}^2 {100 * ratio:.0f}%"}
    for _ in range(repeats):
        for key, func in runs.items():
            t0 = time.perf_counter()
            x, it = func(basis, y, eps)
            times[key].append(time.perf_counter() - t0)
            out[key] = (psnr(x, image, 1.0), it)
    for key, func in runs.items():
        out[key + "_s"] = min(times[key])
        out[key + "_mb"] = peak_mb(lambda func=func: func(basis, y, eps))
    return out


def print_speed(rows: list[dict]) -> None:
    head = (
        f"{'case':<22}{'ref s':>8}{'new s':>8}{'ratio':>7}{'ref dB':>8}{'new dB':>8}"
        f"{'ref it':>7}{'new it':>7}{'ref MB':>8}{'new MB':>8}"
    )
    print(head)
    print("-" * len(head))
    for r in rows:
        print(
            f"{r['case']:<22}{r['reference_s']:>8.3f}{r['shipped_s']:>8.3f}"
            f"{r['shipped_s'] / r['reference_s']:>7.2f}{r['reference'][0]:>8.2f}"
            f"{r['shipped'][0]:>8.2f}{r['reference'][1]:>7}{r['shipped'][1]:>7}"
            f"{r['reference_mb']:>8.1f}{r['shipped_mb']:>8.1f}",
            flush=True,
        )


def convergence_gaps(names: list[str], n: int, ratios: tuple[float, ...]) -> list[tuple]:
    """(image, ratio, shipped dB, 1000-iteration dB, iterations) per case."""
    rows = []
    for name in names:
        for ratio in ratios:
            image, basis, y, eps = problem(name, n, ratio)
            x, it = shipped(basis, y, eps)
            long = TotalVariation(basis.operator, eps=eps, tol=0.0, maxiter=1000).solve(y)
            rows.append((name, ratio, psnr(x, image, 1.0), psnr(long, image, 1.0), it))
            r = rows[-1]
            print(
                f"  {name:<10}{100 * ratio:>4.0f} %: {r[2]:7.3f} dB in {it:4d} it, "
                f"1000 it {r[3]:7.3f} dB, gap {r[3] - r[2]:+.3f} dB",
                flush=True,
            )
    return rows


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--big", action="store_true", help="also 1024^2 (about a minute)")
    parser.add_argument("--no-gap", action="store_true", help="skip the convergence table")
    parser.add_argument("--gap-size", type=int, default=128, help="image side of that table")
    args = parser.parse_args(argv)
    natural = "camera" if HAVE_SKIMAGE else "shepp"
    print(f"load average before: {load()}; BLAS threads = 1; sigma = {SIGMA}")
    rows = [compare(natural, 128, r, args.repeats) for r in (0.05, 0.10, 0.25)]
    rows.append(compare("bars", 128, 0.25, args.repeats))
    if args.big:
        rows.append(compare(natural, 1024, 0.25, 1))
    print_speed(rows)
    r128 = rows[2]
    print(
        f"128^2 / 25 %: {r128['shipped_s']:.3f} s (target <= {TARGET_128_S} s on a quiet "
        f"machine), {r128['reference_s'] / r128['shipped_s']:.2f}x faster than the reference"
    )
    if args.big:
        rb = rows[-1]
        print(
            f"1024^2 / 25 %: {rb['shipped_s']:.2f} s (target <= {TARGET_1024_S} s), "
            f"{rb['reference_s'] / rb['shipped_s']:.2f}x faster; peak "
            f"{rb['shipped_mb']:.0f} MB vs {rb['reference_mb']:.0f} MB"
        )
    if not args.no_gap:
        n = args.gap_size
        print(f"Convergence: shipped TV against the same problem run to 1000 iterations ({n}^2)")
        names = ["bars", "shepp"] + (["camera", "astronaut", "moon"] if HAVE_SKIMAGE else [])
        gaps = convergence_gaps(names, n, (0.05, 0.10, 0.25))
        worst = max(gaps, key=lambda g: g[3] - g[2])
        ok = "ok" if worst[3] - worst[2] <= TARGET_DB else "MISSED"
        print(
            f"  largest gap {worst[3] - worst[2]:+.3f} dB ({worst[0]} {100 * worst[1]:.0f} %), "
            f"target <= {TARGET_DB} dB: {ok}"
        )
    print(f"load average after: {load()}")


if __name__ == "__main__":
    main()
