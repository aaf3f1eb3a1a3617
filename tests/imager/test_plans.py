import numpy as np
import pytest

from imager.plans import RasterGrid, raster_points


def test_row_order_visits_every_pixel_once_in_row_major_order():
    grid = RasterGrid(0.0, 30.0, 4, 100.0, 120.0, 3, order="row")
    points = list(raster_points(grid))
    assert [p.index for p in points] == list(range(12))
    assert [(p.iy, p.ix) for p in points] == [(iy, ix) for iy in range(3) for ix in range(4)]
    assert points[5].x_um == pytest.approx(10.0) and points[5].y_um == pytest.approx(110.0)


def test_snake_reverses_odd_rows_so_neighbours_are_one_step_apart():
    grid = RasterGrid(0.0, 3.0, 4, 0.0, 2.0, 3, order="snake")
    points = list(raster_points(grid))
    assert [p.ix for p in points[4:8]] == [3, 2, 1, 0]
    assert {(p.ix, p.iy) for p in points} == {(ix, iy) for ix in range(4) for iy in range(3)}
    pairs = zip(points, points[1:], strict=False)
    steps = [abs(a.x_um - b.x_um) + abs(a.y_um - b.y_um) for a, b in pairs]
    assert max(steps) == pytest.approx(1.0)


def test_resume_from_start_index_yields_the_rest():
    grid = RasterGrid(0.0, 1.0, 5, 0.0, 1.0, 5)
    full = list(raster_points(grid))
    assert list(raster_points(grid, start_index=7)) == full[7:]


def test_plan_is_a_lazy_generator():
    grid = RasterGrid(0.0, 1.0, 4096, 0.0, 1.0, 4096)
    gen = raster_points(grid)
    assert next(gen).index == 0  # 16 M points, nothing materialised


def test_axes_and_steps():
    grid = RasterGrid(10.0, 20.0, 11, -5.0, 5.0, 3)
    np.testing.assert_allclose(grid.x_um, np.arange(10.0, 20.5, 1.0))
    assert grid.step_um == (pytest.approx(1.0), pytest.approx(5.0))
    assert grid.shape == (3, 11) and grid.n_points == 33


@pytest.mark.parametrize("bad", [dict(nx=0), dict(order="spiral")])
def test_invalid_grid_is_refused(bad):
    kwargs = dict(x_start_um=0.0, x_stop_um=1.0, nx=2, y_start_um=0.0, y_stop_um=1.0, ny=2)
    kwargs.update(bad)
    with pytest.raises(ValueError):
        RasterGrid(**kwargs)
