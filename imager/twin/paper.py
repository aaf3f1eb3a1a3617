"""Redraw, from the twin, the figures a reader of the paper would check.

:func:`make_paper_figures` writes one PNG per figure panel: thermal baseline
(2c), MIR off/on bands and ratio (2d), lifetimes (2f) and Delta K (2g) against
MIR power, ratio against pump power (3b) and MIR power (3e), and the spectral
response (3g). Every curve is computed by the model; the paper's numbers are
drawn as separate markers labelled "paper". Conditions follow
:mod:`imager.twin.fit`: the MIR off/on panels use the film temperature at which
the MIR-off ratio is the paper's 0.32 (``T_2d``), MIR heating included.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import numpy as np
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from matplotlib.patches import Patch

from imager.twin.analysis import fit_boltzmann, fit_line
from imager.twin.constants import BANDS
from imager.twin.detection import Detector, channel_response
from imager.twin.film import DEFAULT_PUMP_W, MIR_ON_POWER_W, MIR_ON_WAVELENGTH_UM, Film
from imager.twin.fit import PAPER

#: The paper the twin is fitted to and these figures redraw, as this repository records
#: it. Its title, authors and year are not recorded here (nor in the design notes the
#: project was built from): fill them in where known; every figure and the README
#: print this line.
PAPER_REFERENCE = ("the paper behind the design notes (NaYF4:20%Yb/2%Er nanocrystal film on "
                   "CaF2, 980 nm pump, CW QCL MIR at 7.4 µm); title, authors and year not "
                   "recorded in this repository")

BAND_COLOURS = {"525": "#2ca02c", "545": "#8fbc1f", "660": "#d62728"}
PAPER_STYLE = {"marker": "*", "s": 160, "color": "black", "edgecolor": "white", "zorder": 5}
ENBW_30MS_12DB_HZ = 1.0 / (8 * 0.03)
"""Lock-in ENBW at the default settings (30 ms, 12 dB/oct): 1/(8 tau)."""
LOCKIN_INPUT_NOISE_V_PER_RTHZ = 6e-9


def _save(fig: Figure, path: Path) -> Path:
    fig.tight_layout(rect=(0.0, 0.05, 1.0, 1.0))
    fig.text(0.01, 0.012, f"Stars: values of {PAPER_REFERENCE}. Curves: the rate-equation "
             "twin (imager.twin).", fontsize=6.5, color="0.3", ha="left", va="bottom", wrap=True)
    FigureCanvasAgg(fig)
    fig.savefig(path, dpi=130)
    return path


def _mir_powers_W(n: int = 11) -> np.ndarray:
    return np.linspace(0.0, MIR_ON_POWER_W, n)


def fig_2c(film: Film, path: Path) -> Path:
    """ln R against 1/T with the Boltzmann fit; band emission against T."""
    temps = np.arange(280.0, 361.0, 10.0)
    ratios = np.array([film.ratio(t) for t in temps])
    fit = fit_boltzmann(temps, ratios)
    fig = Figure(figsize=(10, 4.2))
    ax = fig.add_subplot(1, 2, 1)
    inv = 1000.0 / temps
    ax.plot(inv, np.log(ratios), "o", color="#1f77b4", label="twin (MIR off)")
    ax.plot(inv, np.log(fit.ratio(temps)), "-", color="#1f77b4", alpha=0.6,
            label=f"Boltzmann fit: apparent gap {fit.gap_cm1:.0f} cm$^{{-1}}$, "
                  f"$R^2$ = {fit.r_squared:.4f}")
    paper_t = np.array([298.0, 338.0])
    ax.scatter(1000.0 / paper_t, np.log([PAPER["ratio_298K"], PAPER["ratio_338K"]]),
               label="paper (0.28 at 298 K, 0.38 at 338 K)", **PAPER_STYLE)
    ax.set_xlabel("1000 / T (1/K)")
    ax.set_ylabel("ln R,  R = I$_{525}$ / I$_{545}$")
    ax.set_title("Fig. 2c: thermal baseline of the ratio")
    ax.legend(fontsize=8)
    ax2 = fig.add_subplot(1, 2, 2)
    em = [film.emission(t) for t in temps]
    for b in BANDS:
        values = np.array([e[b] for e in em])
        ax2.plot(temps, values / values[0], "o-", color=BAND_COLOURS[b], label=f"{b} nm")
    ax2.set_xlabel("temperature (K)")
    ax2.set_ylabel(f"band emission / value at {temps[0]:.0f} K")
    ax2.set_title("all bands dim as the film warms (twin)")
    ax2.legend(fontsize=8)
    return _save(fig, path)


def fig_2d(film: Film, t_2d: float, path: Path) -> Path:
    """Band emission with the MIR off, on, heat only; ratios with the paper's."""
    on = film.mir_on_W_per_um2
    states = {"MIR off": film.emission(t_2d),
              "MIR on": film.emission(t_2d, DEFAULT_PUMP_W, on),
              "heating only": film.emission(t_2d, DEFAULT_PUMP_W, on, mir_channel=False)}
    norm = states["MIR off"]["545"]
    fig = Figure(figsize=(10, 4.2))
    ax = fig.add_subplot(1, 2, 1)
    x = np.arange(len(BANDS))
    width = 0.27
    shades = {"MIR off": 0.45, "MIR on": 1.0, "heating only": 0.2}
    for i, (name, e) in enumerate(states.items()):
        ax.bar(x + (i - 1) * width, [e[b] / norm for b in BANDS], width, label=name,
               color=[BAND_COLOURS[b] for b in BANDS], alpha=shades[name],
               edgecolor="black", hatch="//" if name == "heating only" else None)
    ax.set_xticks(x, [f"{b} nm" for b in BANDS])
    ax.set_ylabel("band emission / 545 nm with MIR off")
    ax.set_title(f"Fig. 2d: bands, MIR off/on (stage {t_2d:.0f} K, 7.4 µm)")
    handles = [Patch(facecolor="0.5", alpha=shades[n], edgecolor="black",
                     hatch="//" if n == "heating only" else None, label=n) for n in states]
    ax.legend(handles=handles, fontsize=8)
    ax2 = fig.add_subplot(1, 2, 2)
    names = list(states)
    ratios = [states[n]["525"] / states[n]["545"] for n in names]
    ax2.bar(names, ratios, color=["#9ecae1", "#1f77b4", "#c6dbef"], edgecolor="black",
            label="twin")
    ax2.scatter([0, 1], [PAPER["ratio_mir_off"], PAPER["ratio_mir_on"]],
                label="paper (0.32 off, 1.48 on)", **PAPER_STYLE)
    for i, r in enumerate(ratios):
        ax2.text(i, 0.5 * r, f"{r:.2f}", ha="center", va="center", fontsize=10,
                 color="white" if r > 1 else "black")
    ax2.set_ylabel("R = I$_{525}$ / I$_{545}$")
    ax2.set_title(f"ratio; MIR on = {on * 1e6:.1f} µW/µm$^2$ (50 mW)")
    ax2.legend(fontsize=8, loc="upper left")
    return _save(fig, path)


