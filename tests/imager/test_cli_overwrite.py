"""Nothing on disk is overwritten: images beside a scan, reconstruct outputs, live PNGs.

Each refusal is one line, exit status 2, and comes before any lab time or computation is
spent; ``--overwrite`` replaces images (never scan files).
"""

import h5py
import numpy as np
import pytest
from PIL import Image

from imager.cli import main
from imager.cli.common import PNG_SCAN_KEY, new_file, png_text, scan_identity
from imager.engine import StopRequest, run_raster
from imager.recipes import default_recipe
from imager.sim import simulated_lab_for
from reconstruction import load_raster

USER_BYTES = b"the user's own picture, not a scan image"


@pytest.fixture
def recipe(tmp_path):
    path = tmp_path / "small.toml"
    path.write_text('name = "small"\n[scan]\nnx = 6\nny = 5\n')
    return path


def one_line_error(capsys) -> str:
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and "Traceback" not in err, err
    return err


def test_scan_refuses_an_existing_png_beside_its_file_before_scanning(tmp_path, recipe,
                                                                     capsys):
    png = tmp_path / "x.png"
    png.write_bytes(USER_BYTES)
    assert main(["scan", str(recipe), "-o", str(tmp_path / "x.h5"), "--no-progress"]) == 2
    err = one_line_error(capsys)
    assert err.startswith(f"mirimager scan: error: {png}: file exists; not overwritten")
    assert "--overwrite" in err
    assert png.read_bytes() == USER_BYTES
    assert not (tmp_path / "x.h5").exists()  # refused before the scan: no lab time spent


def test_scan_with_overwrite_replaces_the_png_and_marks_it(tmp_path, recipe, capsys):
    png = tmp_path / "x.png"
    png.write_bytes(USER_BYTES)
    assert main(["scan", str(recipe), "-o", str(tmp_path / "x.h5"), "--no-progress",
                 "--overwrite"]) == 0
    assert Image.open(png).size[0] > 100
    assert png_text(png)[PNG_SCAN_KEY] == scan_identity(tmp_path / "x.h5")
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".")]  # no temporaries


def test_overwrite_never_replaces_a_scan_file(tmp_path, recipe, capsys):
    path = tmp_path / "x.h5"
    path.write_bytes(USER_BYTES)
    assert main(["scan", str(recipe), "-o", str(path), "--no-progress", "--overwrite"]) == 2
    assert "file exists; scan files are never overwritten" in one_line_error(capsys)
    assert path.read_bytes() == USER_BYTES


@pytest.fixture
def scan_file(tmp_path, recipe):
    path = tmp_path / "s.h5"
    assert main(["scan", str(recipe), "-o", str(path), "--no-progress"]) == 0
    return path


@pytest.mark.parametrize("output, existing", [("out.png", ["out.png"]), ("out.tif", ["out.tif"]),
                                              ("out", ["out.tif"]), ("out", ["out.png"])])
def test_reconstruct_refuses_existing_outputs_before_computing(tmp_path, scan_file, capsys,
                                                               monkeypatch, output, existing):
    import reconstruction

    def must_not_run(*args, **kwargs):
        raise AssertionError("reconstruction computed although the output exists")

    monkeypatch.setattr(reconstruction, "reconstruct_raster", must_not_run, raising=False)
    for name in existing:
        (tmp_path / name).write_bytes(USER_BYTES)
    capsys.readouterr()
    assert main(["reconstruct", str(scan_file), "-o", str(tmp_path / output)]) == 2
    err = one_line_error(capsys)
    assert err.startswith(f"mirimager reconstruct: error: {tmp_path / existing[0]}: file exists")
    for name in existing:
        assert (tmp_path / name).read_bytes() == USER_BYTES
    assert {p.name for p in tmp_path.glob("out*")} == set(existing)  # no partial output


