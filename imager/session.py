"""Interactive sessions (Jupyter, IPython) in the spirit of pyscan.

Examples
--------
>>> from imager import open_lab
>>> lab = open_lab()                                  # the simulated lab
>>> lab.stage.move_to(12500.0, 12500.0); lab.stage.wait_settled()
>>> lab.clock.sleep(0.3); lab.lockin.read_xy()        # doctest: +SKIP
>>> result = lab.raster(x_um=(12400, 12600), y_um=(12400, 12600), n=(64, 64),
...                     folder="data")                # doctest: +SKIP
>>> result.image_V.shape, result.path                 # doctest: +SKIP
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from imager.engine import ScanResult, run_raster
from imager.lab import simulated_lab_for
from imager.recipes import Recipe, default_recipe, load_recipe
from imager.storage import scan_file_name


class Session:
    """A lab opened for interactive work; devices are attributes (``stage``, ``lockin``...).

    Parameters
    ----------
    lab : Lab
        The devices (see :func:`open_lab`).
    folder : path
        Where :meth:`raster` writes scan files by default.
    """

    def __init__(self, lab: Any, folder: str | Path = "data") -> None:
        self.lab = lab
        self.folder = Path(folder)

    def __getattr__(self, name: str) -> Any:
        return getattr(self.lab, name)

    def __dir__(self) -> list[str]:
        return sorted(set(super().__dir__()) | {n for n in dir(self.lab) if not n.startswith("_")})

    def raster(
        self,
        recipe: Recipe | str | Path | None = None,
        *,
        x_um: tuple[float, float] | None = None,
        y_um: tuple[float, float] | None = None,
        n: tuple[int, int] | None = None,
        order: str | None = None,
        dwell_s: float | None = None,
        dwell_tc: float | None = None,
        path: str | Path | None = None,
        progress: bool = True,
        **sections: dict[str, Any],
    ) -> ScanResult:
        """Run a raster with the same engine and file format as ``mirimager scan``.

        Parameters
        ----------
        recipe : Recipe or path, optional
            A recipe to run as is. Without it, the demo recipe is used with the
            keyword overrides below.
        x_um, y_um : (start, stop)
            Scan ranges in micrometres (inclusive).
        n : (nx, ny)
            Points per axis.
        order : {"snake", "row"}
        dwell_s, dwell_tc : float
            Dwell after each move, in seconds or lock-in time constants.
        path : path, optional
            Scan file; default ``<folder>/<date>_<name>.h5``.
        **sections
            Further recipe sections, e.g. ``lockin={"time_constant_s": 0.1}``.

        Returns
        -------
        ScanResult
            ``image_V`` (ny, nx), ``path``, ``exit_status``, ``truth_V`` (simulated).
        """
        if recipe is None:
            scan: dict[str, Any] = {}
            if x_um is not None:
                scan["x_start_um"], scan["x_stop_um"] = map(float, x_um)
            if y_um is not None:
                scan["y_start_um"], scan["y_stop_um"] = map(float, y_um)
            if n is not None:
                scan["nx"], scan["ny"] = map(int, n)
            for key, value in (("order", order), ("dwell_s", dwell_s), ("dwell_tc", dwell_tc)):
                if value is not None:
                    scan[key] = value
            recipe = default_recipe(scan=scan, **sections)
            recipe.name = "session"
        elif not isinstance(recipe, Recipe):
            recipe = load_recipe(recipe)
        path = Path(path) if path is not None else self.folder / scan_file_name(recipe.name)
        return run_raster(self.lab, recipe, path, progress=progress)


def open_lab(recipe: Recipe | str | Path | None = None, folder: str | Path = "data") -> Session:
    """Open a lab for interactive work.

    Parameters
    ----------
    recipe : Recipe or path, optional
        Its ``[sim]`` section describes the simulated lab (chart, beam, seed).
        Default: the demo's USAF-1951 chart. Hardware labs (from a lab
        configuration file) arrive with the real drivers.
    folder : path
        Default folder for scan files.

    Returns
    -------
    Session
    """
    if recipe is not None and not isinstance(recipe, Recipe):
        recipe = load_recipe(recipe)
    return Session(simulated_lab_for(recipe), folder)
