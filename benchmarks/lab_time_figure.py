"""The figure of ``benchmarks/lab_time.py``: SSIM against lab time over a strip of images."""

from __future__ import annotations

from pathlib import Path

import numpy as np
from lab_time import FOV_UM, Row, on_reference_scale
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure


def _series(rows: list[Row], method: str, recon: str, dwell: float | None) -> list[Row]:
    """Acquired rows of one method and reconstruction, at one dwell (``None``: every dwell)."""
    picked = [r for r in rows if r.method == method and r.recon == recon
              and dwell in (None, r.dwell_tc) and r.lab_time_s is not None]
    return sorted(picked, key=lambda r: r.lab_time_s)


THUMBNAILS = (  # (images key, title) of the image strip under the plots
    ("raster 10 tc", "step raster, 10 tc"),
    ("spi 10 tc 1 pinv", "full Hadamard, pinv"),
    ("spi 10 tc 1 tv", "full Hadamard, TV"),
    ("spi 10 tc 0.25 tv", "25 % Hadamard, TV"),
    ("strong spi 1 tc 0.5 tv", "50 %, 2.9 W, streamed + ref"),
)


def _label_offset(method: str, index: int) -> tuple[tuple[int, int], str]:
    """Where a point's label goes (offset in points, alignment), clear of the other series."""
    if method == "step raster":  # close points on a log axis: alternate left and right
        return ((-2, 7), "right") if index % 2 == 0 else ((2, 7), "left")
    return (6, -12), "left"


def _plot_ssim(ax, rows: list[Row], key: str) -> None:
    compressive = "compressive Hadamard"
    styles = [
        ("step raster", "raw", None, "step raster (dwell in tc)", "o", "C0", "-", True),
        (compressive, "tv", 10, "compressive Hadamard, TV, dwell 10 tc (ratio)", "^", "C3",
         "-", True),
        (compressive, "tv", 3, "compressive Hadamard, TV, dwell 3 tc", "^", "C3", ":", False),
        (compressive, "pinv", 10, "compressive Hadamard, pinv, dwell 10 tc", "v", "C1", "--",
         False),
        ("full Hadamard", "pinv", 10, "full Hadamard, pinv, dwell 10 tc", "s", "C2", "", True),
        ("full Hadamard", "pinv", 3, "full Hadamard, pinv, dwell 3 tc", "s", "C2", "", False),
        ("full Hadamard", "tv", 10, "full Hadamard, TV, dwell 10 tc", "D", "C4", "", True),
        ("fly", "deconvolved", None, "fly raster, deconvolved (tc per pixel)", "P", "C7", "-",
         True),
    ]
    fast_fly = next((r.method for r in rows if r.method.startswith("fly, ")), None)
    if fast_fly is not None:
        styles.append((fast_fly, "deconvolved", None, f"{fast_fly}, deconvolved (tc per pixel)",
                       "X", "C8", "-", True))
    strong = next((r.method for r in rows if r.method.endswith("+ MIR reference")), None)
    if strong is not None:
        styles.append((strong, "tv", 1, "single pixel at the planner's settings: "
                       + strong.split(", ", 2)[-1] + ", TV, 1 tc (ratio)", "*", "C6", "-",
                       True))
    for method, recon, dwell, label, marker, colour, line, filled in styles:
        pts = _series(rows, method, recon, dwell)
        x = [r.lab_time_s / 60 for r in pts]
        y = [getattr(r, key) for r in pts]
        ax.plot(x, y, linestyle=line or "none", marker=marker, color=colour, ms=7,
                mfc=colour if filled else "white", mew=1.5, label=label)
        for i, (r, xi, yi) in enumerate(zip(pts, x, y, strict=True)):
            if method in ("step raster", "fly", fast_fly):
                text = f"{r.dwell_tc:g}"
            elif method == strong or (method == compressive and dwell == 10 and recon == "tv"):
                text = f"{r.ratio:.0%}"
            else:
                continue
            offset, ha = _label_offset(method, i)
            ax.annotate(text, (xi, yi), textcoords="offset points", xytext=offset,
                        ha=ha, fontsize=8, color=colour)
    ax.set_xscale("log")
    ax.set_xlabel("acquisition lab time (min)")
    ax.grid(True, which="both", alpha=0.3)
    ax.set_ylim(0.0, 1.05)


