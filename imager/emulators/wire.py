"""Transports for the wire-level emulators: loopback TCP and pseudo-terminals.

An emulator is served through a *session*: an object that takes the bytes a
client wrote (:meth:`Session.feed`) and returns the complete messages to send
back, one per reply. A server owns the transport and a :class:`ReplyFaults`
that can drop, garble or delay the next replies, or hang up on the clients
(the hooks the fault-injection tests of issue 6 build on).

* :class:`TcpServer` listens on ``127.0.0.1`` (port 0 = chosen by the OS); each
  accepted connection gets its own session. VISA address:
  ``TCPIP::127.0.0.1::PORT::SOCKET``.
* :class:`PtyServer` opens a pseudo-terminal with :func:`os.openpty`, puts it in
  raw mode and serves its master side; clients open the slave path
  (``/dev/pts/N``, VISA address ``ASRL/dev/pts/N::INSTR``) like a serial port.

Both run one daemon thread per client (and one accept thread for TCP), wake
on :func:`select.select`, and stop and join everything in :meth:`close` (they
are context managers too).
"""

from __future__ import annotations

import os
import select
import socket
import threading
import time
import tty
from collections.abc import Callable
from typing import Protocol

_TAIL_BYTES = b"\r\n> "


class Session(Protocol):
    """One client's conversation with an emulator."""

    def feed(self, data: bytes) -> list[bytes]:
        """Take bytes from the client; return the complete messages to send back."""
        ...


SessionFactory = Callable[[], Session]


