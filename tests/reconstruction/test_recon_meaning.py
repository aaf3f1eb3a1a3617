"""Images mean what the README says (issue 10, item 5), on real simulated scans.

The simulated truth is the signal (not clipped at the starting lock-in range), a
background plane is fitted to the background only, the printed metrics score the
corrected image, the default snake-lag correction never costs PSNR and still
corrects a real lag, and a scan stored with a calibration is drawn in nW/um^2.
"""

from __future__ import annotations

import dataclasses
import json
import tomllib
from pathlib import Path

import numpy as np
import pytest

import reconstruction
from imager.engine import run_raster
from imager.recipes import parse_recipe
from imager.sim import simulated_lab_for
from reconstruction import load_raster, reconstruct_raster
from reconstruction.calibration import Responsivity
from reconstruction.events import load_events

SCANS = Path(__file__).resolve().parents[2] / "scans"


def _toml(value) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str):
        return json.dumps(value)
    if isinstance(value, list | tuple):
        return "[" + ", ".join(_toml(v) for v in value) + "]"
    return repr(value)


def recipe_from(name: str, **sections: dict):
    """A recipe of scans/NAME.toml with some keys of some sections replaced."""
    data = tomllib.loads((SCANS / f"{name}.toml").read_text())
    for section, values in sections.items():
        data.setdefault(section, {}).update(values)
        if "dwell_tc" in values:
            data[section].pop("dwell_s", None)
    lines = [f"{k} = {_toml(v)}" for k, v in data.items() if not isinstance(v, dict)]
    for section, values in data.items():
        if isinstance(values, dict):
            lines += [f"[{section}]", *(f"{k} = {_toml(v)}" for k, v in values.items())]
    return parse_recipe("\n".join(lines) + "\n", f"{name}.toml")


def run_scan(path: Path, recipe, calibration: dict | None = None) -> Path:
    run_raster(simulated_lab_for(recipe), recipe, path, progress=False,
               calibration=calibration)
    return path


SMALL = {  # name -> (recipe, section overrides): the repository's recipes, fewer points
    "siemens_star": ("siemens_star", {"scan": {"nx": 64, "ny": 64}}),
    "usaf": ("usaf_raster", {"scan": {"nx": 64, "ny": 64}}),
}


@pytest.fixture(scope="module")
def scans(tmp_path_factory):
    folder = tmp_path_factory.mktemp("meaning")
    made: dict[str, Path] = {}

    def get(key: str) -> Path:
        if key not in made:
            name, sections = SMALL[key]
            made[key] = run_scan(folder / f"{key}.h5", recipe_from(name, **sections))
        return made[key]

    return get


# ------------------------------------------------------------------ truth


def test_truth_is_the_signal_where_the_scan_re_ranged(tmp_path):
    """fine_raster's bars exceed the starting 1 mV range: the scan re-ranges and
    measures them, and the truth holds them too (it was clipped at 1 mV: 18.5 dB)."""
    path = run_scan(tmp_path / "fine.h5", recipe_from("fine_raster", scan={"nx": 49, "ny": 49}))
    scan = load_raster(path)
    start_range_V = scan.settings["lockin"]["sensitivity_V"]
    assert any(e.kind == "overload" for e in load_events(path))  # the logged re-range
    assert scan.truth_V.max() > 1.3 * start_range_V
    assert np.count_nonzero(scan.truth_V == start_range_V) == 0
    assert np.nanmax(scan.image_V) > 1.3 * start_range_V
    assert reconstruct_raster(scan).metrics["psnr_dB"] > 33.0


# ------------------------------------------------------------------ background


def _plane(shape, offset_V, gx_V, gy_V):
    gy, gx = np.indices(shape, dtype=float)
    return offset_V + gx_V * gx / (shape[1] - 1) + gy_V * gy / (shape[0] - 1)


@pytest.mark.parametrize("key", ["siemens_star", "usaf"])
def test_plane_background_is_fitted_to_the_background_only(scans, key):
    scan = load_raster(scans(key))
    truth = scan.truth_V
    signal_range_V = float(truth.max() - truth.min())
    added = _plane(truth.shape, 20e-6, 0.3 * signal_range_V, -0.2 * signal_range_V)
    tilted = dataclasses.replace(scan, image_V=scan.image_V + added)
    rec = reconstruct_raster(tilted, background="plane")
    recovered = tilted.image_V - rec.image  # what was subtracted (no lag: see below)
    assert rec.lag_px == 0.0
    assert np.abs(recovered - added).max() < 0.01 * signal_range_V
    # the chart is untilted: a plane through (image - truth) is flat
    gy, gx = np.indices(truth.shape, dtype=float)
    a = np.column_stack((np.ones(truth.size), gx.ravel(), gy.ravel()))
    coef, *_ = np.linalg.lstsq(a, (rec.image - truth).ravel(), rcond=None)
    tilt_V = abs(coef[1]) * truth.shape[1] + abs(coef[2]) * truth.shape[0]
    assert tilt_V < 0.01 * signal_range_V  # a plane fitted to everything: 10-30 %
    # the plane fitted to a scan without one is (nearly) nothing
    plain = reconstruct_raster(scan, background="plane")
    assert np.abs(scan.image_V - plain.image).max() < 0.01 * signal_range_V


