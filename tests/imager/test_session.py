import numpy as np
import pytest

from imager import open_lab
from reconstruction import correlation, load_raster


def test_interactive_session_moves_reads_and_scans(tmp_path):
    lab = open_lab(folder=tmp_path)
    lab.stage.move_to(12500.0, 12400.0)
    lab.stage.wait_settled()
    x_um, y_um = lab.stage.position_um()
    assert abs(x_um - 12500.0) < 0.05 and abs(y_um - 12400.0) < 0.05
    t0 = lab.clock.now_s()
    lab.clock.sleep(0.3)
    assert lab.clock.now_s() - t0 == pytest.approx(0.3)
    reading = lab.lockin.read_xy()
    assert np.isfinite(reading.x_V)
    result = lab.raster(x_um=(12400, 12600), y_um=(12450, 12550), n=(20, 10), dwell_tc=8,
                        progress=False, lockin={"time_constant_s": 0.01})
    assert result.image_V.shape == (10, 20)
    assert result.path.parent == tmp_path and result.path.exists()
    scan = load_raster(result.path)
    assert scan.settings["lockin"]["time_constant_s"] == 0.01
    assert scan.attrs["exit_status"] == "success"
    assert correlation(result.image_V, result.truth_V) > 0.9


def test_session_runs_a_recipe_file(tmp_path):
    recipe = tmp_path / "r.toml"
    recipe.write_text('name = "mine"\n[scan]\nnx = 6\nny = 5\n')
    lab = open_lab(recipe, folder=tmp_path)
    result = lab.raster(recipe, progress=False)
    assert result.path.name.endswith("_mine.h5") and result.points_done == 30


# --- Jupyter: short reprs, help, plot, hardware, single-pixel and calibration sessions ---

def _small_raster(lab, **kw):
    return lab.raster(x_um=(12400, 12600), y_um=(12450, 12550), n=(20, 10), dwell_tc=8,
                      progress=False, lockin={"time_constant_s": 0.01}, **kw)


def _check_short(obj, *parts):
    text = repr(obj)
    assert len(text) < 300, text
    assert "array(" not in text and "\n" not in text
    for part in parts:
        assert str(part) in text, (part, text)
    return text


def test_results_and_session_have_short_reprs(tmp_path):
    from reconstruction import reconstruct_raster
    from reconstruction.spifile import load_single_pixel, reconstruct_single_pixel

    lab = open_lab(folder=tmp_path)
    _check_short(lab, "simulated", "usaf1951", str(tmp_path), "lockin")
    result = _small_raster(lab)
    _check_short(result, "raster", "10x20", "success", result.path.name, "200/200",
                 "corr_vs_truth")
    scan = load_raster(result.path)
    _check_short(scan, "raster", "10x20", "success", result.path.name)
    _check_short(reconstruct_raster(scan), "raster image", "10x20", "psnr", "ssim")
    spi = lab.single_pixel(size=16, ratio=0.25, progress=False)
    _check_short(spi, "single_pixel", "16x16", "success", spi.path.name, "128/128")
    spi_scan = load_single_pixel(spi.path)
    _check_short(spi_scan, "single_pixel", "16x16", "hadamard", "success", spi.path.name)
    _check_short(reconstruct_single_pixel(spi_scan, method="pinv"), "single-pixel image",
                 "16x16", "pinv")


def test_help_shows_the_real_signature_and_docstring():
    import inspect
    import pydoc

    import imager

    params = inspect.signature(imager.open_lab).parameters
    assert list(params) == ["recipe", "folder", "lab_config"]
    assert params["lab_config"].kind is inspect.Parameter.KEYWORD_ONLY
    text = pydoc.render_doc(imager.open_lab, renderer=pydoc.plaintext)
    assert "lab_config" in text and "lab configuration file" in text
    assert "*args" not in text