def _lifetime_sweep(film: Film, t_2d: float) -> tuple[np.ndarray, dict[str, np.ndarray]]:
    powers = _mir_powers_W()
    scale = film.mir_on_W_per_um2 / MIR_ON_POWER_W
    rows = [film.lifetimes(t_2d, DEFAULT_PUMP_W, p * scale) for p in powers]
    return powers, {b: np.array([r[b] for r in rows]) for b in BANDS}


def fig_2f(powers: np.ndarray, taus: dict[str, np.ndarray], path: Path) -> Path:
    """Fitted lifetimes against MIR power, absolute and relative."""
    fig = Figure(figsize=(10, 4.2))
    ax = fig.add_subplot(1, 2, 1)
    ax2 = fig.add_subplot(1, 2, 2)
    mw = powers * 1e3
    for b in BANDS:
        ax.plot(mw, taus[b] * 1e6, "o-", color=BAND_COLOURS[b], label=f"{b} nm (twin)")
        ax2.plot(mw, taus[b] / taus[b][0], "o-", color=BAND_COLOURS[b], label=f"{b} nm (twin)")
    ax2.scatter([50.0] * 3, [1.0 - PAPER["lifetime_change"][b] for b in BANDS],
                label="paper: -8.9, -24, -48.2 % at 50 mW", **PAPER_STYLE)
    ax.set_ylabel("lifetime (µs)")
    ax2.set_ylabel("lifetime / lifetime without MIR")
    for a in (ax, ax2):
        a.set_xlabel("MIR power at 7.4 µm (mW)")
        a.legend(fontsize=8)
    ax.set_title("Fig. 2f: lifetimes (single-exp. fit, 0-2 ms)")
    ax2.set_title("relative lifetime")
    return _save(fig, path)