@pytest.mark.parametrize("key", ["siemens_star", "usaf"])
def test_metrics_score_the_corrected_image(scans, key):
    scan = load_raster(scans(key))
    reference = reconstruct_raster(scan).metrics["psnr_dB"]
    signal_range_V = float(scan.truth_V.max() - scan.truth_V.min())
    added = _plane(scan.truth_V.shape, 0.0, 0.4 * signal_range_V, 0.2 * signal_range_V)
    tilted = dataclasses.replace(scan, image_V=scan.image_V + added)
    rec = reconstruct_raster(tilted, background="plane")
    m = rec.metrics
    assert m["raw_psnr_dB"] < reference - 6.0  # the added plane, uncorrected
    assert m["psnr_dB"] == pytest.approx(reference, abs=0.3)  # scored after the correction
    assert rec.steps == ["background plane"]


# ------------------------------------------------------------------ snake lag


@pytest.mark.parametrize("key", ["siemens_star", "usaf"])
def test_default_snake_correction_never_lowers_psnr(scans, key):
    scan = load_raster(scans(key))
    default = reconstruct_raster(scan)
    off = reconstruct_raster(scan, snake_correction=False)
    assert default.metrics["psnr_dB"] >= off.metrics["psnr_dB"] - 0.01
    assert default.lag_estimate is not None  # estimated, with its uncertainty
    if not default.lag_estimate.significant():
        np.testing.assert_array_equal(default.image, off.image)  # a no-op


def test_snake_correction_improves_a_scan_with_real_lag(tmp_path):
    """A one-time-constant dwell leaves the lock-in lagging the stage."""
    recipe = recipe_from("usaf_raster", scan={"nx": 64, "ny": 64, "dwell_tc": 1})
    scan = load_raster(run_scan(tmp_path / "lag.h5", recipe))
    default = reconstruct_raster(scan)
    off = reconstruct_raster(scan, snake_correction=False)
    assert default.lag_estimate.significant()
    assert default.lag_px > 0  # delayed response
    assert default.metrics["psnr_dB"] > off.metrics["psnr_dB"] + 0.1


# ------------------------------------------------------------------ calibrated scan PNG


def test_scan_png_is_in_nw_per_um2_when_the_scan_stores_a_calibration(tmp_path, monkeypatch):
    from imager.cli.acquire import _export_png

    recipe = recipe_from("usaf_raster", scan={"nx": 16, "ny": 16})
    slope = simulated_lab_for(recipe)
    slope.source.power_mW = 50.0
    fit = Responsivity(slope_V_per_W_per_um2=slope.true_responsivity_V_per_W_per_um2(),
                       slope_err_V_per_W_per_um2=0.0, offset_V=1e-6, offset_err_V=0.0,
                       noise_V=1e-6, nei_W_per_um2=4e-9, r_squared=1.0, n_levels=5)
    path = run_scan(tmp_path / "cal.h5", recipe, calibration=fit.as_dict())
    drawn = {}

    def fake_save_png(png, image, x_um, y_um, title=None, units_label="lock-in X (V)", **kw):
        drawn.update(image=np.asarray(image), units_label=units_label, title=title)
        return Path(png)

    monkeypatch.setattr(reconstruction, "save_png", fake_save_png, raising=False)
    _export_png(path, tmp_path / "cal.png")
    assert drawn["units_label"] == "MIR intensity (nW/µm²)"
    volts = reconstruct_raster(load_raster(path)).image
    np.testing.assert_allclose(drawn["image"], fit.to_W_per_um2(volts) * 1e9)
    assert np.nanmax(drawn["image"]) > 100  # nW/um^2 in the MIR beam, not microvolts


# ------------------------------------------------------------------ reconstruct titles


def test_reconstruct_png_title_names_method_ratio_wavelength_power_and_dwell(
        tmp_path, monkeypatch):
    from imager.cli import main

    text = (SCANS / "single_pixel.toml").read_text().replace("size = 64", "size = 16")
    (tmp_path / "spi.toml").write_text(text)
    spi = tmp_path / "spi.h5"
    assert main(["scan", str(tmp_path / "spi.toml"), "-o", str(spi), "--no-progress"]) == 0
    titles = []

    def fake_save_png(png, image, x_um, y_um, title=None, units_label="", **kw):
        titles.append(title)
        return Path(png)

    monkeypatch.setattr(reconstruction, "save_png", fake_save_png, raising=False)
    assert main(["reconstruct", str(spi), "-o", str(tmp_path / "spi_out.png"),
                 "--method", "tikhonov", "--ratio", "0.1"]) == 0
    lines = titles[-1].splitlines()
    assert lines[0] == "spi.h5 (success)"
    assert lines[1].startswith("Tikhonov, hadamard 16x16, ratio 0.1")
    assert lines[2] == "MIR 7.4 µm, 50 mW · pump 500 mW · dwell 0.3 s"
