"""Reconstruct many scan files at once, on ``dask.distributed`` (``mirimager reconstruct A B ...``).

A batch is a list of independent :class:`WorkItem`\\ s, one per file, and one per
wavelength of a spectral single-pixel file (``selector``: its images are solved in
parallel, sent back, and stacked into the file's cube here, :func:`store_cubes`). Each is
one task: the worker opens the
file, reconstructs it and writes the results itself, exactly as ``mirimager reconstruct``
does for one file - a single-pixel file gains a new NXprocess
(:func:`reconstruction.nxprocess.store_reconstruction`: atomic, nothing overwritten), and
with ``out_dir`` every file gets ``OUT_DIR/NAME.png`` and ``NAME.tif`` (a raster file's only
output). Tasks take a path and return a small :class:`ItemResult`: no scan data pass
through the scheduler (a spectral wavelength's task returns its image, ``n x n``). A file
that cannot be read or reconstructed (corrupt, wrong kind, locked) is a failed result naming
the problem; the batch goes on.

Where it runs: by default an embedded ``LocalCluster`` on this machine (``workers``
processes, one thread and one BLAS thread each, listening on 127.0.0.1 only, no
dashboard), or any running cluster by address (``scheduler="tcp://HOST:PORT"``: the files
must be at the same paths on its workers), or a ``distributed.Client`` you pass;
``scheduler="inline"`` runs the items one after the other in this process, without dask.
``dask`` is imported only when a batch starts. See ``docs/batch.md``.
"""

from __future__ import annotations

import os
import secrets
import socket
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import fields, replace
from pathlib import Path
from typing import Any

import numpy as np

from .batch_item import BatchOptions, ItemResult, WorkItem, output_targets, reconstruct_item

__all__ = ["BatchError", "BatchOptions", "ItemResult", "WorkItem", "collect_items",
           "local_client", "output_targets", "planned_outputs", "reconstruct_batch",
           "reconstruct_item"]

#: Seconds to wait for a scheduler given by address to answer, and for a first worker.
CONNECT_TIMEOUT_S = 30.0
WORKER_TIMEOUT_S = 120.0
#: Environment of the embedded cluster's worker processes: BLAS libraries read it when
#: they load, so each worker starts with one BLAS thread.
ONE_THREAD_ENV = {"OMP_NUM_THREADS": "1", "OPENBLAS_NUM_THREADS": "1",
                  "MKL_NUM_THREADS": "1", "VECLIB_MAXIMUM_THREADS": "1"}


class BatchError(ValueError):
    """The batch cannot start (no files, bad ``workers``, scheduler unreachable): one line."""


def collect_items(paths: str | os.PathLike[str] | Iterable[Any]) -> list[WorkItem]:
    """The work items of a batch: each file named, and every ``*.h5`` in each folder named.

    Parameters
    ----------
    paths : path, or iterable of paths / WorkItem
        Files and folders (a folder's ``*.h5`` files, sorted, not recursive; hidden
        names such as a scan's ``.NAME.partial-...`` are left out).

    Returns
    -------
    list of WorkItem
        Absolute paths (workers may have another working directory), each once.

    Raises
    ------
    BatchError
        A path that does not exist, a folder without ``.h5`` files, or no path at all.
    """
    if isinstance(paths, str | os.PathLike | WorkItem):
        paths = [paths]
    items: list[WorkItem] = []
    for entry in paths:
        item = entry if isinstance(entry, WorkItem) else WorkItem(os.fspath(entry))
        path = Path(item.path)
        if path.is_dir():
            found = sorted(p for p in path.glob("*.h5") if not p.name.startswith("."))
            if not found:
                raise BatchError(f"{path}: folder has no .h5 files")
            items += [WorkItem(str(p.absolute())) for p in found]
        elif os.path.lexists(path):
            items.append(replace(item, path=str(path.absolute())))
        else:
            raise BatchError(f"{path}: no such file or folder")
    if not items:
        raise BatchError("no scan files given")
    return list(dict.fromkeys(items))  # each once, first order kept


def planned_outputs(items: Sequence[WorkItem], out_dir: str | os.PathLike[str]) -> list[Path]:
    """Every image file the items will write in ``out_dir`` (:func:`output_targets`).

    Raises
    ------
    BatchError
        Two items would write the same file (same name in different folders).
    """
    writers: dict[Path, str] = {}
    for item in items:
        for _, target in output_targets(item, out_dir):
            if target in writers:
                raise BatchError(f"{item.path} and {writers[target]} would both write "
                                 f"{target}; reconstruct them into separate folders")
            writers[target] = item.path
    return list(writers)


# ------------------------------------------------------------------ the batch (client side)


