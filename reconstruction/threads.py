"""One BLAS thread around the transforms and solvers (threadpoolctl).

The fast transforms and the iterative solvers make many *small* matrix products (16 x 16
Hadamard blocks, vector dots of a few 10^4 elements). With OpenBLAS on 2 threads, each one
pays a thread hand-off that costs more than the product, and much more on a busy machine:
measured here with one other CPU-bound process, TV at 128^2 took 1.1 s on 2 threads
against 0.21 s on one, and a 256^2 Walsh-Hadamard transform 16 ms against 0.24 ms
(``python benchmarks/blas_threads.py`` prints both ways).

`one_blas_thread` (a decorator and a context manager) therefore limits every BLAS library
in the process to one thread while a public entry point runs (`reconstruction.spi.reconstruct`,
the solvers' ``solve``, the operators, `fwht`...), and puts the previous setting back when
the outermost one returns. Nested and concurrent calls share one limit (a counter): only
the outermost call pays for it, ~5-10 us with the cached controller (a fresh
``threadpoolctl.threadpool_limits`` costs ~0.25 ms, as much as the 256^2 transform itself).
While any entry point runs, BLAS calls of other threads of the process also use one thread.

``set_blas_limit(None)`` turns the limit off (then BLAS uses its own setting), e.g. to
measure the difference.
"""

from __future__ import annotations

import functools
import sys
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any, TypeVar

__all__ = ["blas_limit", "one_blas_thread", "set_blas_limit"]

F = TypeVar("F", bound=Callable[..., Any])

_lock = threading.Lock()
_active = 0  # entry points running (all threads)
_restore: Any = None  # threadpoolctl limiter of the outermost one
_limit: int | None = 1
_controller: Any = None
_controller_modules = -1  # len(sys.modules) when the controller was built


def set_blas_limit(threads: int | None) -> None:
    """Set how many BLAS threads the entry points allow (default 1; ``None``: no limit).

    Parameters
    ----------
    threads : int or None
        Threads per BLAS library while a transform or solver runs, ``>= 1``; ``None``
        leaves BLAS as it is.
    """
    global _limit
    if threads is not None and (not isinstance(threads, int) or threads < 1):
        raise ValueError(f"threads must be an int >= 1 or None, got {threads!r}")
    _limit = threads


def blas_limit() -> int | None:
    """The BLAS thread limit the entry points apply (`set_blas_limit`)."""
    return _limit


def _get_controller() -> Any:
    """A cached ``ThreadpoolController`` (finding the libraries costs ~0.1-0.3 ms); built
    again after new modules were imported, as they may have loaded another BLAS."""
    global _controller, _controller_modules
    if _controller is None or _controller_modules != len(sys.modules):
        try:
            from threadpoolctl import ThreadpoolController
        except ImportError:  # pragma: no cover - threadpoolctl is a dependency
            return None
        _controller = ThreadpoolController()
        _controller_modules = len(sys.modules)
    return _controller


def _enter() -> None:
    global _active, _restore
    with _lock:
        _active += 1
        if _active == 1 and _limit is not None:
            controller = _get_controller()
            if controller is not None:
                _restore = controller.limit(limits=_limit, user_api="blas")


def _exit() -> None:
    global _active, _restore
    with _lock:
        _active -= 1
        if _active == 0 and _restore is not None:
            restore, _restore = _restore, None
            restore.restore_original_limits()


@contextmanager
def _limited() -> Iterator[None]:
    _enter()
    try:
        yield
    finally:
        _exit()


def one_blas_thread(func: F | None = None) -> Any:
    """Run ``func`` (decorator) or a ``with`` block (no argument) with one BLAS thread.

    Parameters
    ----------
    func : callable, optional
        The function to wrap. Without it, a context manager is returned.

    Returns
    -------
    callable or context manager

    Examples
    --------
    >>> @one_blas_thread
    ... def solve(a, b): ...
    >>> with one_blas_thread():
    ...     pass
    """
    if func is None:
        return _limited()

    @functools.wraps(func)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        _enter()  # (inside another entry point: only a counter, ~1 us)
        try:
            return func(*args, **kwargs)
        finally:
            _exit()

    return wrapper  # type: ignore[return-value]
