"""Test helper: stop a simulated scan once a given plan point has been read.

Importable from every test folder as ``stop_at`` (``tests/`` is on ``sys.path``, the
folder of ``tests/conftest.py``).
"""

from __future__ import annotations

from imager.engine import StopRequest


def stop_after_point(lab, index: int) -> StopRequest:
    """A stop request set when plan point ``index`` begins, so the scan ends after reading
    (and writing) it: ``run(..., stop=stop_after_point(lab, index))``."""
    stop, begin = StopRequest(), lab.begin_point

    def begin_point(i: int) -> None:
        if i == index:
            stop.set("test stop")
        begin(i)

    lab.begin_point = begin_point
    return stop
