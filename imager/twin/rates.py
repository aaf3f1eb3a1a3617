"""Rate equations of the Yb3+-sensitised Er3+ upconversion film.

State per pump-intensity node (fractions of the ions):

==========  =============================================================
``x[0]``    Yb3+ 2F5/2 (excited Yb fraction ``y``)
``x[1]``    Er3+ 4I13/2
``x[2]``    Er3+ 4I11/2
``x[3]``    Er3+ 4F9/2   -> 660 nm
``x[4]``    Er3+ 4S3/2   -> 545 nm
``x[5]``    Er3+ 2H11/2  -> 525 nm
==========  =============================================================

The Er ground state is ``1 - sum(x[1:])``; 4F7/2 and 4I9/2 relax within
nanoseconds and are eliminated (ET2 feeds 2H11/2, 4F9/2 losses feed 4I11/2).

Processes: pump absorption and stimulated emission of Yb (saturates the pump
law); Yb decay (radiative + thermally activated surface quenching); ET1
(Yb* + Er 4I15/2 -> 4I11/2), ET2 (Yb* + 4I11/2 -> 4F7/2 -> 2H11/2), ET3
(Yb* + 4I13/2 -> 4F9/2) and back transfer (4S3/2 + Yb -> 4I13/2 + Yb*);
radiative and multiphonon decays; the phonon-assisted exchange
2H11/2 <-> 4S3/2 in detailed balance at the film temperature; and the MIR
channel: 4S3/2 -> 2H11/2 and 4F9/2 -> (4I9/2 ->) 4I11/2 at rates proportional
to the absorbed MIR intensity.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from scipy.integrate import solve_ivp

from imager.twin.constants import K_B_CM1_PER_K, phonon_occupation
from imager.twin.parameters import FilmParameters

N_STATES = 6
T_REF_K = 298.0
"""Temperature at which the "298K" rates are given."""


@dataclass(frozen=True)
class Rates:
    """Temperature- and MIR-dependent rates (s^-1) plus the fixed ones, for one state."""

    p: FilmParameters
    yb_decay: float
    k_down: float
    k_up: float
    nr_4S: float
    nr_4F9: float
    mir_4S: float
    mir_4F9: float

    @property
    def ratio_Er_Yb(self) -> float:
        return self.p.er_fraction / self.p.yb_fraction


def multiphonon_factor(p: FilmParameters, gap_cm1: float, T_K: float) -> float:
    """Energy-gap-law temperature factor ``((n(T) + 1) / (n(298 K) + 1))**(gap / phonon)``."""
    n_t = float(phonon_occupation(p.phonon_cm1, T_K))
    n_0 = float(phonon_occupation(p.phonon_cm1, T_REF_K))
    return ((n_t + 1.0) / (n_0 + 1.0)) ** (gap_cm1 / p.phonon_cm1)


def rates_at(p: FilmParameters, T_K: float, absorbed_mir_W_per_um2: float) -> Rates:
    """Rates at film temperature ``T_K`` under absorbed MIR intensity (``I * A(lambda)``)."""
    if not T_K > 0:
        raise ValueError(f"temperature must be > 0 K, got {T_K!r}")
    kT = K_B_CM1_PER_K * T_K
    k_down = p.exchange_down_298K_per_s * multiphonon_factor(p, p.gap_cm1, T_K)
    k_up = k_down * (p.degeneracy_2H / p.degeneracy_4S) * math.exp(-p.gap_cm1 / kT)
    quench = p.yb_quench_298K_per_s * math.exp(
        -p.yb_quench_activation_cm1 / K_B_CM1_PER_K * (1.0 / T_K - 1.0 / T_REF_K))
    i_abs = float(absorbed_mir_W_per_um2)
    return Rates(
        p=p,
        yb_decay=p.yb_radiative_per_s + quench,
        k_down=k_down,
        k_up=k_up,
        nr_4S=p.nr_4S_298K_per_s * multiphonon_factor(p, p.gap_4S_4F9_cm1, T_K),
        nr_4F9=p.nr_4F9_298K_per_s * multiphonon_factor(p, p.gap_4F9_4I9_cm1, T_K),
        mir_4S=p.mir_4S_to_2H_per_s_per_W_per_um2 * i_abs,
        mir_4F9=p.mir_4F9_loss_per_s_per_W_per_um2 * i_abs,
    )


def derivatives(
    r: Rates, pump_abs_per_s: np.ndarray, pump_em_per_s: np.ndarray, x: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """Time derivative ``f`` (N, 6) and Jacobian ``J`` (N, 6, 6) at states ``x`` (N, 6).

    ``pump_abs_per_s`` / ``pump_em_per_s``: pump absorption / stimulated-emission
    rate per Yb ion at each node (``sigma * photon flux``).
    """
    p = r.p
    y, n1, n2, n3, n4, n5 = x.T
    u = 1.0 - y
    n0 = 1.0 - n1 - n2 - n3 - n4 - n5
    w1, w2, w3, wb, rho = p.et_4I11_per_s, p.et_4F7_per_s, p.et_4F9_per_s, p.bet_per_s, \
        r.ratio_Er_Yb
    k1, k2, b21 = p.decay_4I13_per_s, p.decay_4I11_per_s, p.branch_4I11_to_4I13
    up = r.k_up + r.mir_4S
    loss_4F9 = p.A_660_per_s + r.nr_4F9 + r.mir_4F9
    g4 = p.A_545_per_s + p.A_4S_850_per_s + r.nr_4S
    g5 = p.A_525_per_s + p.nr_2H11_per_s
    et1, et2, et3, bet = w1 * y * n0, w2 * y * n2, w3 * y * n1, wb * u * n4
    f = np.empty_like(x)
    f[:, 0] = (pump_abs_per_s * u - pump_em_per_s * y - r.yb_decay * y
               - rho * (et1 + et2 + et3 - bet))
    f[:, 1] = b21 * k2 * n2 - k1 * n1 - et3 + bet + p.A_4S_850_per_s * n4
    f[:, 2] = et1 - et2 - k2 * n2 + (r.nr_4F9 + r.mir_4F9) * n3
    f[:, 3] = et3 + r.nr_4S * n4 - loss_4F9 * n3
    f[:, 4] = r.k_down * n5 - (up + g4) * n4 - bet
    f[:, 5] = et2 - (r.k_down + g5) * n5 + up * n4

    n = x.shape[0]
    d_et1 = np.zeros((n, N_STATES))
    d_et1[:, 0] = w1 * n0
    d_et1[:, 1:] = -(w1 * y)[:, None]
    d_et2 = np.zeros((n, N_STATES))
    d_et2[:, 0], d_et2[:, 2] = w2 * n2, w2 * y
    d_et3 = np.zeros((n, N_STATES))
    d_et3[:, 0], d_et3[:, 1] = w3 * n1, w3 * y
    d_bet = np.zeros((n, N_STATES))
    d_bet[:, 0], d_bet[:, 4] = -wb * n4, wb * u
    J = np.zeros((n, N_STATES, N_STATES))
    J[:, 0, :] = -rho * (d_et1 + d_et2 + d_et3 - d_bet)
    J[:, 0, 0] -= pump_abs_per_s + pump_em_per_s + r.yb_decay
    J[:, 1, :] = d_bet - d_et3
    J[:, 1, 1] -= k1
    J[:, 1, 2] += b21 * k2
    J[:, 1, 4] += p.A_4S_850_per_s
    J[:, 2, :] = d_et1 - d_et2
    J[:, 2, 2] -= k2
    J[:, 2, 3] += r.nr_4F9 + r.mir_4F9
    J[:, 3, :] = d_et3
    J[:, 3, 3] -= loss_4F9
    J[:, 3, 4] += r.nr_4S
    J[:, 4, :] = -d_bet
    J[:, 4, 4] -= up + g4
    J[:, 4, 5] += r.k_down
    J[:, 5, :] = d_et2
    J[:, 5, 4] += up
    J[:, 5, 5] -= r.k_down + g5
    return f, J


def _physical(x: np.ndarray) -> np.ndarray:
    """Rows of ``x`` that are valid populations."""
    return (np.all(x >= -1e-14, axis=1) & (x[:, 0] <= 1.0)
            & (x[:, 1:].sum(axis=1) <= 1.0 + 1e-14))


def steady_state(r: Rates, pump_abs_per_s: np.ndarray, pump_em_per_s: np.ndarray,
                 x0: np.ndarray | None = None) -> np.ndarray:
    """Steady-state populations (N, 6) at every pump node (damped Newton, vectorised).

    Falls back to integrating the equations to equilibrium for nodes where
    Newton does not converge.
    """
    n = pump_abs_per_s.size
    x = np.zeros((n, N_STATES)) if x0 is None else np.array(x0, dtype=float)
    done = np.zeros(n, dtype=bool)
    for _ in range(60):
        f, J = derivatives(r, pump_abs_per_s, pump_em_per_s, x)
        dx = np.linalg.solve(J, -f[..., None])[..., 0]
        step = np.ones(n)
        trial = x + dx
        bad = ~_physical(trial)
        while bad.any() and step.min() > 1e-6:
            step[bad] *= 0.5
            trial = x + step[:, None] * dx
            bad = ~_physical(trial)
        x = np.clip(trial, 0.0, 1.0)
        done = np.all(np.abs(dx) <= 1e-11 + 1e-9 * np.abs(x), axis=1)
        if done.all():
            return x
    for i in np.flatnonzero(~done):  # rare: integrate to equilibrium
        xi = _integrate(r, pump_abs_per_s[i:i + 1], pump_em_per_s[i:i + 1], x[i:i + 1],
                        np.array([0.0, 1.0]))[..., -1]
        x[i] = xi[0]
    return x


def _integrate(r: Rates, pump_abs: np.ndarray, pump_em: np.ndarray, x0: np.ndarray,
               t_s: np.ndarray) -> np.ndarray:
    n = x0.shape[0]

    def fun(_t: float, z: np.ndarray) -> np.ndarray:
        return derivatives(r, pump_abs, pump_em, z.reshape(n, N_STATES))[0].ravel()

    def jac(_t: float, z: np.ndarray) -> np.ndarray:
        blocks = derivatives(r, pump_abs, pump_em, z.reshape(n, N_STATES))[1]
        out = np.zeros((n * N_STATES, n * N_STATES))
        for i in range(n):
            s = slice(i * N_STATES, (i + 1) * N_STATES)
            out[s, s] = blocks[i]
        return out

    sol = solve_ivp(fun, (float(t_s[0]), float(t_s[-1])), x0.ravel(), method="BDF",
                    t_eval=t_s, jac=jac, rtol=1e-7, atol=1e-13)
    if not sol.success:
        raise RuntimeError(f"rate equations: integration failed ({sol.message})")
    return sol.y.reshape(n, N_STATES, -1)


def relax(r: Rates, x0: np.ndarray, t_s: np.ndarray) -> np.ndarray:
    """Populations (N, 6, len(t_s)) after the pump is switched off at ``t = 0``.

    The MIR stays as in ``r``; ``x0`` (N, 6) is the state at switch-off.
    """
    t_s = np.asarray(t_s, dtype=float)
    if t_s.ndim != 1 or t_s.size < 2 or t_s[0] < 0 or np.any(np.diff(t_s) <= 0):
        raise ValueError("t_s must be increasing, >= 0, with at least two samples")
    zero = np.zeros(x0.shape[0])
    grid = t_s if t_s[0] == 0.0 else np.concatenate([[0.0], t_s])
    out = _integrate(r, zero, zero, x0, grid)
    return out if t_s[0] == 0.0 else out[..., 1:]
