"""One task of a batch (:mod:`reconstruction.batch`): a work item, the options, what it
returns, and :func:`reconstruct_item`, which a worker runs: open the file, reconstruct it,
write the results (single-pixel: a new NXprocess in the file; with ``out_dir``: NAME.png and
NAME.tif, written under a hidden name and linked into place, nothing overwritten).

Pure: no ``imager`` and no ``dask`` import (a worker needs only ``reconstruction``).
"""

from __future__ import annotations

import os
import secrets
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

__all__ = ["BatchOptions", "ItemResult", "WorkItem", "output_targets", "reconstruct_item"]


@dataclass(frozen=True)
class WorkItem:
    """One task of a batch: a scan file, and which part of it (none: the whole file).

    ``selector``: the index of one wavelength of a spectral single-pixel file (its
    image is one task); ``None`` for a whole file.
    """

    path: str
    selector: int | None = None

    @property
    def name(self) -> str:
        """Base name of this item's outputs: the file's stem (``_w{selector}`` added)."""
        stem = Path(self.path).stem
        return stem if self.selector is None else f"{stem}_w{self.selector}"


@dataclass(frozen=True)
class BatchOptions:
    """How every item of a batch is reconstructed (``mirimager reconstruct``'s options)."""

    method: str = "tv"
    ratio: float | None = None
    reference: bool = True
    store: bool = True
    out_dir: str | None = None
    overwrite: bool = False
    snake: bool | str = "auto"
    background: str | None = None
    flat: str | None = None
    calibration: str | None = None


@dataclass(frozen=True)
class ItemResult:
    """What became of one item (small: this is all a task sends back)."""

    path: str
    ok: bool
    message: str
    """One line: what was done, or why the item failed."""
    seconds: float
    """Wall time of the task on its worker (open, reconstruct, write)."""
    selector: int | None = None
    kind: str = ""
    stored: str | None = None
    """The NXprocess added to the file (``/entry/reconstruction_K``), if any."""
    outputs: tuple[str, ...] = ()
    metrics: dict[str, float] | None = None
    worker_pid: int = 0
    image: Any = None
    """A spectral single-pixel wavelength's reconstruction (``SinglePixelImage``), which
    the client stacks into the file's cube; None otherwise."""


def output_targets(item: WorkItem, out_dir: str | os.PathLike[str]) -> list[tuple[str, Path]]:
    """``[(kind, path)]`` an item writes in ``out_dir``: ``NAME.png`` and ``NAME.tif``."""
    base = Path(out_dir) / item.name
    return [("png", base.with_name(base.name + ".png")),
            ("tiff", base.with_name(base.name + ".tif"))]


def reconstruct_item(item: WorkItem, options: BatchOptions | None = None) -> ItemResult:
    """Reconstruct one item where this runs (a dask worker): open, reconstruct, write.

    Never raises for a bad file: the failure is the returned result's ``message``.

    Parameters
    ----------
    item : WorkItem
    options : BatchOptions, optional
        Default: ``BatchOptions()`` (TV, stored in the file, no image files).

    Returns
    -------
    ItemResult
    """
    from .threads import one_blas_thread

    options = BatchOptions() if options is None else options

    start = time.perf_counter()
    base = {"path": item.path, "selector": item.selector, "worker_pid": os.getpid()}
    try:
        with one_blas_thread():
            done = _reconstruct(item, options)
    except Exception as exc:  # noqa: BLE001 - every failure of a file is reported, not raised
        message = " ".join(str(exc).split()) or type(exc).__name__
        if not message.startswith(item.path):
            message = f"{item.path}: {message}"
        return ItemResult(ok=False, message=message, seconds=time.perf_counter() - start,
                          **base)
    return ItemResult(ok=True, seconds=time.perf_counter() - start, **base, **done)


def _reconstruct(item: WorkItem, options: BatchOptions) -> dict[str, Any]:
    from .spifile import scan_kind

    kind = scan_kind(item.path)
    if kind == "spectral_single_pixel" and item.selector is not None:
        return _wavelength(item, options)
    if item.selector is not None:
        raise ValueError(f"{kind} file has no wavelength axis (selector {item.selector})")
    if kind == "single_pixel":
        return _single_pixel(item, options)
    if kind == "raster":
        return _raster(item, options)
    if kind == "spectral":
        return _spectral(item, options)
    raise ValueError(f"scan kind is {kind!r}; only raster, single-pixel and spectral files "
                     "reconstruct")


def _single_pixel(item: WorkItem, options: BatchOptions) -> dict[str, Any]:
    from .nxprocess import store_reconstruction
    from .spifile import load_single_pixel, reconstruct_single_pixel

    scan = load_single_pixel(item.path)
    rec = reconstruct_single_pixel(scan, options.method, ratio=options.ratio,
                                   reference=options.reference)
    outputs = _write_images(item, options, scan, rec)
    try:
        stored = store_reconstruction(item.path, rec, scan) if options.store else None
    except ValueError as exc:  # ScanFileError: locked, read-only, changed meanwhile
        raise ValueError(f"{exc}" + (" (its images were written)" if outputs else "")) from exc
    said = [f"{rec.method}, {rec.measurements} measurements"]
    said += [f"stored {stored}"] if stored else []
    return {"kind": "single_pixel", "stored": stored, "outputs": outputs,
            "metrics": rec.metrics, "message": "; ".join(said + list(outputs))}


