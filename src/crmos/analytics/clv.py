"""BG/NBD (purchase frequency and dropout) and Gamma-Gamma (spend) in closed form.

Pure numpy/scipy, no I/O. The likelihoods are those of Fader, Hardie & Lee, "Counting your
customers the easy way" (2005) and "RFM and CLV: using iso-value curves" (2005); they are
fitted by maximum likelihood (L-BFGS-B on log parameters) over the customers grouped by their
distinct (x, t_x, T) summary, so a fit costs the number of distinct summaries, not customers.
Validated against the papers' CDNOW estimates in ``tests/unit/test_clv_cdnow.py``.

Why not a library: PyMC-Marketing's CLV module fits the same models but pulls PyMC and
PyTensor (a C compiler at run time, tens of seconds of compilation per model) for a point
estimate that four closed-form lines give; ``lifetimes`` is unmaintained and breaks on pandas 2.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from crmos.core.errors import ValidationError

Floats = npt.NDArray[np.float64]


class FitError(ValidationError):
    """The data cannot support a fit (too few customers, no repeat buyers, no convergence)."""

    code = "clv_fit_failed"


@dataclass(frozen=True, slots=True)
class Summary:
    """Per customer: repeat purchases ``x``, time of the last one ``t_x`` and age ``T`` (all
    from the first purchase, in the fit's time unit), and mean repeat spend (0 without one)."""

    x: Floats
    t_x: Floats
    T: Floats
    spend: Floats

    def __len__(self) -> int:
        return len(self.x)


@dataclass(frozen=True, slots=True)
class BgNbd:
    """Fitted BG/NBD parameters: purchase rates ~ Gamma(r, alpha), dropout ~ Beta(a, b)."""

    r: float
    alpha: float
    a: float
    b: float

    def as_dict(self) -> dict[str, float]:
        """JSON-ready parameters."""
        return {"r": self.r, "alpha": self.alpha, "a": self.a, "b": self.b}


@dataclass(frozen=True, slots=True)
class GammaGamma:
    """Fitted Gamma-Gamma parameters: spend per transaction ~ Gamma(p, nu), nu ~ Gamma(q, v)."""

    p: float
    q: float
    v: float

    def as_dict(self) -> dict[str, float]:
        """JSON-ready parameters."""
        return {"p": self.p, "q": self.q, "v": self.v}

    def expected_spend(self, x: Floats, spend: Floats) -> Floats:
        """The expected spend of one future transaction given ``x`` repeat ones averaging
        ``spend`` (the population mean where ``x`` is 0)."""
        p, q, v = self.p, self.q, self.v
        out: Floats = (v * p + p * x * spend) / (p * x + q - 1.0)
        return out


def _grouped(*columns: Floats) -> tuple[Floats, Floats]:
    """Distinct rows of ``columns`` and how often each occurs."""
    stacked = np.column_stack(columns)
    rows, counts = np.unique(stacked, axis=0, return_counts=True)
    return rows, counts.astype(np.float64)


def bgnbd_log_likelihood(params: Floats, x: Floats, t_x: Floats, T: Floats) -> Floats:
    """Each customer's BG/NBD log-likelihood at log parameters ``(r, alpha, a, b)``."""
    from scipy import special  # seconds to import: only a fit or a prediction loads it

    r, alpha, a, b = np.exp(params)
    a1 = special.gammaln(r + x) - special.gammaln(r) + r * np.log(alpha)
    a2 = special.betaln(a, b + x) - special.betaln(a, b)
    a3 = -(r + x) * np.log(alpha + T)
    repeat = x > 0
    a4 = np.full_like(x, -np.inf)
    xr = x[repeat]
    a4[repeat] = np.log(a) - np.log(b + xr - 1.0) - (r + xr) * np.log(alpha + t_x[repeat])
    ll: Floats = a1 + a2 + np.logaddexp(a3, a4)
    return ll


def fit_bgnbd(summary: Summary) -> BgNbd:
    """Maximum-likelihood BG/NBD parameters for ``summary``; :class:`FitError` when the data
    cannot support them."""
    if len(summary) < 10:
        raise FitError(f"BG/NBD needs at least 10 customers; got {len(summary)}")
    rows, weight = _grouped(summary.x, summary.t_x, summary.T)
    x, t_x, T = rows[:, 0], rows[:, 1], rows[:, 2]
    if not (x > 0).any():
        raise FitError("BG/NBD needs some repeat purchases; every customer bought once")

    def loss(params: Floats) -> float:
        return float(-(weight * bgnbd_log_likelihood(params, x, t_x, T)).sum() / weight.sum())

    best = _minimise(loss, np.log([1.0, max(float(T.mean()), 1e-3), 1.0, 1.0]))
    r, alpha, a, b = (float(v) for v in np.exp(best))
    return BgNbd(r, alpha, a, b)


def fit_gamma_gamma(summary: Summary) -> GammaGamma:
    """Maximum-likelihood Gamma-Gamma parameters over the repeat buyers of ``summary``."""
    keep = (summary.x > 0) & (summary.spend > 0)
    if keep.sum() < 10:
        raise FitError(f"Gamma-Gamma needs at least 10 repeat buyers; got {int(keep.sum())}")
    rows, weight = _grouped(summary.x[keep], summary.spend[keep])
    x, m = rows[:, 0], rows[:, 1]
    from scipy import special

    def loss(params: Floats) -> float:
        p, q, v = np.exp(params)
        px = p * x
        ll = (
            special.gammaln(px + q)
            - special.gammaln(px)
            - special.gammaln(q)
            + q * np.log(v)
            + (px - 1.0) * np.log(m)
            + px * np.log(x)
            - (px + q) * np.log(px / p * m + v)
        )
        return float(-(weight * ll).sum() / weight.sum())

    best = _minimise(loss, np.log([1.0, 2.0, float(np.median(m))]))
    p, q, v = (float(val) for val in np.exp(best))
    if q <= 1.0:
        raise FitError(f"Gamma-Gamma fit has q={q:.3f} <= 1: the mean spend is unbounded")
    return GammaGamma(p, q, v)


def _minimise(loss: object, start: Floats) -> Floats:
    """L-BFGS-B from ``start`` (log parameters); Nelder-Mead polishes a stalled search."""
    from scipy import optimize

    fun = loss  # typed loosely: scipy accepts any callable
    found = optimize.minimize(fun, start, method="L-BFGS-B", bounds=[(-12.0, 12.0)] * len(start))
    if not np.isfinite(found.fun):
        raise FitError("the likelihood is not finite at any tried parameters")
    if not found.success:
        found = optimize.minimize(fun, found.x, method="Nelder-Mead", options={"maxiter": 4000})
        if not found.success:
            raise FitError(f"the likelihood did not converge: {found.message}")
    out: Floats = np.asarray(found.x, dtype=np.float64)
    return out


def p_alive(model: BgNbd, x: Floats, t_x: Floats, T: Floats) -> Floats:
    """P(the customer is still active at ``T``) given their summary."""
    odds = _dropout_odds(model, x, t_x, T)
    out: Floats = 1.0 / (1.0 + odds)
    return out


def _dropout_odds(model: BgNbd, x: Floats, t_x: Floats, T: Floats) -> Floats:
    """The term ``a/(b+x-1) * ((alpha+T)/(alpha+t_x))^(r+x)`` (0 without a repeat purchase),
    in logs first so large x or T do not overflow."""
    r, alpha, a, b = model.r, model.alpha, model.a, model.b
    repeat = x > 0
    log_odds = np.full_like(x, -np.inf)
    xr = x[repeat]
    log_odds[repeat] = (
        np.log(a)
        - np.log(b + xr - 1.0)
        + (r + xr) * (np.log(alpha + T[repeat]) - np.log(alpha + t_x[repeat]))
    )
    out: Floats = np.exp(log_odds)
    return out


def expected_purchases(model: BgNbd, t: float, x: Floats, t_x: Floats, T: Floats) -> Floats:
    """E[purchases in the next ``t`` units | x, t_x, T] (Fader, Hardie & Lee 2005, eq. 10)."""
    r, alpha, a, b = model.r, model.alpha, model.a, model.b
    if a == 1.0:  # the closed form divides by a - 1; a hair away changes nothing measurable
        a = 1.0 + 1e-9
    z = t / (alpha + T + t)
    from scipy import special

    hyp = special.hyp2f1(r + x, b + x, a + b + x - 1.0, z)
    decay = np.exp((r + x) * (np.log(alpha + T) - np.log(alpha + T + t)))
    head = (a + b + x - 1.0) / (a - 1.0) * (1.0 - decay * hyp)
    out: Floats = head / (1.0 + _dropout_odds(model, x, t_x, T))
    return out


def discounted_value(
    model: BgNbd,
    spend: Floats,
    x: Floats,
    t_x: Floats,
    T: Floats,
    *,
    horizon: float,
    steps: int,
    rate_per_step: float,
) -> Floats:
    """Expected spend over ``horizon`` units split into ``steps`` periods, each discounted at
    ``rate_per_step`` (the lifetimes convention: purchases of period i at 1/(1+d)^i)."""
    total = np.zeros_like(x)
    before = np.zeros_like(x)
    for i in range(1, steps + 1):
        upto = expected_purchases(model, horizon * i / steps, x, t_x, T)
        total += (upto - before) / (1.0 + rate_per_step) ** i
        before = upto
    out: Floats = total * spend
    return out
