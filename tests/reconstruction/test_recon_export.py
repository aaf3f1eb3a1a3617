"""PNG and TIFF export, scale-bar choice."""

from __future__ import annotations

import numpy as np
import pytest
import tifffile
from PIL import Image

from reconstruction import save_png, save_tiff
from reconstruction.export import format_length_um, nice_scale_bar_um


def _image(shape=(30, 40)) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    yy, xx = np.indices(shape, dtype=float)
    img = 1e-3 * np.sin(xx / 4.0) * np.cos(yy / 6.0)
    x_um = 100.0 + 10.0 * np.arange(shape[1])
    y_um = -20.0 + 10.0 * np.arange(shape[0])
    return img, x_um, y_um


@pytest.mark.parametrize(
    ("width_um", "bar_um"),
    [(400, 100), (100, 20), (1000, 200), (50, 10), (3, 0.5), (250, 50), (12000, 2000)],
)
def test_nice_scale_bar(width_um, bar_um):
    assert nice_scale_bar_um(width_um) == pytest.approx(bar_um)


def test_nice_scale_bar_is_round_and_near_a_fifth():
    for width in np.geomspace(0.7, 5e4, 60):
        bar = nice_scale_bar_um(width)
        mantissa = bar / 10 ** np.floor(np.log10(bar))
        assert round(mantissa, 9) in (1.0, 2.0, 5.0)
        assert 0.2 / 1.6 <= bar / width <= 0.2 * 1.6


def test_nice_scale_bar_rejects_bad_width():
    with pytest.raises(ValueError):
        nice_scale_bar_um(0.0)
    with pytest.raises(ValueError):
        nice_scale_bar_um(float("nan"))


def test_format_length():
    assert format_length_um(100) == "100 µm"
    assert format_length_um(0.5) == "0.5 µm"
    assert format_length_um(2000) == "2 mm"


def test_save_png_writes_valid_image(tmp_path):
    img, x_um, y_um = _image()
    out = save_png(tmp_path / "scan.png", img, x_um, y_um, title="test")
    assert out.exists()
    with Image.open(out) as im:
        assert im.format == "PNG"
        w, h = im.size
    assert 300 <= w <= 3000 and 200 <= h <= 3000


def test_save_png_shows_unmeasured_pixels_in_grey(tmp_path):
    img, x_um, y_um = _image()
    full = save_png(tmp_path / "full.png", img, x_um, y_um)
    part = img.copy()
    part[15:, :] = np.nan  # half the scan not measured
    partial = save_png(tmp_path / "partial.png", part, x_um, y_um)

    def grey_fraction(path):
        rgb = np.asarray(Image.open(path).convert("RGB")).astype(int)
        grey = (np.abs(rgb - 153) <= 2).all(axis=2)  # "0.6" grey
        return grey.mean()

    assert grey_fraction(full) < 0.01
    assert grey_fraction(partial) > 0.1


def test_save_png_does_not_touch_pyplot_state(tmp_path):
    import matplotlib.pyplot as plt

    before = plt.get_fignums()
    img, x_um, y_um = _image()
    save_png(tmp_path / "a.png", img, x_um, y_um)
    assert plt.get_fignums() == before


def test_save_png_all_nan_and_constant(tmp_path):
    img, x_um, y_um = _image((5, 6))
    assert save_png(tmp_path / "nan.png", np.full((5, 6), np.nan), x_um, y_um).exists()
    assert save_png(tmp_path / "const.png", np.ones((5, 6)), x_um, y_um).exists()


def test_save_png_rejects_mismatched_axes(tmp_path):
    img, x_um, y_um = _image()
    with pytest.raises(ValueError, match="axes"):
        save_png(tmp_path / "bad.png", img, y_um, x_um)


def test_save_tiff_round_trip(tmp_path):
    img, x_um, y_um = _image((6, 9))
    x_um = 100.0 + 2.5 * np.arange(9)
    y_um = -50.0 + 4.0 * np.arange(6)
    img[2, 3] = np.nan
    path = save_tiff(tmp_path / "scan.tif", img, x_um, y_um)
    back = tifffile.imread(path)
    assert back.dtype == np.float32
    np.testing.assert_array_equal(back, img.astype(np.float32))  # NaN positions equal too
    assert np.isnan(back[2, 3])
    with tifffile.TiffFile(path) as tif:
        page = tif.pages[0]
        num, den = page.tags["XResolution"].value
        assert num / den == pytest.approx(1 / 2.5)  # pixels per micrometre
        num, den = page.tags["YResolution"].value
        assert num / den == pytest.approx(1 / 4.0)
        meta = tif.imagej_metadata
        assert meta is not None and meta["unit"] == "um"
        # ImageJ origin convention: x_um = (column - xorigin) * pixel_width
        assert (0 - meta["xorigin"]) * 2.5 == pytest.approx(100.0)
        assert (0 - meta["yorigin"]) * 4.0 == pytest.approx(-50.0)


