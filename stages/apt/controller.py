"""One Thorlabs APT controller opened through thorlabs-apt-device.

:class:`AptController` opens a controller on an explicit serial port (never
auto-detected) with ``home=False`` (it never homes on its own) and feeds every
reply into a :class:`~stages.apt.tracking.MessageLog`.
:meth:`AptController.axis` gives a :class:`~stages.apt.driver.AptStage` per
bay, so x and y may share a BSC20x/BBD20x or sit on two KDC101s.
thorlabs-apt-device is imported only when a controller is opened.

The library runs an asyncio loop in a thread. Its read callback drains the
port until a read times out (0.1 s), and status polls and commands queued
from other threads run only between such drains. Hence about 10 status
updates per second, up to 0.1 s before a command is written, and - when
replies stream in less than 0.1 s apart, as BBD20x bays do - no writes at all;
``serial_read_timeout_s`` addresses all three.
"""

from __future__ import annotations

import atexit
import logging
import time
from typing import TYPE_CHECKING, Any

from stages.apt import payloads as D
from stages.apt import protocol as P
from stages.apt.models import ControllerModel, controller_model
from stages.apt.tracking import MessageLog
from stages.interface import StageError

if TYPE_CHECKING:
    from stages.apt.driver import AptStage

log = logging.getLogger(__name__)

#: thorlabs-apt-device opens the port with ``serial.Serial(..., timeout=0.1)``.
LIBRARY_READ_TIMEOUT_S = 0.1
#: Serial read timeout used for controllers that stream status updates (BBD20x).
AUTO_UPDATE_READ_TIMEOUT_S = 0.01


def _library() -> Any:
    try:
        import thorlabs_apt_device
    except ImportError as exc:  # pragma: no cover - depends on the environment
        raise ImportError("APT stages need thorlabs-apt-device: pip install "
                          "thorlabs-apt-device") from exc
    return thorlabs_apt_device


