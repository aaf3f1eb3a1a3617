"""Probe a scan file in a short-lived child process before reading it in this one.

On some corrupt files libhdf5 never returns: with an object of the global heap (where
variable-length strings live) zeroed, or the heap's size bit-flipped, reading a string
attribute loops forever at 100 % CPU, inside C code that no Python signal handler,
thread or timeout can interrupt (libhdf5 2.0.0, h5py 3.16). `probe_scan_file` therefore
first does the risky reads (every attribute of ``/entry`` and of everything below it,
the string datasets) in a child process, waits for it a bounded time, and reports a
file that hangs (or crashes) the library as a one-line `ScanFileError`. The CLI probes
the files a user names (``info``, ``reconstruct``, ``resume``); the loaders
(`load_raster`, ...) do not, so library use stays free of subprocesses.

On Linux the child is a ``fork`` of this process (h5py is already imported: a probe
of a small file costs ~20 ms of the ~0.25 s that ``mirimager info FILE`` takes,
``benchmarks/startup.py``); elsewhere
it is a fresh interpreter (``sys.executable``, which first has to import h5py:
~0.2 s).
"""

from __future__ import annotations

import contextlib
import faulthandler
import gc
import os
import select
import signal
import stat
import subprocess
import sys
import time
from pathlib import Path

from reconstruction.errors import ScanFileError

__all__ = ["PROBE_TIMEOUT_S", "probe_scan_file", "probe_timeout_s"]

#: Seconds the child may take on a small file (a normal one takes milliseconds; this is
#: generous for a loaded machine). Environment variable ``MIRIMAGER_PROBE_TIMEOUT_S``
#: overrides it; ``0`` there turns the probe off.
PROBE_TIMEOUT_S = 5.0
#: Extra time allowed per byte of file (1 s per 100 MB: slow disks, many objects).
PROBE_S_PER_BYTE = 1.0 / 100e6
#: Extra time for a fresh interpreter (no fork) to start and import h5py.
SPAWN_ALLOWANCE_S = 30.0
#: String datasets longer than this are not read by the probe (the recipe is one string).
_MAX_STRINGS = 10_000
#: Files that passed, by (device, inode, size, mtime, ctime); oldest first.
_passed: dict[tuple[int, ...], None] = {}
_PASSED_MAX = 256
#: Errors by which h5py reports a problem (the probe reads on past them).
_REPORTED = (OSError, KeyError, RuntimeError, TypeError, ValueError, IndexError)


def probe_timeout_s(path: str | os.PathLike[str]) -> float:
    """How long the probe waits for ``path``: `PROBE_TIMEOUT_S` (or the environment's
    ``MIRIMAGER_PROBE_TIMEOUT_S``) plus `PROBE_S_PER_BYTE` per byte of the file.

    Parameters
    ----------
    path : str or path-like
        The file to probe.

    Returns
    -------
    float
        Seconds; 0 means "do not probe".
    """
    base = PROBE_TIMEOUT_S
    text = os.environ.get("MIRIMAGER_PROBE_TIMEOUT_S", "").strip()
    if text:
        try:
            base = float(text)
        except ValueError:
            pass  # a typo in the environment must not stop the reading
    if not base > 0:  # (also NaN)
        return 0.0
    try:
        size = os.stat(path).st_size
    except OSError:
        size = 0
    return base + size * PROBE_S_PER_BYTE


def probe_scan_file(path: str | os.PathLike[str], timeout_s: float | None = None) -> None:
    """Check that libhdf5 can read the file's attributes without hanging or crashing.

    Parameters
    ----------
    path : str or path-like
        A file the user named. Anything other than a regular file (missing, a folder...)
        is left to the reader's own one-line errors, as is every error the HDF5 library
        reports normally (not HDF5, truncated...): the probe only catches what the
        reader could not survive.
    timeout_s : float, optional
        How long to wait; default `probe_timeout_s` (``<= 0``: no probe).

    Raises
    ------
    ScanFileError
        ``"FILE: the HDF5 library hangs reading it (corrupt file?)"`` when the child
        did not finish in time (it is killed), or ``"... crashes reading it ..."`` when
        it died of a signal.

    Notes
    -----
    The child opens the file read-only, without HDF5 file locking, and never writes;
    a killed child leaves the file as it was. A file that passed is not probed again
    while it is unchanged (same inode, size and modification times): a process that
    reads the same file several times (a notebook, the test suite) pays once.
    """
    path = Path(os.fspath(path))
    try:
        st = os.stat(path)
    except OSError:
        return
    if not stat.S_ISREG(st.st_mode):
        return
    key = (st.st_dev, st.st_ino, st.st_size, st.st_mtime_ns, st.st_ctime_ns)
    if key in _passed:
        return
    if timeout_s is None:
        timeout_s = probe_timeout_s(path)
    if not timeout_s > 0:
        return
    if sys.platform.startswith("linux") and hasattr(os, "fork"):
        outcome = _probe_forked(path, timeout_s)
    else:  # pragma: no cover - exercised on Windows/macOS only
        outcome = _probe_spawned(path, timeout_s)
    if outcome == "ok":
        _passed[key] = None
        while len(_passed) > _PASSED_MAX:
            del _passed[next(iter(_passed))]
    elif outcome == "hang":
        raise ScanFileError(f"{path}: the HDF5 library hangs reading it (corrupt file?)")
    else:
        raise ScanFileError(f"{path}: the HDF5 library crashes reading it (corrupt file?)")


