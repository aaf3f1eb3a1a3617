import numpy as np
import pytest
from PIL import Image

from imager.sim import Chart, make_chart
from imager.sim.charts import from_image, siemens_star, usaf1951
from imager.sim.usaf import line_width_um, usaf1951_layout


def test_line_width_formula():
    assert line_width_um(5, 1) == pytest.approx(15.625)
    assert line_width_um(7, 6) == pytest.approx(1000 / (2 * 2 ** (7 + 5 / 6)))
    assert line_width_um(0, 1) == pytest.approx(500.0)
    with pytest.raises(ValueError):
        line_width_um(5, 7)


def _local_index(chart, layout, x_um, y_um):
    """Chart pixel indices of a layout coordinate (chart built centred on 0)."""
    ix = (x_um - layout.width_um / 2 - chart.x0_um) / chart.pixel_um
    iy = (y_um - layout.height_um / 2 - chart.y0_um) / chart.pixel_um
    return ix, iy


@pytest.mark.parametrize("group,element", [(5, 1), (6, 1), (7, 6)])
def test_usaf_bars_are_drawn_to_scale(group, element):
    chart = usaf1951((5, 6, 7), pixel_um=0.5)
    layout = usaf1951_layout((5, 6, 7))
    el = layout.element(group, element)
    w = line_width_um(group, element)
    # Row through the middle of the vertical-bar set: three bars, each w wide.
    x0, x1, y0, y1 = el.vertical_set_um
    i0, iy = _local_index(chart, layout, x0 - w / 2, (y0 + y1) / 2)
    i1, _ = _local_index(chart, layout, x1 + w / 2, (y0 + y1) / 2)
    row = chart.transmission[int(round(iy)), int(np.floor(i0)) : int(np.ceil(i1)) + 1]
    clear = row > 0.0
    runs = np.split(row, np.nonzero(np.diff(clear.astype(int)))[0] + 1)
    bars = [r for r in runs if r[0] > 0]
    assert len(bars) == 3
    for bar in bars:
        assert bar.sum() * chart.pixel_um == pytest.approx(w, rel=1e-9)
    # Column through the middle of the vertical bars: bar length 5 w.
    ixc, iy0 = _local_index(chart, layout, x0 + w / 2, y0 - 0.4 * w)
    _, iy1 = _local_index(chart, layout, x0 + w / 2, y1 + 0.4 * w)
    col = chart.transmission[int(round(iy0)) : int(round(iy1)) + 1, int(round(ixc))]
    assert col.sum() * chart.pixel_um == pytest.approx(5 * w, rel=1e-9)


def test_usaf_total_clear_area_and_fit_in_field():
    chart = usaf1951((5, 6, 7), pixel_um=0.5)
    layout = usaf1951_layout((5, 6, 7))
    assert len(layout.elements) == 18 and len(layout.bars) == 108
    area = sum(30 * line_width_um(g, e) ** 2 for g in (5, 6, 7) for e in range(1, 7))
    assert chart.transmission.sum() * 0.25 == pytest.approx(area, rel=1e-9)
    x_min, x_max, y_min, y_max = chart.extent_um()
    assert x_max - x_min < 400 and y_max - y_min < 400  # fits the default 400 um raster
    assert chart.centre_um == pytest.approx((0.0, 0.0))
    assert chart.transmission.min() >= 0 and chart.transmission.max() <= 1


def test_usaf_layout_places_groups_like_the_real_target():
    layout = usaf1951_layout((6, 7))
    e61 = layout.element(6, 1)
    e71 = layout.element(7, 1)
    e62 = layout.element(6, 2)
    assert e71.horizontal_set_um[3] == pytest.approx(layout.height_um)  # odd group: top right
    assert e61.horizontal_set_um[0] == pytest.approx(e71.horizontal_set_um[0])  # right column
    assert e61.horizontal_set_um[3] < e71.horizontal_set_um[2]  # even element 1 below
    assert e62.vertical_set_um[1] < e71.horizontal_set_um[0]  # even 2-6 on the left


def test_centred_at_and_extent():
    chart = usaf1951((6,), pixel_um=1.0)
    moved = chart.centred_at(12500.0, 12400.0)
    assert moved.centre_um == pytest.approx((12500.0, 12400.0))
    ny, nx = chart.shape
    x_min, x_max, y_min, y_max = moved.extent_um()
    assert x_max - x_min == pytest.approx(nx * 1.0)
    assert (x_min + x_max) / 2 == pytest.approx(12500.0)
    assert moved.transmission is not chart.transmission
    assert moved.x_um()[0] == moved.x0_um


def test_siemens_star_spokes_and_disc():
    star = siemens_star(diameter_um=200.0, spokes=12, pixel_um=0.5)
    x, y = np.meshgrid(star.x_um(), star.y_um())
    r = np.hypot(x, y)
    t = star.transmission
    assert t[r > 102].max() == 0.0
    assert t[(r > 20) & (r < 95)].mean() == pytest.approx(0.5, abs=0.02)
    # Around a circle of radius 60 um the transmission switches 2 * spokes times.
    ang = np.linspace(0, 2 * np.pi, 4000, endpoint=False)
    ix = np.round((60 * np.cos(ang) - star.x0_um) / 0.5).astype(int)
    iy = np.round((60 * np.sin(ang) - star.y0_um) / 0.5).astype(int)
    clear = t[iy, ix] > 0.5
    assert np.count_nonzero(clear != np.roll(clear, 1)) == 24


def test_from_image_round_trip(tmp_path):
    rng = np.random.default_rng(1)
    pixels = rng.integers(0, 256, size=(30, 40), dtype=np.uint8)
    path = tmp_path / "mask.png"
    Image.fromarray(pixels).save(path)
    chart = from_image(path, width_um=200.0)
    assert chart.shape == (30, 40)
    assert chart.pixel_um == pytest.approx(5.0)
    np.testing.assert_allclose(chart.transmission, pixels[::-1] / 255.0)  # top row = highest y
    resampled = from_image(path, width_um=200.0, pixel_um=2.5)
    assert resampled.shape == (60, 80) and resampled.pixel_um == 2.5
    assert resampled.transmission.mean() == pytest.approx(chart.transmission.mean(), abs=0.02)


def test_from_image_rgb_and_errors(tmp_path):
    rgb = np.zeros((4, 6, 3), dtype=np.uint8)
    rgb[:, 3:] = 255
    Image.fromarray(rgb).save(tmp_path / "rgb.png")
    chart = make_chart(str(tmp_path / "rgb.png"), width_um=60.0)
    np.testing.assert_allclose(chart.transmission[:, 3:], 1.0)
    np.testing.assert_allclose(chart.transmission[:, :3], 0.0)
    bad = tmp_path / "not_an_image.png"
    bad.write_text("hello")
    with pytest.raises(ValueError, match="not_an_image.png"):
        from_image(bad, width_um=10.0)
    with pytest.raises(ValueError, match="missing.png"):
        make_chart(str(tmp_path / "missing.png"), width_um=10.0)


def test_make_chart_dispatch():
    assert make_chart("usaf1951", groups=(7,), pixel_um=0.5).name.startswith("usaf1951")
    star = make_chart("siemens_star", width_um=100.0, pixel_um=1.0, spokes=8)
    assert isinstance(star, Chart) and star.shape[1] >= 100
    with pytest.raises(ValueError):
        Chart("bad", np.zeros(3), 1.0, 0.0, 0.0)
