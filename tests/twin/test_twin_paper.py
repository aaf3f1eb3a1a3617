"""The paper's figures, redrawn from the twin."""

from imager.twin.paper import make_paper_figures


def test_make_paper_figures_writes_every_panel(tmp_path):
    seen = []
    paths = make_paper_figures(tmp_path / "figs", progress=seen.append)
    names = [p.name for p in paths]
    assert names == seen
    for key in ("2c", "2d", "2f", "2g", "3b", "3e", "3g"):
        assert any(key in n for n in names), key
    for p in paths:
        assert p.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and p.stat().st_size > 20_000