def test_plot_draws_the_image_with_units_and_a_scale_bar(tmp_path):
    import matplotlib.pyplot as plt
    from matplotlib.axes import Axes
    from mpl_toolkits.axes_grid1.anchored_artists import AnchoredSizeBar

    lab = open_lab(folder=tmp_path)
    result = _small_raster(lab)
    try:
        ax = result.plot()
        assert isinstance(ax, Axes)
        assert ax.images[0].get_array().shape == (10, 20)
        label = ax.images[0].colorbar.ax.get_ylabel()
        assert "lock-in X" in label and ("µV" in label or "mV" in label)
        bars = [a for a in ax.artists if isinstance(a, AnchoredSizeBar)]
        assert bars and "µm" in bars[0].txt_label.get_text()
        assert ax.get_xlabel() == "x (µm)" and result.path.name in ax.get_title(loc="left")
        fig, own = plt.subplots()
        assert result.plot(ax=own) is own
        spi = lab.single_pixel(size=16, ratio=0.25, progress=False)
        ax = spi.plot(method="pinv")
        assert ax.images[0].get_array().shape == (16, 16)
        assert "V" in ax.images[0].colorbar.ax.get_ylabel() and "pinv" in ax.get_title(loc="left")
    finally:
        plt.close("all")


def test_single_pixel_session_writes_a_file(tmp_path):
    from reconstruction.spifile import load_single_pixel

    lab = open_lab(folder=tmp_path)
    result = lab.single_pixel(size=16, ratio=0.5, ordering="sequency", progress=False,
                              lockin={"time_constant_s": 0.01})
    assert result.path.parent == tmp_path and result.path.exists()
    scan = load_single_pixel(result.path)
    assert scan.exit_status == "success" and scan.points_done == 256
    assert scan.basis_spec["ordering"] == "sequency"
    assert scan.settings["lockin"]["time_constant_s"] == 0.01


def test_calibration_session_writes_a_file_and_refuses_a_chart_spot(tmp_path):
    from imager.recipes import RecipeError
    from reconstruction.calibration import load_calibration

    open_chart = tmp_path / "open.toml"
    open_chart.write_text('kind = "calibration"\n[calibration]\nrepeats = 5\n'
                          '[sim]\nchart = "open"\n')
    lab = open_lab(open_chart, folder=tmp_path)
    result = lab.calibrate(repeats=5, progress=False)
    assert result.path.exists() and result.exit_status == "success"
    fit, _ = load_calibration(result.path)
    assert fit.slope_V_per_W_per_um2 > 0
    assert fit.slope_err_V_per_W_per_um2 < 0.05 * fit.slope_V_per_W_per_um2
    chart_lab = open_lab(folder=tmp_path / "chart")
    with pytest.raises(RecipeError, match="open spot"):
        chart_lab.calibrate(progress=False)
    assert not (tmp_path / "chart").exists()


def test_two_session_scans_in_one_second_get_two_files(tmp_path):
    lab = open_lab(folder=tmp_path)
    first = lab.raster(n=(3, 3), progress=False)
    second = lab.raster(n=(3, 3), progress=False)
    assert first.path != second.path and first.path.exists() and second.path.exists()


def test_open_lab_with_a_lab_config_drives_the_emulated_hardware(tmp_path):
    from imager.emulators.bench import start_emulated_bench
    from imager.sim.lab import SimConfig
    from stages.simulated import StageDynamics

    fast = StageDynamics(velocity_um_per_s=48000.0, acceleration_um_per_s2=600000.0,
                         settle_s=0.005)
    with start_emulated_bench(SimConfig(), lockin_model="SR830", dynamics=fast) as bench:
        bench.lab.source.power_mW = 200.0  # the (manual) QCL of the emulated lab
        config = tmp_path / "lab.toml"
        config.write_text(bench.lab_config_toml())
        with open_lab(lab_config=config, folder=tmp_path) as lab:
            assert "hardware" in repr(lab)
            result = lab.raster(x_um=(12400, 12600), y_um=(12400, 12600), n=(4, 4),
                                progress=False, lockin={"time_constant_s": 0.003},
                                source={"power_mW": 200.0})
        moves = bench.apt_x.count(0x0453) + bench.apt_y.count(0x0453)  # MOT_MOVE_ABSOLUTE
    assert result.exit_status == "success" and result.points_done == 16 and moves >= 16
    scan = load_raster(result.path)
    assert scan.lab["kind"] == "hardware"
    with pytest.raises(ValueError, match="not both"):
        open_lab("x.toml", lab_config=config)
