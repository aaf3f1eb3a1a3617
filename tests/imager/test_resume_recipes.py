"""Every raster and single-pixel recipe in scans/ resumes bit-identically.

For each: an uninterrupted scan; the same scan stopped a third of the way through (and
after its last lock-in re-range: fine_raster re-ranges from 1 to 2 mV near point 1520),
then resumed in its own file; the two images must agree to 1e-12 V (streamed single
pixel: to the filter's residual after a block's settling, 1e-9 of the signal).
"""

from pathlib import Path

import numpy as np
import pytest
from stop_at import stop_after_point

from imager.engine.kinds import kind_of
from imager.recipes import load_recipe
from imager.sim import simulated_lab_for
from reconstruction.events import load_events
from reconstruction.spifile import load_single_pixel

SCANS = Path(__file__).resolve().parents[2] / "scans"
RECIPES = sorted(p.stem for p in SCANS.glob("*.toml")
                 if load_recipe(p).kind in ("raster", "single_pixel"))


def test_the_recipes_are_all_here():
    assert RECIPES == ["chemical_chart", "fine_raster", "siemens_star", "single_pixel",
                       "single_pixel_adaptive", "usaf_raster"]


@pytest.mark.parametrize("name", RECIPES)
def test_recipe_resumes_bit_identically(tmp_path, name):
    recipe = load_recipe(SCANS / f"{name}.toml")
    kind = kind_of(recipe)

    def run(*args, **kw):
        return kind.run(*args, **kw)
    full = run(simulated_lab_for(recipe), recipe, tmp_path / "full.h5", progress=False)
    total = full.points_done
    reranges = [e.index for e in load_events(tmp_path / "full.h5") if e.kind == "overload"]
    if name == "fine_raster":
        assert len(reranges) == 1  # (at point 1520 with today's noise draws)
    stop_at = max([total // 3] + [i + 1 for i in reranges])
    lab = simulated_lab_for(recipe)
    part = run(lab, recipe, tmp_path / "r.h5", progress=False,
               stop=stop_after_point(lab, stop_at))
    # a streamed scan stops at the end of the buffer block holding the stop point
    assert part.exit_status == "abort" and stop_at + 1 <= part.points_done < total
    if recipe.kind == "single_pixel" and recipe.sections["single_pixel"]["readout"] == "reads":
        assert part.points_done == stop_at + 1
    done = run(simulated_lab_for(recipe), recipe, tmp_path / "r.h5", progress=False,
               resume=True)
    assert done.exit_status == "success" and done.points_done == total
    if kind.name == "spectral":
        resumed, reference = done.cube_V, full.cube_V
    elif recipe.kind == "raster":
        resumed, reference = done.image_V, full.image_V
    else:
        resumed = load_single_pixel(tmp_path / "r.h5").raw_V
        reference = full.raw_V
    # A resumed streamed block starts from a settled filter, the uninterrupted one from the
    # previous pattern: after the block's settle_tc (25 time constants) a 2-pole filter keeps
    # (1 + 25) exp(-25) = 3.6e-10 of the difference, which at 2.8 W is above 1e-12 V.
    streamed = recipe.kind == "single_pixel" and \
        recipe.sections["single_pixel"]["readout"] == "stream"
    np.testing.assert_allclose(resumed, reference, rtol=1e-9 if streamed else 0, atol=1e-12)
    assert [e.index for e in load_events(tmp_path / "r.h5") if e.kind == "overload"] == reranges
