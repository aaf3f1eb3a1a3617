"""Put an emulator on a wire: loopback TCP socket or pseudo-terminal.

==========================  ===========================  =====================
emulator                    transport                    VISA / serial address
==========================  ===========================  =====================
SR830 / SR860               :func:`serve_lockin_tcp`     ``TCPIP::127.0.0.1::PORT::SOCKET``
SR830 / SR860               :func:`serve_lockin_pty`     ``ASRL/dev/pts/N::INSTR``
MC2000B                     :func:`serve_mc2000b_pty`    ``/dev/pts/N`` (pyserial)
PM100D                      :func:`serve_pm100_tcp`      ``TCPIP::127.0.0.1::PORT::SOCKET``
==========================  ===========================  =====================

Reply terminators: ``"\\n"`` on TCP for both lock-ins (the socket stands for a
GPIB or LAN connection); on the pty the SR830 ends replies with ``"\\r"`` like
its RS-232 port, the SR860 with ``"\\n"``. For the SR830's ``OUTX`` the TCP
sessions count as GPIB (1) and the pty as RS-232 (0).
"""

from __future__ import annotations

from imager.emulators.mc2000b import MC2000BEmulator, MC2000BSession
from imager.emulators.pm100 import PM100Emulator
from imager.emulators.sr830 import SR830Emulator
from imager.emulators.srs_lockin import SRSLockInEmulator
from imager.emulators.srs_status import ESR_CMD
from imager.emulators.wire import PtyServer, TcpServer


class LockInSession:
    """Byte-stream framing for a line-based emulator: lines in, terminated replies out.

    Used for the lock-ins and the PM100 power meter (anything with
    ``execute(line, interface)``, ``lock`` and ``esr``).

    Parameters
    ----------
    emulator : SRSLockInEmulator or PM100Emulator
    reply_termination : str
        Appended to each reply (``"\\n"``; the SR830's RS-232 uses ``"\\r"``).
    interface : int or None
        Interface this session stands for (SR830 ``OUTX``: 0 RS-232, 1 GPIB).
    max_line_bytes : int
        A longer line without terminator is discarded (and flagged as CMD error).
    """

    def __init__(
        self,
        emulator: SRSLockInEmulator,
        *,
        reply_termination: str = "\n",
        interface: int | None = None,
        max_line_bytes: int = 4096,
    ) -> None:
        self.emulator = emulator
        self._term = reply_termination.encode("ascii")
        self._interface = interface
        self._max = max_line_bytes
        self._buf = bytearray()

    def feed(self, data: bytes) -> list[bytes]:
        """Collect bytes; execute every complete line; return the replies."""
        self._buf += data
        out: list[bytes] = []
        while True:
            ends = [i for i in (self._buf.find(b"\n"), self._buf.find(b"\r")) if i >= 0]
            if not ends:
                if len(self._buf) > self._max:
                    self._buf.clear()
                    with self.emulator.lock:
                        self.emulator.esr |= ESR_CMD
                return out
            end = min(ends)
            line = bytes(self._buf[:end]).decode("ascii", errors="replace")
            del self._buf[: end + 1]
            if not line.strip():
                continue
            for reply in self.emulator.execute(line, self._interface):
                data = getattr(reply, "data", None)  # a binary block: raw, no terminator
                out.append(data if data is not None else reply.encode("ascii") + self._term)


def serve_lockin_tcp(emulator: SRSLockInEmulator, *, port: int = 0) -> TcpServer:
    """Serve a lock-in emulator on ``127.0.0.1:port`` (0: any free port)."""
    is_sr830 = isinstance(emulator, SR830Emulator)
    return TcpServer(
        lambda: LockInSession(emulator, reply_termination="\n", interface=1 if is_sr830 else None),
        port=port,
        name=emulator.MODEL,
    )


def serve_lockin_pty(emulator: SRSLockInEmulator) -> PtyServer:
    """Serve a lock-in emulator on a new pseudo-terminal (its RS-232 port)."""
    is_sr830 = isinstance(emulator, SR830Emulator)
    term = "\r" if is_sr830 else "\n"
    return PtyServer(
        lambda: LockInSession(emulator, reply_termination=term, interface=0 if is_sr830 else None),
        name=emulator.MODEL,
    )


def serve_mc2000b_pty(emulator: MC2000BEmulator) -> PtyServer:
    """Serve an MC2000B emulator on a new pseudo-terminal (its USB serial port)."""
    return PtyServer(lambda: MC2000BSession(emulator), name="MC2000B")


def serve_pm100_tcp(emulator: PM100Emulator, *, port: int = 0) -> TcpServer:
    """Serve a PM100D emulator on ``127.0.0.1:port`` (stands for its USBTMC/LAN link)."""
    return TcpServer(lambda: LockInSession(emulator, reply_termination="\n"), port=port,
                     name=emulator.MODEL)
