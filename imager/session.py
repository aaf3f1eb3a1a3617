"""Interactive sessions (Jupyter, IPython) in the spirit of pyscan.

Examples
--------
>>> from imager import open_lab
>>> lab = open_lab()                                  # the simulated lab
>>> lab.stage.move_to(12500.0, 12500.0); lab.stage.wait_settled()
>>> lab.clock.sleep(0.3); lab.lockin.read_xy()        # doctest: +SKIP
>>> result = lab.raster(x_um=(12400, 12600), y_um=(12400, 12600), n=(64, 64))
...                                                   # doctest: +SKIP
>>> result                                            # doctest: +SKIP
<ScanResult kind='raster', shape=64x64, status='success', points=4096/4096, ...>
>>> result.plot()                                     # doctest: +SKIP
>>> spi = lab.single_pixel(size=32, ratio=0.25)       # doctest: +SKIP
>>> cal = lab.calibrate(x_um=12500, y_um=12500)       # doctest: +SKIP

Hardware (or the emulated lab of ``mirimager emulate``)::

    with open_lab(lab_config="lab.toml") as lab:
        lab.raster("scans/usaf_raster.toml")
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from imager.calibration import CalibrationResult, run_calibration
from imager.engine import ScanResult, SinglePixelResult, run_raster, run_single_pixel
from imager.recipes import Recipe, default_recipe, load_recipe
from imager.recipes.recipe import parse_recipe
from imager.sim import simulated_lab_for
from imager.storage import scan_file_name

__all__ = ["Session", "open_lab"]


def _recipe_text(kind: str, name: str, sections: dict[str, dict[str, Any]]) -> str:
    """TOML for a recipe built in code (JSON scalars and lists are valid TOML values)."""
    lines = [f"kind = {json.dumps(kind)}", f"name = {json.dumps(name)}"]
    for section, values in sections.items():
        lines.append(f"[{section}]")
        lines += [f"{key} = {json.dumps(value)}" for key, value in values.items()]
    return "\n".join(lines) + "\n"


def _as_recipe(recipe: Recipe | str | Path, kind: str) -> Recipe:
    if not isinstance(recipe, Recipe):
        recipe = load_recipe(recipe)
    if recipe.kind != kind:
        raise recipe.error(f"kind: this method runs kind = {kind!r} recipes, "
                           f"got {recipe.kind!r}")
    return recipe


class Session:
    """A lab opened for interactive work; devices are attributes (``stage``, ``lockin``...).

    Parameters
    ----------
    lab : Lab
        The devices (see :func:`open_lab`).
    folder : path
        Where :meth:`raster`, :meth:`single_pixel` and :meth:`calibrate` write their
        files by default (``<folder>/<date>_<name>.h5``).

    Notes
    -----
    A hardware lab holds serial ports and instrument sessions: :meth:`close` (or a
    ``with`` block) releases them.
    """

    def __init__(self, lab: Any, folder: str | Path = "data") -> None:
        self.lab = lab
        self.folder = Path(folder)

    def __getattr__(self, name: str) -> Any:
        if name == "lab":  # (not set yet: during unpickling or a failed __init__)
            raise AttributeError(name)
        return getattr(self.lab, name)

    def __dir__(self) -> list[str]:
        return sorted(set(super().__dir__()) | {n for n in dir(self.lab) if not n.startswith("_")})

    def __repr__(self) -> str:
        settings = self.lab.settings() if hasattr(self.lab, "settings") else {}
        kind = settings.get("kind", type(self.lab).__name__)
        detail = ""
        if "chart_name" in settings:
            detail = f", chart={settings['chart_name']!r}, seed={settings.get('seed')}"
        elif "name" in settings:
            detail = f", config={settings['name']!r}"
        try:
            devices = ",".join(self.lab.instruments())
        except Exception:  # noqa: BLE001 - a repr must not raise
            devices = "?"
        return f"<Session lab={kind!r}{detail}, folder={str(self.folder)!r}, devices={devices}>"

    def _repr_pretty_(self, printer: Any, cycle: bool) -> None:
        printer.text(repr(self))

    def close(self) -> None:
        """Release the lab's devices (hardware labs; nothing to do for the simulated one)."""
        close = getattr(self.lab, "close", None)
        if close is not None:
            close()

    def __enter__(self) -> Session:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _path(self, path: str | Path | None, name: str) -> Path:
        """``path``, or a new ``<folder>/<date>_<name>.h5`` (``_2``, ``_3``... when a scan
        of that name was written in the same second)."""
        if path is not None:
            return Path(path)
        first = self.folder / scan_file_name(name)
        candidate, k = first, 1
        while candidate.exists():
            k += 1
            candidate = first.with_name(f"{first.stem}_{k}{first.suffix}")
        return candidate

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
            A ``kind = "raster"`` recipe to run as is. Without it, the demo recipe is
            used with the keyword overrides below.
        x_um, y_um : (start, stop)
            Scan ranges in micrometres (inclusive).
        n : (nx, ny)
            Points per axis.
        order : {"snake", "row"}
        dwell_s, dwell_tc : float
            Dwell after each move, in seconds or lock-in time constants.
        path : path, optional
            Scan file; default ``<folder>/<date>_<name>.h5``.
        progress : bool
            Show a progress bar.
        **sections
            Further recipe sections, e.g. ``lockin={"time_constant_s": 0.1}``.

        Returns
        -------
        ScanResult
            ``image_V`` (ny, nx), ``path``, ``exit_status``, ``truth_V`` (simulated);
            ``.plot()`` draws the image.
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
        else:
            recipe = _as_recipe(recipe, "raster")
        return run_raster(self.lab, recipe, self._path(path, recipe.name), progress=progress)

    def single_pixel(
        self,
        recipe: Recipe | str | Path | None = None,
        *,
        path: str | Path | None = None,
        progress: bool = True,
        **sections: Any,
    ) -> SinglePixelResult:
        """Run a single-pixel acquisition (patterns on the projector, one reading each).

        Parameters
        ----------
        recipe : Recipe or path, optional
            A ``kind = "single_pixel"`` recipe to run as is. Without it, the schema's
            defaults (64 x 64 Hadamard, zigzag, 25 %) with the overrides below.
        path : path, optional
            Scan file; default ``<folder>/<date>_single_pixel.h5``.
        progress : bool
            Show a progress bar.
        **sections
            Keys of the ``[single_pixel]`` table (``size``, ``basis``, ``ordering``,
            ``ratio``, ``fov_um``, ``center_x_um``, ``center_y_um``, ``dwell_tc``...),
            or whole sections, e.g. ``lockin={"sensitivity_V": 0.01}``.

        Returns
        -------
        SinglePixelResult
            ``raw_V`` (one reading per pattern), ``basis``, ``path``; ``.plot()``
            reconstructs (``method="tv"`` by default) and draws the image.
        """
        if recipe is None:
            recipe = self._recipe("single_pixel", "single_pixel", sections)
        else:
            recipe = _as_recipe(recipe, "single_pixel")
        return run_single_pixel(self.lab, recipe, self._path(path, recipe.name),
                                progress=progress)

    def calibrate(
        self,
        recipe: Recipe | str | Path | None = None,
        *,
        path: str | Path | None = None,
        progress: bool = True,
        **sections: Any,
    ) -> CalibrationResult:
        """Measure the responsivity (MIR-power sweep at one spot) and write a calibration file.

        Parameters
        ----------
        recipe : Recipe or path, optional
            A ``kind = "calibration"`` recipe to run as is. Without it, the schema's
            defaults with the overrides below.
        path : path, optional
            Calibration file; default ``<folder>/<date>_calibration.h5`` (pass it to
            ``mirimager scan --calibration`` to show images in nW/um^2).
        progress : bool
            Show a progress bar.
        **sections
            Keys of the ``[calibration]`` table (``x_um``, ``y_um``: a chart-free spot of
            this lab; ``mir_power_mW``, ``repeats``...), or whole sections.

        Returns
        -------
        CalibrationResult
            ``responsivity`` (slope with uncertainty, detection limit ``nei_W_per_um2``)
            and the optional sweeps' fits.
        """
        if recipe is None:
            recipe = self._recipe("calibration", "calibration", sections)
        else:
            recipe = _as_recipe(recipe, "calibration")
        self._check_chart_free(recipe)
        return run_calibration(self.lab, recipe, self._path(path, recipe.name),
                               progress=progress)

    def _check_chart_free(self, recipe: Recipe) -> None:
        """A simulated lab's chart must leave the calibration spot open (transmission 1),
        or the responsivity would be that of the chart's bars."""
        sim = self.lab.capabilities().sim
        chart = sim.chart if sim is not None else None
        if chart is None:  # hardware: the experimenter chooses the spot
            return
        cal = recipe.sections["calibration"]
        ix = round((cal["x_um"] - chart.x0_um) / chart.pixel_um)
        iy = round((cal["y_um"] - chart.y0_um) / chart.pixel_um)
        ny, nx = chart.shape
        inside = 0 <= ix < nx and 0 <= iy < ny
        if not inside or chart.transmission[iy, ix] < 0.999:
            raise recipe.error(
                f"[calibration] x_um, y_um: ({cal['x_um']:g}, {cal['y_um']:g}) um is not an "
                f"open spot of this simulated lab's chart ({chart.name}); calibrate a lab "
                "without a chart: open_lab('scans/calibration.toml') ([sim] chart = \"open\")")

    @staticmethod
    def _recipe(kind: str, main: str, overrides: dict[str, Any]) -> Recipe:
        """A recipe of ``kind`` from keyword overrides: plain keys go to the ``[main]`` table,
        dict values are whole sections."""
        sections: dict[str, dict[str, Any]] = {main: {}}
        for key, value in overrides.items():
            if isinstance(value, dict):
                sections.setdefault(key, {}).update(value)
            else:
                sections[main][key] = value
        return parse_recipe(_recipe_text(kind, f"session_{kind}", sections), "<session>")


