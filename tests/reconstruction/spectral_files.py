"""Small spectral raster files for the spectral tests, written as the schema declares them.

The header and the groups and datasets come from the writers' own builders
(:func:`imager.storage.header.write_header`, :func:`build_layout` and :func:`create_from`
over :data:`reconstruction.schema_spectral.SPECTRAL_RASTER`), so the files have exactly the
declared layout; the readings are a simple model of the instrument:
``X = R(lambda) P(lambda) beam(x, y) T(material, lambda) + noise``, ``Y = noise``.
"""

from __future__ import annotations

import json
from pathlib import Path

import h5py
import numpy as np

from imager.storage.header import build_layout, create_from, write_header
from reconstruction.schema import CALIBRATION, DATA, POINTS, SCAN, SIGNAL, TRUTH
from reconstruction.schema_spectral import (
    BLANK,
    BLANK_DTYPE,
    MATERIAL_TRANSMISSION,
    MATERIALS,
    POWER,
    POWER_DTYPE,
    SPECTRAL_POINT_DTYPE,
    SPECTRAL_RASTER,
    TRANSMISSION,
    WAVELENGTH,
    plan_index,
)

NAMES = ("clear", "film_a", "film_b", "film_c")
WAVELENGTHS_UM = np.round(np.linspace(6.8, 8.6, 10), 3)


def material_spectra(wavelength_um: np.ndarray) -> np.ndarray:
    """``(4, nw)`` transmittances: clear, and three films with bands at distinct places."""
    w = np.asarray(wavelength_um, dtype=float)

    def band(centre: float, width: float, depth: float) -> np.ndarray:
        return depth * np.exp(-0.5 * ((w - centre) / width) ** 2)

    return np.array([np.full_like(w, 0.97),
                     0.92 - band(6.9, 0.15, 0.6),
                     0.90 - band(8.0, 0.3, 0.55),
                     0.93 - band(7.4, 0.2, 0.5)])


