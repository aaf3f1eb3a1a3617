"""A thin, error-translating wrapper around one pyvisa resource, reconnecting when it is lost.

Any VISA address works (``GPIB0::8::INSTR``, ``USB0::...::INSTR``,
``ASRL/dev/ttyUSB0::INSTR``, ``ASRL3::INSTR``, ``TCPIP::host::port::SOCKET``,
``TCPIP::host::INSTR``); the default backend is pyvisa-py (``"@py"``), which
needs no vendor VISA library. Serial and raw-socket sessions have no
end-of-message signal, so read and write terminations are always set.

Every failure becomes an :class:`InstrumentError` naming the instrument, its
address and the command: a timeout (:class:`InstrumentTimeoutError`), any other
VISA I/O error, or a reply that cannot be parsed.

Lost connections
----------------
A failure that means the connection itself is gone marks the link *lost*:
an operating-system error (broken pipe, connection reset or refused, a serial
port that vanished), a VISA "connection lost" / I/O error / invalid session,
or a timeout on a raw socket the instrument has closed (pyvisa-py does not
report the end of stream: its read waits for the timeout; the link then
looks at the socket). That call still raises, so a caller sees and logs the
fault; the *next* call closes the dead resource, opens the address again and
runs :attr:`VisaLink.on_reconnect` (the driver restores the instrument's
protocol state and settings) before its own command. One reopening is tried
per call, so the caller's retry policy bounds the attempts; if the reopening
or the restore fails, that call raises and the link stays lost.
"""

from __future__ import annotations

import socket
from collections.abc import Callable
from typing import cast

import pyvisa
import pyvisa.constants
import pyvisa.errors
import pyvisa.resources
from pyvisa import rname

from imager.drivers.errors import InstrumentError, InstrumentTimeoutError

__all__ = ["InstrumentError", "InstrumentTimeoutError", "VisaLink", "interface_type"]

_SC = pyvisa.constants.StatusCode
#: VISA status codes that mean the session no longer reaches the instrument.
LOST_CONNECTION_CODES = frozenset(
    {_SC.error_connection_lost, _SC.error_io, _SC.error_invalid_object}
)


def interface_type(address: str) -> str:
    """Interface of a VISA address: ``"ASRL"``, ``"GPIB"``, ``"TCPIP"``, ``"USB"``...

    Raises
    ------
    InstrumentError
        If the address is not a valid VISA resource name.
    """
    try:
        return str(rname.parse_resource_name(address).interface_type)
    except rname.InvalidResourceName as exc:
        raise InstrumentError(f"invalid VISA address {address!r}: {exc}") from None


