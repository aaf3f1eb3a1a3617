"""Thorlabs MC2000B optical chopper: blades and reference modes, shared by driver and emulator.

The controller numbers its blades 0-14 and, per blade, its reference-in modes
(``ref``) and reference-out modes (``output``). ``thorlabs-mc2000b`` (0.1.3,
``thorlabs_mc2000b.Blade``, after the MC2000B manual, "Commands") holds that
table; the driver uses the library directly, the emulator takes it from here,
so both agree on every index.
"""

from __future__ import annotations

from dataclasses import dataclass

from thorlabs_mc2000b import Blade


@dataclass(frozen=True)
class BladeModes:
    """One blade: its name and its reference-in / reference-out modes in index order."""

    name: str
    reference_modes: tuple[str, ...]
    output_modes: tuple[str, ...]

    def is_external(self, reference_index: int) -> bool:
        """Whether reference-in mode ``reference_index`` takes an external reference."""
        return self.reference_modes[reference_index].startswith("external")


BLADES: tuple[BladeModes, ...] = tuple(
    BladeModes(b.name, tuple(b.inrefs), tuple(b.outrefs)) for b in sorted(Blade)
)
"""Blades by controller index (``blade=i``)."""

DEFAULT_BLADE = "MC1F10HP"
"""The blade a controller reports out of the box."""