def open_lab(
    recipe: Recipe | str | Path | None = None,
    folder: str | Path = "data",
    *,
    lab_config: str | Path | None = None,
) -> Session:
    """Open a lab for interactive work: the simulated lab, or hardware from a lab configuration.

    Parameters
    ----------
    recipe : Recipe or path, optional
        Simulated lab only: its ``[sim]`` section describes the lab (chart, beam,
        seed). Default: the demo's USAF-1951 chart.
    folder : path
        Default folder for scan and calibration files.
    lab_config : path, optional
        A lab configuration file (TOML; ``mirimager emulate`` writes one for the
        emulated lab): opens its real devices (stages, lock-in, chopper...) through
        their drivers instead of the simulated lab. Close the session (or use
        ``with``) to release the ports.

    Returns
    -------
    Session
        Devices as attributes; :meth:`Session.raster`, :meth:`Session.single_pixel`,
        :meth:`Session.calibrate` run scans into ``folder``.

    Raises
    ------
    ValueError
        Both `recipe` and `lab_config` given.
    imager.recipes.RecipeError
        The lab configuration is invalid (one line naming the file and key).

    Examples
    --------
    >>> lab = open_lab()                                # doctest: +SKIP
    >>> with open_lab(lab_config="lab.toml") as lab:    # doctest: +SKIP
    ...     result = lab.raster("scans/usaf_raster.toml")
    """
    if lab_config is not None:
        if recipe is not None:
            raise ValueError("open_lab: give recipe (a simulated lab) or lab_config "
                             "(hardware), not both")
        from imager.labconfig import open_hardware_lab

        return Session(open_hardware_lab(lab_config), folder)
    if recipe is not None and not isinstance(recipe, Recipe):
        recipe = load_recipe(recipe)
    return Session(simulated_lab_for(recipe), folder)
