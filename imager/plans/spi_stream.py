"""Single-pixel patterns read through the lock-in's buffer (``[single_pixel] readout =
"stream"``): the filter's memory of the previous pattern is fitted out.

Patterns are shown in blocks of ``block_patterns``. Each block starts on its first
pattern with the lock-in settled (``settle_tc`` time constants), then the buffer
records while the patterns follow each other every dwell; the bucket value of every
pattern is the least-squares fit of the piecewise-constant input through the known
n-pole filter (:func:`reconstruction.pattern_stream.pattern_values`). A block is
written whole (samples, its ``/entry/lines`` row, the patterns' readings). A resumed
scan restarts at the block of its first missing pattern, at the lab time the block
began, so it equals an uninterrupted scan.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from imager.plans.blocks import STREAM_BLOCK, BlockPoint, StreamBlock, pick_rate, stream_rows
from imager.plans.resume import Plan, ResumeFrom
from imager.plans.steps import (
    BeginPoint,
    Call,
    CatchUp,
    Checkpoint,
    Dwell,
    Emit,
    Get,
    Now,
    StartStream,
    StopStream,
)


class ProjectorMemory:
    """The patterns the projector holds: ``chunk`` of ``basis`` from pattern ``loaded``."""

    def __init__(self, basis: Any, loaded: int, chunk: int) -> None:
        self.basis, self.loaded, self.chunk = basis, int(loaded), int(chunk)

    def slot(self, k: int) -> Plan:
        """The steps that make pattern ``k`` showable (a new chunk from ``k`` if it is not
        held); replies its place in the projector's memory."""
        if not self.loaded <= k < self.loaded + self.chunk:
            self.loaded = k
            yield Call("projector", "load",
                       (self.basis.patterns(k, min(k + self.chunk, self.basis.n_patterns)),))
        return k - self.loaded

    def switch(self, basis: Any) -> None:
        """Patterns of ``basis`` from now on: nothing held counts (the next is loaded)."""
        self.basis, self.loaded = basis, -self.chunk - 1


def stream_setup(recipe: Any, dwell_s: float) -> Plan:
    """Check the lock-in can record a block; replies ``(rate_Hz, tau_s, n_poles)``."""
    spi = recipe.sections["single_pixel"]
    rate = pick_rate(recipe, "[single_pixel] stream_rate_Hz", spi["stream_rate_Hz"],
                     (yield Get("lockin", "stream_rates_Hz")))
    capacity = yield Get("lockin", "stream_capacity")
    samples = spi["block_patterns"] * dwell_s * rate * 1.25  # 25 %: pattern switching
    if samples > capacity:
        raise recipe.error(f"[single_pixel] block_patterns: {spi['block_patterns']} patterns of "
                           f"{dwell_s:g} s at {rate:g} Hz need ~{samples:.0f} samples, more than "
                           f"the lock-in's buffer of {capacity}; use block_patterns <= "
                           f"{int(capacity / (dwell_s * rate * 1.25))}")
    tau_s = yield Get("lockin", "time_constant_s")
    n_poles = int((yield Get("lockin", "filter_slope_dB_per_oct"))) // 6
    return rate, tau_s, n_poles


def stream_patterns(recipe: Any, basis: Any, dwell_s: float, stream: tuple, position: tuple,
                    lab_start_s: float, loader: Any, resume: ResumeFrom | None,
                    first_block: int | None = None, label: Any = None,
                    block_offset: int = 0, stop: int | None = None,
                    readings: np.ndarray | None = None) -> Plan:
    """Every block of patterns from the first one to measure (``loader(k)`` gives the
    steps that make pattern ``k`` showable and its index in the projector's memory).

    ``first_block``: the block to start at (default: the resumed scan's, else 0);
    ``label(k) -> (index, at, head)``: where pattern ``k``'s reading goes (default ``k``,
    ``(k,)``, ``(k,)``); ``block_offset``: added to the block numbers in the file (a
    spectral scan's wavelength ``iw`` numbers its blocks from ``iw * blocks``); ``stop``:
    the pattern to end before (default: all; an adaptive round ends on a block boundary);
    ``readings``: array that gets each pattern's fitted X (V).
    """
    from reconstruction.pattern_stream import pattern_values

    rate, tau_s, n_poles = stream
    spi = recipe.sections["single_pixel"]
    block = spi["block_patterns"]
    n_patterns = basis.n_patterns if stop is None else stop
    if first_block is None:
        first_block = (resume.first_missing // block) if resume is not None else 0
    if resume is not None and resume.previous_blocks:  # the block began when the last ended
        yield CatchUp(lab_start_s + float(resume.previous_blocks[-1]["t_end_s"]))
    for b in range(first_block, -(-n_patterns // block)):
        ks = range(b * block, min((b + 1) * block, n_patterns))
        switch_s = []
        labels = [label(k) if label is not None else (k, (k,), (k,)) for k in ks]
        for j, k in enumerate(ks):
            slot = yield from loader(k)
            yield BeginPoint(labels[j][0])
            switch_s.append((yield Now()))
            yield Call("projector", "show", (slot,))
            if j == 0:
                yield Dwell(spi["settle_tc"] * tau_s)
                yield StartStream(rate)
            yield Dwell(dwell_s)
        data = yield StopStream()
        t_end = yield Now()
        weight, ref_values = 1.0, np.full(len(ks), np.nan)
        if data.ref_x_V is not None:  # the MIR reference: normalise every sample, then fit
            ref = data.ref_x_V
            good = np.isfinite(ref) & (ref > 0)
            if good.any():
                weight = np.where(good, float(ref[good].mean()) / np.where(good, ref, 1.0), 1.0)
            ref_values = pattern_values(data.t_s, ref, np.array(switch_s), tau_s, n_poles)
        x_values = pattern_values(data.t_s, data.x_V * weight, np.array(switch_s), tau_s, n_poles)
        if readings is not None:
            readings[ks.start:ks.stop] = x_values
        y_values = pattern_values(data.t_s, data.y_V * weight, np.array(switch_s), tau_s, n_poles)
        ends = np.append(switch_s[1:], t_end)
        mid = (np.array(switch_s) + ends) / 2 - lab_start_s
        line = block_offset + b
        row = (line, 0, position[0], position[0], position[1], switch_s[0] - lab_start_s,
               len(data.t_s), t_end - lab_start_s)
        points = [BlockPoint(index, head, position[0], position[1], float(x_values[j]),
                             float(y_values[j]), float(mid[j]), at, float(ref_values[j]))
                  for j, (index, at, head) in enumerate(labels)]
        samples = stream_rows(line, data.t_s, data.x_V, data.y_V, position[0], position[1],
                              lab_start_s)
        yield Emit(STREAM_BLOCK, StreamBlock(line, samples, row, points), points=len(points))
        yield Checkpoint()
