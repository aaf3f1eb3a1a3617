"""Progress bar with points done and an ETA in *lab* time (tqdm)."""

from __future__ import annotations

import sys

from tqdm import tqdm


def format_duration(seconds: float) -> str:
    """``h:mm:ss`` (or ``m:ss`` under an hour)."""
    seconds = max(0.0, float(seconds))
    h, rest = divmod(int(round(seconds)), 3600)
    m, s = divmod(rest, 60)
    return f"{h}:{m:02d}:{s:02d}" if h else f"{m}:{s:02d}"


class LabProgress:
    """Progress of a scan; the ETA extrapolates lab time per point.

    Parameters
    ----------
    total : int
        Points in the scan.
    done : int
        Points already done (when resuming).
    enabled : bool
        False gives a silent, near-free object (benchmarks, tests).
    """

    REFRESH_EVERY = 64

    def __init__(self, total: int, done: int = 0, enabled: bool = True, desc: str = "scan") -> None:
        self.total = total
        self.start_done = done
        self._bar = None
        if enabled:
            self._bar = tqdm(
                total=total, initial=done, desc=desc, unit="pt", file=sys.stderr,
                dynamic_ncols=True, mininterval=0.25,
                bar_format="{desc}: {percentage:3.0f}%|{bar}| {n_fmt}/{total_fmt} pts "
                "[wall {elapsed}{postfix}]",
            )

    def update(self, done: int, lab_elapsed_s: float) -> None:
        """Record that ``done`` points are complete after ``lab_elapsed_s`` of lab time."""
        bar = self._bar
        if bar is None:
            return
        bar.n = done
        new = done - self.start_done
        if new % self.REFRESH_EVERY == 1 or done == self.total:
            eta = lab_elapsed_s / new * (self.total - done) if new > 0 else 0.0
            bar.set_postfix_str(
                f"lab {format_duration(lab_elapsed_s)}, ETA lab {format_duration(eta)}",
                refresh=False,
            )
        bar.update(0)

    def close(self) -> None:
        if self._bar is not None:
            self._bar.close()
