"""Fixtures for the reconstruction tests: a writer of scan files following docs/scanfile.md.

`write_scan` is a plain function (also loaded by path from a subprocess in the
"file still open for writing" test); the `scan_writer` fixture hands it to tests.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import h5py
import numpy as np
import pytest

POINT_DTYPE = np.dtype(
    [
        ("index", "i8"),
        ("ix", "i4"),
        ("iy", "i4"),
        ("x_set_um", "f8"),
        ("y_set_um", "f8"),
        ("x_um", "f8"),
        ("y_um", "f8"),
        ("X_V", "f8"),
        ("Y_V", "f8"),
        ("status", "u4"),
        ("t_lab_s", "f8"),
        ("t_wall_s", "f8"),
        ("done", "u1"),
    ]
)

RECIPE = 'kind = "raster"\n[grid]\nnx = 4\nny = 3\norder = "snake"\n'


def plan_indices(nx: int, ny: int, order: str) -> tuple[np.ndarray, np.ndarray]:
    """``(ix, iy)`` of every plan point, in plan order (as imager/plans/raster.py)."""
    index = np.arange(nx * ny)
    iy, k = np.divmod(index, nx)
    ix = np.where((order == "snake") & (iy % 2 == 1), nx - 1 - k, k)
    return ix, iy


def write_scan(
    path: str | Path,
    image_V: np.ndarray,
    *,
    order: str = "snake",
    x_um: np.ndarray | None = None,
    y_um: np.ndarray | None = None,
    n_done: int | None = None,
    truth_V: np.ndarray | None = None,
    chart: np.ndarray | None = None,
    version: int = 1,
    kind: str = "raster",
    exit_status: str | None = None,
    with_points: bool = True,
    close: bool = True,
) -> Path | h5py.File:
    """Write a raster scan file in the layout of docs/scanfile.md (format version 1).

    The first ``n_done`` plan points (all by default) are written as done with
    the value of ``image_V`` at their pixel; the rest have done=0 and NaN.
    With ``close=False`` the flushed, still-open h5py.File is returned.
    """
    image_V = np.asarray(image_V, dtype=float)
    ny, nx = image_V.shape
    total = nx * ny
    n_done = total if n_done is None else n_done
    x_um = np.linspace(100.0, 100.0 + 10.0 * (nx - 1), nx) if x_um is None else x_um
    y_um = np.linspace(-50.0, -50.0 + 10.0 * (ny - 1), ny) if y_um is None else y_um
    if exit_status is None:
        exit_status = "success" if n_done == total else "abort"

    f = h5py.File(path, "w")
    f.attrs["NX_class"] = "NXroot"
    f.attrs["default"] = "entry"
    f.attrs["mirimager_format_version"] = version
    f.attrs["creator"] = "mirimager 0.1.0"

    entry = f.create_group("entry")
    entry.attrs.update(
        {
            "NX_class": "NXentry",
            "kind": kind,
            "exit_status": exit_status,
            "error_message": "",
            "start_time": "2025-01-01T12:00:00Z",
            "end_time": "" if exit_status == "running" else "2025-01-01T13:00:00Z",
            "default": "data",
        }
    )
    prog = entry.create_dataset("program_name", data="mirimager")
    prog.attrs["version"] = "0.1.0"
    recipe = entry.create_dataset("recipe", data=RECIPE)
    recipe.attrs["format"] = "toml"
    lab = entry.create_group("lab")
    lab.attrs.update({"NX_class": "NXcollection", "kind": "simulated", "seed": 7})

    inst = entry.create_group("instrument")
    inst.attrs["NX_class"] = "NXinstrument"
    devices: dict[str, dict[str, Any]] = {
        "stage_x": {"model": "KDC101", "velocity_um_per_s": 1000.0},
        "stage_y": {"model": "KDC101", "velocity_um_per_s": 1000.0},
        "lockin": {"model": "SR830", "time_constant_s": 0.03, "sensitivity_V": 0.01},
        "chopper": {"frequency_Hz": 100.0},
        "source": {"power_mW": 50.0, "wavelength_um": 7.4},
        "pump": {"power_mW": 0.5},
    }
    for name, settings in devices.items():
        g = inst.create_group(name)
        g.attrs["NX_class"] = "NXcollection"
        g.attrs.update(settings)

    if chart is not None:
        sample = entry.create_group("sample")
        sample.attrs["NX_class"] = "NXsample"
        c = sample.create_dataset("chart", data=np.asarray(chart, dtype=float))
        c.attrs.update({"name": "bars", "pixel_um": 2.5, "x0_um": 95.0, "y0_um": -55.0})

    scan = entry.create_group("scan")
    scan.attrs.update(
        {
            "NX_class": "NXcollection",
            "nx": nx,
            "ny": ny,
            "order": order,
            "dwell_s": 0.3,
            "points_total": total,
        }
    )
    data = entry.create_group("data")
    data.attrs.update(
        {
            "NX_class": "NXdata",
            "signal": "X_V",
            "axes": ["y_um", "x_um"],
            "y_um_indices": 0,
            "x_um_indices": 1,
        }
    )
    xv = data.create_dataset("X_V", data=np.full((ny, nx), np.nan))
    xv.attrs["units"] = "V"
    data.create_dataset("x_um", data=np.asarray(x_um, float)).attrs["units"] = "um"
    data.create_dataset("y_um", data=np.asarray(y_um, float)).attrs["units"] = "um"
    if truth_V is not None:
        data.create_dataset("truth", data=np.asarray(truth_V, float)).attrs["units"] = "V"

    ix, iy = plan_indices(nx, ny, order)
    rec = np.zeros(total, dtype=POINT_DTYPE)
    rec["index"] = np.arange(total)
    rec["ix"], rec["iy"] = ix, iy
    rec["x_set_um"] = np.asarray(x_um)[ix]
    rec["y_set_um"] = np.asarray(y_um)[iy]
    for name in ("x_um", "y_um", "X_V", "Y_V", "t_lab_s", "t_wall_s"):
        rec[name] = np.nan
    if with_points:
        points = scan.create_dataset("points", data=rec, maxshape=(None,), chunks=(64,))
    f.flush()
    for k in range(n_done):
        r = rec[k].copy()
        r["x_um"], r["y_um"] = r["x_set_um"] + 0.01, r["y_set_um"] - 0.01
        r["X_V"] = image_V[iy[k], ix[k]]
        r["Y_V"] = 0.0
        r["t_lab_s"] = 0.3 * (k + 1)
        r["t_wall_s"] = 1.7e9 + 0.001 * k
        r["done"] = 1
        if with_points:
            points[k] = r
        xv[iy[k], ix[k]] = r["X_V"]
    f.flush()
    if not close:
        return f
    f.close()
    return Path(path)


@pytest.fixture
def scan_writer():
    """The `write_scan` function."""
    return write_scan


def smooth_scene(shape: tuple[int, int], dx: float = 0.0, row_shift=None) -> np.ndarray:
    """A smooth analytic test scene: bars with soft edges plus a Gaussian blob.

    ``row_shift(iy)`` gives a per-row displacement (pixels) applied by
    evaluating the scene at ``x - shift`` (so features move by +shift).
    """
    ny, nx = shape
    out = np.empty(shape)
    x = np.arange(nx, dtype=float)
    for iy in range(ny):
        s = dx + (row_shift(iy) if row_shift is not None else 0.0)
        xs = x - s
        bars = 0.5 * (1 + np.tanh(3.0 * np.sin(2 * np.pi * xs / (9.0 + 0.05 * iy))))
        blob = np.exp(-((xs - 0.6 * nx) ** 2 + (iy - 0.5 * ny) ** 2) / (2 * (0.15 * nx) ** 2))
        ramp = np.tanh((xs - 0.25 * nx) / 1.5)
        out[iy] = 0.3 * bars + 0.5 * blob + 0.2 * ramp + 0.02 * iy / ny
    return out


@pytest.fixture
def scene():
    """`smooth_scene` function."""
    return smooth_scene
