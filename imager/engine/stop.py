"""Stop requests: Ctrl-C finishes the current point, then the scan ends as ``abort``."""

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


@contextmanager
def ctrl_c_stops(stop: StopRequest, message: bool = True) -> Iterator[StopRequest]:
    """Within the block, the first Ctrl-C sets ``stop``; a second one interrupts at once.

    Only the main thread can install signal handlers; elsewhere this does nothing.
    """
    if threading.current_thread() is not threading.main_thread():
        yield stop
        return
    previous = signal.getsignal(signal.SIGINT)

    def handler(signum, frame):  # noqa: ARG001
        if stop.is_set():
            signal.signal(signal.SIGINT, signal.default_int_handler)
            raise KeyboardInterrupt
        stop.set("interrupted by Ctrl-C")
        if message:
            import sys

            print("\nCtrl-C: stopping after the current point (press again to stop now)",
                  file=sys.stderr, flush=True)

    signal.signal(signal.SIGINT, handler)
    try:
        yield stop
    finally:
        signal.signal(signal.SIGINT, previous)
