"""Issue 13 item 5 tables of ``benchmarks/spi_reconstruction.py``: the prior against TV,
adaptive against zigzag sampling (``--quick`` prints only these)."""

from __future__ import annotations

import importlib.util

import numpy as np
from spi_reconstruction import SIGMA, acquire, make_basis, scenes, timed

from reconstruction import psnr
from reconstruction.spi import reconstruct, sigma_from_pairs
from reconstruction.spi.adaptive import IndexedHadamardBasis, adaptive_hadamard

PRIOR_RATIOS = (0.10, 0.25)
QUICK_NATURAL = ["camera", "astronaut", "coins", "moon", "brick", "text", "chelsea", "coffee"]
TARGET_PRIOR_DB, TARGET_PRIOR_S = 1.0, 1.0


def item5_tables(names: list[str], n: int, repeats: int, seed: int) -> None:
    """Tables 2 and 3 of the module docstring."""
    images = scenes(n, names)
    prior_table(images, repeats, seed)
    print()
    adaptive_table(images, seed)


def _cases(images: dict[str, np.ndarray], seed: int, title: str, head: str):
    """Print a table's title and head; yield ``(name, image, ratio, zigzag basis, y,
    sigma)`` for every image and ratio (the zigzag acquisition with the seed's noise)."""
    print(title)
    print(head)
    print("-" * len(head))
    for name, image in images.items():
        for ratio in PRIOR_RATIOS:
            basis = make_basis("zigzag", ratio, image.shape[0])
            y, sig = acquire(basis, image, np.random.default_rng(seed))
            yield name, image, ratio, basis, y, sig


def prior_table(images: dict[str, np.ndarray], repeats: int, seed: int) -> list[dict]:
    """``pnp-nlm`` against ``tv`` at 10 / 25 % zigzag; prints one row per case."""
    if importlib.util.find_spec("skimage") is None:
        print("prior table skipped: pnp-nlm needs scikit-image")
        return []
    head = (
        f"{'image':<10}{'n':>4} {'zigzag':>6} {'TV dB':>7} {'s':>6} {'PnP dB':>7} {'s':>6} "
        f"{'gain':>6}"
    )
    rows = []
    for name, image, ratio, basis, y, sig in _cases(
            images, seed, "New prior (pnp-nlm, defaults tuned on camera only) vs TV:", head):
        n = image.shape[0]
        row: dict = {"image": name, "n": n, "ratio": ratio}
        for key in ("tv", "pnp-nlm"):
            x, row[key + "_s"] = timed(
                lambda basis=basis, y=y, sig=sig, key=key: reconstruct(
                    y, basis, key, noise_sigma=sig
                ),
                repeats,
            )
            row[key] = psnr(x, image, 1.0)
        rows.append(row)
        print(
            f"{name:<10}{n:>4} {100 * ratio:>5.0f}% {row['tv']:>7.2f} {row['tv_s']:>6.3f} "
            f"{row['pnp-nlm']:>7.2f} {row['pnp-nlm_s']:>6.3f} "
            f"{row['pnp-nlm'] - row['tv']:>+6.2f}",
            flush=True,
        )
    if rows:
        gains = [r["pnp-nlm"] - r["tv"] for r in rows]
        held_out = [r["pnp-nlm"] - r["tv"] for r in rows if r["image"] != "camera"]
        slowest = max(r["pnp-nlm_s"] for r in rows)
        met = sum(g >= TARGET_PRIOR_DB for g in gains)
        print(
            f"  gain min {min(gains):+.2f} / mean {np.mean(gains):+.2f} / max {max(gains):+.2f} dB;"
            f" >= +{TARGET_PRIOR_DB} dB in {met} of {len(gains)} cases "
            f"({'ok' if met == len(gains) else 'MISSED'}); slowest {slowest:.2f} s "
            f"(target <= {TARGET_PRIOR_S} s: {'ok' if slowest <= TARGET_PRIOR_S else 'MISSED'})"
        )
        if held_out:
            mean = float(np.mean(held_out))
            print(
                f"  held out (every image but camera, {len(held_out)} cases): mean gain "
                f"{mean:+.2f} dB (target >= +{TARGET_PRIOR_DB}: "
                f"{'ok' if mean >= TARGET_PRIOR_DB else 'MISSED'}), min {min(held_out):+.2f} dB"
            )
    return rows


def adaptive_table(images: dict[str, np.ndarray], seed: int) -> list[dict]:
    """Adaptive vs zigzag sampling at equal pattern counts, both reconstructed by TV."""
    head = (
        f"{'image':<10}{'n':>4} {'pairs':>6} {'ratio':>6} {'zigzag dB':>10} "
        f"{'adaptive dB':>12} {'gain':>6}"
    )
    rows = []
    for name, image, ratio, zig, y, sig in _cases(
            images, seed, "Adaptive (low orders first, then from TV previews) vs zigzag, "
            "equal pattern counts:", head):
        n = image.shape[0]
        x_zig = reconstruct(y, zig, "tv", noise_sigma=sig)
        rng = np.random.default_rng(seed)
        raws: list[np.ndarray] = []

        def measure(index, image=image, n=n, rng=rng, raws=raws):

            part = IndexedHadamardBasis(n, index)
            beta = float(np.median(part.amplitudes))
            raw = part.raw(image) + SIGMA / (beta * np.sqrt(2.0)) * rng.standard_normal(
                part.n_patterns
            )
            raws.append(raw)
            return part.combine(raw)

        basis, ya = adaptive_hadamard(measure, n, zig.m, SIGMA)
        sig_a = sigma_from_pairs(np.concatenate(raws), basis)
        x_ad = reconstruct(ya, basis, "tv", noise_sigma=sig_a)
        row = {"image": name, "n": n, "ratio": ratio, "pairs": basis.m}
        row["zigzag"], row["adaptive"] = psnr(x_zig, image, 1.0), psnr(x_ad, image, 1.0)
        rows.append(row)
        print(
            f"{name:<10}{n:>4} {basis.m:>6} {100 * ratio:>5.0f}% {row['zigzag']:>10.2f} "
            f"{row['adaptive']:>12.2f} {row['adaptive'] - row['zigzag']:>+6.2f}",
            flush=True,
        )
    gains = [r["adaptive"] - r["zigzag"] for r in rows]
    if gains:
        print(
            f"  gain min {min(gains):+.2f} / mean {np.mean(gains):+.2f} / max {max(gains):+.2f} dB"
        )
    return rows
