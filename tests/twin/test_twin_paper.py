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


def test_every_figure_cites_the_paper_and_writes_units_as_in_the_images(tmp_path, monkeypatch):
    import re

    from matplotlib.figure import Figure

    from imager.twin import paper

    texts: list[list[str]] = []
    save = Figure.savefig

    def recording_savefig(fig, *args, **kwargs):
        words = [t.get_text() for t in fig.texts]
        for ax in fig.axes:
            words += [ax.get_title(), ax.get_xlabel(), ax.get_ylabel()]
            legend = ax.get_legend()
            words += [t.get_text() for t in legend.get_texts()] if legend else []
        texts.append(words)
        return save(fig, *args, **kwargs)

    monkeypatch.setattr(Figure, "savefig", recording_savefig)
    paths = paper.make_paper_figures(tmp_path)
    assert len(texts) == len(paths) == 7
    assert "title, authors and year" in paper.PAPER_REFERENCE  # what the repository records
    for words in texts:
        assert any(paper.PAPER_REFERENCE in w for w in words)
        for w in words:  # micro as in the image figures (µm), never "um"/"uW"/"us"
            assert not re.search(r"\b(um|uW|us)\b", w), w
