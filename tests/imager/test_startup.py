"""Start-up stays light: ``--help``, one-line errors and ``info`` do not import matplotlib or
SciPy (h5py only where a scan file is read). Checked on ``sys.modules`` in a fresh
interpreter, not on wall time (benchmarks/startup.py prints the times)."""

import json
import subprocess
import sys

import pytest

from imager.cli import main

HEAVY = ("matplotlib", "scipy", "h5py")


def _imported_after(code: str, heavy: tuple[str, ...] = HEAVY) -> set[str]:
    """Top-level packages of ``heavy`` that a fresh interpreter has imported after ``code``."""
    probe = (f"{code}\nimport json, sys\n"
             f"print(json.dumps([m for m in {heavy!r} if m in sys.modules]))")
    out = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True,
                         timeout=300, check=True).stdout
    return set(json.loads(out.splitlines()[-1]))


def test_import_reconstruction_and_its_error_class_load_nothing_heavy():
    assert _imported_after("import reconstruction") == set()
    assert _imported_after("from reconstruction import ScanFileError") == set()


def test_lazy_names_still_import():
    code = ("from reconstruction import load_raster, psnr, reconstruct, save_png\n"
            "import reconstruction\nassert reconstruction.ScanFileError.__name__ "
            "== 'ScanFileError'\nassert 'save_png' in dir(reconstruction)")
    assert {"matplotlib", "h5py"} <= _imported_after(code)


def test_help_parser_loads_nothing_heavy():
    code = ("import importlib\n"
            "importlib.import_module('imager.cli.main').build_parser().format_help()")
    assert _imported_after(code) == set()


@pytest.mark.parametrize("argv", [["scan", "missing.toml"], ["info", "missing.h5"],
                                  ["reconstruct", "missing.h5", "-o", "out"],
                                  ["calibrate", "missing.toml"], ["resume", "missing.h5"]])
def test_one_line_errors_load_no_plotting_or_scipy(tmp_path, argv):
    code = (f"import os\nos.chdir({str(tmp_path)!r})\nfrom imager.cli import main\n"
            f"assert main({argv!r}) == 2")
    assert not _imported_after(code) & {"matplotlib", "scipy"}


@pytest.fixture(scope="module")
def raster_file(tmp_path_factory):
    folder = tmp_path_factory.mktemp("startup")
    recipe = folder / "small.toml"
    recipe.write_text('kind = "raster"\nname = "small"\n[scan]\nnx = 6\nny = 5\n')
    path = folder / "small.h5"
    assert main(["scan", str(recipe), "-o", str(path), "--no-progress"]) == 0
    return path


@pytest.fixture(scope="module")
def single_pixel_file(tmp_path_factory):
    folder = tmp_path_factory.mktemp("startup_spi")
    recipe = folder / "spi.toml"
    recipe.write_text('kind = "single_pixel"\nname = "spi"\n[single_pixel]\nsize = 8\n'
                      'ratio = 0.25\n[lockin]\nsensitivity_V = 0.01\n')
    path = folder / "spi.h5"
    assert main(["scan", str(recipe), "-o", str(path), "--no-progress"]) == 0
    return path


@pytest.mark.parametrize("which", ["raster_file", "single_pixel_file"])
def test_info_reads_hdf5_without_plotting_or_scipy(request, which):
    path = request.getfixturevalue(which)
    code = f"from imager.cli import main\nassert main(['info', {str(path)!r}]) == 0"
    loaded = _imported_after(code)
    assert "h5py" in loaded  # it did read the file
    assert not loaded & {"matplotlib", "scipy"}


@pytest.mark.parametrize("argv", [["info", "missing.h5"],
                                  ["reconstruct", "missing.h5", "-o", "out"],
                                  ["resume", "missing.h5"]])
def test_a_missing_file_is_reported_before_numpy_or_h5py_load(tmp_path, argv):
    code = (f"import os\nos.chdir({str(tmp_path)!r})\nfrom imager.cli import main\n"
            f"assert main({argv!r}) == 2")
    assert _imported_after(code, ("numpy", "h5py")) == set()
