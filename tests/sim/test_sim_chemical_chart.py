"""The chemical test chart and the simulated lab imaging it at several wavelengths."""

import numpy as np
import pytest

from imager.lab import SimHooks
from imager.recipes import default_recipe
from imager.sim import SimConfig, SimulatedLab
from imager.sim.charts import Chart, make_chart
from imager.sim.chemical_chart import ChartTruth, SpectralChart, SpectralOptics, chemical_chart
from imager.sim.from_recipe import simulated_lab_for
from imager.sim.optics import MirOptics
from reconstruction.spectral import library as lib

C = 12500.0  # chart centre (SimConfig default)
# Grid points at the same distance from the beam axis (the chart centre), one per region.
SPOTS = {"polystyrene": (C - 100.0, C + 100.0), "pmma": (C + 100.0, C + 100.0),
         "polyethylene": (C - 100.0, C - 100.0), "clear": (C + 100.0, C - 100.0)}
GRID_32 = np.linspace(C - 193.75, C + 193.75, 32)  # 32 x 32 over the 400 um chart


@pytest.fixture(scope="module")
def chemical_lab():
    return SimulatedLab(SimConfig(noise=False, chart="chemical"))


def settle_x(lab, x_um, y_um, dwell_s=0.3):
    lab.stage.move_to(x_um, y_um)
    lab.stage.wait_settled()
    lab.clock.sleep(dwell_s)
    return lab.lockin.read_xy().x_V


def test_make_chart_chemical_layout():
    chart = make_chart("chemical", width_um=400.0, pixel_um=0.5)
    assert isinstance(chart, SpectralChart) and isinstance(chart, Chart)
    assert chart.shape == (800, 800) and chart.centre_um == pytest.approx((0.0, 0.0))
    assert chart.extent_um() == pytest.approx((-200.0, 200.0, -200.0, 200.0))
    assert chart.materials == lib.MATERIAL_NAMES
    frac = dict(zip(chart.materials, chart.fractions(), strict=True))
    for name in ("polystyrene", "pmma", "polyethylene"):
        assert frac[name] == pytest.approx((7 / 16) ** 2, abs=0.01)
        iy, ix = np.nonzero(chart.labels == chart.materials.index(name))
        assert np.ptp(ix) * chart.pixel_um >= 0.25 * 400.0  # each region >= 25 % wide
        assert np.ptp(iy) * chart.pixel_um >= 0.25 * 400.0
    assert frac["clear"] > 0.3  # a clear quadrant and frame (blank spots)
    # A 32 x 32 raster over the chart: the points have one material for several pump
    # spot widths around them, and most have it over their whole cell.
    xs = np.linspace(-193.75, 193.75, 32)
    labels = chart.labels_at(xs, xs)
    for reach_um, fraction in ((3.0, 1.0), (6.0, 0.75)):
        around = [chart.labels_at(xs + dx, xs + dy) for dx in (-reach_um, reach_um)
                  for dy in (-reach_um, reach_um)]
        assert np.all([a == labels for a in around], axis=0).mean() >= fraction


def test_spectral_chart_maps_and_sampling():
    chart = chemical_chart(width_um=100.0, pixel_um=1.0).centred_at(50.0, -20.0)
    assert chart.centre_um == pytest.approx((50.0, -20.0))
    np.testing.assert_array_equal(chart.transmission, chart.transmission_at(7.4))
    plain = chart.at_wavelength(8.4)
    assert type(plain) is Chart and plain.x0_um == chart.x0_um
    pmma = chart.materials.index("pmma")
    assert np.all(plain.transmission[chart.labels == pmma] == lib.transmission("pmma", 8.4))
    assert np.all(plain.transmission[chart.labels == 0] == 1.0)
    x = np.array([30.0, 70.0, 500.0])  # left, right, off the chart
    y = np.array([-40.0, 0.0])  # bottom, top
    labels = chart.labels_at(x, y)
    names = [[chart.materials[i] if i >= 0 else None for i in row] for row in labels]
    assert names == [["polyethylene", "clear", None], ["polystyrene", "pmma", None]]
    cube = chart.transmission_cube(x, y, [6.9, 8.4])
    assert cube.shape == (2, 2, 3) and np.all(cube[:, :, 2] == 0.0)
    assert cube[1, 1, 1] == lib.transmission("pmma", 8.4)


def test_combined_optics_equal_optics_of_the_chart_at_that_wavelength():
    chart = chemical_chart(width_um=60.0, pixel_um=0.5)
    optics = SpectralOptics(chart, beam_fwhm_um=80.0, pump_fwhm_um=1.0)
    for wl in (6.84, 8.06):
        direct = MirOptics(chart.at_wavelength(wl), beam_fwhm_um=80.0, pump_fwhm_um=1.0)
        combined = optics.at(wl)
        assert combined is optics.at(wl)  # cached
        np.testing.assert_allclose(combined.map_per_um2, direct.map_per_um2, rtol=0,
                                   atol=1e-12 * direct.map_per_um2.max())
        assert combined.intensity_W_per_um2(-10.0, 12.0, 0.05) == pytest.approx(
            direct.intensity_W_per_um2(-10.0, 12.0, 0.05), rel=1e-12)


