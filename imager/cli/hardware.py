"""Sub-commands on the lab and its physics twin: emulate, devices, paper."""

from __future__ import annotations

from pathlib import Path

from imager.cli.common import check_can_create, check_seed, short
from imager.cli.main import UserError


def add_emulate(sub) -> None:
    p = sub.add_parser(
        "emulate", help="start the emulated lab (real wire protocols, simulated physics)",
        description="Start the physics twin behind real wire protocols: two Thorlabs APT "
        "controllers on ptys (x, y), an SRS lock-in on loopback TCP and on a pty, an MC2000B "
        "chopper on a pty and a PM100D power meter on loopback TCP. With --faults, fires "
        "instrument faults on a timetable (fault-handling drills). Writes a lab configuration "
        "pointing at them (use it with "
        "'mirimager devices --lab' and 'mirimager scan --lab') and runs until Ctrl-C.",
    )
    p.add_argument("--lockin", choices=("SR830", "SR860"), default="SR830")
    p.add_argument("--controller", choices=("KDC101", "TDC001"), default="KDC101",
                   help="APT controller per axis (default KDC101)")
    p.add_argument("--stage", default="MTS25-Z8", help="stage model (default MTS25-Z8)")
    p.add_argument("--lockin-via", choices=("tcp", "pty"), default="tcp",
                   help="lock-in address written to the lab configuration (default tcp)")
    p.add_argument("--config-out", metavar="LAB.toml", default="emulated_lab.toml",
                   help="where to write the lab configuration (default ./emulated_lab.toml; "
                        "a file an earlier 'emulate' wrote is replaced, any other is not)")
    p.add_argument("--overwrite", action="store_true",
                   help="replace --config-out even if 'emulate' did not write it")
    p.add_argument("--chart", default="usaf1951",
                   help="chart: usaf1951, siemens_star, open or an image file")
    p.add_argument("--mir-power-mW", type=float, default=50.0, dest="mir_power_mW",
                   help="MIR power of the twin's QCL, mW (default 50)")
    p.add_argument("--seed", type=int, default=0, help="noise seed")
    p.add_argument("--reference-channel", action="store_true",
                   help="a MIR reference detector on a pick-off of the beam, on a second "
                        "lock-in (loopback TCP; [reference_lockin] in the configuration)")
    p.add_argument("--fast-stages", action="store_true",
                   help="stages 20x faster than an MTS25-Z8 (quick dry runs)")
    p.add_argument("--faults", metavar="SCHEDULE", default="",
                   help="faults to fire, seconds after start: comma-separated KIND@T[+D][xN]"
                   "[=F], KIND one of lockin-timeout, lockin-garbled, lockin-disconnect, "
                   "overload, chopper-stop, stage-error, limit-switch, power-drop; e.g. "
                   "'chopper-stop@30+5,power-drop@60+10=0.5' (D: duration, s; N: count; "
                   "F: remaining power fraction)")
    p.set_defaults(func=cmd_emulate)


def cmd_emulate(args) -> int:
    import signal
    import threading

    from imager.emulators.bench import start_emulated_bench
    from imager.emulators.fault_schedule import FaultRunner, parse_fault_schedule
    from imager.sim.lab import SimConfig
    from stages.simulated import StageDynamics

    if not 0.0 <= args.mir_power_mW <= 500.0:
        raise UserError(f"--mir-power-mW: must be in [0, 500] mW, got {args.mir_power_mW:g}")
    check_seed(args.seed)
    try:
        schedule = parse_fault_schedule(args.faults)
    except ValueError as exc:
        raise UserError(str(exc)) from None
    config = SimConfig(seed=args.seed, chart=args.chart, chart_width_um=400.0,
                       reference_channel=args.reference_channel)
    dynamics = (StageDynamics(velocity_um_per_s=48000.0, acceleration_um_per_s2=600000.0,
                              settle_s=0.005) if args.fast_stages else None)
    out = Path(args.config_out)
    _check_config_out(out, args.overwrite)
    try:
        bench = start_emulated_bench(config, lockin_model=args.lockin,
                                     controller=args.controller, stage=args.stage,
                                     dynamics=dynamics)
    except (ValueError, OSError) as exc:
        raise UserError(str(exc)) from None
    stop = threading.Event()
    previous = {s: signal.signal(s, lambda *_: stop.set()) for s in (signal.SIGINT,
                                                                     signal.SIGTERM)}
    runner = None
    try:
        bench.lab.source.power_mW = args.mir_power_mW
        text = bench.lab_config_toml(lockin_via=args.lockin_via)
        try:
            out.write_text(text)
        except OSError as exc:
            raise UserError(f"{out}: cannot write: {exc.strerror or exc}") from None
        print(text)
        if schedule:
            runner = FaultRunner(bench, schedule, report=lambda m: print(m, flush=True)).start()
            print(f"{len(schedule)} fault(s) scheduled: " + ", ".join(
                f"{f.describe()} at {f.at_s:g} s" for f in schedule))
        print(f"lab configuration written to {out}; Ctrl-C to stop", flush=True)
        while not stop.wait(0.5):
            pass
    finally:
        for s, handler in previous.items():
            signal.signal(s, handler)
        if runner is not None:
            runner.stop()
        bench.close()
        print("emulated lab stopped")
    return 0


