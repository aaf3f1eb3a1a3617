"""Two single axes driven together as an XY raster stage."""

from __future__ import annotations

from stages.interface import Stage, TravelLimitError


class XYStage:
    """Pair of :class:`~stages.interface.Stage` axes moved together.

    Parameters
    ----------
    x, y : Stage
        The two axes. They may sit on different controllers.
    """

    def __init__(self, x: Stage, y: Stage) -> None:
        self.x = x
        self.y = y

    def check_within_travel(self, x_um: float, y_um: float) -> None:
        """Raise TravelLimitError if (x_um, y_um) is beyond either axis' travel."""
        for axis, value in ((self.x, x_um), (self.y, y_um)):
            lo, hi = axis.travel_um
            if not lo <= value <= hi:
                raise TravelLimitError(
                    f"{axis.name}: {value:g} um is outside travel [{lo:g}, {hi:g}] um"
                )

    def move_to(self, x_um: float, y_um: float) -> None:
        """Start both moves (each axis skips a move to where it already is)."""
        self.x.move_to(x_um)
        self.y.move_to(y_um)

    def wait_settled(self, timeout_s: float = 60.0) -> None:
        """Block until both axes have settled."""
        self.x.wait_settled(timeout_s)
        self.y.wait_settled(timeout_s)

    def position_um(self) -> tuple[float, float]:
        """Read-back ``(x_um, y_um)``."""
        return self.x.position_um(), self.y.position_um()

    def home(self) -> None:
        """Home both axes (explicit request only)."""
        self.x.home()
        self.y.home()