@pytest.mark.parametrize("wavelength_um", [6.84, 6.89, 7.26, 8.06, 8.40])
def test_lab_signal_follows_material_transmission_times_responsivity(chemical_lab,
                                                                     wavelength_um):
    lab = chemical_lab
    lab.source.wavelength_um = wavelength_um
    clear = settle_x(lab, *SPOTS["clear"])
    for name in ("polystyrene", "pmma", "polyethylene"):
        ratio = settle_x(lab, *SPOTS[name]) / clear  # same beam intensity: film cancels
        assert ratio == pytest.approx(float(lib.transmission(name, wavelength_um)), rel=0.02)
    # Against the reference wavelength, the region's signal scales with T x responsivity.
    signal = settle_x(lab, *SPOTS["pmma"])
    responsivity = lab.true_responsivity_V_per_W_per_um2()
    lab.source.wavelength_um = 7.4
    ref = settle_x(lab, *SPOTS["pmma"])
    predicted = (lib.transmission("pmma", wavelength_um) * responsivity
                 / (lib.transmission("pmma", 7.4) * lab.true_responsivity_V_per_W_per_um2()))
    assert signal / ref == pytest.approx(float(predicted), rel=0.02)


def test_expected_cube_matches_expected_image_at_each_wavelength(chemical_lab):
    lab = chemical_lab
    wavelengths = [6.84, 7.4, 8.4]
    lab.source.wavelength_um = 7.4
    cube = lab.expected_cube(GRID_32, GRID_32[:20], wavelengths)
    assert cube.shape == (3, 20, 32)
    assert lab.source.wavelength_um == 7.4
    for iw, wl in enumerate(wavelengths):
        lab.source.wavelength_um = wl
        np.testing.assert_allclose(cube[iw], lab.expected_image(GRID_32, GRID_32[:20]),
                                   rtol=1e-12, atol=0)
    lab.source.wavelength_um = 7.4
    with pytest.raises(ValueError, match="wavelengths_um"):
        lab.expected_cube(GRID_32, GRID_32, [6.0])


def test_expected_cube_leaves_no_trace_in_the_readings():
    """Two noisy labs, same seed: computing the cube in between changes no reading."""
    readings = []
    for with_cube in (False, True):
        lab = SimulatedLab(SimConfig(chart="chemical", seed=5))
        out = []
        for k, (x, y) in enumerate(SPOTS.values()):
            lab.begin_point(k)
            if with_cube and k == 2:
                lab.expected_cube(GRID_32[:4], GRID_32[:4], [6.9, 8.4])
                lab.chart_truth(GRID_32[:4], GRID_32[:4], [6.9, 8.4])
            out.append(settle_x(lab, x, y, dwell_s=0.1))
            lab.end_point()
        assert lab.source.wavelength_um == 7.4
        readings.append(out)
    assert readings[0] == readings[1]


def test_chart_truth_shapes_and_labels(chemical_lab):
    lab = chemical_lab
    wavelengths = np.array([6.84, 7.26, 8.06, 8.40])
    truth = lab.chart_truth(GRID_32, GRID_32, wavelengths)
    assert isinstance(truth, ChartTruth) and truth.names == lib.MATERIAL_NAMES
    assert truth.labels.shape == (32, 32) and truth.labels.dtype == np.int16
    assert truth.material_transmission.shape == (4, 4)
    assert truth.transmission.shape == (4, 32, 32)
    np.testing.assert_array_equal(truth.material_transmission, lib.library(wavelengths))
    np.testing.assert_array_equal(truth.transmission,
                                  np.moveaxis(truth.material_transmission[truth.labels], -1, 0))
    for name, (x, y) in SPOTS.items():
        ix, iy = np.argmin(abs(GRID_32 - x)), np.argmin(abs(GRID_32 - y))
        assert truth.names[truth.labels[iy, ix]] == name
    counts = np.bincount(truth.labels.ravel(), minlength=4)
    assert counts[1:].min() >= 150 and counts.sum() == 1024
    hooks = lab.capabilities().sim
    assert isinstance(hooks, SimHooks) and hooks.chart is lab.chart
    assert hooks.expected_cube is not None and hooks.chart_truth is not None


def test_non_spectral_chart_is_wavelength_independent_and_has_no_truth():
    lab = SimulatedLab(SimConfig(noise=False))  # USAF chart
    assert not isinstance(lab.chart, SpectralChart)
    assert lab.optics is lab.optics_at(6.9) is lab.optics_at(8.4)
    assert lab.chart_truth(GRID_32, GRID_32, [7.4]) is None
    xs = np.linspace(C - 150.0, C + 150.0, 24)
    before = lab.expected_image(xs, xs)
    cube = lab.expected_cube(xs, xs, [7.4, 8.4])
    np.testing.assert_array_equal(cube[0], before)
    lab.source.wavelength_um = 8.4  # the film's responsivity alone changes the image
    np.testing.assert_array_equal(cube[1], lab.expected_image(xs, xs))
    ratio = cube[1][before > 0.1 * before.max()] / before[before > 0.1 * before.max()]
    assert np.ptp(ratio) < 1e-12 * ratio.mean()


def test_recipe_sim_chart_chemical_builds_a_spectral_lab():
    recipe = default_recipe(sim={"chart": "chemical", "chart_width_um": 200.0})
    lab = simulated_lab_for(recipe)
    assert isinstance(lab.chart, SpectralChart)
    assert lab.chart.extent_um()[1] - lab.chart.extent_um()[0] == pytest.approx(200.0)
    assert lab.settings()["chart"] == "chemical"
