"""Single-pixel acquisition on the twin: projector, engine, file, reconstruction, CLI."""

from pathlib import Path

import h5py
import numpy as np
import pytest

from imager.cli import main
from imager.engine import StopRequest, run_single_pixel
from imager.recipes import RecipeError, parse_recipe
from imager.sim import simulated_lab_for
from reconstruction import HadamardBasis
from reconstruction.spifile import load_single_pixel, reconstruct_single_pixel

SCANS = Path(__file__).resolve().parents[2] / "scans"

RECIPE = """
kind = "single_pixel"
name = "spi"
[single_pixel]
basis = "{basis}"
size = {size}
ratio = {ratio}
dwell_tc = 10
[lockin]
sensitivity_V = 0.02
[pump]
power_mW = 500
[sim]
noise = {noise}
"""


def _recipe(basis="hadamard", size=32, ratio=1.0, noise="true"):
    return parse_recipe(RECIPE.format(basis=basis, size=size, ratio=ratio, noise=noise), "s.toml")


def test_bucket_readings_are_the_patterns_times_the_pixel_responses(tmp_path):
    recipe = _recipe(size=16, noise="false")
    lab = simulated_lab_for(recipe)
    result = run_single_pixel(lab, recipe, tmp_path / "s.h5", progress=False)
    basis = HadamardBasis(size=16, ordering="zigzag", ratio=1.0)
    assert result.exit_status == "success" and result.points_done == basis.n_patterns
    np.testing.assert_allclose(result.raw_V, basis.raw(result.truth_V), rtol=1e-3,
                               atol=1e-3 * np.abs(result.raw_V).max())
    # the exact inverse of the complete basis gives back the per-pixel truth
    rec = reconstruct_single_pixel(load_single_pixel(tmp_path / "s.h5"), "pinv")
    assert rec.metrics["correlation"] > 0.999
    assert not lab.projector.enabled  # the pump goes back to the focused spot


def test_mir_power_drop_pauses_and_remeasures_the_pattern(tmp_path):
    recipe = _recipe(size=16, noise="false")
    clean = run_single_pixel(simulated_lab_for(recipe), recipe, tmp_path / "c.h5",
                             progress=False)
    lab = simulated_lab_for(recipe)
    lab.faults.power_drop(at_point=40, duration_s=3.0, fraction=0.3)
    result = run_single_pixel(lab, recipe, tmp_path / "s.h5", progress=False)
    assert result.exit_status == "success" and lab.faults.fired == [("power_drop", 40)]
    with h5py.File(tmp_path / "s.h5", "r") as f:
        kinds = [(e["kind"].decode(), int(e["index"])) for e in f["entry/events"][()]]
    assert kinds == [("power_drop", 40), ("power_ok", 40)]
    np.testing.assert_allclose(result.raw_V, clean.raw_V, rtol=1e-3,
                               atol=1e-4 * np.abs(clean.raw_V).max())


def test_noisy_scan_reconstructs_the_chart_and_tv_beats_pinv_undersampled(tmp_path):
    recipe = _recipe(size=32, ratio=0.25)
    run_single_pixel(simulated_lab_for(recipe), recipe, tmp_path / "n.h5", progress=False)
    scan = load_single_pixel(tmp_path / "n.h5")
    tv = reconstruct_single_pixel(scan, "tv")
    pinv = reconstruct_single_pixel(scan, "pinv")
    assert tv.metrics["correlation"] > 0.75
    assert tv.metrics["ssim"] > pinv.metrics["ssim"]
    fewer = reconstruct_single_pixel(scan, "tv", ratio=0.1)
    assert fewer.measurements == round(0.1 * 32 * 32)
    with pytest.raises(ValueError, match="ratio must be in"):
        reconstruct_single_pixel(scan, "tv", ratio=0.5)


def test_file_stores_the_basis_spec_not_a_matrix(tmp_path):
    recipe = _recipe(basis="fourier", size=16, ratio=0.5)
    run_single_pixel(simulated_lab_for(recipe), recipe, tmp_path / "f.h5", progress=False)
    with h5py.File(tmp_path / "f.h5", "r") as f:
        entry = f["entry"]
        assert entry.attrs["kind"] == "single_pixel" and entry.attrs["exit_status"] == "success"
        assert entry["basis"].attrs["kind"] == "fourier"
        assert entry["basis"].attrs["size"] == 16
        sizes = []
        for group in ("basis", "scan", "data"):
            entry[group].visititems(lambda name, obj: sizes.append(obj.size)
                                    if isinstance(obj, h5py.Dataset) else None)
        n_patterns = entry["basis"].attrs["n_patterns"]
        assert max(sizes) <= n_patterns  # one value per pattern, never a pattern stack
        assert entry["data"].attrs["signal"] == "X_V"
        assert entry["data/truth"].shape == (16, 16)
        assert entry["scan/points"]["done"].all()


