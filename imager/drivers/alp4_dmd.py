"""ViALUX DMD over ALP4lib (``alp4lib``), implementing :class:`imager.devices.Projector`.

ALP4lib wraps ViALUX's vendor ALP library (``alpV42.dll``/``libalp4x.so``),
which comes with the DMD, not from a package index; it is loaded only when a
projector is opened, and its absence is a clear :class:`InstrumentError`.

An ``n x n`` pattern is drawn on the mirror array as square blocks of
``pixel_mirrors`` mirrors, centred; the rest of the array stays dark. A
sequence is loaded into the board's memory with ``SeqAlloc``/``SeqPut``;
pattern ``k`` is shown by restricting the sequence to frame ``k``
(``ALP_FIRSTFRAME``/``ALP_LASTFRAME``) and running it continuously, so the
pump stays patterned for the whole lock-in dwell.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from imager.drivers.errors import InstrumentError


def _alp4_module() -> Any:
    try:
        import ALP4
    except ImportError as exc:  # pragma: no cover - alp4lib is a dependency
        raise InstrumentError("ViALUX DMD: the ALP4lib package is missing "
                              "(pip install alp4lib)") from exc
    return ALP4


class ALP4Projector:
    """A ViALUX DMD (V-7000, V-9500, ...) through ALP4lib.

    Parameters
    ----------
    version : str
        ALP API version of the installed vendor library ("4.1", "4.2", "4.3", "4.4",
        "5.0", "5.1").
    lib_dir : str, optional
        Folder of the vendor library (ALP4lib's default otherwise).
    device_number : int, optional
        Serial number of the DMD (default: the first found).
    pixel_mirrors : int
        Mirrors per pattern pixel side.
    picture_time_us : int
        Frame period while a pattern is shown.
    """

    def __init__(self, version: str = "4.3", lib_dir: str | None = None,
                 device_number: int | None = None, pixel_mirrors: int = 8,
                 picture_time_us: int = 10000) -> None:
        alp = _alp4_module()
        self._alp = alp
        try:
            self._dmd = alp.ALP4(version=version, libDir=lib_dir)
        except (OSError, ValueError) as exc:
            raise InstrumentError(
                f"ViALUX DMD: cannot load the vendor ALP {version} library ({exc}); install "
                "ViALUX's ALP API that came with the DMD and give its folder as lib_dir"
            ) from None
        try:
            self._dmd.Initialize(device_number)
        except Exception as exc:  # ALPError and ctypes errors alike
            raise InstrumentError(f"ViALUX DMD: no device answered ({exc})") from None
        self.version = version
        self.pixel_mirrors = int(pixel_mirrors)
        self.picture_time_us = int(picture_time_us)
        self.mirrors = (int(self._dmd.nSizeY), int(self._dmd.nSizeX))
        self.max_patterns = 43690  # binary frames of a V-7000's 16 GB; the board refuses more
        self.shape: tuple[int, int] = (0, 0)
        self._loaded = 0

    def _frames(self, patterns: np.ndarray) -> np.ndarray:
        k, rows, cols = patterns.shape
        block = np.ones((self.pixel_mirrors, self.pixel_mirrors), dtype=np.uint8)
        h, w = rows * self.pixel_mirrors, cols * self.pixel_mirrors
        if h > self.mirrors[0] or w > self.mirrors[1]:
            raise ValueError(f"{rows}x{cols} patterns at {self.pixel_mirrors} mirrors per pixel "
                             f"do not fit the {self.mirrors[0]}x{self.mirrors[1]} mirror array")
        frames = np.zeros((k, *self.mirrors), dtype=np.uint8)
        top, left = (self.mirrors[0] - h) // 2, (self.mirrors[1] - w) // 2
        for i in range(k):
            frames[i, top:top + h, left:left + w] = np.kron(patterns[i], block) * 255
        return frames

    def load(self, patterns: object) -> None:
        """Load binary patterns ``(k, n, n)`` into the board memory (replaces the last)."""
        array = np.asarray(patterns, dtype=np.uint8)
        if array.ndim != 3 or array.shape[0] < 1:
            raise ValueError(f"patterns must have shape (k, rows, cols), got {array.shape}")
        frames = self._frames(array)
        dmd = self._dmd
        if self._loaded:
            dmd.Halt()
            dmd.FreeSeq()
        dmd.SeqAlloc(nbImg=frames.shape[0], bitDepth=1)
        dmd.SeqPut(imgData=frames.ravel())
        dmd.SetTiming(pictureTime=self.picture_time_us)
        self._loaded = frames.shape[0]
        self.shape = (array.shape[1], array.shape[2])

    def show(self, k: int) -> None:
        """Display pattern ``k`` continuously until the next call."""
        if not 0 <= k < self._loaded:
            raise IndexError(f"pattern {k} outside the loaded 0..{self._loaded - 1}")
        dmd, alp = self._dmd, self._alp
        dmd.Halt()
        dmd.SeqControl(alp.ALP_FIRSTFRAME, k)
        dmd.SeqControl(alp.ALP_LASTFRAME, k)
        dmd.Run(loop=True)

    def settings(self) -> dict[str, Any]:
        return {"kind": "alp4", "api_version": self.version, "mirror_rows": self.mirrors[0],
                "mirror_cols": self.mirrors[1], "pixel_mirrors": self.pixel_mirrors,
                "picture_time_us": self.picture_time_us, "rows": self.shape[0],
                "cols": self.shape[1]}

    def close(self) -> None:
        """Stop the display and release the board."""
        try:
            self._dmd.Halt()
            self._dmd.Free()
        except Exception:  # noqa: BLE001 - best effort on the way out
            pass