def make_figure(rows: list[Row], ceilings: dict[str, float], images: dict[str, np.ndarray],
                reference: np.ndarray, path: Path) -> None:
    """SSIM against lab time (own truth, common reference) over a strip of the images."""
    fig = Figure(figsize=(12, 8.1), layout="constrained")
    FigureCanvasAgg(fig)
    top, bottom = fig.subfigures(2, 1, height_ratios=(1.9, 1.0))
    axes = top.subplots(1, 2, sharex=True)
    _plot_ssim(axes[0], rows, "ssim_own")
    axes[0].set_ylabel("SSIM against the method's own noise-free truth")
    axes[0].set_title("own truth (raster: point-sampled; single pixel: pixel-averaged)",
                      fontsize=10)
    _plot_ssim(axes[1], rows, "ssim_common")
    axes[1].set_ylabel("SSIM against the pixel-averaged chart")
    axes[1].set_title("common reference (chart transmission averaged over each pixel)",
                      fontsize=10)
    for name, value, colour in (("raster truth", ceilings["raster"], "C0"),
                                ("single-pixel truth", ceilings["spi"], "C3")):
        axes[1].axhline(value, color=colour, linestyle=(0, (1, 2)), linewidth=1.2)
        axes[1].annotate(f"noise-free {name}: {value:.2f}", (0.98, value),
                         xycoords=("axes fraction", "data"), xytext=(0, -10),
                         textcoords="offset points", ha="right", fontsize=8, color=colour)
    handles, labels = axes[0].get_legend_handles_labels()
    top.legend(handles, labels, loc="outside lower center", ncol=3, fontsize=8.5,
               frameon=False)
    top.suptitle("64 x 64 pixels, USAF-1951 groups 5-7, 400 um field, lock-in 30 ms / "
                 "12 dB/oct (simulated lab)", fontsize=11)
    lo, hi = float(reference.min()), float(reference.max())
    strip = [("reference", "common reference", (reference - lo) / (hi - lo))]
    for key, title in THUMBNAILS:
        strip.append((key, title, on_reference_scale(images[key], reference)))
    by_key = {_image_key(r): r for r in rows if r.recon in ("raw", "pinv", "tv")}
    half = FOV_UM / 2
    for ax, (key, title, image) in zip(bottom.subplots(1, len(strip)), strip, strict=True):
        ax.imshow(image, cmap="gray", vmin=0.0, vmax=1.0, origin="lower",
                  extent=(-half, half, -half, half), interpolation="nearest")
        row = by_key.get(key)
        if row is not None:
            title = (f"{title}\n{row.lab_time_s / 60:.1f} min, "
                     f"SSIM {row.ssim_common:.2f}")
        ax.set_title(title, fontsize=8.5)
        ax.set_xticks([-200, 0, 200])
        ax.set_yticks([-200, 0, 200])
        ax.tick_params(labelsize=7)
        ax.set_xlabel("x (um)", fontsize=8)
    bottom.suptitle("images on the common scale (least-squares scaled to the reference, "
                    "grey 0..1)", fontsize=9.5)
    fig.savefig(path, dpi=110)


def _image_key(row: Row) -> str:
    if row.method == "step raster":
        return f"raster {row.dwell_tc:g} tc"
    if row.ratio is None:  # fly rows
        return f"{row.method} {row.dwell_tc:g} tc {row.recon}"
    prefix = "strong " if row.method.endswith("+ MIR reference") else ""
    return f"{prefix}spi {row.dwell_tc:g} tc {row.ratio:g} {row.recon}"