def test_stop_keeps_every_reading_and_partial_files_reconstruct(tmp_path):
    recipe = _recipe(size=16)
    lab = simulated_lab_for(recipe)
    stop = StopRequest()
    original = lab.lockin.read_xy
    calls = {"n": 0}

    def read_and_stop():
        calls["n"] += 1
        if calls["n"] == 101:
            stop.set("test")
        return original()

    lab.lockin.read_xy = read_and_stop
    result = run_single_pixel(lab, recipe, tmp_path / "p.h5", progress=False, stop=stop)
    assert result.exit_status == "abort" and result.points_done == 101
    scan = load_single_pixel(tmp_path / "p.h5")
    assert scan.points_done == 101 and scan.pairs_measured == 50
    assert reconstruct_single_pixel(scan, "pinv").measurements == 50


def test_projector_memory_is_refilled_in_chunks(tmp_path):
    recipe = _recipe(size=16, noise="false")
    lab = simulated_lab_for(recipe)
    lab.projector.max_patterns = 100  # 512 patterns: six loads
    loads = []
    original = lab.projector.load
    lab.projector.load = lambda p: (loads.append(len(p)), original(p))[1]
    result = run_single_pixel(lab, recipe, tmp_path / "c.h5", progress=False)
    assert loads == [100, 100, 100, 100, 100, 12]
    ref = run_single_pixel(simulated_lab_for(recipe), recipe, tmp_path / "r.h5", progress=False)
    np.testing.assert_allclose(result.raw_V, ref.raw_V)


@pytest.mark.parametrize(
    "change, message",
    [
        ("size = 48", "[single_pixel] size: a hadamard basis needs a power of two"),
        ("ratio = 0", "[single_pixel] ratio: must be in [0.0001, 1]"),
        ("ratio = 1.5", "[single_pixel] ratio: must be in [0.0001, 1]"),
        ('ordering = "spiral"', "[single_pixel] ordering: unknown ordering 'spiral'"),
        ('basis = "walsh"', "[single_pixel] basis: must be one of 'hadamard'"),
    ],
)
def test_bad_single_pixel_recipes(change, message):
    text = 'kind = "single_pixel"\n[single_pixel]\n' + change + "\n"
    with pytest.raises(RecipeError) as info:
        parse_recipe(text, "s.toml")
    assert message in str(info.value)


def test_cli_scan_info_reconstruct(tmp_path, capsys):
    recipe = tmp_path / "s.toml"
    recipe.write_text(RECIPE.format(basis="hadamard", size=16, ratio=0.5, noise="true"))
    path = tmp_path / "s.h5"
    assert main(["scan", str(recipe), "-o", str(path), "--no-progress"]) == 0
    assert "256/256 patterns" in capsys.readouterr().out
    assert main(["info", str(path)]) == 0
    assert "single_pixel (hadamard basis: ordering=zigzag" in capsys.readouterr().out
    assert main(["reconstruct", str(path), "-o", str(tmp_path / "img.png"), "--method",
                 "wavelet", "--ratio", "0.25"]) == 0
    out = capsys.readouterr().out
    assert "method wavelet: 64 measurements" in out and "vs truth" in out
    assert main(["reconstruct", str(path), "-o", str(tmp_path / "x.png"), "--ratio", "0.9"]) == 2


def test_live_preview_of_a_single_pixel_scan(tmp_path, monkeypatch, capsys):
    from PIL import Image

    import reconstruction
    from imager.cli.live import live_png_path, run_with_live_view

    sizes, save_png = [], reconstruction.save_png

    def save_and_measure(out, *args, **kwargs):  # the preview PNG, while the scan runs
        save_png(out, *args, **kwargs)
        sizes.append(Image.open(out).size)

    monkeypatch.setattr(reconstruction, "save_png", save_and_measure)
    recipe = _recipe(size=16)
    path = tmp_path / "live.h5"
    result = run_with_live_view(simulated_lab_for(recipe), recipe, path, progress=False,
                                refresh_s=0.01, window=False)
    assert result.exit_status == "success"
    assert sizes and sizes[-1][0] > 100
    # the preview is removed when the scan ends (its own image replaces it)
    assert not live_png_path(path).exists() and "removed (scan ended)" in capsys.readouterr().err
