"""A thin, error-translating wrapper around one pyvisa resource.

Any VISA address works (``GPIB0::8::INSTR``, ``USB0::...::INSTR``,
``ASRL/dev/ttyUSB0::INSTR``, ``ASRL3::INSTR``, ``TCPIP::host::port::SOCKET``,
``TCPIP::host::INSTR``); the default backend is pyvisa-py (``"@py"``), which
needs no vendor VISA library. Serial and raw-socket sessions have no
end-of-message signal, so read and write terminations are always set.

Every failure becomes an :class:`InstrumentError` naming the instrument, its
address and the command: a timeout (:class:`InstrumentTimeoutError`), any other
VISA I/O error, or a reply that cannot be parsed.
"""

from __future__ import annotations

import pyvisa
import pyvisa.constants
import pyvisa.errors
from pyvisa import rname

from imager.drivers.errors import InstrumentError, InstrumentTimeoutError

__all__ = ["InstrumentError", "InstrumentTimeoutError", "VisaLink", "interface_type"]


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
    """One open VISA resource with text write/query and clear errors.

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
    ) -> None:
        self.address = address
        self.name = name
        self.interface = interface_type(address)
        self._own_rm = resource_manager is None
        try:
            self._rm = resource_manager or pyvisa.ResourceManager(backend)
        except (OSError, ValueError) as exc:
            raise InstrumentError(f"{name}: cannot load VISA backend {backend!r}: {exc}") from exc
        kwargs: dict[str, object] = {
            "read_termination": read_termination,
            "write_termination": write_termination,
            "timeout": round(timeout_s * 1000.0),
        }
        if self.interface == "ASRL" and baud_rate is not None:
            kwargs["baud_rate"] = int(baud_rate)
        try:
            self._res = self._rm.open_resource(address, **kwargs)
        except (pyvisa.errors.Error, OSError, ValueError) as exc:
            if self._own_rm:
                self._rm.close()
            raise InstrumentError(f"{name} at {address}: cannot open: {exc}") from exc
        self._closed = False

    @property
    def timeout_s(self) -> float:
        """I/O timeout, s."""
        return float(self._res.timeout) / 1000.0

    @timeout_s.setter
    def timeout_s(self, value: float) -> None:
        self._res.timeout = round(float(value) * 1000.0)

    def _fail(self, command: str, exc: Exception) -> InstrumentError:
        where = f"{self.name} at {self.address}"
        if (
            isinstance(exc, pyvisa.errors.VisaIOError)
            and exc.error_code == pyvisa.constants.StatusCode.error_timeout
        ):
            return InstrumentTimeoutError(
                f"{where}: no reply to {command!r} within {self.timeout_s:g} s"
            )
        return InstrumentError(f"{where}: {command!r} failed: {exc}")

    def write(self, command: str) -> None:
        """Send one command line."""
        if self._closed:
            raise InstrumentError(f"{self.name} at {self.address}: link is closed")
        try:
            self._res.write(command)
        except (pyvisa.errors.Error, OSError) as exc:
            raise self._fail(command, exc) from exc

    def read(self, command: str = "<read>") -> str:
        """Read one reply (``command`` names what it answers, for errors)."""
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
            raise InstrumentError(
                f"{self.name} at {self.address}: unexpected reply {reply!r} to {command!r}"
            )
        return values

    def query_float(self, command: str) -> float:
        """Query one number."""
        return self.query_floats(command, 1)[0]

    def query_int(self, command: str) -> int:
        """Query one integer (``"3"`` or ``"3.0"``)."""
        value = self.query_float(command)
        if value != int(value):
            raise InstrumentError(
                f"{self.name} at {self.address}: expected an integer reply to {command!r}, "
                f"got {value!r}"
            )
        return int(value)

    def close(self) -> None:
        """Close the resource (and the manager if this link opened it)."""
        if self._closed:
            return
        self._closed = True
        try:
            self._res.close()
        finally:
            if self._own_rm:
                self._rm.close()

    def __repr__(self) -> str:
        return f"VisaLink({self.name!r}, {self.address!r})"
