"""Single-pixel patterns read through the lock-in's buffer: the filter's memory fitted out."""

from __future__ import annotations

import h5py
import numpy as np
import pytest

from imager.engine import StopRequest, run_single_pixel
from imager.recipes.recipe import parse_recipe
from imager.sim import simulated_lab_for
from reconstruction.metrics import ssim
from reconstruction.spifile import load_single_pixel, reconstruct_single_pixel


def spi_recipe(readout: str, dwell_tc: float, **extra) -> object:
    lines = "".join(f"{k} = {v!r}\n" for k, v in {"block_patterns": 128, **extra}.items())
    return parse_recipe(f'kind = "single_pixel"\nname = "s"\n[single_pixel]\nsize = 16\n'
                        f'dwell_tc = {dwell_tc}\nreadout = "{readout}"\n'
                        f'{lines}[lockin]\nsensitivity_V = 0.01\n[pump]\npower_mW = 500.0\n'
                        '[sim]\nseed = 3\n', "<test>")


def _image_ssim(path) -> float:
    scan = load_single_pixel(path)
    return ssim(reconstruct_single_pixel(scan, "pinv").image, scan.truth_V)


def test_streamed_patterns_at_one_time_constant_give_the_image_reads_lose(tmp_path):
    reads, stream = spi_recipe("reads", 1.0), spi_recipe("stream", 1.0)
    a = run_single_pixel(simulated_lab_for(reads), reads, tmp_path / "r.h5", progress=False)
    b = run_single_pixel(simulated_lab_for(stream), stream, tmp_path / "s.h5", progress=False)
    assert a.exit_status == b.exit_status == "success" and b.points_done == 512
    # one reading after 1 time constant still holds ~70 % of the previous pattern's bucket
    assert _image_ssim(tmp_path / "r.h5") < 0.3
    assert _image_ssim(tmp_path / "s.h5") > 0.8
    assert b.lab_time_s < 1.2 * a.lab_time_s  # the blocks' settling costs little
    with h5py.File(tmp_path / "s.h5", "r") as f:
        lines, stream_rows = f["entry/lines"][()], f["entry/stream"][()]
    assert lines["line"].tolist() == [0, 1, 2, 3]  # 512 patterns in blocks of 128
    assert len(stream_rows) == lines["samples"].sum() > 512


def test_a_stopped_streamed_scan_resumes_to_the_uninterrupted_readings(tmp_path):
    recipe = spi_recipe("stream", 1.5)
    full = run_single_pixel(simulated_lab_for(recipe), recipe, tmp_path / "f.h5", progress=False)
    lab = simulated_lab_for(recipe)
    stop, begin = StopRequest(), lab.begin_point

    def begin_point(index: int) -> None:
        if index == 300:  # in block 2: blocks 0 and 1 are complete
            stop.set("test stop")
        begin(index)

    lab.begin_point = begin_point
    part = run_single_pixel(lab, recipe, tmp_path / "r.h5", progress=False, stop=stop)
    assert part.exit_status == "abort" and part.points_done == 384  # the block finishes
    done = run_single_pixel(simulated_lab_for(recipe), recipe, tmp_path / "r.h5",
                            progress=False, resume=True)
    assert done.exit_status == "success" and done.points_done == 512
    np.testing.assert_allclose(done.raw_V, full.raw_V, rtol=0, atol=1e-12)


def test_a_block_longer_than_the_buffer_is_a_one_line_error(tmp_path):
    recipe = spi_recipe("stream", 10.0, block_patterns=20000)
    with pytest.raises(ValueError, match=r"\[single_pixel\] block_patterns: 20000 patterns .* "
                                         r"more than the lock-in's buffer of 16383"):
        run_single_pixel(simulated_lab_for(recipe), recipe, tmp_path / "x.h5", progress=False)
    assert not (tmp_path / "x.h5").exists()