def test_reconstruct_with_overwrite_replaces(tmp_path, scan_file, capsys):
    for name in ("out.png", "out.tif"):
        (tmp_path / name).write_bytes(USER_BYTES)
    assert main(["reconstruct", str(scan_file), "-o", str(tmp_path / "out"),
                 "--overwrite"]) == 0
    assert Image.open(tmp_path / "out.png").size[0] > 100
    assert (tmp_path / "out.tif").read_bytes()[:2] in (b"II", b"MM")


def _stopped_scan(tmp_path):
    """A scan stopped after 7 of 30 points (as Ctrl-C leaves it), without an image."""
    recipe = default_recipe(scan={"nx": 6, "ny": 5})
    lab, stop = simulated_lab_for(recipe), StopRequest()
    read, calls = lab.lockin.read_xy, {"n": 0}

    def read_then_stop():
        calls["n"] += 1
        if calls["n"] == 7:
            stop.set("test stop")
        return read()

    lab.lockin.read_xy = read_then_stop
    path = tmp_path / "stopped.h5"
    result = run_raster(lab, recipe, path, progress=False, stop=stop, handle_ctrl_c=False)
    assert result.exit_status == "abort" and result.points_done == 7
    return path


def test_resume_refuses_a_png_it_did_not_make_before_resuming(tmp_path, capsys):
    path = _stopped_scan(tmp_path)
    png = path.with_suffix(".png")
    png.write_bytes(USER_BYTES)
    assert main(["resume", str(path), "--no-progress"]) == 2
    err = one_line_error(capsys)
    assert err.startswith(f"mirimager resume: error: {png}: file exists and is not this "
                          "scan's image")
    assert png.read_bytes() == USER_BYTES
    scan = load_raster(path)
    assert scan.exit_status == "abort" and scan.points_done == 7  # not resumed
    assert main(["resume", str(path), "--no-progress", "--overwrite"]) == 0
    assert png_text(png)[PNG_SCAN_KEY] == scan_identity(path)
    assert load_raster(path).exit_status == "success"


def test_resume_replaces_the_image_its_own_scan_made(tmp_path, capsys):
    """The PNG an earlier run wrote carries the scan's name and start time: resume may
    replace it; a PNG marked for another scan (same name, other start) is refused."""
    path = _stopped_scan(tmp_path)
    png = path.with_suffix(".png")
    Image.new("L", (4, 4)).save(png, pnginfo=_info(PNG_SCAN_KEY, "stopped.h5 started 1999"))
    assert main(["resume", str(path), "--no-progress"]) == 2
    assert "is not this scan's image" in one_line_error(capsys)
    Image.new("L", (4, 4)).save(png, pnginfo=_info(PNG_SCAN_KEY, scan_identity(path)))
    assert main(["resume", str(path), "--no-progress"]) == 0
    assert Image.open(png).size[0] > 100  # the finished scan's image


def _info(key, value):
    from PIL.PngImagePlugin import PngInfo

    info = PngInfo()
    info.add_text(key, value)
    return info


def test_live_png_is_never_overwritten(tmp_path, recipe, capsys, monkeypatch):
    for name in ("DISPLAY", "WAYLAND_DISPLAY"):
        monkeypatch.delenv(name, raising=False)
    live = tmp_path / "x.live.png"
    live.write_bytes(USER_BYTES)
    assert main(["scan", str(recipe), "-o", str(tmp_path / "x.h5"), "--live",
                 "--no-progress"]) == 2
    assert one_line_error(capsys).startswith(f"mirimager scan: error: {live}: file exists")
    assert live.read_bytes() == USER_BYTES and not (tmp_path / "x.h5").exists()