def reconstruct_batch(paths: str | os.PathLike[str] | Iterable[Any], *, method: str = "tv",
                      out_dir: str | os.PathLike[str] | None = None, client: Any = None,
                      workers: int | None = None, scheduler: str | None = None,
                      progress: Callable[[ItemResult], None] | None = None,
                      check: Callable[[str], None] | None = None,
                      on_ready: Callable[[int], None] | None = None,
                      **options: Any) -> list[ItemResult]:
    """Reconstruct many scan files in parallel, each on a worker; results in each file.

    Parameters
    ----------
    paths : path, or iterable of paths / WorkItem
        Scan files and folders (every ``*.h5`` in a folder), see :func:`collect_items`.
    method : str
        Single-pixel solver (``reconstruct_single_pixel``'s ``method``), default TV.
    out_dir : path, optional
        Folder for ``NAME.png`` and ``NAME.tif`` of each file (a raster file needs it;
        without it single-pixel files only get their NXprocess).
    client : distributed.Client, optional
        Run on this client's cluster (left open).
    workers : int, optional
        Worker processes of the embedded cluster, ``>= 1`` (default: one per file, at
        most one per CPU core).
    scheduler : str, optional
        ``"tcp://HOST:PORT"`` of a running scheduler, or ``"inline"`` (in this process,
        one item after the other, no dask). Default: the embedded cluster.
    progress : callable, optional
        Called with each :class:`ItemResult` as it arrives (in this process).
    check : callable, optional
        Called with each path in this process before any task runs; an exception marks
        that file failed (``mirimager reconstruct`` passes its probe for files that hang
        libhdf5).
    on_ready : callable, optional
        Called once in this process with the number of tasks, when the cluster is ready
        and they are submitted (not called if no file is left after ``check``).
    **options
        Other :class:`BatchOptions` fields: ``ratio``, ``reference``, ``store``,
        ``overwrite``, ``snake``, ``background``, ``flat``, ``calibration``.

    Returns
    -------
    list of ItemResult
        One per item, in the order of ``paths``.

    Raises
    ------
    BatchError
        The batch could not start: no files, a path that does not exist, bad ``workers``,
        conflicting ``client``/``scheduler``/``workers``, a scheduler that does not
        answer or has no worker.
    """
    unknown = set(options) - {f.name for f in fields(BatchOptions)}
    if unknown:
        raise TypeError(f"unknown option(s): {', '.join(sorted(unknown))}")
    opts = BatchOptions(method=method, out_dir=None if out_dir is None else
                        str(Path(out_dir).absolute()), **options)
    given = collect_items(paths)
    _check_where(client, workers, scheduler)
    results: dict[int, ItemResult] = {}
    todo, items = [], []
    for item in given:
        try:
            if check is not None:
                check(item.path)
        except Exception as exc:  # noqa: BLE001 - reported as that file's failure
            message = " ".join(str(exc).split()) or type(exc).__name__
            if not message.startswith(item.path):
                message = f"{item.path}: {message}"
            results[len(items)] = ItemResult(item.path, False, message, 0.0, item.selector)
            items.append(item)
            _report(progress, results[len(items) - 1])
        else:
            for one in per_wavelength(item):
                todo.append(len(items))
                items.append(one)
    if todo:
        _run(items, todo, opts, results, client, workers, scheduler, progress, on_ready)
    done = [results[i] for i in range(len(items))]
    return done + store_cubes(done, opts, progress)


def per_wavelength(item: WorkItem) -> list[WorkItem]:
    """A spectral single-pixel file as one item per wavelength (its images are solved in
    parallel); any other item as it is."""
    if item.selector is not None:
        return [item]
    from .spectral.singlepixel import wavelength_count

    try:
        nw = wavelength_count(item.path)
    except (ValueError, OSError):  # not one (or unreadable): its task says what is wrong
        return [item]
    return [replace(item, selector=iw) for iw in range(nw)] if nw else [item]


def store_cubes(results: Sequence[ItemResult], opts: BatchOptions,
                progress: Callable[[ItemResult], None] | None = None) -> list[ItemResult]:
    """Stack the per-wavelength images of each spectral single-pixel file into its cube
    and store it (``opts.store``): one more result per such file."""
    from .spectral.singlepixel import SpectralImages, load_spectral_single_pixel
    from .spectral.store_cube import store_cube

    by_path: dict[str, list[ItemResult]] = {}
    for r in results:
        if r.selector is not None:
            by_path.setdefault(r.path, []).append(r)
    out = []
    for path, parts in by_path.items():
        parts = sorted(parts, key=lambda r: r.selector)
        failed = [r.selector for r in parts if not r.ok]
        if failed:
            result = ItemResult(path, False, f"{path}: cube not stored: wavelength(s) "
                                f"{', '.join(map(str, failed))} failed", 0.0)
        else:
            try:
                scan = load_spectral_single_pixel(path)
                images = [r.image for r in parts]
                cube = SpectralImages(np.stack([im.image for im in images]),
                                      scan.wavelengths_um, images[0].x_um, images[0].y_um,
                                      images, opts.method)
                stored = store_cube(path, cube, scan) if opts.store else None
                result = ItemResult(path, True, f"cube of {len(parts)} wavelengths" +
                                    (f"; stored {stored}" if stored else ""),
                                    sum(r.seconds for r in parts), kind=scan.kind,
                                    stored=stored)
            except (ValueError, OSError) as exc:
                result = ItemResult(path, False, f"{path}: cube not stored: "
                                    f"{' '.join(str(exc).split())}", 0.0)
        out.append(result)
        _report(progress, result)
    return out


