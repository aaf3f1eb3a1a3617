"""Issue 14's acceptance: the default spectral recipe (scans/chemical_chart.toml) on the
twin's chemical chart gives material maps that classify >= 95 % of the chart's pixels and
recover each material's spectrum (correlation >= 0.95 against its truth)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from imager.engine.kinds import kind_of
from imager.recipes import load_recipe
from imager.sim import simulated_lab_for
from reconstruction.spectral.cube import load_cube
from reconstruction.spectral.unmix import analyse_cube

SCANS = Path(__file__).resolve().parents[2] / "scans"


@pytest.fixture(scope="module")
def chemical_scan(tmp_path_factory):
    recipe = load_recipe(SCANS / "chemical_chart.toml")
    path = tmp_path_factory.mktemp("chem") / "chem.h5"
    result = kind_of(recipe).run(simulated_lab_for(recipe), recipe, path, progress=False)
    assert result.exit_status == "success"
    return path


def test_the_default_spectral_scan_classifies_the_chart_and_recovers_the_spectra(
        chemical_scan):
    cube = load_cube(chemical_scan)
    assert cube.shape == (19, 32, 32) and cube.complete
    assert set(cube.material_names) == {"clear", "polystyrene", "pmma", "polyethylene"}
    cal, result = analyse_cube(cube)
    assert result.score >= 0.95
    truth = dict(zip(cube.material_names, cube.material_transmission, strict=True))
    for k, name in enumerate(result.unmixing.names):
        if np.ptp(truth[name]) > 0:  # the polymers: the spectrum's shape
            assert result.correlation[k] >= 0.95, name
        else:  # clear: flat, as its truth (correlation is undefined for a constant)
            spectrum = result.spectra[k]
            assert np.std(spectrum) / np.mean(spectrum) < 0.05


def test_the_calibrated_cube_carries_the_source_film_and_chart(chemical_scan):
    """The blank-relative cube divides out the source's power and the film's spectral
    responsivity: a polymer pixel's spectrum over a clear pixel's at the same beam
    intensity is the polymer's transmittance."""
    cube = load_cube(chemical_scan)
    cal, _ = analyse_cube(cube)
    labels = cube.labels
    ratio = cal.values[:, labels == 2].mean(axis=1) / cal.values[:, labels == 0].mean(axis=1)
    pmma = cube.material_transmission[list(cube.material_names).index("pmma")]
    assert np.corrcoef(ratio, pmma)[0, 1] > 0.95
    raw = cube.X_V[:, labels == 2].mean(axis=1)  # without the blank: the film's band too
    assert np.corrcoef(raw, pmma)[0, 1] < np.corrcoef(ratio, pmma)[0, 1]