def _wavelength(item: WorkItem, options: BatchOptions) -> dict[str, Any]:
    """One wavelength of a spectral single-pixel file: its image goes back to the client,
    which stores the file's cube once every wavelength is done."""
    from .spectral.singlepixel import load_spectral_single_pixel
    from .spifile import reconstruct_single_pixel

    scan = load_spectral_single_pixel(item.path)
    iw = int(item.selector)
    if not 0 <= iw < scan.wavelengths_um.size:
        raise ValueError(f"wavelength index {iw} outside 0..{scan.wavelengths_um.size - 1}")
    rec = reconstruct_single_pixel(scan.at(iw), options.method, ratio=options.ratio,
                                   reference=options.reference)
    return {"kind": "spectral_single_pixel", "image": rec, "metrics": rec.metrics,
            "message": f"{scan.wavelengths_um[iw]:.3f} um: {rec.method}, "
                       f"{rec.measurements} measurements"}


def _spectral(item: WorkItem, options: BatchOptions) -> dict[str, Any]:
    """A spectral raster: the default analysis (material maps, ``--spectra``), stored in
    the file; with ``out_dir`` its figure as NAME.png."""
    from .spectral.cube import load_cube
    from .spectral.export import store_analysis
    from .spectral.plot import save_figure
    from .spectral.unmix import analyse_cube

    cube = load_cube(item.path)
    cal, result = analyse_cube(cube)
    outputs = []
    if options.out_dir is not None:
        target = output_targets(item, options.out_dir)[0][1]
        _link_new(target, options.overwrite, lambda tmp: save_figure(
            tmp, cal, result, title=f"{Path(item.path).name} · {cal.kind}"))
        outputs.append(str(target))
    stored = store_analysis(item.path, result, cal) if options.store else None
    said = [f"{len(result.unmixing.names)} materials unmixed ({cal.kind})"]
    if result.score is not None:
        said.append(f"{100 * result.score:.1f} % as the truth")
    said += [f"stored {stored}"] if stored else []
    return {"kind": "spectral", "stored": stored, "outputs": tuple(outputs),
            "message": "; ".join(said + outputs)}


def _link_new(target: Path, overwrite: bool, write: Any) -> None:
    """``write(tmp)`` under a hidden name, then linked to ``target`` (never replacing an
    existing file unless ``overwrite``)."""
    if not overwrite and os.path.lexists(target):
        raise FileExistsError(f"{target}: file exists; not overwritten")
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = target.with_name(f".{target.name}.{os.getpid()}-{secrets.token_hex(4)}"
                           f".part{target.suffix}")
    try:
        write(tmp)
        if overwrite:
            os.replace(tmp, target)
        else:
            try:
                os.link(tmp, target)
            except FileExistsError:
                raise FileExistsError(f"{target}: file exists; not overwritten") from None
    finally:
        tmp.unlink(missing_ok=True)


def _raster(item: WorkItem, options: BatchOptions) -> dict[str, Any]:
    from .raster import load_flat, reconstruct_raster
    from .scanfile import load_raster

    if options.out_dir is None:
        raise ValueError("a raster file's images need an output folder (out_dir)")
    scan = load_raster(item.path)
    flat = load_flat(scan, options.flat) if options.flat else None
    rec = reconstruct_raster(scan, snake_correction=options.snake,
                             background=options.background, flat=flat)
    outputs = _write_images(item, options, scan, rec)
    return {"kind": "raster", "outputs": outputs, "metrics": rec.metrics,
            "message": "; ".join([f"{scan.points_done}/{scan.points_total} points",
                                  *outputs])}


def _calibrated(image, scan, calibration: str | None):
    """As ``mirimager reconstruct``: nW/um^2 with a calibration given or stored, else V."""
    from .calibration import load_calibration, responsivity_from_attrs

    if calibration is not None:
        fit, _ = load_calibration(calibration)
    elif scan.calibration:
        fit = responsivity_from_attrs(scan.calibration)
    else:
        return image, "lock-in X (V)"
    return fit.to_W_per_um2(image) * 1e9, "MIR intensity (nW/µm²)"


def _write_images(item: WorkItem, options: BatchOptions, scan, rec) -> tuple[str, ...]:
    """``OUT_DIR/NAME.png`` and ``.tif``, each written under a hidden name, then linked
    into place (an existing file is never replaced unless ``overwrite``)."""
    if options.out_dir is None:
        return ()
    from .export import image_title, save_png, save_tiff

    image, label = _calibrated(rec.image, scan, options.calibration)
    written = []
    for kind, target in output_targets(item, options.out_dir):
        if kind == "png":
            _link_new(target, options.overwrite, lambda tmp: save_png(
                tmp, image, rec.x_um, rec.y_um, units_label=label,
                title=image_title(Path(item.path).name, scan, rec)))
        else:
            _link_new(target, options.overwrite,
                      lambda tmp: save_tiff(tmp, image, rec.x_um, rec.y_um))
        written.append(str(target))
    return tuple(written)