class ReplyFaults:
    """Faults applied to outgoing messages of one server (thread-safe): dropped,
    garbled or delayed replies. (The simulated lab's device faults at plan points are
    :class:`imager.sim.faults.FaultInjector`.)

    Attributes
    ----------
    reply_delay_s : float
        Every message is sent this much later (0: at once).
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._drop = 0
        self._garble = 0
        self.reply_delay_s = 0.0
        self.dropped = 0
        self.garbled = 0

    def drop_next_reply(self, count: int = 1) -> None:
        """Swallow the next ``count`` messages (the client sees a timeout)."""
        with self._lock:
            self._drop += int(count)

    def garble_next_reply(self, count: int = 1) -> None:
        """Corrupt the body of the next ``count`` messages (terminators are kept)."""
        with self._lock:
            self._garble += int(count)

    def clear(self) -> None:
        """Cancel pending faults and the reply delay."""
        with self._lock:
            self._drop = self._garble = 0
            self.reply_delay_s = 0.0

    def apply(self, message: bytes) -> bytes | None:
        """Return the message to send (``None``: send nothing)."""
        with self._lock:
            if self._drop > 0:
                self._drop -= 1
                self.dropped += 1
                return None
            garble = self._garble > 0
            if garble:
                self._garble -= 1
                self.garbled += 1
            delay_s = self.reply_delay_s
        if delay_s > 0.0:
            time.sleep(delay_s)
        if garble:
            body = message.rstrip(_TAIL_BYTES)
            message = b"~#" * (len(body) // 2) + b"~" * (len(body) % 2) + message[len(body) :]
        return message


class _Wakeup:
    """A pipe whose read end becomes readable when the server stops."""

    def __init__(self) -> None:
        self.r, self.w = os.pipe()

    def fire(self) -> None:
        try:
            os.write(self.w, b"x")
        except OSError:
            pass

    def close(self) -> None:
        for fd in (self.r, self.w):
            try:
                os.close(fd)
            except OSError:
                pass


class TcpServer:
    """Serve sessions on a loopback TCP port.

    Parameters
    ----------
    session_factory : callable
        Makes a new :class:`Session` for each accepted connection.
    host : str
        Listen address; only loopback addresses are accepted.
    port : int
        TCP port; 0 lets the OS choose (read it from :attr:`port`).
    name : str
        Used in thread names and ``repr``.
    """

    def __init__(
        self,
        session_factory: SessionFactory,
        *,
        host: str = "127.0.0.1",
        port: int = 0,
        name: str = "emulator",
    ) -> None:
        if not host.startswith("127.") and host not in ("localhost", "::1"):
            raise ValueError(f"emulators listen on loopback only, got host {host!r}")
        self._factory = session_factory
        self.name = name
        self.faults = ReplyFaults()
        self._sock = socket.create_server((host, int(port)))
        self._wake = _Wakeup()
        self._stopping = False
        self._conns: set[socket.socket] = set()
        self._threads: list[threading.Thread] = []
        self._lock = threading.Lock()
        self._accept_thread = threading.Thread(
            target=self._accept_loop, name=f"{name}-tcp-accept", daemon=True
        )
        self._accept_thread.start()

    @property
    def host(self) -> str:
        """Listen address."""
        return str(self._sock.getsockname()[0])

    @property
    def port(self) -> int:
        """TCP port the server listens on."""
        return int(self._sock.getsockname()[1])

    @property
    def resource_name(self) -> str:
        """VISA address of this server: ``TCPIP::HOST::PORT::SOCKET``."""
        return f"TCPIP::{self.host}::{self.port}::SOCKET"

    def _accept_loop(self) -> None:
        while not self._stopping:
            ready, _, _ = select.select([self._sock, self._wake.r], [], [])
            if self._stopping or self._wake.r in ready:
                return
            try:
                conn, _ = self._sock.accept()
            except OSError:
                return
            conn.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            thread = threading.Thread(
                target=self._serve, args=(conn,), name=f"{self.name}-tcp-conn", daemon=True
            )
            with self._lock:
                self._conns.add(conn)
                self._threads.append(thread)
            thread.start()

    def _serve(self, conn: socket.socket) -> None:
        session = self._factory()
        try:
            while not self._stopping:
                ready, _, _ = select.select([conn, self._wake.r], [], [])
                if self._stopping or self._wake.r in ready:
                    return
                try:
                    data = conn.recv(65536)
                except OSError:
                    return
                if not data:
                    return
                for message in session.feed(data):
                    out = self.faults.apply(message)
                    if out is not None:
                        conn.sendall(out)
        except OSError:
            return
        finally:
            with self._lock:
                self._conns.discard(conn)
            conn.close()

    def disconnect_clients(self) -> None:
        """Close every open client connection (the server keeps listening)."""
        with self._lock:
            conns = list(self._conns)
        for conn in conns:
            try:
                conn.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass

    def close(self) -> None:
        """Stop listening, close all connections and join the threads."""
        if self._stopping:
            return
        self._stopping = True
        self._wake.fire()
        self.disconnect_clients()
        self._accept_thread.join(timeout=5.0)
        self._sock.close()
        with self._lock:
            threads = list(self._threads)
        for thread in threads:
            thread.join(timeout=5.0)
        self._wake.close()

    def __enter__(self) -> TcpServer:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def __repr__(self) -> str:
        state = "closed" if self._stopping else self.resource_name
        return f"TcpServer({self.name!r}, {state})"


class PtyServer:
    """Serve one session on the master side of a pseudo-terminal.

    The slave side is put in raw mode (no echo, no CR/LF translation) and kept
    open by the server, so clients can open and close ``port`` repeatedly.

    Parameters
    ----------
    session_factory : callable
        Makes the (single) :class:`Session`.
    name : str
        Used in thread names and ``repr``.
    """

    def __init__(self, session_factory: SessionFactory, *, name: str = "emulator") -> None:
        self.name = name
        self.faults = ReplyFaults()
        self._session = session_factory()
        self._master, self._slave = os.openpty()
        tty.setraw(self._slave)
        self.port = os.ttyname(self._slave)
        self._wake = _Wakeup()
        self._stopping = False
        self._hung_up = False
        self._thread = threading.Thread(target=self._serve, name=f"{name}-pty", daemon=True)
        self._thread.start()

    @property
    def resource_name(self) -> str:
        """VISA address of this pty: ``ASRL/dev/pts/N::INSTR``."""
        return f"ASRL{self.port}::INSTR"

    def _serve(self) -> None:
        master = self._master
        while not self._stopping:
            ready, _, _ = select.select([master, self._wake.r], [], [])
            if self._stopping or self._wake.r in ready:
                return
            try:
                data = os.read(master, 65536)
            except OSError:
                return
            if not data:
                return
            for message in self._session.feed(data):
                out = self.faults.apply(message)
                if out is not None:
                    try:
                        os.write(master, out)
                    except OSError:
                        return

    def hang_up(self) -> None:
        """Disconnect: close the master side for good (clients then get I/O errors).

        The slave side stays open here until :meth:`close`, so the kernel cannot hand
        the same ``/dev/pts/N`` to another process meanwhile: a client that reopens
        the path finds the device gone, never a stranger's terminal.
        """
        self._hung_up = True
        self._stop(close_slave=False)

    def close(self) -> None:
        """Stop the thread and close the pty."""
        self._stop(close_slave=True)

    def _stop(self, close_slave: bool) -> None:
        if not self._stopping:
            self._stopping = True
            self._wake.fire()
            self._thread.join(timeout=5.0)
            self._close_fd("_master")
            self._wake.close()
        if close_slave:
            self._close_fd("_slave")

    def _close_fd(self, name: str) -> None:
        fd = getattr(self, name)
        if fd is not None:
            setattr(self, name, None)
            try:
                os.close(fd)
            except OSError:
                pass

    def __enter__(self) -> PtyServer:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def __repr__(self) -> str:
        state = "closed" if self._stopping else self.port
        return f"PtyServer({self.name!r}, {state})"
