"""The film's modulation transfer against chopper frequency, from the twin.

Run:  python benchmarks/chopper_transfer.py [--pump-mW 0.5] [--channel 660] [--points 13]

Prints ``|H|`` and the phase lag of the film's MIR response at chopper frequencies
from 10 Hz to 2 kHz (log-spaced), relative to the quasi-static response and to the
simulated lab's 100 Hz reference (what the lab's lock-in sees), then the corner
(``|H| = 0.5``), the thermal time constant of the MIR heating, the mean response
time of the MIR channel and the quasi-static share of each mechanism. Every number
comes from :mod:`imager.twin.modulation` (the twin's linearised rate equations and
the MIR heating's conduction into the CaF2 substrate).
"""

from __future__ import annotations

import argparse
import math

import numpy as np

from imager.sim.twin_film import REFERENCE_CHOPPER_HZ
from imager.twin import Detector, Film
from imager.twin.modulation import channel_band_weights, small_signal_model


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pump-mW", type=float, default=0.5, help="pump power (default 0.5)")
    parser.add_argument("--channel", choices=("660", "ratio"), default="660")
    parser.add_argument("--points", type=int, default=13, help="frequencies from 10 Hz to 2 kHz")
    args = parser.parse_args(argv)
    if not args.pump_mW > 0 or args.points < 2:
        parser.error("--pump-mW must be > 0 and --points >= 2")
    film = Film()
    pump_W = args.pump_mW * 1e-3
    model = small_signal_model(film, pump_W=pump_W)
    weights = channel_band_weights(film, Detector(), args.channel, pump_W=pump_W)
    f_Hz = np.logspace(1.0, math.log10(2000.0), args.points)
    h = model.transfer(f_Hz, weights)
    h_ref = model.transfer(REFERENCE_CHOPPER_HZ, weights)
    print(f"film modulation transfer, {args.channel} channel, pump {args.pump_mW:g} mW, 298 K")
    print(f"{'f_Hz':>9} {'|H|':>7} {'phase_deg':>10} {'|H/H100|':>9} {'phase_rel_deg':>14}")
    for f, value in zip(f_Hz, h, strict=True):
        rel = value / h_ref
        print(f"{f:9.1f} {abs(value):7.4f} {math.degrees(np.angle(value)):10.2f} "
              f"{abs(rel):9.4f} {math.degrees(np.angle(rel)):14.2f}")
    shares = model.mechanism_weights(weights)
    tau_us = model.electronic_time_constant_s(weights) * 1e6
    print(f"corner (|H| = 0.5): {model.corner_frequency_Hz(weights):.1f} Hz")
    print(f"MIR heating: tau_th = {model.thermal_time_constant_s * 1e3:.3f} ms, "
          f"share {shares['heating']:.3f}; MIR channel: mean response time "
          f"{tau_us:.1f} us, share {shares['channel']:.3f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
