"""What a recipe may contain: sections, keys, types, units, ranges and defaults.

The defaults are the simulated USAF-1951 demo. Every key's unit is the suffix
of its name (``_um``, ``_s``, ``_Hz``, ``_mW``, ``_V``, ``_deg``); ``dwell_tc``
counts lock-in time constants.
"""

from __future__ import annotations

from dataclasses import dataclass

from imager.instruments.qcl import TUNE_SETTLE_S, TUNING_RANGE_UM
from imager.instruments.srs import SLOPES_DB_PER_OCT, SR830, SR860
from imager.twin.detection import AMPLIFIER_GAINS_V_PER_A
from imager.twin.limits import PATTERNED_LIMIT_MW, SPOT_LIMIT_MW

#: every full scale some supported lock-in offers (the device refuses one off its own ladder)
_SENSITIVITY_RANGE_V = (min(SR830.ladder_V + SR860.ladder_V), max(SR830.ladder_V + SR860.ladder_V))


@dataclass(frozen=True)
class Field:
    """One recipe key.

    ``kind`` is "float", "int", "str", "bool" or "int_list"; ``lo``/``hi``
    bound numbers (and every element of a list); ``choices`` restricts values.
    """

    kind: str  # "float", "int", "str", "bool", "int_list", "float_list"
    default: object = None
    lo: float | None = None
    hi: float | None = None
    choices: tuple | None = None
    help: str = ""

    def describe_range(self) -> str:
        if self.choices is not None:
            return "one of " + ", ".join(repr(c) for c in self.choices)
        if self.lo is not None and self.hi is not None:
            return f"in [{self.lo:g}, {self.hi:g}]"
        if self.lo is not None:
            return f">= {self.lo:g}"
        if self.hi is not None:
            return f"<= {self.hi:g}"
        return "any value"


TOP_LEVEL: dict[str, Field] = {
    "kind": Field("str", "raster", choices=("raster", "single_pixel", "calibration"),
                  help="what the recipe does"),
    "name": Field("str", "scan", help="short name, used in file names"),
    "description": Field("str", "", help="free text stored with the scan"),
}

# sections every kind of recipe may have
COMMON_SECTIONS: dict[str, dict[str, Field]] = {}

# sections of one kind of recipe
KIND_SECTIONS: dict[str, dict[str, dict[str, Field]]] = {
    "raster": {}, "single_pixel": {}, "calibration": {}}

KIND_SECTIONS["raster"]["scan"] = {
        "x_start_um": Field("float", 12300.0, help="first column position"),
        "x_stop_um": Field("float", 12700.0, help="last column position (inclusive)"),
        "nx": Field("int", 128, 1, 4096, help="number of columns"),
        "y_start_um": Field("float", 12300.0, help="first row position"),
        "y_stop_um": Field("float", 12700.0, help="last row position (inclusive)"),
        "ny": Field("int", 128, 1, 4096, help="number of rows"),
        "order": Field("str", "snake", choices=("snake", "row"), help="raster order"),
        "dwell_s": Field("float", None, 0.0, 3600.0, help="wait after settling, seconds"),
        "dwell_tc": Field("float", None, 0.0, 1000.0, help="wait in lock-in time constants"),
        "mode": Field("str", "step", choices=("step", "fly"),
                      help="step: move, settle, read per pixel; fly: each line one "
                           "constant-velocity move while the lock-in's buffer records"),
        "fly_pixel_tc": Field("float", 1.0, 0.05, 100.0,
                              help="fly: time per pixel in lock-in time constants (sets the "
                                   "velocity)"),
        "stream_rate_Hz": Field("float", 512.0, 0.0625, 512.0,
                                help="fly: lock-in buffer sample rate (the fastest the lock-in "
                                     "offers up to this)"),
        "run_up_tc": Field("float", 6.0, 0.0, 100.0,
                           help="fly: run-up beyond the pixels, in time constants of travel "
                                "(plus the acceleration distance)"),
        "settle_tc": Field("float", 12.0, 0.0, 1000.0,
                           help="fly: lock-in settling at each line's start, time constants"),
        "fly_positions": Field("str", "profile", choices=("profile", "triggers"),
                               help="fly: sample positions from the motion profile fitted to "
                                    "the polled read-backs, or one sample per controller "
                                    "position trigger (K-Cube TRIG OUT -> lock-in TRIG IN)"),
        "deconvolve": Field("bool", True,
                            help="fly: take the lock-in filter's response out before binning"),
}

