"""``mirimager reconstruct FILE --spectra``: material maps and spectra of a spectral scan,
the outputs, the stored NXprocess, and one-line errors for bad input (nothing written)."""

from __future__ import annotations

import sys
from pathlib import Path

import h5py
import numpy as np
import pytest
from PIL import Image

from imager.cli import main

sys.path.insert(0, str(Path(__file__).parents[1] / "reconstruction"))
from spectral_files import write_calibration, write_spectral  # noqa: E402

W = np.round(np.linspace(6.8, 8.6, 10), 3)


@pytest.fixture
def scan(tmp_path) -> Path:
    return write_spectral(tmp_path / "s.h5", nx=16, ny=12, wavelength_um=W, builtin=True)


def analyses(path: Path) -> list[str]:
    with h5py.File(path) as f:
        return sorted(n for n in f["entry"] if n.startswith("spectral_analysis_"))


def files(folder: Path) -> set[str]:
    return {p.name for p in folder.iterdir()}


def test_spectra_prints_the_table_writes_the_figure_and_stores(tmp_path, scan, capsys):
    out = tmp_path / "out"
    assert main(["reconstruct", str(scan), "-o", str(out), "--spectra", "--pixel", "20,30",
                 "--region", "0,40,0,40", "--band", "6.8:7.0", "--tiff", "--csv"]) == 0
    text = capsys.readouterr().out
    assert "values:   relative transmittance" in text and "beam profile" in text
    for name in ("clear", "polystyrene", "pmma", "polyethylene"):
        assert name in text
    assert "vs truth: 100.0 % of pixels classified as the truth" in text
    assert "P1 (20, 30) um" in text and "region (" in text
    for suffix in (".png", "_cube.tif", "_maps.tif", "_spectra.csv"):
        assert (tmp_path / f"out{suffix}").stat().st_size > 0
    with Image.open(tmp_path / "out.png") as png:
        assert png.size[0] > 800
    assert analyses(scan) == ["spectral_analysis_1"]
    with h5py.File(scan) as f:
        assert f["entry"].attrs["default"] == "data"


def test_a_spectral_file_without_the_option_is_analysed_the_same(tmp_path, scan, capsys):
    assert main(["reconstruct", str(scan), "-o", str(tmp_path / "plain.png"),
                 "--no-store"]) == 0
    text = capsys.readouterr().out
    assert "unmixing:" in text and (tmp_path / "plain.png").exists()
    assert analyses(scan) == []


def test_with_a_reference_cube_it_is_the_transmittance(tmp_path, scan, capsys):
    ref = write_spectral(tmp_path / "ref.h5", nx=16, ny=12, wavelength_um=W, no_sample=True,
                         seed=5)
    assert main(["reconstruct", str(scan), "-o", str(tmp_path / "t"), "--reference", str(ref),
                 "--no-store", "--library", "file"]) == 0
    text = capsys.readouterr().out
    assert "values:   transmittance (units 1)" in text and "(file library)" in text
    assert "100.0 % of pixels" in text


def test_with_a_spectral_calibration_it_is_the_intensity(tmp_path, scan, capsys):
    calibration = write_calibration(tmp_path / "cal.h5", list(W))
    assert main(["reconstruct", str(scan), "-o", str(tmp_path / "i"), "--calibration",
                 str(calibration), "--no-store"]) == 0
    text = capsys.readouterr().out
    assert "values:   intensity_W_per_um2 (units W/um^2)" in text
    assert "not corrected" not in text and "100.0 % of pixels" in text


def test_without_blank_a_stored_calibration_is_used_and_checked(tmp_path, capsys):
    scan = write_spectral(tmp_path / "nb.h5", nx=16, ny=12, wavelength_um=W, builtin=True,
                          blank=False, calibration={"slope_V_per_W_per_um2": 2e6})
    assert main(["reconstruct", str(scan), "-o", str(tmp_path / "nb"), "--no-store"]) == 2
    err = capsys.readouterr().err.strip()
    assert err.count("/entry/calibration") == 1 and "calibration lacks" in err
    plain = write_spectral(tmp_path / "plain.h5", nx=16, ny=12, wavelength_um=W,
                           builtin=True, blank=False)
    assert main(["reconstruct", str(plain), "-o", str(tmp_path / "p"), "--no-store"]) == 0
    text = capsys.readouterr().out
    assert "values:   power-normalised V" in text and "responsivity is not removed" in text


def test_a_csv_library(tmp_path, scan, capsys):
    from reconstruction.spectral.library import MATERIAL_NAMES, library

    grid = np.linspace(6.5, 9.0, 60)
    table = np.column_stack([grid, library(grid, MATERIAL_NAMES).T])
    csv = tmp_path / "lib.csv"
    np.savetxt(csv, table, delimiter=",", header="wavelength_um," + ",".join(MATERIAL_NAMES),
               comments="")
    assert main(["reconstruct", str(scan), "-o", str(tmp_path / "c"), "--library", str(csv),
                 "--no-store"]) == 0
    assert "pixels classified as the truth" in capsys.readouterr().out


