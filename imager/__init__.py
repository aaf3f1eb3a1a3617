"""MIR upconversion imager: instruments, scans, scan files and the simulated lab.

Interactive use::

    from imager import open_lab
    lab = open_lab()                       # the simulated lab; open_lab(lab_config=...)
    result = lab.raster(n=(64, 64))        # for hardware
    result.plot()

``open_lab`` and ``Session`` are imported on first use (PEP 562 ``__getattr__``), so
``import imager`` (and the ``mirimager`` command's start-up) loads no NumPy, h5py or
device code; ``help(imager.open_lab)`` shows the real function.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

__version__ = "0.1.0"

if TYPE_CHECKING:
    from imager.session import Session, open_lab

__all__ = ["Session", "__version__", "open_lab"]

_LAZY = {"open_lab": "imager.session", "Session": "imager.session"}


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    import importlib

    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(_LAZY))
