"""Adaptive single-pixel scans on the engine (``ordering = "adaptive"``).

The plan chooses the patterns after the first round from TV previews of its own
readings, writes each round's coefficients to ``/entry/basis/index`` before showing
them, and resumes a stopped scan with the same choices.
"""

import subprocess
import sys

import h5py
import numpy as np
import pytest
from stop_at import stop_after_point

from imager.engine import run_single_pixel
from imager.recipes import RecipeError, parse_recipe
from imager.sim import simulated_lab_for
from reconstruction.metrics import psnr
from reconstruction.spi import reconstruct
from reconstruction.spi.adaptive import round_sizes
from reconstruction.spi.orderings import hadamard_order
from reconstruction.spifile import load_single_pixel, reconstruct_single_pixel

RECIPE = """
kind = "single_pixel"
name = "adaptive"
[single_pixel]
basis = "hadamard"
size = {size}
ordering = "{ordering}"
ratio = {ratio}
fov_um = 400.0
dwell_tc = 10
[lockin]
time_constant_s = 0.03
sensitivity_V = 0.02
[pump]
power_mW = 500.0
[sim]
chart = "usaf1951"
noise = {noise}
"""


def recipe(ordering="adaptive", size=32, ratio=0.25, noise="true", extra=""):
    return parse_recipe(RECIPE.format(ordering=ordering, size=size, ratio=ratio,
                                      noise=noise) + extra)


def scan(tmp_path, name, r, **kw):
    return run_single_pixel(simulated_lab_for(r), r, tmp_path / name, progress=False, **kw)


def test_the_file_records_each_rounds_coefficients(tmp_path):
    r = recipe()
    result = scan(tmp_path, "a.h5", r)
    assert result.exit_status == "success"
    with h5py.File(tmp_path / "a.h5", "r") as f:
        index = f["/entry/basis/index"][...]
    m = 256  # 25 % of 32 x 32
    sizes = round_sizes(m)  # first half zigzag, then 3 rounds
    assert index.shape == (m,) and len(sizes) == 4
    assert np.unique(index).size == m and index.min() >= 0
    zigzag = hadamard_order(32, "zigzag")
    np.testing.assert_array_equal(index[: sizes[0]], zigzag[: sizes[0]])
    assert not np.isin(index[sizes[0]:], zigzag[:m]).all()  # chosen, not zigzag's next
    scanned = load_single_pixel(tmp_path / "a.h5")
    np.testing.assert_array_equal(scanned.basis.index, index)
    np.testing.assert_array_equal(result.basis.index, index)  # the result's basis too
    # each pattern pair shown is the one recorded: the readings fit that basis
    np.testing.assert_allclose(scanned.raw_V, result.raw_V, rtol=0, atol=0)


def test_adaptive_beats_zigzag_on_the_chart_at_equal_pattern_count(tmp_path):
    """Noise-free twin, 64x64 at 10 %: truncation, not noise, limits the image (measured
    +0.9 dB)."""
    gains = {}
    for ordering in ("zigzag", "adaptive"):
        r = recipe(ordering, size=64, ratio=0.1, noise="false")
        scan(tmp_path, f"{ordering}.h5", r)
        s = load_single_pixel(tmp_path / f"{ordering}.h5")
        image = reconstruct(s.basis.combine(s.raw_V), s.basis, "tv", noise_sigma=1e-7)
        truth = s.truth_V
        gains[ordering] = psnr(image, truth, float(truth.max() - truth.min()))
        assert s.raw_V.size == 2 * 410
    assert gains["adaptive"] >= gains["zigzag"] + 0.3, gains