def fig_2g(powers: np.ndarray, taus: dict[str, np.ndarray], path: Path) -> Path:
    """Delta K = 1/tau - 1/tau0 against MIR power, with straight-line fits."""
    fig = Figure(figsize=(6.2, 4.4))
    ax = fig.add_subplot(1, 1, 1)
    mw = powers * 1e3
    for b in BANDS:
        dk_rel = taus[b][0] / taus[b] - 1.0  # Delta K * tau0
        line = fit_line(mw, dk_rel)
        ax.plot(mw, dk_rel, "o", color=BAND_COLOURS[b], label=f"{b} nm twin")
        ax.plot(mw, line.slope * mw + line.intercept, "-", color=BAND_COLOURS[b], alpha=0.5,
                label=f"{b} nm line, $R^2$ = {line.r_squared:.3f}")
    change = PAPER["lifetime_change"]
    ax.scatter([50.0] * 3, [change[b] / (1.0 - change[b]) for b in BANDS],
               label="paper (from the 50 mW lifetime changes)", **PAPER_STYLE)
    ax.set_xlabel("MIR power at 7.4 µm (mW)")
    ax.set_ylabel(r"$\Delta K \cdot \tau_0 = \tau_0/\tau - 1$")
    ax.set_title(r"Fig. 2g: MIR-induced decay rate $\Delta K$")
    ax.legend(fontsize=7)
    return _save(fig, path)


def fig_3b(film: Film, path: Path) -> Path:
    """Ratio and band emission against pump power."""
    pumps = np.geomspace(10e-6, 1000e-6, 13)
    fig = Figure(figsize=(10, 4.2))
    ax = fig.add_subplot(1, 2, 1)
    ratios = np.array([film.ratio(298.0, p) for p in pumps])
    ax.semilogx(pumps * 1e6, ratios, "o-", color="#1f77b4", label="twin, 298 K, MIR off")
    ref = PAPER["ratio_298K"]
    lo, hi = PAPER["pump_range_W"]
    ax.errorbar([lo * 1e6, hi * 1e6], [ref, ref], yerr=0.05 * ref, fmt="none", ecolor="black",
                capsize=6, zorder=4)
    ax.scatter([lo * 1e6, hi * 1e6], [ref, ref],
               label="paper: R(298 K) = 0.28, within 5 % over 10-1000 µW", **PAPER_STYLE)
    ax.set_ylim(0.8 * ref, 1.2 * ref)
    ax.set_xlabel("pump power (µW)")
    ax.set_ylabel("R = I$_{525}$ / I$_{545}$")
    ax.set_title("Fig. 3b: ratio vs pump power")
    ax.legend(fontsize=8)
    ax2 = fig.add_subplot(1, 2, 2)
    wide = np.geomspace(10e-6, 500e-3, 25)
    em = [film.emission(298.0, p) for p in wide]
    for b in BANDS:
        ax2.loglog(wide * 1e3, [e[b] for e in em], "-", color=BAND_COLOURS[b], label=f"{b} nm")
    guide = np.array([wide[0], wide[6]])
    ax2.loglog(guide * 1e3, em[0]["660"] * (guide / guide[0]) ** 2, "k--", label="slope 2")
    ax2.set_xlabel("pump power (mW)")
    ax2.set_ylabel("emission (photons/s per Er ion)")
    ax2.set_title("pump law: quadratic, then saturating (twin)")
    ax2.legend(fontsize=8)
    return _save(fig, path)


def fig_3e(film: Film, t_2d: float, path: Path) -> Path:
    """Ratio against MIR power: linear, and heating alone for comparison."""
    powers = _mir_powers_W()
    scale = film.mir_on_W_per_um2 / MIR_ON_POWER_W
    both = np.array([film.ratio(t_2d, DEFAULT_PUMP_W, p * scale) for p in powers])
    heat = np.array([film.ratio(t_2d, DEFAULT_PUMP_W, p * scale, mir_channel=False)
                     for p in powers])
    line = fit_line(powers * 1e3, both)
    fig = Figure(figsize=(6.2, 4.4))
    ax = fig.add_subplot(1, 1, 1)
    mw = powers * 1e3
    ax.plot(mw, both, "o", color="#1f77b4", label="twin: MIR channel + heating")
    ax.plot(mw, line.slope * mw + line.intercept, "-", color="#1f77b4", alpha=0.5,
            label=f"line, $R^2$ = {line.r_squared:.4f}")
    ax.plot(mw, heat, "s--", color="#ff7f0e", label="twin: heating only")
    ax.scatter([0.0, 50.0], [PAPER["ratio_mir_off"], PAPER["ratio_mir_on"]],
               label="paper (0.32 -> 1.48)", **PAPER_STYLE)
    ax.set_xlabel("MIR power at 7.4 µm (mW)")
    ax.set_ylabel("R = I$_{525}$ / I$_{545}$")
    ax.set_title(f"Fig. 3e: ratio vs MIR power (stage {t_2d:.0f} K)")
    ax.legend(fontsize=8)
    return _save(fig, path)


