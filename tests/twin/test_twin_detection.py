"""Photodiode chain: photocurrents, noise, lock-in slope and the detection limit."""

import math

import pytest

from imager.twin import Film
from imager.twin.detection import SQUARE_WAVE_FUNDAMENTAL, Detector, channel_response
from imager.twin.fit import PAPER

ENBW_DEFAULT_HZ = 1.0 / (8 * 0.03)  # 30 ms, 12 dB/oct
LOCKIN_NOISE = 6e-9


@pytest.fixture(scope="module")
def film():
    return Film()


def test_detection_limit_from_the_model_is_the_papers(film):
    r = channel_response(film, Detector(), "660", 298.0, 5e-4, 7.4)
    nei = r.noise_equivalent_intensity_W_per_um2(ENBW_DEFAULT_HZ, LOCKIN_NOISE)
    target = PAPER["detection_limit_W_per_um2"]
    assert target / 1.5 < nei < target * 1.5


def test_photocurrent_follows_the_emission(film):
    det = Detector()
    e = film.emission()
    amps = det.photocurrents_A(film, e)
    photons = e["660"] * film.emitters_in_spot * det.collection_efficiency
    watts = photons * 6.62607015e-34 * 299792458.0 / 660e-9
    assert amps["660"] == pytest.approx(watts * 0.42)
    assert 1e-12 < amps["660"] < 1e-9  # picoamperes from a 1 um spot


def test_noise_terms():
    det = Detector()
    johnson = math.sqrt(4 * 1.380649e-23 * 295.0 / det.transimpedance_V_per_A)
    floor = math.hypot(johnson, det.amplifier_noise_A_per_rtHz)
    assert det.current_noise_A_per_rtHz(0.0) == pytest.approx(floor)
    big = det.current_noise_A_per_rtHz(1e-6)
    assert big == pytest.approx(math.sqrt(2 * 1.602176634e-19 * 1e-6), rel=0.01)  # shot-limited


def test_660_slope_grows_with_pump_power(film):
    det = Detector()
    slopes = [channel_response(film, det, "660", 298.0, p, 7.4).slope_V_per_W_per_um2
              for p in (10e-6, 100e-6, 500e-6, 2e-3, 10e-3)]
    assert all(b > a for a, b in zip(slopes, slopes[1:], strict=False))
    assert slopes[0] > 0


def test_ratio_channel_is_the_chopped_ratio(film):
    det = Detector()
    r = channel_response(film, det, "ratio", 298.0, 5e-4, 7.4)
    i = 1e-7
    on, off = film.emission(298.0, 5e-4, i), film.emission(298.0, 5e-4, 0.0)
    resp = det.responsivity_A_per_W
    scale = resp["525"] * 545.0 / (resp["545"] * 525.0)  # photocurrent per photon ratio
    d_ratio = scale * (on["525"] / on["545"] - off["525"] / off["545"])
    expected = SQUARE_WAVE_FUNDAMENTAL * det.ratio_scale_V * d_ratio / i
    assert r.slope_V_per_W_per_um2 == pytest.approx(expected, rel=0.01)
    assert r.dc_V == pytest.approx(det.ratio_scale_V * scale * film.ratio(), rel=1e-6)
    nei = r.noise_equivalent_intensity_W_per_um2(ENBW_DEFAULT_HZ)
    assert 1e-9 < nei < 1e-7


def test_bad_channel_and_detector():
    with pytest.raises(ValueError, match="channel"):
        channel_response(Film(), Detector(), "545")
    with pytest.raises(ValueError):
        Detector(collection_efficiency=0.0)
