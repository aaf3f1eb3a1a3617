import os

import pytest

os.environ.setdefault("MPLBACKEND", "Agg")


@pytest.fixture
def small_recipe():
    """A 24 x 24 raster over the USAF chart centre, default lock-in settings."""
    from imager.recipes import default_recipe

    def make(n: int = 24, **scan):
        return default_recipe(scan={"nx": n, "ny": n, "x_start_um": 12380.0,
                                    "x_stop_um": 12620.0, "y_start_um": 12380.0,
                                    "y_stop_um": 12620.0, **scan})

    return make
