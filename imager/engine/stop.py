"""Stop requests: Ctrl-C or SIGTERM finishes the current point, then the scan ends as ``abort``."""

from __future__ import annotations

import signal
import threading
from collections.abc import Iterator
from contextlib import contextmanager


class StopRequest:
    """A flag the engine checks after every point (thread-safe)."""

    def __init__(self) -> None:
        self._event = threading.Event()
        self.reason = ""

    def set(self, reason: str = "stop requested") -> None:
        self.reason = reason
        self._event.set()

    def is_set(self) -> bool:
        return self._event.is_set()


#: signal -> (reason stored in the file, what the user sees)
_STOP_SIGNALS = {
    signal.SIGINT: ("interrupted by Ctrl-C",
                    "Ctrl-C: stopping after the current point (press again to stop now)"),
    signal.SIGTERM: ("stopped by SIGTERM",
                     "SIGTERM: stopping after the current point (send it again to stop now)"),
}


@contextmanager
def ctrl_c_stops(stop: StopRequest, message: bool = True) -> Iterator[StopRequest]:
    """Within the block, the first Ctrl-C (SIGINT) or SIGTERM sets ``stop``.

    The scan then ends after the current point and its file is marked ``abort``
    (resumable), whichever of the two signals asked. A second signal while
    ``stop`` is already set interrupts at once (``KeyboardInterrupt``; the
    engine still marks the file ``abort``). The previous handlers are put back
    when the block ends.

    Parameters
    ----------
    stop : StopRequest
        The flag to set.
    message : bool
        Print one line on stderr when a signal arrives.

    Notes
    -----
    Only the main thread can install signal handlers; elsewhere this does nothing.
    """
    if threading.current_thread() is not threading.main_thread():
        yield stop
        return
    previous = {signum: signal.getsignal(signum) for signum in _STOP_SIGNALS}

    def handler(signum, frame):  # noqa: ARG001
        if stop.is_set():
            signal.signal(signal.SIGINT, signal.default_int_handler)
            raise KeyboardInterrupt
        reason, line = _STOP_SIGNALS.get(signum, (f"stopped by signal {signum}",
                                                  "stopping after the current point"))
        stop.set(reason)
        if message:
            import sys

            print(f"\n{line}", file=sys.stderr, flush=True)

    for signum in _STOP_SIGNALS:
        signal.signal(signum, handler)
    try:
        yield stop
    finally:
        for signum, handler_before in previous.items():
            if handler_before is not None:  # None: installed outside Python, cannot restore
                signal.signal(signum, handler_before)