@pytest.mark.parametrize("values", [(-1.7976931348623157e308, 1e-3), (-1.7e308, 1.7e308),
                                    (1e308, 1.7e308), (0.0, 5e-324), (1e-300, 2e-300)])
@pytest.mark.parametrize("label", ["lock-in X (V)", "MIR intensity (nW/µm²)"])
def test_save_png_extreme_values(tmp_path, values, label):
    # found by the fuzz suite: a reading of -1.8e308 V made matplotlib fail ("arange: cannot
    # compute length"); such values are now drawn divided by a power of ten
    image = np.zeros((4, 5))
    image[0, 0], image[1, 1] = values
    path = save_png(tmp_path / "x.png", image, np.arange(5.0), np.arange(4.0), units_label=label)
    with Image.open(path) as im:
        assert im.size[0] > 100


def test_save_png_rejects_coordinates_too_large_to_draw(tmp_path):
    with pytest.raises(ValueError, match="x_um: pixel coordinates not finite or too large"):
        save_png(tmp_path / "x.png", np.zeros((2, 2)), np.array([0.0, 1e308]),
                 np.arange(2.0))


def test_save_tiff_rejects_pitch_out_of_tiff_range(tmp_path):
    with pytest.raises(ValueError, match="x pixel pitch 1e-300 um cannot be stored"):
        save_tiff(tmp_path / "x.tif", np.zeros((2, 3)), np.array([0, 1e-300, 2e-300]),
                  np.arange(2.0))


def test_scale_bar_does_not_cover_the_image(tmp_path):
    """An unmeasured (grey) image stays all grey: the scale bar is drawn outside it."""
    _, x_um, y_um = _image()
    for title in (None, "scan.h5 (success)\nraster 40x30 snake"):
        png = save_png(tmp_path / "grey.png", np.full((30, 40), np.nan), x_um, y_um,
                       title=title)
        rgb = np.asarray(Image.open(png).convert("RGB")).astype(int)
        grey = (np.abs(rgb - 153) <= 2).all(axis=2)
        rows = np.flatnonzero(grey.sum(axis=1) > 0.5 * grey.sum(axis=1).max())
        cols = np.flatnonzero(grey.sum(axis=0) > 0.5 * grey.sum(axis=0).max())
        area = grey[rows[0]:rows[-1] + 1, cols[0]:cols[-1] + 1]
        assert area.size > 10_000
        assert 1.0 - area.mean() < 1e-3  # nothing drawn over the image
        dark = (rgb.sum(axis=2) < 60)  # the black bar, above the image
        assert dark[:rows[0]].sum() > 50


def test_image_title_names_method_and_measurement():
    from types import SimpleNamespace

    from reconstruction.export import image_title

    settings = {"source": {"wavelength_um": 7.4, "power_mW": 50.0}, "pump": {"power_mW": 0.5}}
    raster = SimpleNamespace(exit_status="success", settings=settings, order="snake",
                             scan_attrs={"dwell_s": 0.3})
    rec = SimpleNamespace(image=np.zeros((30, 40)), steps=["snake lag +0.082 px"])
    title = image_title("a.h5", raster, rec)
    assert title.splitlines() == ["a.h5 (success)", "raster 40x30 snake, snake lag +0.082 px",
                                  "MIR 7.4 µm, 50 mW · pump 0.5 mW · dwell 0.3 s"]
    spi = SimpleNamespace(exit_status="abort", settings=settings, scan_attrs={"dwell_s": 0.3},
                          basis_spec={"kind": "hadamard", "size": 64})
    rec = SimpleNamespace(image=np.zeros((64, 64)), method="tv", ratio=0.1, measurements=410)
    assert image_title("s.h5", spi, rec).splitlines()[1] == (
        "TV, hadamard 64x64, ratio 0.1 (410 meas.)")
    bare = SimpleNamespace(exit_status="success", settings={}, scan_attrs={}, order="row")
    assert image_title("b.h5", bare, SimpleNamespace(image=np.zeros((2, 3)), steps=[])) == (
        "b.h5 (success)\nraster 3x2 row")