def chart_labels(ny: int, nx: int) -> np.ndarray:
    """Four regions: clear background, and three blocks of the films."""
    labels = np.zeros((ny, nx), np.int16)
    labels[: ny // 2, nx // 4: nx // 2] = 1
    labels[ny // 2:, nx // 2:] = 2
    labels[: ny // 2, 3 * nx // 4:] = 3
    return labels


def responsivity(wavelength_um: np.ndarray) -> np.ndarray:
    """Film response, V per (W/um^2): a broad absorption band across the window."""
    return 2e6 * (1.0 + 0.3 * np.sin(np.asarray(wavelength_um) - 6.8))


def source_power_mW(wavelength_um: np.ndarray) -> np.ndarray:
    """The source's MIR power at each wavelength (before ``power_scale``)."""
    return 40.0 + 10.0 * np.cos(3 * (np.asarray(wavelength_um) - 6.8))


GAIN_V_PER_MW = 5e-11
"""Reading at transmittance 1 and the beam's centre: responsivity x power x this."""


def write_spectral(path: str | Path, *, nx: int = 12, ny: int = 10,
                   wavelength_um: np.ndarray = WAVELENGTHS_UM, order: str = "image",
                   noise_V: float = 2e-5, n_done: int | None = None, blank: bool = True,
                   power: bool = True, truth: bool = True, seed: int = 0,
                   exit_status: str = "success", calibration: dict | None = None,
                   x0_um: float = 0.0, pitch_um: float = 5.0,
                   power_rows: int = 1, builtin: bool = False, no_sample: bool = False,
                   power_scale: float = 1.0) -> Path:
    """Write a spectral raster scan file; returns its path.

    ``n_done`` readings (in plan order) are done (default all); the others are left as
    the writer leaves them (fill values, ``done = 0``). The peak signal is ~5 mV. The
    materials are `NAMES` with `material_spectra`, or with ``builtin`` those of the
    built-in library (:mod:`reconstruction.spectral.library`). ``no_sample``: a reference
    scan (transmittance 1 everywhere, no truth labels); ``power_scale`` scales the source.
    """
    path = Path(path)
    rng = np.random.default_rng(seed)
    w = np.asarray(wavelength_um, dtype=float)
    nw = w.size
    x_um = x0_um + pitch_um * np.arange(nx)
    y_um = pitch_um * np.arange(ny)
    labels = chart_labels(ny, nx)
    names, spectra = NAMES, material_spectra(w)
    if builtin:
        from reconstruction.spectral.library import MATERIAL_NAMES, library

        names, spectra = MATERIAL_NAMES, library(w, MATERIAL_NAMES)
    T = spectra[labels].transpose(2, 0, 1)  # (nw, ny, nx)
    if no_sample:
        T = np.ones_like(T)
        truth = False
    xx, yy = np.meshgrid(x_um, y_um)
    sigma_beam = 2.0 * max(np.ptp(x_um), np.ptp(y_um), pitch_um)
    centre = (x_um.mean(), y_um.mean())
    beam = np.exp(-((xx - centre[0]) ** 2 + (yy - centre[1]) ** 2) / (2 * sigma_beam**2))
    power_mW = power_scale * source_power_mW(w)
    gain = responsivity(w) * power_mW * GAIN_V_PER_MW  # V at T = 1, beam = 1: ~5 mV
    truth_V = gain[:, None, None] * beam[None] * T
    X = truth_V + noise_V * rng.standard_normal(truth_V.shape)
    Y = noise_V * rng.standard_normal(truth_V.shape)
    total = nw * nx * ny
    n_done = total if n_done is None else n_done
    sizes = {"nw": nw, "ny": ny, "nx": nx, "points_total": total, "materials": len(names)}
    data = {WAVELENGTH: w, f"{DATA}/x_um": x_um, f"{DATA}/y_um": y_um}
    attrs = {SCAN: {"order": order, "nx": nx, "ny": ny, "nw": nw, "dwell_s": 0.03,
                    "points_total": total}}
    if truth:
        data.update({TRUTH: truth_V, TRANSMISSION: T, MATERIALS: labels,
                     MATERIAL_TRANSMISSION: spectra})
        attrs[MATERIALS] = {"names": json.dumps(list(names))}
    if calibration is not None:
        attrs[CALIBRATION] = calibration
    with h5py.File(path, "x") as f:
        write_header(f, "spectral", 'kind = "spectral"\n', {"source": {"power_mW": 40.0}},
                     {"kind": "simulated", "seed": seed})
        build_layout(f, SPECTRAL_RASTER, sizes, attrs, data)
        if power:
            table = create_from(f, SPECTRAL_RASTER[POWER])
            rows = np.zeros(nw * power_rows, POWER_DTYPE)
            rows["iw"] = np.repeat(np.arange(nw), power_rows)
            rows["wavelength_um"] = w[rows["iw"]]
            rows["power_mW"] = power_mW[rows["iw"]] * (1 + 0.01 * rng.standard_normal(
                rows.size) * (power_rows > 1))
            table.resize((rows.size,))
            table[:] = rows
        if blank:
            table = create_from(f, SPECTRAL_RASTER[BLANK])
            rows = np.zeros(nw, BLANK_DTYPE)
            rows["iw"] = np.arange(nw)
            rows["wavelength_um"] = w
            rows["x_um"], rows["y_um"] = centre
            rows["X_V"] = gain + noise_V * rng.standard_normal(nw)
            rows["Y_V"] = noise_V * rng.standard_normal(nw)
            table.resize((nw,))
            table[:] = rows
        n_pixels = nx * ny
        k, iw = np.meshgrid(np.arange(n_pixels), np.arange(nw), indexing="ij")
        k, iw = k.ravel(), iw.ravel()
        i = plan_index(k, iw, n_pixels, nw, order)
        iy, ix = np.divmod(k, nx)
        done = i < n_done
        records = f[POINTS][()]
        for name, value in (("index", i), ("iw", iw), ("ix", ix), ("iy", iy),
                            ("wavelength_um", w[iw]), ("x_set_um", x_um[ix]),
                            ("y_set_um", y_um[iy]), ("x_um", x_um[ix]), ("y_um", y_um[iy]),
                            ("X_V", X[iw, iy, ix]), ("Y_V", Y[iw, iy, ix]), ("status", 0),
                            ("t_lab_s", 0.1 * i), ("t_wall_s", 0.0), ("done", 1)):
            records[name][i[done]] = np.broadcast_to(value, i.shape)[done]
        f[POINTS][...] = records
        signal = np.full((nw, ny, nx), np.nan)
        signal[iw[done], iy[done], ix[done]] = X[iw[done], iy[done], ix[done]]
        f[SIGNAL][...] = signal
        f["entry"].attrs["exit_status"] = exit_status
    return path


__all__ = ["GAIN_V_PER_MW", "NAMES", "SPECTRAL_POINT_DTYPE", "WAVELENGTHS_UM", "chart_labels",
           "material_spectra", "responsivity", "source_power_mW", "write_calibration",
           "write_spectral"]


def write_calibration(path: str | Path, wavelengths_um: list[float] | None = None,
                      main_wavelength_um: float = 7.4) -> Path:
    """A calibration file as ``mirimager calibrate`` writes it: the responsivity at
    ``main_wavelength_um`` and one ``spectral_sweep/<i>`` per wavelength, each with the
    film's `responsivity` there (offset 1e-6 V, small uncertainties)."""
    from imager.storage.header import write_header
    from reconstruction.calibration import Responsivity
    from reconstruction.schema import CALIBRATION, CALIBRATION_RUN

    def fit(w: float) -> dict:
        slope = float(responsivity(np.array([w]))[0])
        attrs = Responsivity(slope, 1e-3 * slope, 1e-6, 1e-8, 1e-6, 1e-6 / slope, 0.999,
                             5).as_dict()
        return {**attrs, "pump_mW": 0.5, "wavelength_um": w}

    with h5py.File(path, "x") as f:
        write_header(f, "calibration", 'kind = "calibration"\n', {}, {"kind": "simulated"})
        build_layout(f, CALIBRATION_RUN, {}, {CALIBRATION: {"x_um": 0.0, "y_um": 0.0}}, {})
        f.create_group(f"{CALIBRATION}/responsivity").attrs.update(fit(main_wavelength_um))
        for i, w in enumerate(wavelengths_um or []):
            f.create_group(f"{CALIBRATION}/spectral_sweep/{i}").attrs.update(fit(w))
        f["entry"].attrs["exit_status"] = "success"
    return Path(path)
