"""``mirimager info``: what a scan file holds, no hardware needed.

Kind, size, status, points done, times, settings and the event log of any
mirimager file (raster, single-pixel, spectral), as text or ``--json``.
"""

from __future__ import annotations

import json

from imager.cli import spectral_files
from imager.cli.common import probe, short
from imager.cli.main import UserError


def add_info(sub) -> None:
    p = sub.add_parser("info", help="describe a scan file",
                       description="Kind, size, status, points done, times, settings and the "
                       "event log (faults, retries, pauses) of a scan file.")
    p.add_argument("file", metavar="FILE", help="scan file (.h5)")
    p.add_argument("--json", action="store_true", help="machine-readable output")
    p.add_argument("--events", action="store_true",
                   help="list every event (default: the last 10)")
    p.set_defaults(func=cmd_info)


def cmd_info(args) -> int:
    import dataclasses

    probe(args.file)
    from reconstruction import ScanFileError, load_raster
    from reconstruction.events import (
        format_change,
        format_event,
        load_events,
        load_setting_changes,
        summarize_events,
    )
    from reconstruction.spifile import load_single_pixel, scan_kind

    kind = scan_kind(args.file)
    size = None
    if kind in spectral_files.SPECTRAL_KINDS:
        scan, order, size, x_range, y_range = spectral_files.info_scan(args.file, kind)
    elif kind == "single_pixel":
        scan = load_single_pixel(args.file)
        spec = scan.basis_spec
        order = ", ".join(f"{k}={v}" for k, v in spec.items()
                          if k not in ("kind", "size", "index"))
        if "index" in spec:  # adaptive: the coefficients chosen (-1: not yet)
            chosen = sum(1 for i in spec["index"] if i >= 0)
            order += f", coefficients chosen {chosen}/{len(spec['index'])}"
        order = f"{spec['kind']} basis: {order}"
    elif kind == "calibration":
        raise UserError(f"{args.file}: a calibration file; 'mirimager calibrate' printed its "
                        "summary (read it with reconstruction.calibration.load_calibration)")
    else:
        scan = load_raster(args.file)
        order = scan.order
        if scan.scan_attrs.get("mode") == "fly":
            a = scan.scan_attrs
            order += (f"; fly scan at {float(a.get('velocity_um_per_s', float('nan'))):.4g} um/s, "
                      f"lock-in buffer {float(a.get('stream_rate_Hz', float('nan'))):g} Hz")
    if size is None:
        size = {"nx": len(scan.x_um), "ny": len(scan.y_um)}
        x_range = [float(scan.x_um[0]), float(scan.x_um[-1])]
        y_range = [float(scan.y_um[0]), float(scan.y_um[-1])]
    info = {
        "file": str(args.file),
        "kind": scan.kind,
        "size": size,
        "x_um": x_range,
        "y_um": y_range,
        "order": order,
        "exit_status": scan.exit_status,
        "error_message": scan.attrs.get("error_message", ""),
        "points_done": scan.points_done,
        "points_total": scan.points_total,
        "start_time": scan.attrs.get("start_time", ""),
        "end_time": scan.attrs.get("end_time", ""),
        "settings": scan.settings,
        "has_truth": scan.truth_V is not None,
    }
    stored = []
    if kind in ("single_pixel", "spectral_single_pixel"):
        from reconstruction.nxprocess import stored_reconstructions

        try:
            stored = stored_reconstructions(args.file)
            info["reconstructions"] = [dataclasses.asdict(r) for r in stored]
        except ScanFileError as exc:
            info["reconstructions_error"] = str(exc)
    try:
        events = load_events(args.file)
        info["events"] = [dataclasses.asdict(e) for e in events]
    except ScanFileError as exc:  # show the rest of the file anyway
        events, info["events_error"] = [], str(exc)
    try:
        changes = load_setting_changes(args.file)
        info["settings_changes"] = [dataclasses.asdict(c) for c in changes]
    except ScanFileError as exc:
        changes, info["settings_changes_error"] = [], str(exc)
    if args.json:
        print(json.dumps(info, indent=2, default=_json_default))
        return 0
    nx, ny = info["size"]["nx"], info["size"]["ny"]
    print(f"file:     {info['file']}")
    print(f"kind:     {info['kind']} ({info['order']}), {nx} x {ny} points, "
          f"x {info['x_um'][0]:g}..{info['x_um'][1]:g} um, "
          f"y {info['y_um'][0]:g}..{info['y_um'][1]:g} um")
    print(f"status:   {info['exit_status']}"
          + (f" ({info['error_message']})" if info["error_message"] else ""))
    unit = {"single_pixel": "patterns", "spectral": "readings",
            "spectral_single_pixel": "patterns"}.get(kind, "points")
    print(f"{unit + ':':<10}{info['points_done']}/{info['points_total']} done")
    print(f"time:     {info['start_time']} -> {info['end_time'] or '(not ended)'}")
    for device, settings in sorted(info["settings"].items()):
        items = ", ".join(f"{k}={short(v)}" for k, v in sorted(settings.items())
                          if k != "NX_class")
        print(f"{device + ':':<10}{items}" if len(device) < 9 else f"{device}: {items}")
    if scan.truth_V is not None:
        print("truth:    noise-free expected image stored (simulated scan)")
    if stored or "reconstructions_error" in info:
        print(f"images:   {info.get('reconstructions_error') or f'{len(stored)} stored'}")
        for stored_one in stored:
            print(f"          {stored_one.summary()}")
    if changes or "settings_changes_error" in info:
        print(f"changes:  {info.get('settings_changes_error') or f'{len(changes)} setting(s)'}")
        for change in changes:
            print(f"          {format_change(change)}")
    print(f"events:   {info.get('events_error') or summarize_events(events)}")
    shown = events if args.events or len(events) <= 10 else events[-10:]
    if len(shown) < len(events):
        print(f"          ... {len(events) - len(shown)} earlier (--events shows all)")
    for event in shown:
        print(f"          {format_event(event)}")
    return 0


def _json_default(value):
    import numpy as np

    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, np.ndarray):
        return value.tolist()
    if isinstance(value, bytes):
        return value.decode("utf-8", errors="backslashreplace")
    return str(value)
