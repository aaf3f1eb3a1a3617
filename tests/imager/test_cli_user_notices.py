"""Small things a user notices (issue 10, item 9): files the README's commands leave, the
live view's PNG, the emulated lab's chart, the README's own examples."""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
README = (ROOT / "README.md").read_text(encoding="utf-8")


def _python_blocks(text: str) -> list[str]:
    return re.findall(r"```python\n(.*?)```", text, flags=re.S)


@pytest.mark.skipif(shutil.which("git") is None or not (ROOT / ".git").exists(),
                    reason="needs a git checkout")
def test_gitignore_covers_what_the_readme_commands_write():
    written = ["lab.toml", "emulated_lab.toml", "figures/fig2c.png", "data/scan.h5",
               "out/img.png", "out/img.tif", "data/scan.live.png"]
    done = subprocess.run(["git", "check-ignore", "--no-index", *written], cwd=ROOT,
                          capture_output=True, text=True)
    assert sorted(done.stdout.split()) == sorted(written)


def test_readme_spi_snippet_defines_its_image_and_runs():
    block = next(b for b in _python_blocks(README) if "HadamardBasis" in b)
    namespace: dict = {}
    exec(compile(block, "README.md", "exec"), namespace)  # noqa: S102 - the README's own code
    assert namespace["image"].shape == (128, 128)
    assert namespace["x"].shape == (128, 128)


def test_readme_gives_the_dry_run_time_and_fast_stages():
    from imager.cli.main import build_parser

    section = README[README.index("### Real instruments"):README.index("### Recipes")]
    assert "mirimager emulate --fast-stages" in section
    assert re.search(r"about \d+ min", section)  # the emulated fine_raster in real time
    assert "[sim]" in section  # and what the emulated lab images
    emulate = build_parser()._subparsers._group_actions[0].choices["emulate"]
    assert "--fast-stages" in emulate.format_help()


def test_emulated_lab_configuration_names_its_chart():
    from imager.emulators.bench import start_emulated_bench
    from imager.labconfig import parse_lab_config
    from imager.sim.lab import SimConfig

    with start_emulated_bench(SimConfig(chart="siemens_star", seed=3)) as bench:
        text = bench.lab_config_toml()
    head = text.splitlines()[:4]
    assert head[0].startswith("# Emulated lab (mirimager emulate)")
    assert any("chart siemens_star (400 um wide)" in line and "seed 3" in line for line in head)
    assert any("[sim] section does not apply" in line for line in head)
    assert parse_lab_config(text)["name"] == "emulated"


def test_live_png_is_removed_when_the_scan_ends(tmp_path, capsys):
    from imager.cli.live import live_png_path, run_with_live_view
    from imager.recipes import default_recipe
    from imager.sim import simulated_lab_for

    recipe = default_recipe(scan={"nx": 16, "ny": 16})
    path = tmp_path / "live.h5"
    result = run_with_live_view(simulated_lab_for(recipe), recipe, path, progress=False,
                                refresh_s=0.01, window=False)
    assert result.exit_status == "success"
    assert not live_png_path(path).exists()
    err = capsys.readouterr().err
    assert f"live view: {live_png_path(path)} (refreshed" in err  # it was drawn...
    assert f"live view: {live_png_path(path)} removed (scan ended)" in err  # ...and removed