@pytest.mark.parametrize("stop_at", [255, 300, 460])
def test_a_stopped_adaptive_scan_resumes_with_the_same_choices(tmp_path, stop_at):
    """Stopped at the end of the zigzag round (255: the next round not chosen yet),
    inside round 2 and inside round 3; resumed in its own file."""
    r = recipe()
    full = scan(tmp_path, "full.h5", r)
    lab = simulated_lab_for(r)
    part = run_single_pixel(lab, r, tmp_path / "r.h5", progress=False,
                            stop=stop_after_point(lab, stop_at))
    assert part.exit_status == "abort" and part.points_done == stop_at + 1
    partial = load_single_pixel(tmp_path / "r.h5")  # a stopped file reads, basis complete
    assert partial.basis.n_patterns == 512 and partial.points_done == stop_at + 1
    image = reconstruct_single_pixel(partial, "tv")  # from the pairs measured
    assert image.measurements == (stop_at + 1) // 2 and np.isfinite(image.image).all()
    done = scan(tmp_path, "r.h5", r, resume=True)
    assert done.exit_status == "success"
    a, b = load_single_pixel(tmp_path / "full.h5"), load_single_pixel(tmp_path / "r.h5")
    np.testing.assert_array_equal(a.basis.index, b.basis.index)
    np.testing.assert_allclose(b.raw_V, a.raw_V, rtol=0, atol=1e-12)
    assert full.points_done == 512


STREAM = 'readout = "stream"\nblock_patterns = {block}\n'


def stream_recipe(ordering="adaptive", block=64, noise="true"):
    text = RECIPE.format(ordering=ordering, size=32, ratio=0.25, noise=noise)
    return parse_recipe(text.replace("dwell_tc = 10\n", "dwell_tc = 2\n"
                                     + STREAM.format(block=block)))


def test_a_streamed_adaptive_scan_ends_each_round_with_a_block(tmp_path):
    """Rounds of whole blocks: 256 pairs, first 128, then edges moved to multiples of 32
    pairs (a 64-pattern block); every pattern fitted from the buffer."""
    from imager.plans.adaptive_spi import round_edges

    assert round_edges(256, 0.5, 3, 32) == [0, 128, 160, 224, 256]
    r = stream_recipe()
    result = scan(tmp_path, "s.h5", r)
    assert result.exit_status == "success" and np.isfinite(result.raw_V).all()
    s = load_single_pixel(tmp_path / "s.h5")
    zigzag = hadamard_order(32, "zigzag")
    np.testing.assert_array_equal(s.basis.index[:128], zigzag[:128])
    assert not np.isin(s.basis.index[128:], zigzag[:256]).all()
    with h5py.File(tmp_path / "s.h5", "r") as f:
        assert f["/entry/lines"].shape[0] == 8  # 512 patterns in blocks of 64


@pytest.mark.parametrize("stop_at", [200, 300])
def test_a_stopped_streamed_adaptive_scan_resumes_bit_identically(tmp_path, stop_at):
    """Stopped inside the zigzag round's last block and inside round 2's block; it
    restarts at the block and chooses (or keeps) the same coefficients."""
    r = stream_recipe()
    scan(tmp_path, "full.h5", r)
    lab = simulated_lab_for(r)
    part = run_single_pixel(lab, r, tmp_path / "r.h5", progress=False,
                            stop=stop_after_point(lab, stop_at))
    assert part.exit_status == "abort"
    done = scan(tmp_path, "r.h5", r, resume=True)
    assert done.exit_status == "success"
    a, b = load_single_pixel(tmp_path / "full.h5"), load_single_pixel(tmp_path / "r.h5")
    np.testing.assert_array_equal(a.basis.index, b.basis.index)
    np.testing.assert_allclose(b.raw_V, a.raw_V, rtol=0, atol=1e-12)


def test_a_streamed_adaptive_scan_needs_whole_pairs_per_block():
    with pytest.raises(RecipeError, match=r"\[single_pixel\] block_patterns: .*even"):
        stream_recipe(block=63)


