"""A minimal raw line client for talking to emulators (and instruments) by hand.

No VISA, no parsing: send text, read until a terminator. Used by the protocol
tests and handy at a Python prompt::

    with LineClient.tcp(port) as c:      # or LineClient.serial("/dev/pts/3")
        c.query("*IDN?")
"""

from __future__ import annotations

import socket
import time

import serial


class LineClient:
    """Send lines and read terminated replies over a socket or a serial port.

    Use :meth:`tcp` or :meth:`serial` to make one.

    Parameters
    ----------
    write_termination, read_termination : bytes
        Appended to sent lines / expected at the end of replies.
    timeout_s : float
        How long :meth:`read` waits for a complete reply.
    """

    def __init__(
        self,
        *,
        sock: socket.socket | None = None,
        port: serial.Serial | None = None,
        write_termination: bytes = b"\n",
        read_termination: bytes = b"\n",
        timeout_s: float = 1.0,
    ) -> None:
        if (sock is None) == (port is None):
            raise ValueError("LineClient needs exactly one of sock or port")
        self._sock = sock
        self._port = port
        self.write_termination = write_termination
        self.read_termination = read_termination
        self.timeout_s = timeout_s
        self._buf = bytearray()

    @classmethod
    def tcp(cls, port: int, host: str = "127.0.0.1", **kwargs: object) -> LineClient:
        """Connect to ``host:port``."""
        sock = socket.create_connection((host, port), timeout=5.0)
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        return cls(sock=sock, **kwargs)  # type: ignore[arg-type]

    @classmethod
    def serial(cls, path: str, baud_rate: int = 9600, **kwargs: object) -> LineClient:
        """Open a serial device or pty path."""
        port = serial.Serial(path, baudrate=baud_rate, timeout=0.05)
        return cls(port=port, **kwargs)  # type: ignore[arg-type]

    def write(self, text: str, *, terminate: bool = True) -> None:
        """Send ``text`` (plus the write termination unless ``terminate`` is false)."""
        data = text.encode("ascii") + (self.write_termination if terminate else b"")
        if self._sock is not None:
            self._sock.sendall(data)
        else:
            assert self._port is not None
            self._port.write(data)
            self._port.flush()

    def _recv(self, wait_s: float) -> bytes:
        if self._sock is not None:
            self._sock.settimeout(max(wait_s, 1e-3))
            try:
                data = self._sock.recv(65536)
            except TimeoutError:
                return b""
            if not data:
                raise ConnectionError("connection closed by the server")
            return data
        assert self._port is not None
        self._port.timeout = max(min(wait_s, 0.05), 1e-3)
        return bytes(self._port.read(self._port.in_waiting or 1))

    def read(self, timeout_s: float | None = None) -> str:
        """Return the next reply without its terminator.

        Raises
        ------
        TimeoutError
            If no complete reply arrives in time.
        """
        deadline = time.monotonic() + (self.timeout_s if timeout_s is None else timeout_s)
        term = self.read_termination
        while term not in self._buf:
            left = deadline - time.monotonic()
            if left <= 0:
                raise TimeoutError(f"no complete reply (got {bytes(self._buf)!r})")
            self._buf += self._recv(left)
        end = self._buf.index(term)
        reply = bytes(self._buf[:end]).decode("ascii", errors="replace")
        del self._buf[: end + len(term)]
        return reply

    def read_raw(self, wait_s: float = 0.2) -> bytes:
        """Everything that arrives within ``wait_s`` (and anything buffered)."""
        deadline = time.monotonic() + wait_s
        while (left := deadline - time.monotonic()) > 0:
            self._buf += self._recv(left)
        data = bytes(self._buf)
        self._buf.clear()
        return data

    def query(self, text: str, timeout_s: float | None = None) -> str:
        """Send one line and return the reply."""
        self.write(text)
        return self.read(timeout_s)

    def close(self) -> None:
        """Close the socket or port."""
        if self._sock is not None:
            self._sock.close()
        if self._port is not None:
            self._port.close()

    def __enter__(self) -> LineClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