def fig_3g(film: Film, detector: Detector, path: Path) -> Path:
    """Spectral response: absorption over the band, lock-in response and detection limit."""
    fig = Figure(figsize=(10, 4.2))
    ax = fig.add_subplot(1, 2, 1)
    lam = np.linspace(3.5, 12.0, 300)
    ax.plot(lam, film.absorption(lam), "-", color="0.4", label="twin: absorption A(lambda)")
    qcl = np.linspace(*PAPER["qcl_range_um"], 10)
    slopes = np.array([channel_response(film, detector, "660", 298.0, DEFAULT_PUMP_W, x)
                       .slope_V_per_W_per_um2 for x in qcl])
    ref = channel_response(film, detector, "660", 298.0, DEFAULT_PUMP_W, MIR_ON_WAVELENGTH_UM)
    ax.plot(qcl, slopes / ref.slope_V_per_W_per_um2, "o", color="#d62728",
            label="twin: lock-in response (660 nm), QCL range")
    lo, hi = PAPER["absorption_band_um"]
    ax.scatter([lo, hi], [film.absorption(lo), film.absorption(hi)],
               label="paper: absorption band edges 4.6, 10.5 µm", **PAPER_STYLE)
    ax.axvspan(*PAPER["qcl_range_um"], color="0.9", label="QCL tuning range")
    ax.set_xlabel("MIR wavelength (µm)")
    ax.set_ylabel("relative response (1 at 7.4 µm)")
    ax.set_title("Fig. 3g: spectral response")
    ax.legend(fontsize=7, loc="lower center")
    ax2 = fig.add_subplot(1, 2, 2)
    nei = [channel_response(film, detector, "660", 298.0, DEFAULT_PUMP_W, x)
           .noise_equivalent_intensity_W_per_um2(ENBW_30MS_12DB_HZ, LOCKIN_INPUT_NOISE_V_PER_RTHZ)
           for x in qcl]
    ax2.plot(qcl, np.array(nei) * 1e9, "o-", color="#d62728", label="twin (30 ms, 12 dB/oct, "
             "0.5 mW pump)")
    ax2.scatter([PAPER["mir_wavelength_um"]], [PAPER["detection_limit_W_per_um2"] * 1e9],
                label="paper: 4 nW/µm$^2$ at 7.4 µm", **PAPER_STYLE)
    ax2.set_ylim(0, None)
    ax2.set_xlabel("MIR wavelength (µm)")
    ax2.set_ylabel("detection limit, SNR = 1 (nW/µm$^2$)")
    ax2.set_title("detection limit across the QCL range")
    ax2.legend(fontsize=8)
    return _save(fig, path)


def make_paper_figures(outdir: str | Path, film: Film | None = None,
                       detector: Detector | None = None,
                       progress: Callable[[str], None] | None = None,
                       overwrite: bool = False) -> list[Path]:
    """Write the paper's figures, redrawn from the twin, as PNGs in ``outdir``.

    Parameters
    ----------
    outdir : str or Path
        Created if missing.
    film, detector : optional
        Default: the fitted twin and the default photodiode chain.
    progress : callable, optional
        Called with each file name before it is drawn.
    overwrite : bool
        Replace figures of the same names already in ``outdir``; without it an
        existing one raises ``FileExistsError`` (naming it) before anything is drawn.

    Returns
    -------
    list of Path
        The PNG files, in figure order.
    """
    out = Path(outdir)
    out.mkdir(parents=True, exist_ok=True)
    film = film if film is not None else Film()
    detector = detector if detector is not None else Detector()
    t_2d = film.temperature_for_ratio(PAPER["ratio_mir_off"])
    sweep: dict[str, object] = {}

    def lifetimes():
        if not sweep:
            sweep["powers"], sweep["taus"] = _lifetime_sweep(film, t_2d)
        return sweep["powers"], sweep["taus"]

    jobs = [
        ("fig2c_thermal_ratio.png", lambda p: fig_2c(film, p)),
        ("fig2d_mir_off_on.png", lambda p: fig_2d(film, t_2d, p)),
        ("fig2f_lifetimes.png", lambda p: fig_2f(*lifetimes(), p)),
        ("fig2g_delta_k.png", lambda p: fig_2g(*lifetimes(), p)),
        ("fig3b_ratio_vs_pump.png", lambda p: fig_3b(film, p)),
        ("fig3e_ratio_vs_mir_power.png", lambda p: fig_3e(film, t_2d, p)),
        ("fig3g_spectral_response.png", lambda p: fig_3g(film, detector, p)),
    ]
    if not overwrite:
        for name, _ in jobs:
            if (out / name).exists():
                raise FileExistsError(17, "file exists; figures are not overwritten (give "
                                      "--overwrite to replace them)", str(out / name))
    paths = []
    for name, draw in jobs:
        if progress is not None:
            progress(name)
        paths.append(draw(out / name))
    return paths
