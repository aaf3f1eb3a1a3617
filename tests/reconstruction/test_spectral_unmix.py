"""Spectra, band images and non-negative unmixing of spectral cubes."""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pytest
from scipy.optimize import nnls

sys.path.insert(0, str(Path(__file__).parent))
from spectral_files import NAMES, chart_labels, material_spectra, write_spectral  # noqa: E402

from reconstruction.spectral import analysis as an  # noqa: E402
from reconstruction.spectral import calibrate as cal  # noqa: E402
from reconstruction.spectral import unmix as um  # noqa: E402
from reconstruction.spectral.cube import load_cube  # noqa: E402
from reconstruction.spectral.library import MATERIAL_NAMES, library  # noqa: E402

W = np.round(np.linspace(6.8, 8.6, 19), 3)


@pytest.mark.parametrize("seed", range(5))
def test_the_subset_solver_is_scipys_nnls(seed):
    rng = np.random.default_rng(seed)
    A = rng.random((12, 4))
    A[:, 3] = A[:, 0] + A[:, 1] if seed == 4 else A[:, 3]  # a degenerate library too
    B = rng.normal(size=(12, 50)) + A @ rng.random((4, 50))
    C, res = um.nnls_pixels(A, B)
    assert (C >= 0).all()
    for j in range(B.shape[1]):
        _, r = nnls(A, B[:, j])
        assert res[j] == pytest.approx(r**2, rel=1e-8, abs=1e-12)
        assert np.sum((A @ C[:, j] - B[:, j]) ** 2) == pytest.approx(r**2, rel=1e-8, abs=1e-12)


def _cube(labels, spectra, scale, noise, seed=0):
    rng = np.random.default_rng(seed)
    values = spectra[labels].transpose(2, 0, 1) * scale[None]
    return values + noise * rng.standard_normal(values.shape)


def test_unmixing_classifies_the_builtin_library_through_a_beam_profile():
    refs = library(W, MATERIAL_NAMES)
    labels = chart_labels(64, 64)
    yy, xx = np.mgrid[:64, :64]
    beam = 0.3 + np.exp(-((xx - 32) ** 2 + (yy - 32) ** 2) / 800.0)  # 0.3..1.3
    values = _cube(labels, refs, beam, 0.01)
    result = um.unmix(values, refs, MATERIAL_NAMES, np.full(values.shape, 0.01))
    assert result.abundances.shape == (4, 64, 64) and result.fractions.shape == (4, 64, 64)
    assert an.score(um.classify(result.fractions), labels) >= 0.99
    np.testing.assert_allclose(np.nansum(result.fractions, axis=0), 1.0)
    # the free scale recovers the beam, the residual the noise
    assert np.median(np.abs(result.scale / beam - 1)) < 0.02
    assert np.median(result.residual) == pytest.approx(0.01, rel=0.3)


def test_a_pixel_mixed_from_two_materials_gets_its_fractions():
    refs = material_spectra(W)
    mixed = (0.3 * refs[1] + 0.7 * refs[2]) * 2.0  # scale 2
    values = np.broadcast_to(mixed[:, None, None], (W.size, 2, 3)).copy()
    result = um.unmix(values, refs, NAMES)
    np.testing.assert_allclose(result.fractions[:, 0, 0], [0, 0.3, 0.7, 0], atol=1e-9)
    np.testing.assert_allclose(result.scale, 2.0)


def test_unmeasured_pixels_and_missing_wavelengths():
    refs = material_spectra(W)
    labels = chart_labels(10, 12)
    values = _cube(labels, refs, np.ones((10, 12)), 0.002)
    values[12:, :5] = np.nan  # a killed image-order scan: last images partly missing
    values[13:] = np.nan
    values[:, 0, 0] = np.nan  # never measured
    result = um.unmix(values, refs, NAMES)
    labels_found = um.classify(result.fractions)
    assert labels_found[0, 0] == -1 and np.isnan(result.scale[0, 0])
    ok = labels >= 0
    ok[0, 0] = False
    assert np.mean(labels_found[ok] == labels[ok]) == 1.0


def test_analyse_on_a_simulated_file_against_its_truth(tmp_path):
    cube = load_cube(write_spectral(tmp_path / "s.h5", nx=32, ny=24, wavelength_um=W,
                                    builtin=True, noise_V=5e-5))
    values, sigma = cal.spectral_shape(cal.calibrate(cube))
    names, refs = um.reference_spectra(cube.wavelength_um, "builtin")
    out = um.analyse(values, sigma, names, refs, "builtin", cube.labels, cube.material_names,
                     cube.material_transmission)
    assert out.score >= 0.95
    assert np.isnan(out.correlation[0])  # clear: a flat truth spectrum
    assert (out.correlation[1:] >= 0.95).all()
    assert out.counts.sum() == 32 * 24
    # the file's own spectra give the same maps
    names_f, refs_f = um.reference_spectra(cube.wavelength_um, "file", cube)
    assert names_f == names
    np.testing.assert_allclose(refs_f, refs)


def test_the_file_library_needs_stored_spectra(tmp_path):
    cube = load_cube(write_spectral(tmp_path / "r.h5", no_sample=True))
    with pytest.raises(ValueError, match="stores no material spectra"):
        um.reference_spectra(cube.wavelength_um, "file", cube)


