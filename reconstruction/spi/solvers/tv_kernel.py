"""The TV primal-dual iteration, fused: work arrays allocated once, the dual in row strips.

Same iterates as `reconstruction.spi.solvers.primaldual.PrimalDual` with
``K = c K'``, ``K' = D`` (forward differences, ``c = 1``) or ``[D; S D]``
(symmetric, ``c = 1/2``), ``F*`` the indicator of ``|p_pair| <= bound`` (``P_bound``
its projection) and ``G`` the data term, over-relaxed by ``rho``:

    x~ = prox_G(x - tau c K'^T p)
    p~ = P_bound(p + sigma c K' (2 x~ - x))
    x <- x + rho (x~ - x),  p <- p + rho (p~ - p)

but organised for speed (measured in ``benchmarks/tv_speed.py``):

* ``K'^T p`` of the relaxed ``p`` is computed once per iteration (no stored
  ``K x``, ``K^T p`` to relax); ``sigma c`` is folded into ``z = 2 x~ - x``,
  ``tau c`` into the primal step, ``rho`` into the projection's scale factor.
* Every array is allocated once per solve and written with ``out=``: no
  full-size temporaries per iteration. The data term works on the ``N``
  transform coefficients in place (`reconstruction.spi.solvers.common`).
* Everything but the data term runs in one sweep over strips of rows that
  stay in the CPU cache (`_sweep`); for images up to 128^2 there is one strip.
* The residuals need no extra state: with ``v = x - tau c K'^T p`` and
  ``q = p + sigma c K' (2 x~ - x)``,
  ``r_P = (v - x~) / tau + c K'^T p~`` and ``r_D = (q - p~) / sigma - c K' x~``.

The boundary entries that ``K'`` never fills (last row of the axis-0
differences, last column of the axis-1 ones, first row/column of the
backward ones) are 0 in every dual array, which keeps ``K'^T`` simple.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from .primaldual import AdaptiveSteps, SolverInfo

__all__ = ["tv_iterate"]

_TINY = 1e-300
# pixels per strip: ~2 MB of strip buffers for the symmetric dual (L2-sized); measured
# at 1024^2 against 8192 and 32768 pixels, best by ~5 %
_STRIP_ELEMENTS = 16384


def _flat(a: np.ndarray) -> np.ndarray:
    return a.reshape(-1)  # a view: every array here is C-contiguous row blocks


def grad_rows(
    z: np.ndarray, out: np.ndarray, a: int, b: int, symmetric: bool, n0: int, z0: int = 0
) -> None:
    """``out[:, :b - a] = K' z`` on rows ``[a, b)`` of an image of `n0` rows
    (``out`` holds 2 or 4 components; image row ``r`` is ``z[r - z0]``).

    Differences along axis 1 are taken on the flattened rows (one contiguous
    pass, about 2x faster than on the 2D views); the entries that then wrap
    across a row end are the last column, set to 0 afterwards.
    """
    h = b - a
    e = min(b, n0 - 1)
    if e > a:
        np.subtract(z[a + 1 - z0 : e + 1 - z0], z[a - z0 : e - z0], out=out[0, : e - a])
    if e < b:
        out[0, e - a : h] = 0.0
    zf, g1 = _flat(z[a - z0 : b - z0]), _flat(out[1, :h])
    np.subtract(zf[1:], zf[:-1], out=g1[:-1])
    out[1, :h, -1] = 0.0
    if symmetric:
        s = max(a, 1)
        if b > s:
            np.subtract(z[s - z0 : b - z0], z[s - 1 - z0 : b - 1 - z0], out=out[2, s - a : h])
        if s > a:
            out[2, : s - a] = 0.0
        g3 = _flat(out[3, :h])
        np.copyto(g3[1:], g1[:-1])  # the first column gets the 0 of the last one
        g3[0] = 0.0


def div_rows(
    p: np.ndarray, out: np.ndarray, a: int, b: int, symmetric: bool, t0: np.ndarray,
    t1: np.ndarray,
) -> None:
    """``out[:b - a] = K'^T p`` on rows ``[a, b)`` (needs `p` rows ``a - 1 .. b``).

    ``K'^T p = D^T u`` with ``u = p_forward + S^T p_backward`` (symmetric) or
    ``u = p`` (forward), ``D^T u = u0[i-1] - u0[i] + u1[., j-1] - u1[., j]``
    (entries outside the image 0). `t0`, `t1`: scratch of ``b - a + 1`` rows.
    Column shifts run on the flattened rows: what wraps across a row end is a
    boundary entry of `p` (0: last column of ``p1``, first of ``p3``).
    """
    n0 = p.shape[1]
    h = b - a
    u0 = t0[: h + 1]  # rows a - 1 .. b - 1
    first = max(a - 1, 0)
    k = first - (a - 1)  # 1 when the row above the image is needed (a == 0)
    if k:
        u0[0] = 0.0
    if symmetric:
        e = min(b, n0 - 1)
        if e > first:
            np.add(p[0, first:e], p[2, first + 1 : e + 1], out=u0[k : k + e - first])
        if e < b:
            u0[k + e - first :] = 0.0  # last row: p0 = 0 and no p2 below
        u1 = t1[:h]
        uf = _flat(u1)
        np.add(_flat(p[1, a:b])[:-1], _flat(p[3, a:b])[1:], out=uf[:-1])
        uf[-1] = 0.0
    else:
        if k:
            np.copyto(u0[1:], p[0, :b])
        else:
            u0 = p[0, a - 1 : b]
        u1 = p[1, a:b]
    o = out[:h]
    np.subtract(u0[:-1], u0[1:], out=o)
    o -= u1
    of = _flat(o)
    of[1:] += _flat(u1)[:-1]


class _Work:
    """Every array one solve needs, allocated once."""

    def __init__(self, shape: tuple[int, int], symmetric: bool) -> None:
        n0, n1 = shape
        c = 4 if symmetric else 2
        self.rows = max(1, min(n0, _STRIP_ELEMENTS // max(n1, 1)))
        h = self.rows
        self.x = np.empty(shape)
        self.xt = np.empty(shape)  # x~
        self.v = np.empty(shape)  # x - tau c K'^T p, the data term's input
        self.w = np.empty(shape)  # K'^T p
        self.p = np.zeros((c, n0, n1))
        # strip buffers, flat so that a shorter last strip is still contiguous; the
        # row ranges of z and K'^T p are shifted by one row: h + 2 rows
        self._q = np.empty(c * h * n1)
        self._g = np.empty(c * h * n1)
        self._t = np.empty(c // 2 * h * n1)
        self._s = [np.empty((h + 2) * n1) for _ in range(3)]
        self.z = np.empty((h + 2, n1))  # sigma c (2 x~ - x) on rows a - 1 .. b of a strip
        self.c, self.n1 = c, n1

    def strip(self, h: int) -> tuple[np.ndarray, ...]:
        n1 = self.n1
        return (
            self._q[: self.c * h * n1].reshape(self.c, h, n1),
            self._g[: self.c * h * n1].reshape(self.c, h, n1),
            self._t[: self.c // 2 * h * n1].reshape(self.c // 2, h, n1),
            *(s[: (h + 2) * n1].reshape(h + 2, n1) for s in self._s),
        )


def tv_iterate(
    x0: np.ndarray,
    prox_g: Callable[..., np.ndarray],
    bound: float,
    symmetric: bool,
    steps: AdaptiveSteps,
    maxiter: int,
    relax: float,
    check_every: int = 5,
) -> tuple[np.ndarray, SolverInfo]:
    """Run the fused TV iteration from `x0`; return the image and what the run did.

    Parameters
    ----------
    x0 : ndarray, shape (n0, n1)
        Starting image.
    prox_g : callable ``(v, tau, out=) -> x``
        Proximal map of the data term, writing into `out`.
    bound : float
        Radius of the dual ball (1 constrained, ``lam`` penalised).
    symmetric : bool
        Symmetric (forward + backward) or forward discretisation.
    steps : AdaptiveSteps
        Step sizes and the stopping rule (built with ``||K|| = 2`` symmetric,
        ``sqrt(8)`` forward).
    maxiter : int
        Iteration limit.
    relax : float
        Over-relaxation ``rho`` in ``(0, 2)``.
    check_every : int
        Residuals are evaluated (and steps adapted) every this many iterations.

    Returns
    -------
    x : ndarray, shape (n0, n1)
        ``x~`` of the iteration that met the stopping rule, else the last ``x``.
    info : SolverInfo
    """
    work = _Work(x0.shape, symmetric)
    c = 0.5 if symmetric else 1.0
    x, xt, v, w = work.x, work.xt, work.v, work.w
    np.copyto(x, x0)
    w.fill(0.0)  # K'^T p for p = 0
    np.copyto(v, x)
    info = SolverInfo()
    it = 0
    for it in range(1, maxiter + 1):
        tau, sigma = steps.tau, steps.sigma
        check = it % check_every == 0 or it == maxiter
        # w = K'^T p is needed in full after a check and by the next check (r_P)
        keep_w = check or (it + 1) % check_every == 0 or it + 1 == maxiter
        prox_g(v, tau, out=xt)
        sums = _sweep(work, bound, float(relax), c, tau, sigma, symmetric, check, keep_w)
        if check:
            rp2, rd2, kt2, kx2 = sums
            rp = np.sqrt(rp2) / max(c * np.sqrt(kt2), _TINY)
            rd = np.sqrt(rd2) / max(c * np.sqrt(kx2), _TINY)
            if steps.update(info, it, float(rp), float(rd)):
                info.iterations = it
                return xt, info
            np.multiply(w, -steps.tau * c, out=v)  # v with the adapted step
            v += x
    info.iterations = it
    return x, info


def _sweep(
    work: _Work,
    bound: float,
    rho: float,
    c: float,
    tau: float,
    sigma: float,
    symmetric: bool,
    check: bool,
    keep_w: bool = True,
) -> tuple[float, float, float, float]:
    """Everything but the data term, strip by strip: from ``x, p, v, x~`` to the
    relaxed ``x, p``, ``w = K'^T p`` and (not on check iterations) the next ``v``.

    Per strip of rows ``[a, b)``: ``z = sigma c (2 x~ - x)`` and the relaxation
    of ``x`` on the rows not done yet (up to ``b``, the halo of the next strip's
    backward differences), ``q = p + K' z`` (this strip's rows only),
    ``p~ = P(q)``, the relaxation of ``p``, then ``w = K'^T p`` and
    ``v = x - tau c w`` on the rows whose neighbours are final (up to
    ``b - 1``). On check iterations, the sums of squares ``(|r_P|^2, |r_D|^2,
    |K'^T p~|^2, |K' x~|^2)`` (else zeros), with ``K'^T p~`` from linearity,
    ``(w_new - (1 - rho) w_old) / rho``; ``v`` is then left to the caller (the
    step may change). Without `keep_w`, ``w`` is only formed strip by strip.
    """
    x, xt, v, z, w, p = work.x, work.xt, work.v, work.z, work.w, work.p
    n0 = x.shape[0]
    h = work.rows
    npairs = work.c // 2
    rp2 = rd2 = kt2 = kx2 = 0.0
    # scale factor of the projection: rho bound / max(bound, |q|) (bound / .. on checks)
    numerator = bound if check else rho * bound
    lo = 0  # rows of w (and v) done
    zlo = 0  # rows of z (and relaxed x) done
    for a in range(0, n0, work.rows):
        b = min(n0, a + work.rows)
        q, g, t, s0, s1, s2 = work.strip(b - a)
        # z = sigma c (x~ + e), x += rho e with e = x~ - x, on rows [zlo, zhi); z holds
        # rows a - 1 .. b (the first two come from the previous strip)
        if a > 0:
            np.copyto(z[:2], z[h : h + 2])
        zhi = min(n0, b + 1)
        e, zs = s0[: zhi - zlo], z[zlo - a + 1 : zhi - a + 1]
        np.subtract(xt[zlo:zhi], x[zlo:zhi], out=e)
        np.add(e, xt[zlo:zhi], out=zs)
        zs *= sigma * c
        e *= rho
        x[zlo:zhi] += e
        zlo = zhi
        # q = p + K' z and its projection, in cache
        ps = p[:, a:b]
        grad_rows(z, q, a, b, symmetric, n0, a - 1)
        q += ps
        pr = q.reshape(npairs, 2, b - a, -1)
        np.square(q, out=g)
        gp = g.reshape(pr.shape)
        np.add(gp[:, 0], gp[:, 1], out=t)
        np.sqrt(t, out=t)
        np.maximum(t, bound, out=t)
        np.divide(numerator, t, out=t)
        if check:  # sigma r_D = q - p~ - sigma c K' x~
            grad_rows(xt, g, a, b, symmetric, n0)
            kx2 += float(np.vdot(g, g))
            g *= -sigma * c
            g += q
            pr *= t[:, None]
            g -= q
            rd2 += float(np.vdot(g, g)) / (sigma * sigma)
            q *= rho
        else:
            pr *= t[:, None]
        ps *= 1.0 - rho
        ps += q
        hi = n0 if b == n0 else b - 1
        if hi > lo:
            if not check:
                wn = w[lo:hi] if keep_w else s2[: hi - lo]
                div_rows(p, wn, lo, hi, symmetric, s0, s1)
                np.multiply(wn, -tau * c, out=v[lo:hi])
                v[lo:hi] += x[lo:hi]
            else:  # r_P = (v - x~) / tau + c K'^T p~
                wn, wt, rv = s2[: hi - lo], s0[: hi - lo], s1[: hi - lo]
                div_rows(p, wn, lo, hi, symmetric, s0, s1)
                np.multiply(w[lo:hi], rho - 1.0, out=wt)
                wt += wn
                wt *= c / rho
                kt2 += float(np.vdot(wt, wt)) / (c * c)
                np.copyto(w[lo:hi], wn)
                np.subtract(v[lo:hi], xt[lo:hi], out=rv)
                rv *= 1.0 / tau
                rv += wt
                rp2 += float(np.vdot(rv, rv))
            lo = hi
    return rp2, rd2, kt2, kx2