def test_a_lower_ratio_of_an_adaptive_file_is_its_first_pairs(tmp_path):
    scan(tmp_path, "a.h5", recipe())
    s = load_single_pixel(tmp_path / "a.h5")
    image = reconstruct_single_pixel(s, "pinv", ratio=0.1)  # 102 of the 256 pairs
    y = s.basis.combine(s.raw_V)[:102]
    np.testing.assert_allclose(image.image, s.basis.adjoint(np.r_[y, np.zeros(154)]),
                               rtol=1e-9, atol=1e-12 * np.abs(y).max())


def test_info_tells_the_coefficients_chosen(tmp_path):
    scan(tmp_path, "a.h5", recipe())
    out = subprocess.run([sys.executable, "-m", "imager", "info", str(tmp_path / "a.h5")],
                         capture_output=True, text=True, timeout=300)
    assert out.returncode == 0, out.stderr
    assert "ordering=adaptive" in out.stdout and "coefficients chosen 256/256" in out.stdout
    assert "index=" not in out.stdout


def test_adaptive_needs_a_hadamard_basis_one_line_exit_2(tmp_path):
    text = RECIPE.format(ordering="adaptive", size=32, ratio=0.25, noise="true")
    path = tmp_path / "f.toml"
    path.write_text(text.replace('basis = "hadamard"', 'basis = "fourier"'))
    out = subprocess.run([sys.executable, "-m", "imager", "scan", str(path), "-o",
                          str(tmp_path / "x.h5"), "--no-progress"],
                         capture_output=True, text=True, timeout=300)
    assert out.returncode == 2
    assert out.stderr.count("\n") == 1 and "Traceback" not in out.stderr
    assert "[single_pixel] ordering" in out.stderr and "hadamard" in out.stderr
    assert not (tmp_path / "x.h5").exists()


def test_the_planner_plans_an_adaptive_recipe():
    from pathlib import Path

    recipe_path = Path(__file__).resolve().parents[2] / "scans" / "single_pixel_adaptive.toml"
    out = subprocess.run([sys.executable, "-m", "imager", "plan", str(recipe_path)],
                         capture_output=True, text=True, timeout=300)
    assert out.returncode == 0, out.stderr
    rows = [line for line in out.stdout.splitlines() if line.strip().startswith("single pixel")]
    assert len(rows) == 2 and "stream" in rows[0]  # as written, then the fastest


def test_the_live_preview_of_an_adaptive_scan_uses_only_the_zigzag_round():
    """The recipe's basis knows the first round only; the live view must not mix the
    later rounds' readings into it."""
    from imager.engine.kinds import KINDS

    r = recipe()
    view = KINDS["single_pixel"].live_view(r)
    view.signal[:] = 1.0  # every pattern "read"
    view.signal[256::2] = 1e6  # later rounds: pairs read for other patterns
    preview = view.snapshot()
    assert np.isfinite(preview).all() and np.abs(preview).max() < 1e3


@pytest.mark.parametrize("corrupt, message", [
    (lambda ds: ds.__setitem__(slice(0, 2), [5, 5]), "distinct"),
    (lambda ds: ds.__setitem__(0, 10**9), "index: entries must be in"),
    (lambda ds: ds.__setitem__(0, -7), "index: entries must be in"),
])
def test_a_corrupt_index_is_a_one_line_error(tmp_path, corrupt, message):
    from reconstruction.errors import ScanFileError

    scan(tmp_path, "a.h5", recipe())
    with h5py.File(tmp_path / "a.h5", "r+") as f:
        corrupt(f["/entry/basis/index"])
    with pytest.raises(ScanFileError, match=message) as info:
        load_single_pixel(tmp_path / "a.h5")
    assert "\n" not in str(info.value) and len(str(info.value)) < 400


def test_an_index_of_floats_is_refused(tmp_path):
    from reconstruction.errors import ScanFileError

    scan(tmp_path, "a.h5", recipe())
    with h5py.File(tmp_path / "a.h5", "r+") as f:
        del f["/entry/basis/index"]
        f["/entry/basis/index"] = np.arange(256) + 0.5
    with pytest.raises(ScanFileError, match="1-D integer array"):
        load_single_pixel(tmp_path / "a.h5")