def _report(progress: Callable[[ItemResult], None] | None, result: ItemResult) -> None:
    if progress is not None:
        progress(result)


def _check_where(client: Any, workers: int | None, scheduler: str | None) -> None:
    if workers is not None and (isinstance(workers, bool) or not isinstance(workers, int)
                                or workers < 1):
        raise BatchError(f"workers must be an integer >= 1, got {workers!r}")
    if client is not None and scheduler is not None:
        raise BatchError("give a client or a scheduler, not both")
    if workers is not None and (client is not None or scheduler not in (None, "inline")):
        raise BatchError("workers sets the size of the embedded cluster; a cluster given "
                         "by client or scheduler address has its own workers")


def _run(items: Sequence[WorkItem], todo: list[int], opts: BatchOptions,
         results: dict[int, ItemResult], client: Any, workers: int | None,
         scheduler: str | None, progress: Callable[[ItemResult], None] | None,
         on_ready: Callable[[int], None] | None) -> None:
    if scheduler == "inline":
        if on_ready is not None:
            on_ready(len(todo))
        for index in todo:
            results[index] = reconstruct_item(items[index], opts)
            _report(progress, results[index])
        return
    with _client(client, scheduler, workers or min(len(todo), os.cpu_count() or 1)) as c:
        from distributed import as_completed

        token = secrets.token_hex(4)
        futures = {c.submit(reconstruct_item, items[i], opts, pure=False,
                            key=f"reconstruct-{items[i].name}-{i}-{token}"): i for i in todo}
        if on_ready is not None:
            on_ready(len(futures))
        try:
            for future in as_completed(futures):
                index = futures[future]
                try:
                    result = future.result()
                except Exception as exc:  # noqa: BLE001 - a worker died on it, or cancelled
                    item = items[index]
                    why = " ".join(str(exc).split()) or type(exc).__name__
                    result = ItemResult(item.path, False, f"{item.path}: task failed on the "
                                        f"cluster: {type(exc).__name__}: {why}", 0.0,
                                        item.selector)
                results[index] = result
                _report(progress, result)
        finally:
            c.cancel(list(futures))


@contextmanager
def _client(client: Any, scheduler: str | None, workers: int) -> Iterator[Any]:
    if client is not None:
        yield client
    elif scheduler is not None:
        with _connect(scheduler) as c:
            yield c
    else:
        with local_client(workers) as c:
            yield c


@contextmanager
def local_client(workers: int) -> Iterator[Any]:
    """A client of an embedded ``LocalCluster``: ``workers`` processes, one thread and one
    BLAS thread each, on 127.0.0.1 only, no dashboard; closed on exit.

    The caller's main module must be import-safe (``if __name__ == "__main__":``):
    worker processes are spawned.
    """
    import logging

    from distributed import Client, LocalCluster

    if isinstance(workers, bool) or not isinstance(workers, int) or workers < 1:
        raise BatchError(f"workers must be an integer >= 1, got {workers!r}")
    with LocalCluster(n_workers=workers, processes=True, threads_per_worker=1,
                      host="127.0.0.1", scheduler_port=0, dashboard_address=None,
                      worker_dashboard_address=None, silence_logs=logging.ERROR,
                      env=dict(ONE_THREAD_ENV),  # its HTTP server (health): loopback, any port
                      scheduler_kwargs={"dashboard": False, "dashboard_address": "127.0.0.1:0"}
                      ) as cluster, Client(cluster) as c:
        c.run(_one_blas_thread_now)
        yield c


def _one_blas_thread_now() -> None:
    """On a worker: limit every BLAS library already loaded to one thread, for good."""
    import numpy  # noqa: F401 - loads the BLAS the limit applies to
    from threadpoolctl import threadpool_limits

    os.environ.update(ONE_THREAD_ENV)
    threadpool_limits(limits=1)


@contextmanager
def _connect(scheduler: str) -> Iterator[Any]:
    from distributed import Client

    address = scheduler if "://" in scheduler else f"tcp://{scheduler}"
    host, _, port = address.split("://", 1)[1].rpartition(":")
    if not host or not port.isdigit():
        raise BatchError(f"scheduler {scheduler}: not an address tcp://HOST:PORT")
    try:  # a refused or unroutable address: one line now, not after dask's retries
        socket.create_connection((host.strip("[]"), int(port)), timeout=10).close()
    except OSError as exc:
        raise BatchError(f"scheduler {address}: cannot connect "
                         f"({exc.strerror or exc})") from None
    try:
        c = Client(address, timeout=CONNECT_TIMEOUT_S)
    except (OSError, TimeoutError) as exc:
        raise BatchError(f"scheduler {address}: no dask scheduler answered "
                         f"({' '.join(str(exc).split())})") from None
    try:
        try:
            c.wait_for_workers(1, timeout=WORKER_TIMEOUT_S)
        except TimeoutError:
            raise BatchError(f"scheduler {address}: no worker joined within "
                             f"{WORKER_TIMEOUT_S:g} s (start one: dask worker "
                             f"{address})") from None
        yield c
    finally:
        c.close()