class VisaLink:
    """One open VISA resource with text write/query, clear errors and reconnection.

    Parameters
    ----------
    address : str
        VISA resource name.
    name : str
        Instrument name used in error messages (e.g. ``"SR830"``).
    read_termination, write_termination : str
        Message terminators.
    timeout_s : float
        I/O timeout.
    resource_manager : pyvisa.ResourceManager, optional
        Shared manager; by default one is opened on ``backend`` and closed with
        the link.
    backend : str
        pyvisa backend spec when no manager is given (``"@py"``: pyvisa-py).
    baud_rate : int, optional
        Serial (ASRL) baud rate; ignored for other interfaces.
    on_reconnect : callable, optional
        Called with no argument right after the resource was opened again
        (see the module notes); it may use the link.

    Attributes
    ----------
    on_reconnect : callable or None
        See above; settable after construction.
    reconnects : int
        How many times the resource was opened again.
    """

    def __init__(
        self,
        address: str,
        *,
        name: str,
        read_termination: str,
        write_termination: str,
        timeout_s: float = 2.0,
        resource_manager: pyvisa.ResourceManager | None = None,
        backend: str = "@py",
        baud_rate: int | None = None,
        on_reconnect: Callable[[], None] | None = None,
    ) -> None:
        self.address = address
        self.name = name
        self.interface = interface_type(address)
        self.on_reconnect = on_reconnect
        self.reconnects = 0
        self._lost: str | None = None
        self._own_rm = resource_manager is None
        try:
            self._rm = resource_manager or pyvisa.ResourceManager(backend)
        except (OSError, ValueError) as exc:
            raise InstrumentError(f"{name}: cannot load VISA backend {backend!r}: {exc}") from exc
        self._timeout_ms = round(timeout_s * 1000.0)
        self._options: dict[str, object] = {
            "read_termination": read_termination,
            "write_termination": write_termination,
        }
        if self.interface == "ASRL" and baud_rate is not None:
            self._options["baud_rate"] = int(baud_rate)
        try:
            self._res = self._open()
        except (pyvisa.errors.Error, OSError, ValueError) as exc:
            if self._own_rm:
                self._rm.close()
            raise InstrumentError(f"{self._where}: cannot open: {exc}") from exc
        self._closed = False

    @property
    def _where(self) -> str:
        return f"{self.name} at {self.address}"

    def _open(self) -> pyvisa.resources.MessageBasedResource:
        """Open the address with the link's terminations, timeout and baud rate."""
        res = self._rm.open_resource(self.address, timeout=self._timeout_ms, **self._options)
        return cast(pyvisa.resources.MessageBasedResource, res)

    @property
    def timeout_s(self) -> float:
        """I/O timeout, s (kept across reconnections)."""
        return self._timeout_ms / 1000.0

    @timeout_s.setter
    def timeout_s(self, value: float) -> None:
        self._timeout_ms = round(float(value) * 1000.0)
        if self._lost is None:
            self._res.timeout = self._timeout_ms

    @property
    def lost(self) -> str | None:
        """Why the connection counts as lost (``None`` while it is up)."""
        return self._lost

    # ------------------------------------------------------------ failures
    def _socket_closed_by_peer(self) -> bool:
        """Whether a pyvisa-py raw socket session is at end of stream (or reset).

        pyvisa-py keeps reading an orderly-closed socket until the timeout and
        reports a timeout; peeking at its socket tells the two apart. Other
        backends and sessions report a lost connection themselves: False.
        """
        try:
            session = self._res.visalib.sessions[self._res.session]
            sock = session.interface
        except Exception:  # noqa: BLE001 - another backend or session type
            return False
        if not isinstance(sock, socket.socket):
            return False
        try:
            return sock.recv(1, socket.MSG_PEEK | socket.MSG_DONTWAIT) == b""
        except (BlockingIOError, InterruptedError):
            return False  # open, nothing to read
        except OSError:
            return True  # reset or otherwise broken

    def _fail(self, command: str, exc: Exception) -> InstrumentError:
        """Translate ``exc`` raised by ``command``; mark the link lost if it is."""
        where = self._where
        if isinstance(exc, pyvisa.errors.VisaIOError) and exc.error_code == _SC.error_timeout:
            if not self._socket_closed_by_peer():
                return InstrumentTimeoutError(
                    f"{where}: no reply to {command!r} within {self.timeout_s:g} s"
                )
            self._lost = "the instrument closed the connection"
        elif isinstance(exc, OSError) or isinstance(exc, pyvisa.errors.InvalidSession) or (
            isinstance(exc, pyvisa.errors.VisaIOError)
            and exc.error_code in LOST_CONNECTION_CODES
        ):
            self._lost = f"{type(exc).__name__}: {exc}"
        else:
            return InstrumentError(f"{where}: {command!r} failed: {exc}")
        return InstrumentError(f"{where}: connection lost during {command!r} ({self._lost}); "
                               "reconnecting at the next command")

    # ------------------------------------------------------------ connection
    def _ensure_connected(self) -> None:
        if self._closed:
            raise InstrumentError(f"{self._where}: link is closed")
        if self._lost is not None:
            self.reconnect()

    def reconnect(self) -> None:
        """Close the resource, open the address again and run :attr:`on_reconnect`.

        Called by the next command after the connection was lost; callable
        directly too.

        Raises
        ------
        InstrumentError
            If the address cannot be opened again, or :attr:`on_reconnect`
            fails; the link then stays lost (the next command tries again).
        """
        if self._closed:
            raise InstrumentError(f"{self._where}: link is closed")
        reason = self._lost or "reconnect requested"
        self._lost = reason
        try:
            self._res.close()
        except Exception:  # noqa: BLE001 - the old session is dead anyway
            pass
        try:
            self._res = self._open()
        except Exception as exc:  # noqa: BLE001 - pyvisa-py raises bare Exception too
            raise InstrumentError(f"{self._where}: connection lost ({reason}); reconnecting "
                                  f"failed: {exc}") from exc
        self._lost = None
        if self.on_reconnect is not None:
            try:
                self.on_reconnect()
            except Exception as exc:
                # pyvisa-py opens a socket lazily: a refused connection shows up here
                lost_again, self._lost = self._lost, reason
                if lost_again is not None:
                    raise InstrumentError(f"{self._where}: connection lost ({reason}); "
                                          f"reconnecting failed: {lost_again}") from exc
                raise InstrumentError(f"{self._where}: reconnected after the connection was "
                                      f"lost ({reason}), but restoring its state failed: "
                                      f"{exc}") from exc
        self.reconnects += 1

    # ------------------------------------------------------------ I/O
    def write(self, command: str) -> None:
        """Send one command line."""
        self._ensure_connected()
        try:
            self._res.write(command)
        except (pyvisa.errors.Error, OSError) as exc:
            raise self._fail(command, exc) from exc

    def read(self, command: str = "<read>") -> str:
        """Read one reply (``command`` names what it answers, for errors)."""
        self._ensure_connected()
        try:
            return str(self._res.read()).strip()
        except (pyvisa.errors.Error, OSError, UnicodeDecodeError) as exc:
            raise self._fail(command, exc) from exc

    def query(self, command: str) -> str:
        """Send ``command`` and return its reply, stripped."""
        self.write(command)
        return self.read(command)

    def query_floats(self, command: str, count: int | None = None) -> list[float]:
        """Query a comma-separated list of numbers (exactly ``count`` if given)."""
        reply = self.query(command)
        try:
            values = [float(part) for part in reply.split(",")]
        except ValueError:
            values = []
        if not values or (count is not None and len(values) != count):
            raise InstrumentError(f"{self._where}: unexpected reply {reply!r} to {command!r}")
        return values

    def query_float(self, command: str) -> float:
        """Query one number."""
        return self.query_floats(command, 1)[0]

    def query_int(self, command: str) -> int:
        """Query one integer (``"3"`` or ``"3.0"``)."""
        value = self.query_float(command)
        if value != int(value):
            raise InstrumentError(
                f"{self._where}: expected an integer reply to {command!r}, got {value!r}"
            )
        return int(value)

    def close(self) -> None:
        """Close the resource (and the manager if this link opened it)."""
        if self._closed:
            return
        self._closed = True
        try:
            self._res.close()
        except Exception:  # noqa: BLE001 - a lost session may fail to close; it is gone
            if self._lost is None:
                raise
        finally:
            if self._own_rm:
                self._rm.close()

    def __repr__(self) -> str:
        return f"VisaLink({self.name!r}, {self.address!r})"