#: first line of every lab configuration 'emulate' writes (imager/emulators/bench.py)
EMULATED_CONFIG_MARK = "# Emulated lab (mirimager emulate)"


def _check_config_out(out: Path, overwrite: bool) -> None:
    """Before the emulators start: --config-out can be written and, if it exists, is a
    configuration an earlier 'emulate' wrote (or --overwrite is given)."""
    check_can_create(out)
    if out.is_dir():
        raise UserError(f"{out}: is a folder; --config-out names a file")
    if out.exists() and not overwrite:
        try:
            with out.open(encoding="utf-8", errors="replace") as f:
                first = f.readline()
        except OSError as exc:
            raise UserError(f"{out}: cannot read: {exc.strerror or exc}") from None
        if not first.startswith(EMULATED_CONFIG_MARK):
            raise UserError(f"{out}: file exists and was not written by 'mirimager emulate'; "
                            "not overwritten (give --overwrite to replace it)")


def add_devices(sub) -> None:
    p = sub.add_parser(
        "devices", help="check that each device of a lab configuration answers",
        description="Open every device of a lab configuration and print its identity and "
        "state. Nothing moves. Exit status 1 if any device does not answer.",
    )
    p.add_argument("--lab", metavar="LAB.toml", required=True, help="lab configuration")
    p.set_defaults(func=cmd_devices)


def cmd_devices(args) -> int:
    from imager.labconfig import HardwareLab, load_lab_config
    from imager.recipes import RecipeError

    config = load_lab_config(args.lab)
    print(f"lab: {config['name']} ({args.lab})")
    try:
        lab = HardwareLab(config)
    except RecipeError:  # a named driver class that does not fit: one line, exit 2
        raise
    except Exception as exc:  # noqa: BLE001 - reported, exit status 1
        print(f"FAILED to open the lab: {type(exc).__name__}: {exc}")
        return 1
    failures = 0
    with lab:
        for name, device in lab.instruments().items():
            try:
                identity = device.identify() if hasattr(device, "identify") else ""
                state = device.settings()
                if hasattr(device, "position_um"):
                    state = {"position_um": round(device.position_um(), 3), **state}
                items = ", ".join(f"{k}={short(v)}" for k, v in state.items()
                                  if not k.endswith("_source"))
                print(f"{name + ':':<9} ok   {identity.strip()}")
                print(f"{'':<14}{items}")
            except Exception as exc:  # noqa: BLE001 - every device gets its line
                failures += 1
                print(f"{name + ':':<9} FAIL {type(exc).__name__}: {exc}")
    return 1 if failures else 0


def add_paper(sub) -> None:
    p = sub.add_parser(
        "paper", help="regenerate the paper's figures from the physics twin",
        description="Redraw from the rate-equation twin the figures a reader of the paper would "
        "check (thermal baseline 2c, MIR off/on bands 2d, lifetimes and Delta K 2f/2g, ratio "
        "vs pump 3b, ratio vs MIR power 3e, spectral response 3g), the paper's values marked.",
    )
    p.add_argument("outdir", metavar="OUTDIR", help="folder for the PNG files")
    p.add_argument("--overwrite", action="store_true",
                   help="replace figures already in OUTDIR (default: refuse, exit 2)")
    p.set_defaults(func=cmd_paper)


def cmd_paper(args) -> int:
    from imager.twin.paper import make_paper_figures

    check_can_create(Path(args.outdir) / "figure.png", name=args.outdir)
    try:
        paths = make_paper_figures(args.outdir, overwrite=args.overwrite)
    except FileExistsError as exc:
        raise UserError(f"{exc.filename}: file exists; not overwritten (give --overwrite to "
                        "replace the figures, or choose another folder)") from None
    except OSError as exc:
        name = exc.filename or args.outdir
        raise UserError(f"{name}: cannot write: {exc.strerror or exc}") from None
    for path in paths:
        print(path)
    return 0