def test_live_view_leaves_a_file_that_appeared_meanwhile(tmp_path, capsys):
    """Made after the CLI's check (a race): the view switches off, the file is kept."""
    from imager.cli.live import _PngView

    live = tmp_path / "y.live.png"
    live.write_bytes(USER_BYTES)
    view = _PngView(np.arange(4.0), np.arange(3.0), live)
    view.update(np.ones((3, 4)))
    view.update(np.ones((3, 4)))
    assert live.read_bytes() == USER_BYTES
    assert "live view off" in capsys.readouterr().err
    other = _PngView(np.arange(4.0), np.arange(3.0), tmp_path / "z.live.png")
    for value in (1.0, 2.0):  # its own file: created, then refreshed in place
        other.update(np.full((3, 4), value))
    assert Image.open(tmp_path / "z.live.png").size[0] > 100
    assert sorted(p.name for p in tmp_path.iterdir()) == ["y.live.png", "z.live.png"]


def test_new_file_links_or_replaces_and_cleans_up(tmp_path):
    target = tmp_path / "a.png"
    with new_file(target) as tmp:
        tmp.write_bytes(b"one")
    assert target.read_bytes() == b"one"
    with pytest.raises(FileExistsError) as info, new_file(target) as tmp:
        tmp.write_bytes(b"two")
    assert info.value.filename == str(target) and target.read_bytes() == b"one"
    with pytest.raises(RuntimeError), new_file(target, overwrite=True) as tmp:
        tmp.write_bytes(b"three")
        raise RuntimeError("drawing failed")
    assert target.read_bytes() == b"one"
    with new_file(target, overwrite=True) as tmp:
        tmp.write_bytes(b"four")
    assert target.read_bytes() == b"four"
    with new_file(tmp_path / "b.png"):
        pass  # nothing written: nothing put in place
    assert [p.name for p in tmp_path.iterdir()] == ["a.png"]
    with h5py.File(tmp_path / "c.h5", "w") as f:  # scan_identity reads /entry start_time
        f.create_group("entry").attrs["start_time"] = "2026-01-01T00:00:00+00:00"
    assert scan_identity(tmp_path / "c.h5") == "c.h5 started 2026-01-01T00:00:00+00:00"


def test_emulate_leaves_a_lab_configuration_it_did_not_write(tmp_path, capsys, monkeypatch):
    """--config-out replaces an earlier 'emulate' output, never a user's own lab.toml; the
    refusal comes before any emulator starts."""
    from imager.emulators import bench

    def must_not_start(*args, **kwargs):
        raise AssertionError("emulators started although the output is refused")

    monkeypatch.setattr(bench, "start_emulated_bench", must_not_start)
    mine = tmp_path / "lab.toml"
    mine.write_text('name = "my real lab"\n')
    assert main(["emulate", "--config-out", str(mine)]) == 2
    err = one_line_error(capsys)
    assert err == (f"mirimager emulate: error: {mine}: file exists and was not written by "
                   "'mirimager emulate'; not overwritten (give --overwrite to replace it)")
    assert mine.read_text() == 'name = "my real lab"\n'
    earlier = tmp_path / "emulated_lab.toml"
    earlier.write_text("# Emulated lab (mirimager emulate): real drivers, simulated physics.\n")
    with pytest.raises(AssertionError, match="emulators started"):  # accepted: it starts
        main(["emulate", "--config-out", str(earlier)])


def test_paper_refuses_existing_figures_unless_overwrite(tmp_path, capsys, monkeypatch):
    from imager.twin import paper

    drawn = []
    monkeypatch.setattr(paper, "fig_2c", lambda film, p: drawn.append(p) or p)
    figures = tmp_path / "figs"
    figures.mkdir()
    mine = figures / "fig2c_thermal_ratio.png"
    mine.write_bytes(USER_BYTES)
    assert main(["paper", str(figures)]) == 2
    err = one_line_error(capsys)
    assert err.startswith(f"mirimager paper: error: {mine}: file exists; not overwritten")
    assert mine.read_bytes() == USER_BYTES and drawn == []  # refused before drawing anything
    with pytest.raises(FileExistsError):
        paper.make_paper_figures(figures)
    assert drawn == []