KIND_SECTIONS["single_pixel"]["single_pixel"] = {
    "basis": Field("str", "hadamard", choices=("hadamard", "fourier", "random"),
                   help="pattern basis (stored as a spec, never as a matrix)"),
    "size": Field("int", 64, 2, 1024, help="patterns are size x size DMD pixels"),
    "ordering": Field("str", None, help="basis ordering (default: zigzag / circular); "
                                         "hadamard also 'adaptive': zigzag first, then the "
                                         "patterns a TV preview of the data predicts strongest"),
    "adaptive_first": Field("float", 0.5, 0.01, 1.0,
                            help="adaptive: share of the patterns taken in zigzag order first"),
    "adaptive_rounds": Field("int", 3, 1, 20,
                             help="adaptive: preview-and-choose rounds for the rest"),
    "ratio": Field("float", 1.0, 1e-4, 1.0, help="sampling ratio, in (0, 1]"),
    "seed": Field("int", 0, 0, 2**31 - 1, help="seed of random orderings/bases"),
    "fov_um": Field("float", 400.0, 1.0, 25000.0, help="field of view on the film"),
    "center_x_um": Field("float", 12500.0, help="stage position held during the scan"),
    "center_y_um": Field("float", 12500.0),
    "dwell_s": Field("float", None, 0.0, 3600.0, help="wait after each pattern, seconds"),
    "dwell_tc": Field("float", None, 0.0, 1000.0, help="wait in lock-in time constants"),
    "readout": Field("str", "reads", choices=("reads", "stream"),
                     help="reads: one lock-in reading per pattern after the dwell; stream: "
                          "the lock-in's buffer records through the pattern sequence and each "
                          "pattern's bucket is fitted with the filter's memory taken out, so "
                          "patterns can be shown at 1-2 time constants"),
    "stream_rate_Hz": Field("float", 512.0, 0.0625, 1e6,
                            help="stream: buffer rate (the fastest the lock-in offers up to "
                                 "this)"),
    "block_patterns": Field("int", 256, 1, 100000,
                            help="stream: patterns per buffer recording (must fit the buffer)"),
    "settle_tc": Field("float", 25.0, 0.0, 1000.0,
                       help="stream: lock-in settling on a block's first pattern, time "
                            "constants"),
}

_WL_LO, _WL_HI = TUNING_RANGE_UM
_SPECTRAL = {  # a spectral scan: imager.plans.spectral, imager.plans.spectral_spi
    "wavelengths_um": Field("float_list", [], _WL_LO, _WL_HI,
                            help="MIR wavelengths to image (the QCL's tuning range); or give "
                                 "start_um, stop_um and step_um"),
    "start_um": Field("float", None, _WL_LO, _WL_HI, help="first wavelength of a range"),
    "stop_um": Field("float", None, _WL_LO, _WL_HI, help="last wavelength (inclusive)"),
    "step_um": Field("float", None, 0.001, _WL_HI - _WL_LO, help="wavelength step"),
    "order": Field("str", "image", choices=("image", "point"),
                   help="image: a whole image per wavelength (one tune each); point: every "
                        "wavelength at each position (a tune per reading, no drift between "
                        "the wavelengths of a pixel)"),
    "settle_s": Field("float", TUNE_SETTLE_S, 0.0, 600.0,
                      help="wait after each tune for the QCL's emission to settle, seconds "
                           "(the grating's move is added: imager.instruments.qcl)"),
    "measure_power": Field("bool", True, help="measure the MIR power at each wavelength with "
                                              "the lab's power meter (recorded in the file)"),
}
KIND_SECTIONS["single_pixel"]["spectral"] = dict(_SPECTRAL)
KIND_SECTIONS["raster"]["spectral"] = {
    **_SPECTRAL,
    "blank_x_um": Field("float", None, help="a sample-free spot read at each wavelength "
                                            "(the spectrum the cube is divided by)"),
    "blank_y_um": Field("float", None),
}

KIND_SECTIONS["calibration"]["calibration"] = {
    "x_um": Field("float", 12500.0, help="measurement position (an open, chart-free spot)"),
    "y_um": Field("float", 12500.0),
    "beam_fwhm_um": Field("float", 500.0, 1.0, 1e5,
                          help="measured MIR beam FWHM at the film; the spot is its centre"),
    "mir_power_mW": Field("float_list", [0.0, 5.0, 10.0, 20.0, 30.0, 40.0, 50.0], 0.0, 500.0,
                          help="MIR power levels (one must be 0: the noise floor)"),
    "repeats": Field("int", 20, 2, 10000, help="readings per level"),
    "settle_tc": Field("float", 10.0, 0.0, 1000.0, help="wait after a change, time constants"),
    "sample_tc": Field("float", 5.0, 0.0, 1000.0, help="wait between readings, time constants"),
    "pump_power_mW": Field("float_list", [], 0.01, 500.0, help="optional pump-power sweep"),
    "mir_wavelength_um": Field("float_list", [], 6.8, 8.6, help="optional spectral sweep"),
    "temperature_K": Field("float_list", [], 77.0, 500.0,
                           help="optional temperature sweep (Boltzmann fit)"),
    "decay": Field("bool", False, help="lifetimes vs MIR power from decay traces"),
    "decay_window_s": Field("float", 2e-3, 1e-6, 1.0, help="decay trace length"),
    "decay_samples": Field("int", 400, 16, 100000, help="samples per decay trace"),
}