class AptController:
    """One APT controller opened through thorlabs-apt-device.

    Parameters
    ----------
    serial_port : str
        Explicit serial device path (``/dev/ttyUSB0``, ``COM3``, an emulator's pty).
    model : str
        ``KDC101``, ``TDC001``, ``BSC201``-``BSC203`` or ``BBD201``-``BBD203``.
    serial_read_timeout_s : float, optional
        Read timeout of the library's serial port. Its event loop blocks in
        that read, so it bounds how long a command waits to be written and sets
        the status poll rate (~1 / (timeout + 10 ms)); the loop also keeps
        reading, and runs nothing else, while replies arrive closer together
        than the timeout. Default: the library's 0.1 s for polled controllers
        (KDC101, TDC001, BSC20x); 0.01 s for BBD20x, whose bays each send
        unsolicited updates every 0.1 s and would otherwise starve the loop.
    connect_timeout_s : float
        How long to wait for the first status of every bay.

    Raises
    ------
    StageError
        If the port cannot be opened or the controller does not answer.
    """

    def __init__(self, serial_port: str, model: str, *,
                 serial_read_timeout_s: float | None = None,
                 connect_timeout_s: float = 5.0) -> None:
        if not isinstance(serial_port, str) or not serial_port.strip():
            raise ValueError("serial_port must be an explicit device path; "
                             "auto-detection is never used")
        self.serial_port = serial_port
        self.model: ControllerModel = controller_model(model)
        tad = _library()
        n = self.model.n_bays
        if self.model.name == "KDC101":
            base, extra, bays = tad.KDC101, {}, (P.USB,)
        elif self.model.name == "TDC001":
            base, extra, bays = tad.TDC001, {}, (P.BAY0,)
        elif self.model.family == "stepper":
            base, extra, bays = tad.BSC, {"x": n}, tuple(P.bay_address(i) for i in range(n))
        else:
            base = {1: tad.BBD201, 2: tad.BBD202, 3: tad.BBD203}[n]
            extra, bays = {}, tuple(P.bay_address(i) for i in range(n))
        self.log = msg_log = MessageLog(bays)

        def _process_message(dev: Any, m: Any) -> None:
            base._process_message(dev, m)
            msg_log.record(m)

        cls = type(f"Tracked{base.__name__}", (base,), {"_process_message": _process_message})
        self._apt = tad.protocol
        try:
            self.device = cls(serial_port=serial_port, home=False, **extra)
        except Exception as exc:  # serial.SerialException, OSError, ...
            raise StageError(f"{self.model.name}: cannot open {serial_port}: {exc}") from exc
        self._closed = False
        self.device._loop.call_soon_threadsafe(self._guard_unpacker)
        if serial_read_timeout_s is None:
            streams = self.model.family == "brushless_dc"
            serial_read_timeout_s = (AUTO_UPDATE_READ_TIMEOUT_S if streams
                                     else LIBRARY_READ_TIMEOUT_S)
        self.serial_read_timeout_s = float(serial_read_timeout_s)
        if self.serial_read_timeout_s != LIBRARY_READ_TIMEOUT_S:
            self.device._loop.call_soon_threadsafe(
                setattr, self.device._port, "timeout", self.serial_read_timeout_s)
        deadline = time.monotonic() + connect_timeout_s
        if not all(msg_log.wait_until(lambda b=b: msg_log.latest(b), deadline)
                   for b in range(n)):
            self.close()
            raise StageError(f"{self.model.name} on {serial_port}: no status reply "
                             f"within {connect_timeout_s:g} s")

    def _guard_unpacker(self) -> None:
        """Wrap the library's unpacker (on its loop) so a malformed frame is skipped.

        The library removes a frame from its buffer before parsing it; a frame
        with a known id but a short payload then raises ``struct.error`` out of
        its read callback, which is never rescheduled - status updates would
        silently stop for good.
        """
        self.device._unpacker = _SkippingUnpacker(self.device._unpacker, self.serial_port)

    @property
    def n_bays(self) -> int:
        """Number of bays (axes) of this controller."""
        return self.model.n_bays

    def axis(self, name: str, stage: str, bay: int = 0, **kwargs: Any) -> AptStage:
        """An :class:`~stages.apt.driver.AptStage` for ``bay`` (0-based).

        ``kwargs`` are passed on to :class:`~stages.apt.driver.AptStage`.
        """
        from stages.apt.driver import AptStage

        return AptStage(name, self, stage, bay=bay, **kwargs)

    def send(self, frame_bytes: bytes) -> int:
        """Write raw bytes on the library's event loop; return the number of the last
        message logged before they were queued.

        A reply that answers nothing but a request of ours (hardware info, position
        counter, trigger settings) and is numbered after it is the answer. Not a
        :meth:`mark`: this thread may lose the CPU after queueing while the reply
        arrives, and a mark taken then would come after it.
        """
        self.ensure_open()
        seq = self.log.seq
        self.device._loop.call_soon_threadsafe(self.device._write, frame_bytes)
        return seq

    def ensure_open(self) -> None:
        """Raise :class:`StageError` if the controller has been closed."""
        if self._closed:
            raise StageError(f"{self.model.name} on {self.serial_port} is closed")

    def mark(self, timeout_s: float = 2.0) -> int:
        """Number of the last message read before everything queued so far was written."""
        self.ensure_open()
        token = self.log.new_token()
        self.device._loop.call_soon_threadsafe(self.log.set_mark, token)
        seq = self.log.wait_mark(token, timeout_s)
        if seq is None:
            raise StageError(f"{self.model.name} on {self.serial_port}: the library's event loop "
                             f"ran nothing queued within {timeout_s:g} s (stopped, or starved "
                             "by continuous input: lower serial_read_timeout_s)")
        return seq

    def hardware_info(self, timeout_s: float = 2.0) -> D.HardwareInfo:
        """Serial number, model, firmware and channel count (``HW_REQ_INFO``).

        The library's parser drops the notes and the stage-id field, so those
        are empty / 0 here.
        """
        dest = P.RACK if self.model.rack else P.USB
        seq = self.send(self._apt.hw_req_info(source=P.HOST, dest=dest))
        log = self.log
        got = log.wait_until(lambda: log.info if log.info and log.info[0] > seq else None,
                             time.monotonic() + timeout_s)
        if got is None:
            raise StageError(f"{self.model.name}: no HW_GET_INFO within {timeout_s:g} s")
        return got[1]

    def identify(self) -> None:
        """Flash the controller's front-panel LED (``MOD_IDENTIFY``)."""
        self.device.identify(channel=None if not self.model.rack else 0)

    def close(self, timeout_s: float = 2.0) -> None:
        """Stop every channel (profiled), close the port and end the library's thread."""
        if self._closed:
            return
        self._closed = True
        self.device.close()
        self.device._thread.join(timeout=timeout_s)
        atexit.unregister(self.device._atexit)

    def __enter__(self) -> AptController:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


class _SkippingUnpacker:
    """Iterator over a thorlabs-apt-device ``Unpacker`` that skips frames it cannot parse."""

    def __init__(self, inner: Any, port: str) -> None:
        self.inner = inner
        self.port = port
        self.skipped = 0

    def __iter__(self) -> _SkippingUnpacker:
        return self

    def __next__(self) -> Any:
        while True:
            try:
                return next(self.inner)
            except StopIteration:
                raise
            except Exception as exc:  # struct.error, KeyError, ... from a malformed frame
                self.skipped += 1
                log.warning("APT %s: malformed frame skipped (%s)", self.port, exc)