def read_everything(path: str | os.PathLike[str]) -> None:
    """What the child does: the HDF5 reads of the scan-file readers, and a little more.

    Opens ``path`` read-only (no locking) and reads the root's
    ``mirimager_format_version``, every attribute of ``/entry`` and of every object below
    it, and every string dataset below it of modest size (the recipe). Not the root's
    other attributes, which no reader looks at (on some corrupt files they take seconds).
    Errors the library reports (``OSError``, ``KeyError``...) are passed over or propagate:
    they are the reader's to explain, not the probe's business.
    """
    import h5py

    with h5py.File(path, "r", locking=False) as f:
        with contextlib.suppress(*_REPORTED):
            f.attrs.get("mirimager_format_version")
        entry = f.get("entry")
        if not isinstance(entry, h5py.Group):
            return
        seen: set = set()
        _visit(entry, seen)
        # the paths the readers open by name, also when listing a group failed midway
        for name in _KNOWN:
            with contextlib.suppress(*_REPORTED):
                _visit(entry[name], seen)


#: Members of ``/entry`` the readers open by name (reconstruction.schema).
_KNOWN = ("scan", "scan/points", "data", "data/X_V", "data/x_um", "data/y_um",
          "data/wavelength_um", "instrument", "lab", "sample", "basis", "calibration",
          "recipe", "events", "settings_changes", "stream", "lines", "reference", "spectral",
          "spectral/power", "spectral/blank")
_MAX_OBJECTS = 100_000


def _visit(obj, seen: set) -> None:
    """Read ``obj``'s attributes (and, for a small string dataset, its value), then every
    member of a group, depth first; an error on one object or member is passed over and
    the rest still read (h5py's ``visititems`` stops at the first)."""
    import h5py

    with contextlib.suppress(*_REPORTED):
        key = (obj.file.id.fileno, h5py.h5o.get_info(obj.id).addr)
        if key in seen or len(seen) > _MAX_OBJECTS:
            return
        seen.add(key)
    _read_attrs(obj)
    if isinstance(obj, h5py.Dataset):
        with contextlib.suppress(*_REPORTED):
            if obj.dtype.kind in "OSU" and obj.size <= _MAX_STRINGS:
                obj[()]
        return
    if not isinstance(obj, h5py.Group):
        return
    names = []
    with contextlib.suppress(*_REPORTED):
        for name in obj:  # as far as the listing goes
            names.append(name)
    for name in names:
        with contextlib.suppress(*_REPORTED):
            _visit(obj[name], seen)


def _read_attrs(obj) -> None:
    names = []
    with contextlib.suppress(*_REPORTED):
        attrs = obj.attrs
        for name in attrs:  # as far as the listing goes
            names.append(name)
    for name in names:
        with contextlib.suppress(*_REPORTED):
            attrs[name]


def _probe_forked(path: Path, timeout_s: float) -> str:
    """Run `read_everything` in a forked child: "ok", "hang" or "crash"."""
    pid = os.fork()
    if pid == 0:  # the child: never returns into the caller's code
        try:
            gc.disable()  # a collection would touch (and so copy) every page of the parent
            faulthandler.disable()  # (it may write to a copy of stderr: one line is the rule)
            null = os.open(os.devnull, os.O_WRONLY)
            os.dup2(null, 1)  # HDF5 or a warning must not print on the caller's terminal
            os.dup2(null, 2)
            read_everything(path)
        finally:  # also after an error the library reported: the reader's to explain
            os._exit(0)
    try:
        return _wait_for_child(pid, timeout_s)
    except BaseException:  # Ctrl-C while waiting: no child left spinning
        _kill(pid)
        raise


def _wait_for_child(pid: int, timeout_s: float) -> str:
    deadline = time.monotonic() + timeout_s
    _wait_for_exit(pid, timeout_s)
    delay = 0.001
    while True:
        try:
            done, status = os.waitpid(pid, os.WNOHANG)
        except ChildProcessError:  # reaped elsewhere (a SIGCHLD handler): it did end
            return "ok"
        if done:
            return "crash" if os.WIFSIGNALED(status) else "ok"
        if time.monotonic() > deadline:
            _kill(pid)
            return "hang"
        time.sleep(delay)
        delay = min(2 * delay, 0.02)


def _kill(pid: int) -> None:
    """Kill and reap child ``pid`` (if it is still there)."""
    with contextlib.suppress(ProcessLookupError):
        os.kill(pid, signal.SIGKILL)
    with contextlib.suppress(ChildProcessError):
        os.waitpid(pid, 0)


def _wait_for_exit(pid: int, timeout_s: float) -> None:
    """Sleep until child ``pid`` ends or ``timeout_s`` passes (Linux >= 5.3: a pidfd
    wakes up at once; without one this returns at once and the caller polls)."""
    try:
        fd = os.pidfd_open(pid)
    except (AttributeError, OSError):
        return
    try:
        select.select([fd], [], [], timeout_s)
    except OSError:
        pass
    finally:
        os.close(fd)


_CHILD = (
    "import sys\n"
    "from imager.cli.probe import read_everything\n"
    "sys.stdout.write('ready\\n'); sys.stdout.flush()\n"
    "try:\n"
    "    read_everything(sys.argv[1])\n"
    "except Exception:\n"
    "    pass\n"
)


def _probe_spawned(path: Path, timeout_s: float) -> str:  # pragma: no cover - non-Linux
    """Run `read_everything` in a fresh interpreter: "ok", "hang" or "crash"."""
    try:
        result = subprocess.run([sys.executable, "-c", _CHILD, str(path)],
                                stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                                stderr=subprocess.DEVNULL, text=True,
                                timeout=timeout_s + SPAWN_ALLOWANCE_S)
    except subprocess.TimeoutExpired:
        return "hang"
    except OSError:
        return "ok"  # no interpreter to run: read without the probe
    if result.returncode == 0 or "ready" not in result.stdout:
        return "ok"
    return "crash"