# the pump's range depends on how it reaches the film (imager.twin.limits): a focused
# spot (raster, calibration) or the DMD's flat-top field (single-pixel)
for _kind, _limit, _why in (
        ("raster", SPOT_LIMIT_MW, "focused 1 um spot: the film's 20 MW/cm^2"),
        ("calibration", SPOT_LIMIT_MW, "focused 1 um spot: the film's 20 MW/cm^2"),
        ("single_pixel", PATTERNED_LIMIT_MW, "DMD field: the DMD's 2 W/cm^2 on its array")):
    KIND_SECTIONS[_kind]["pump"] = {
        "power_mW": Field("float", 0.5, 0.01, round(_limit, 1),
                          help=f"980 nm pump power (limit: {_why}; imager.twin.limits)"),
    }

COMMON_SECTIONS.update({
    "lockin": {
        "time_constant_s": Field("float", 0.03, 1e-5, 3e4, help="output filter time constant"),
        "sensitivity_V": Field("float", 1e-3, *_SENSITIVITY_RANGE_V, help="full-scale input"),
        "filter_slope_dB_per_oct": Field("int", 12, choices=SLOPES_DB_PER_OCT),
        "reference_phase_deg": Field("float", 0.0, -360.0, 360.0),
    },
    "chopper": {
        "frequency_Hz": Field("float", 100.0, 1.0, 10000.0, help="MIR chopping frequency"),
    },
    "source": {
        "wavelength_um": Field("float", 7.4, 6.8, 8.6, help="QCL wavelength"),
        "power_mW": Field("float", 50.0, 0.0, 500.0, help="MIR power (capped by the lab)"),
    },
    "faults": {  # bounds of the engine's fault handling (imager.engine.faults)
        "max_read_retries": Field("int", 3, 0, 100,
                                  help="retries of a lock-in read that timed out or was garbled"),
        "retry_wait_s": Field("float", 0.5, 0.0, 60.0, help="wait between those retries"),
        "max_reranges": Field("int", 4, 0, 30,
                              help="overload re-measurements per point (ranging up)"),
        "max_unlock_wait_s": Field("float", 60.0, 0.0, 86400.0,
                                   help="pause for a stopped chopper before stopping the scan"),
        "max_power_drop_fraction": Field("float", 0.1, 0.01, 0.9,
                                         help="MIR power drop (vs the scan's start) that "
                                         "pauses the scan (labs with a power meter)"),
        "max_power_wait_s": Field("float", 60.0, 0.0, 86400.0,
                                  help="pause for the MIR power before stopping the scan"),
    },
    "sim": {
        "seed": Field("int", 0, 0, 2**31 - 1, help="noise seed (per point)"),
        "chart": Field("str", "usaf1951",
                       help="usaf1951, siemens_star, knife_edge, chemical (polymer films, "
                            "spectral), open (no chart) or an image file"),
        "chart_width_um": Field("float", 400.0, 1.0, 25000.0, help="star/image width"),
        "usaf_groups": Field("int_list", [5, 6, 7], -2, 9, help="USAF-1951 groups drawn"),
        "chart_center_x_um": Field("float", 12500.0, 0.0, 25000.0),
        "chart_center_y_um": Field("float", 12500.0, 0.0, 25000.0),
        "mir_beam_fwhm_um": Field("float", 500.0, 1.0, 1e5, help="MIR beam FWHM at the film"),
        "pump_fwhm_um": Field("float", 1.0, 0.1, 1000.0, help="focused pump spot FWHM"),
        "noise": Field("bool", True, help="add detector, amplifier and MIR noise"),
        "channel": Field("str", "660", choices=("660", "ratio"),
                         help="photodiode channel: 660 nm band-pass or 525/545 ratio"),
        "temperature_K": Field("float", 298.0, 77.0, 500.0, help="sample stage temperature"),
        "mir_power_rel_rms": Field("float", 0.01, 0.0, 0.5,
                                   help="MIR source power fluctuation, relative rms "
                                        "(correlated over 1 s; the paper: < 3 %)"),
        "reference_channel": Field("bool", False,
                                   help="MIR reference detector on a beam pick-off, on a "
                                        "second lock-in; readings are normalised by it"),
        "detector_gain_V_per_A": Field("float", 5e8, choices=AMPLIFIER_GAINS_V_PER_A,
                                       help="photodiode amplifier gain (1-2-5 ladder, 1e3-1e12 "
                                            "V/A); higher: less noise, less bandwidth, "
                                            "saturates sooner at the 10 V output swing"),
    },
})
