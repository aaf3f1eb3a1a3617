"""The polymer MIR transmission library (reconstruction.spectral.library)."""

import numpy as np
import pytest

from reconstruction.spectral import library as lib

POLYMERS = ("polystyrene", "pmma", "polyethylene")
WINDOW = np.linspace(6.8, 8.6, 3601)  # 0.5 nm steps


def test_public_names_and_default_thicknesses():
    assert lib.MATERIAL_NAMES == ("clear", "polystyrene", "pmma", "polyethylene")
    assert set(lib.DEFAULT_THICKNESS_UM) == set(lib.MATERIAL_NAMES)
    assert lib.DEFAULT_THICKNESS_UM["clear"] == 0.0
    assert all(lib.DEFAULT_THICKNESS_UM[m] > 0 for m in POLYMERS)
    for name in POLYMERS:  # every band cited, positioned in or near the QCL window
        bands = lib.BANDS[name]
        assert bands and all(b.source for b in bands)
        assert all(1100.0 < b.position_cm1 < 1530.0 and b.fwhm_cm1 > 0 for b in bands)


@pytest.mark.parametrize(("name", "band_cm1"), [
    ("polystyrene", 1452.0),   # CH2 scissoring (Liang & Krimm 1958)
    ("pmma", 1190.6),          # C-O-C stretch (Tsuda et al. 2018)
    ("polyethylene", 1463.0),  # CH2 bending (Krimm, Liang & Sutherland 1956)
])
def test_deepest_dip_in_the_window_sits_at_the_published_band(name, band_cm1):
    t = lib.transmission(name, WINDOW)
    lam_min = WINDOW[np.argmin(t)]
    assert 1e4 / lam_min == pytest.approx(band_cm1, abs=3.0)


@pytest.mark.parametrize(("name", "weak_cm1"), [
    ("polystyrene", 1372.0), ("pmma", 1388.3), ("polyethylene", 1378.0)])
def test_weak_bands_show_as_local_dips(name, weak_cm1):
    lam = 1e4 / weak_cm1
    at = lib.transmission(name, lam)
    beside = lib.transmission(name, [lam - 0.12, lam + 0.12])
    assert at < beside.min() - 0.02


@pytest.mark.parametrize("name", POLYMERS)
def test_default_thickness_gives_a_20_to_90_percent_dip(name):
    t = lib.transmission(name, WINDOW)
    assert 0.10 <= t.min() <= 0.80
    assert t.max() <= 1.0


def test_polymers_are_spectrally_distinct_at_0p1_um_sampling():
    lam = np.round(np.arange(6.8, 8.6 + 1e-9, 0.1), 3)
    spectra = lib.library(lam, POLYMERS)
    corr = np.corrcoef(spectra)
    off_diagonal = corr[~np.eye(3, dtype=bool)]
    assert np.all(off_diagonal < 0.9), corr


def test_beer_lambert_and_clear():
    lam = np.array([6.9, 7.4, 8.4])
    a1 = lib.absorbance("pmma", lam, 1.0)
    np.testing.assert_allclose(lib.absorbance("pmma", lam, 3.0), 3.0 * a1, rtol=1e-12)
    np.testing.assert_allclose(lib.transmission("pmma", lam, 3.0), 10.0 ** (-3.0 * a1),
                               rtol=1e-12)
    assert np.all(lib.transmission("clear", WINDOW) == 1.0)
    assert np.all(lib.absorbance("polystyrene", lam, 0.0) == 0.0)
    default = lib.transmission("polystyrene", lam)
    given = lib.transmission("polystyrene", lam, lib.DEFAULT_THICKNESS_UM["polystyrene"])
    np.testing.assert_array_equal(default, given)


def test_library_shape_order_and_scalar_wavelength():
    lam = np.linspace(6.8, 8.6, 7)
    table = lib.library(lam)
    assert table.shape == (4, 7)
    for i, name in enumerate(lib.MATERIAL_NAMES):
        np.testing.assert_array_equal(table[i], lib.transmission(name, lam))
    assert lib.library(7.4, ("pmma",)).shape == (1, 1)
    assert lib.transmission("pmma", 7.4).shape == ()


def test_errors_name_the_problem():
    with pytest.raises(ValueError, match=r"unknown material 'nylon'.*polystyrene, pmma"):
        lib.transmission("nylon", 7.4)
    with pytest.raises(ValueError, match="nylon"):
        lib.library([7.4], ("clear", "nylon"))
    with pytest.raises(ValueError, match="thickness_um"):
        lib.absorbance("pmma", 7.4, -1.0)
    with pytest.raises(ValueError, match="wavelength_um"):
        lib.absorbance("pmma", [7.4, 0.0])