def test_a_csv_library_is_interpolated_onto_the_scan(tmp_path):
    path = tmp_path / "lib.csv"
    path.write_text("wavelength_um,a,b\n8.6,0.5,1\n6.8,1,0.2\n7.7,0.75,0.6\n")
    names, spectra = um.read_csv_library(path, np.array([6.8, 7.25, 8.6]))
    assert names == ("a", "b")
    np.testing.assert_allclose(spectra, [[1, 0.875, 0.5], [0.2, 0.4, 1]])


@pytest.mark.parametrize("text, message", [
    ("wavelength_um,a\n7,1\n8,x\n", "row 3 is not all numbers"),
    ("wavelength_um,a\n7,1\n8,1,2\n", "row 3 has 3 columns"),
    ("wavelength_um,a,a\n7,1,1\n8,1,1\n", "name each material once"),
    ("wavelength_um,a\n7,1\n", "at least 2 rows"),
    ("wavelength_um,a\n7,1\n8,1\n", "covers 7-8 um; the scan's 6.8, 8.6 um lie outside"),
])
def test_a_bad_csv_library_is_one_line(tmp_path, text, message):
    path = tmp_path / "bad.csv"
    path.write_text(text)
    with pytest.raises(ValueError, match=message) as info:
        um.read_csv_library(path, np.array([6.8, 7.5, 8.6]))
    assert str(path) in str(info.value) and "\n" not in str(info.value)


# ------------------------------------------------------------------ analysis


@pytest.fixture
def grid():
    rng = np.random.default_rng(3)
    values = rng.random((3, 4, 5))
    sigma = np.full(values.shape, 0.1)
    return values, sigma, 10.0 * np.arange(5), 100 + 10.0 * np.arange(4)


def test_pixel_spectrum_takes_the_nearest_pixel(grid):
    values, sigma, x, y = grid
    spectrum, (ix, iy) = an.pixel_spectrum(values, sigma, x, y, 26.0, 114.0)
    assert (ix, iy) == (3, 1)
    np.testing.assert_array_equal(spectrum.values, values[:, 1, 3])
    np.testing.assert_array_equal(spectrum.sigma, sigma[:, 1, 3])
    with pytest.raises(ValueError, match="x = 46 um is outside the scan"):
        an.pixel_spectrum(values, sigma, x, y, 46.0, 110.0)


def test_region_spectrum_is_the_mean_with_its_sigma(grid):
    values, sigma, x, y = grid
    mask = an.rectangle_mask(x, y, 25, 5, 100, 110)  # x 10, 20; y 100, 110
    assert mask.sum() == 4 and mask[:2, 1:3].all()
    values[0, 0, 1] = np.nan  # one pixel unmeasured at the first wavelength
    s = an.region_spectrum(values, sigma, mask)
    np.testing.assert_array_equal(s.n_pixels, [3, 4, 4])
    assert s.values[1] == pytest.approx(values[1, :2, 1:3].mean())
    np.testing.assert_allclose(s.sigma, 0.1 / np.sqrt([3, 4, 4]))
    with pytest.raises(ValueError, match="no pixel centre"):
        an.rectangle_mask(x, y, 200, 300, 0, 1)


def test_a_shared_uncertainty_does_not_average_down(grid):
    values, sigma, x, y = grid
    mask = np.ones(values.shape[1:], bool)
    common = np.array([0.0, 0.05, 0.0])
    s = an.region_spectrum(values, sigma, mask, common)
    assert s.sigma[0] == pytest.approx(0.1 / np.sqrt(20))
    assert s.sigma[1] == pytest.approx(np.hypot(0.1 / np.sqrt(20), 0.05 * s.values[1]))
    spectra, errors, _ = an.material_spectra(values, np.zeros((4, 5), int), 1, sigma, common)
    assert errors[0, 1] >= 0.05 * spectra[0, 1] and errors[0, 1] > errors[0, 0]
    pixel, _ = an.pixel_spectrum(values, sigma, x, y, 0, 100, common)
    assert pixel.sigma[1] == pytest.approx(np.hypot(0.1, 0.05 * values[1, 0, 0]))


def test_band_image_averages_the_wavelengths_in_the_band(grid):
    values, sigma, _, _ = grid
    w = np.array([7.0, 7.4, 8.0])
    image, err = an.band_image(values, w, 7.5, 6.9, sigma)
    np.testing.assert_allclose(image, values[:2].mean(axis=0))
    np.testing.assert_allclose(err, 0.1 / np.sqrt(2))
    with pytest.raises(ValueError, match="no wavelength of the scan in 8.1-8.5 um"):
        an.band_image(values, w, 8.1, 8.5)


def test_material_spectra_score_relabel_and_correlation():
    labels = np.array([[0, 1], [1, -1]])
    values = np.stack([np.array([[1.0, 2.0], [4.0, 9.0]]), np.array([[3.0, 4.0], [6.0, 9.0]])])
    spectra, errors, counts = an.material_spectra(values, labels, 3)
    np.testing.assert_array_equal(counts, [1, 2, 0])
    np.testing.assert_allclose(spectra[:2], [[1, 3], [3, 5]])
    assert np.isnan(spectra[2]).all() and errors[1, 0] > 0
    assert an.score(np.array([[0, 1], [0, 2]]), np.array([[0, 1], [1, -1]])) == pytest.approx(2 / 3)
    np.testing.assert_array_equal(an.relabel(np.array([0, 1, -1, 2]), ("a", "b", "c"),
                                             ("c", "a")), [1, -1, -1, 0])
    corr = an.spectral_correlation([[1, 2, 3], [1, 1, 1]], [[2, 4, 6.5], [1, 2, 3]])
    assert corr[0] > 0.99 and np.isnan(corr[1])