def _raster_like(tmp_path, scan) -> Path:
    path = tmp_path / "raster.h5"
    path.write_bytes(scan.read_bytes())
    with h5py.File(path, "r+") as f:
        f["entry"].attrs["kind"] = "raster"
    return path


BAD = [
    (["--band", "5:6"], "--band: 5:6 um holds none of the scan's wavelengths (6.8, 7"),
    (["--band", "7"], "--band: '7' is not LO_UM:HI_UM"),
    (["--pixel", "1;2"], "--pixel: '1;2' is not X_UM,Y_UM"),
    (["--pixel", "500,3"], "--pixel: x = 500 um is outside the scan (-2.5 to 77.5 um)"),
    (["--region", "200,300,0,1"], "--region: no pixel centre in x 200..300"),
    (["--region", "1,2,3"], "--region: '1,2,3' is not X0,X1,Y0,Y1"),
    (["--library", "nope.csv"], "--library: 'nope.csv' is not builtin, file or an existing"),
    (["--reference", "missing.h5"], "--reference: missing.h5: no such file"),
    (["--flat", "{scan}"], "--flat: not for spectral scans"),
    (["--background", "plane"], "--background: not for spectral scans"),
]


@pytest.mark.parametrize("extra, message", BAD, ids=[m.split(":")[0] + str(i)
                                                      for i, (_, m) in enumerate(BAD)])
def test_bad_input_is_one_line_and_writes_nothing(tmp_path, scan, capsys, monkeypatch,
                                                  extra, message):
    monkeypatch.chdir(tmp_path)
    before = scan.read_bytes()
    listed = files(tmp_path)
    extra = [e.format(scan=scan) for e in extra]
    assert main(["reconstruct", str(scan), "-o", str(tmp_path / "out"), *extra]) == 2
    err = capsys.readouterr().err.strip()
    assert message in err and "\n" not in err and "Traceback" not in err
    assert scan.read_bytes() == before and files(tmp_path) == listed


def test_a_reference_of_another_grid_is_refused(tmp_path, scan, capsys):
    ref = write_spectral(tmp_path / "ref.h5", nx=8, ny=12, wavelength_um=W, no_sample=True)
    assert main(["reconstruct", str(scan), "-o", str(tmp_path / "o"), "--reference",
                 str(ref)]) == 2
    err = capsys.readouterr().err
    assert "--reference: ref.h5 is 10x12x8 (wavelengths x ny x nx), the scan 10x12x16" in err
    assert not (tmp_path / "o.png").exists() and analyses(scan) == []


def test_spectra_on_another_kind_of_file(tmp_path, scan, capsys):
    raster = _raster_like(tmp_path, scan)
    assert main(["reconstruct", str(raster), "-o", str(tmp_path / "r"), "--spectra"]) == 2
    assert "--spectra: " in capsys.readouterr().err
    assert main(["reconstruct", str(raster), "-o", str(tmp_path / "r"), "--band",
                 "7:8"]) == 2
    assert "--band: only for spectral scans" in capsys.readouterr().err
    assert not (tmp_path / "r.png").exists()


def test_existing_outputs_are_refused_unless_overwrite(tmp_path, scan, capsys):
    target = tmp_path / "out.png"
    target.write_bytes(b"keep")
    assert main(["reconstruct", str(scan), "-o", str(tmp_path / "out"), "--spectra"]) == 2
    assert "out.png: file exists; not overwritten" in capsys.readouterr().err
    assert target.read_bytes() == b"keep" and analyses(scan) == []
    assert main(["reconstruct", str(scan), "-o", str(tmp_path / "out"), "--spectra",
                 "--overwrite", "--no-store"]) == 0
    assert target.read_bytes()[:4] == b"\x89PNG"


def test_a_batch_does_not_take_spectra(tmp_path, scan, capsys):
    second = tmp_path / "s2.h5"
    second.write_bytes(scan.read_bytes())
    assert main(["reconstruct", str(scan), str(second), "-o", str(tmp_path / "b"),
                 "--spectra"]) == 2
    assert "--spectra: analyses one spectral FILE at a time" in capsys.readouterr().err


def test_every_option_has_help(capsys):
    with pytest.raises(SystemExit):
        main(["reconstruct", "--help"])
    text = " ".join(capsys.readouterr().out.split())
    for option in ("--spectra", "--reference REF.h5", "--library builtin|file|CSV",
                   "--pixel X_UM,Y_UM", "--region X0,X1,Y0,Y1", "--band LO_UM:HI_UM",
                   "--tiff", "--csv"):
        assert option in text
    assert "blank-spot" in text or "blank spot" in text
