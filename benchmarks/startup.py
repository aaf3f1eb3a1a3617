"""Start-up time of the ``mirimager`` command: ``--help``, a one-line error, ``info FILE``.

Run:  python benchmarks/startup.py [--repeats 7]

Each command runs in a fresh process ``--repeats`` times (after one warm-up run that
fills the OS file cache); the table gives the median wall time, the share of it that is
the bare interpreter start (``python -c pass``, measured in the same run), and whether it
meets the target (< 0.5 s). A small raster file for ``info`` is written first (16 x 16
points, simulated lab) in a temporary folder. Two further lines measure what
``info`` spends in the file probe (``imager/cli/probe.py``: a forked child reads the
file first so a corrupt file cannot hang the terminal): ``info`` with the probe turned
off (``MIRIMAGER_PROBE_TIMEOUT_S=0``), and the probe alone timed in-process.

Reference (2-core machine, idle): ``import reconstruction`` took 0.64 s before the
package was made lazy (matplotlib, SciPy and h5py at import); after: ``--help`` ~0.04 s,
a one-line error ~0.15-0.25 s (NumPy through the recipe module), ``info FILE`` ~0.25 s
(NumPy + h5py), the probe ~20 ms of it.
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

TARGET_S = 0.5

_PROBE_ALONE = """
import statistics, sys, time
from reconstruction import load_raster  # what `info` has imported before it probes
from imager.cli import probe
times = []
for _ in range(int(sys.argv[2])):
    probe._passed.clear()  # (a file that passed is not probed again in one process)
    t0 = time.perf_counter()
    probe.probe_scan_file(sys.argv[1])
    times.append(time.perf_counter() - t0)
print(statistics.median(times))
"""


def _mirimager() -> list[str]:
    """The installed console script next to this interpreter (what a user runs)."""
    script = Path(sys.executable).with_name("mirimager")
    if script.exists():
        return [str(script)]
    found = shutil.which("mirimager")
    return [found] if found else [sys.executable, "-m", "imager"]


def time_command(argv: list[str], repeats: int, env: dict[str, str] | None = None,
                 cwd: str | None = None) -> float:
    """Median wall time (s) of ``argv`` in a fresh process, after one warm-up run."""
    times = []
    for k in range(repeats + 1):
        t0 = time.perf_counter()
        subprocess.run(argv, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                       stderr=subprocess.DEVNULL, env=env, cwd=cwd, check=False)
        if k:
            times.append(time.perf_counter() - t0)
    return statistics.median(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=7, help="runs per command (median)")
    args = parser.parse_args()
    tool = _mirimager()
    with tempfile.TemporaryDirectory() as tmp:
        scan = Path(tmp) / "s.h5"
        subprocess.run([*tool, "demo", "--size", "16", "--no-progress", "-o", str(scan)],
                       check=True, stdout=subprocess.DEVNULL, cwd=tmp)
        no_probe = {**os.environ, "MIRIMAGER_PROBE_TIMEOUT_S": "0"}
        rows = [
            ("python -c pass", [sys.executable, "-c", "pass"], None),
            ("python -c 'import reconstruction'",
             [sys.executable, "-c", "import reconstruction"], None),
            ("mirimager --help", [*tool, "--help"], None),
            ("mirimager scan missing.toml (one-line error)", [*tool, "scan", "missing.toml"],
             None),
            ("mirimager info missing.h5 (one-line error)", [*tool, "info", "missing.h5"], None),
            ("mirimager info FILE", [*tool, "info", str(scan)], None),
            ("mirimager info FILE, probe off", [*tool, "info", str(scan)], no_probe),
        ]
        medians = {label: time_command(argv, args.repeats, env, tmp)
                   for label, argv, env in rows}
        probe_s = float(subprocess.run(
            [sys.executable, "-c", _PROBE_ALONE, str(scan), str(args.repeats)],
            check=True, capture_output=True, text=True).stdout)
    bare = medians["python -c pass"]
    print(f"start-up, median of {args.repeats} fresh processes (target < {TARGET_S} s)")
    print(f"{'command':<48} {'wall s':>7} {'interp.':>8}  target")
    for label, wall in medians.items():
        ok = "" if label.startswith("python") else ("ok" if wall < TARGET_S else "SLOW")
        print(f"{label:<48} {wall:7.3f} {bare / wall:8.0%}  {ok}")
    info = medians["mirimager info FILE"]
    print(f"file probe in info: {probe_s * 1e3:.1f} ms in-process (fork + child reads), "
          f"{probe_s / info:.0%} of info; info with it off: "
          f"{medians['mirimager info FILE, probe off']:.3f} s")


if __name__ == "__main__":
    main()
