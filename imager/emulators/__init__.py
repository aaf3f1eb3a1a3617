"""Wire-level emulators: simulated instruments behind their real protocols.

SR830 and SR860 lock-ins (text commands on loopback TCP or a pty) and the
Thorlabs MC2000B chopper (echo-and-prompt serial protocol on a pty), so real
drivers and third-party client libraries run end to end without hardware.
See :mod:`imager.emulators.serve` for addresses and :mod:`imager.emulators.bench`
for the whole emulated lab (``mirimager emulate``).
"""

from imager.emulators.clocks import WallClock
from imager.emulators.mc2000b import MC2000BEmulator, MC2000BSession
from imager.emulators.serve import (
    LockInSession,
    serve_lockin_pty,
    serve_lockin_tcp,
    serve_mc2000b_pty,
)
from imager.emulators.sr830 import SR830Emulator
from imager.emulators.sr860 import SR860Emulator
from imager.emulators.srs_lockin import SRSLockInEmulator
from imager.emulators.wire import PtyServer, ReplyFaults, TcpServer

__all__ = [
    "LockInSession",
    "MC2000BEmulator",
    "MC2000BSession",
    "PtyServer",
    "ReplyFaults",
    "SR830Emulator",
    "SR860Emulator",
    "SRSLockInEmulator",
    "TcpServer",
    "WallClock",
    "serve_lockin_pty",
    "serve_lockin_tcp",
    "serve_mc2000b_pty",
]
