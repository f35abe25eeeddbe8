"""Hybrids of a small and a large language model, priced.

* **Routing and cascades** (:func:`routing_cost`, :func:`cascade_cost`): a
  small model answers the requests it can, a large one the rest; the blended
  dollars and seconds per request, the saving against the large model alone
  and the escalation rate at which the hybrid stops paying.
  :func:`implied_escalation_rate` reads a published saving backwards.
* **Lifecycle** (:func:`lifecycle_cost`, :class:`ServingOption`,
  :func:`break_even_volume`, :func:`cheapest_option`): a fixed cost
  (pretraining or fine-tuning) plus serving a daily volume for some months,
  self-hosted (a replica is paid for whether busy or not) or through an API,
  and the volumes at which one option overtakes another (scipy's ``brentq``
  on each interval where the costs are linear).
* **MoE as a hybrid** (:func:`dense_twins`, :func:`moe_vs_dense`): a mixture
  of experts beside the dense models with its active and its total
  parameters.
* **Speculative decoding** (:func:`draft_pairs`; :func:`draft_pair_speedups`
  times each pair with :func:`costmodel.speculative_decode`): small and large models of
  the catalog that can share a vocabulary.
* **API prices per output token** (:func:`api_usd_per_1m_output_tokens`,
  :func:`dated_api_usd_per_1m_output_tokens`): a list price
  (:func:`costmodel.api_cost_per_million_tokens`, at an explicit date) with
  the prompt tokens each request brings.

The inputs are dollars per request or per token and latencies, so this
module does not depend on how those are obtained; the book computes them
with :func:`costmodel.planner.compare` at dated prices. Every formula is a
sympy expression of :mod:`costmodel.formulas` (the "hybrid" block), and all
numeric arguments broadcast as numpy arrays. Defined in :ref:`sec_hybrid`.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from functools import lru_cache
from typing import Any, Iterable, Mapping

import numpy as np
import pandas as pd

from . import _validate as V
from . import formulas as F
from .architecture import Architecture
from .catalog import DATA_DIR, model_table
from .cost import best_draft_tokens, speculative_decode
from .inference import decode, weight_bytes_stored
from .prices import api_cost_per_million_tokens
from .tradeoff import benchmarks, quantisation_perplexity

__all__ = [
    "routing_cost",
    "cascade_cost",
    "implied_escalation_rate",
    "api_usd_per_1m_output_tokens",
    "dated_api_usd_per_1m_output_tokens",
    "lifecycle_cost",
    "ServingOption",
    "break_even_volume",
    "cheapest_option",
    "dense_twins",
    "moe_vs_dense",
    "draft_pairs",
    "draft_pair_speedups",
    "published_routing_results",
    "published_quantisation_quality",
    "published_mmlu",
]

#: Largest dollar amount accepted (a trillion dollars: beyond it an input is a mistake).
MAX_USD = 1e12
#: Longest service accepted, in months (a century).
MAX_MONTHS = 1200.0


def _usd(name: str, value) -> np.ndarray:
    return V.size(name, value, maximum=MAX_USD)


def _share(name: str, value) -> np.ndarray:
    """A share or rate in [0, 1]."""
    return V.size(name, value, maximum=1.0)


def _frame(columns: Mapping[str, Any]) -> pd.DataFrame:
    """One row per element of the broadcast of ``columns`` (C order)."""
    arrays = {k: np.asarray(v) for k, v in columns.items()}
    shape = np.broadcast_shapes(*(a.shape for a in arrays.values()))
    return pd.DataFrame({k: np.broadcast_to(a, shape).ravel() for k, a in arrays.items()})


# ----------------------------------------------------------------------
# Routing and cascades
# ----------------------------------------------------------------------
def _hybrid_inputs(slm_usd, llm_usd, router_usd, kappa):
    """The checked costs per request (c_S, c_L > 0, c_r) and kappa of a two-model hybrid."""
    c_s = _usd("slm_usd_per_request", slm_usd)
    c_l = _usd("llm_usd_per_request", llm_usd)
    if np.any(c_l <= 0):
        raise ValueError(f"llm_usd_per_request={llm_usd!r} must be positive (savings are relative to it)")
    return c_s, c_l, _usd("router_usd_per_request", router_usd), _share("slm_paid_on_escalation", kappa)


def _blend(slm_usd, llm_usd, escalation_rate, router_usd, kappa, slm_latency_s, llm_latency_s,
           router_latency_s) -> pd.DataFrame:
    c_s, c_l, c_r, k = _hybrid_inputs(slm_usd, llm_usd, router_usd, kappa)
    eps = _share("escalation_rate", escalation_rate)
    arrays = dict(escalation_rate=eps, slm_paid_on_escalation=k, slm_usd_per_request=c_s, llm_usd_per_request=c_l,
                  router_usd_per_request=c_r)
    timed = slm_latency_s is not None or llm_latency_s is not None
    if timed:
        if slm_latency_s is None or llm_latency_s is None:
            raise ValueError(f"slm_latency_s={slm_latency_s!r} and llm_latency_s={llm_latency_s!r}: give both "
                             "latencies or neither")
        arrays.update(slm_latency_s=V.size("slm_latency_s", slm_latency_s, maximum=1e9),
                      llm_latency_s=V.size("llm_latency_s", llm_latency_s, maximum=1e9),
                      router_latency_s=V.size("router_latency_s", router_latency_s, maximum=1e9))
        if np.any(arrays["llm_latency_s"] <= 0):
            raise ValueError(f"llm_latency_s={llm_latency_s!r} must be positive")
    V.broadcast(**arrays)
    sym = dict(eps_esc=eps, kappa_esc=k, c_slm=c_s, c_llm=c_l, c_rt=c_r)
    blended = F.numeric(F.BLENDED_COST_PER_REQUEST)(**sym)
    can_save = c_s + c_r < c_l  # the hybrid beats the large model at escalation rate 0
    with np.errstate(divide="ignore", invalid="ignore"):
        be = F.numeric(F.BREAK_EVEN_ESCALATION)(**sym)
    cols = {**arrays, "answered_by_slm": 1 - eps, "blended_usd_per_request": blended,
            "saving_vs_llm": 1 - blended / c_l, "hybrid_can_save": can_save,
            "break_even_escalation_rate": np.where(can_save, be, np.nan)}
    if timed:
        t = dict(eps_esc=eps, kappa_esc=k, t_slm=arrays["slm_latency_s"], t_llm=arrays["llm_latency_s"],
                 t_rt=arrays["router_latency_s"])
        lat = F.numeric(F.BLENDED_LATENCY_PER_REQUEST)(**t)
        faster = t["t_slm"] + t["t_rt"] < t["t_llm"]
        with np.errstate(divide="ignore", invalid="ignore"):
            lbe = F.numeric(F.LATENCY_BREAK_EVEN_ESCALATION)(**t)
        cols.update(blended_latency_s=lat, latency_vs_llm=lat / t["t_llm"],
                    latency_break_even_escalation_rate=np.where(faster, lbe, np.nan))
    return _frame(cols)


def routing_cost(slm_usd_per_request, llm_usd_per_request, escalation_rate, *, router_usd_per_request=0.0,
                 slm_paid_on_escalation=0.0, slm_latency_s=None, llm_latency_s=None,
                 router_latency_s=0.0) -> pd.DataFrame:
    """Dollars (and, with both latencies, seconds) per request when a router
    sends the share ``escalation_rate`` (epsilon) of requests to the large
    model and the rest to the small one.

    A router decides before the small model runs, so by default an escalated
    request pays nothing for the small model (``slm_paid_on_escalation``,
    kappa, is 0; :func:`cascade_cost` is the same with kappa = 1). The router
    itself costs ``router_usd_per_request`` (c_r) and ``router_latency_s``
    (t_r) on every request. One row per element of the broadcast inputs:
    ``answered_by_slm`` (1 - epsilon), ``blended_usd_per_request``,
    ``saving_vs_llm`` (1 - blended / c_L), ``break_even_escalation_rate``
    (the epsilon at which the hybrid costs what the large model alone costs;
    NaN with ``hybrid_can_save`` False when c_S + c_r >= c_L, since then no
    escalation rate pays), and with latencies ``blended_latency_s``,
    ``latency_vs_llm`` and ``latency_break_even_escalation_rate``. Rates and
    shares must lie in [0, 1], costs and latencies must not be negative.
    Defined in :ref:`sec_hybrid`.

    >>> import costmodel as cm
    >>> row = cm.routing_cost(0.001, 0.02, 0.25).iloc[0]
    >>> round(float(row["blended_usd_per_request"]), 5)   # 0.75 x 0.001 + 0.25 x 0.02
    0.00575
    """
    return _blend(slm_usd_per_request, llm_usd_per_request, escalation_rate, router_usd_per_request,
                  slm_paid_on_escalation, slm_latency_s, llm_latency_s, router_latency_s)


def cascade_cost(slm_usd_per_request, llm_usd_per_request, escalation_rate, *, router_usd_per_request=0.0,
                 slm_paid_on_escalation=1.0, slm_latency_s=None, llm_latency_s=None,
                 router_latency_s=0.0) -> pd.DataFrame:
    """A cascade: every request goes to the small model first, and the share
    ``escalation_rate`` that it (or a verifier costing
    ``router_usd_per_request``) judges wrong is answered again by the large
    model, so an escalated request pays for both (``slm_paid_on_escalation``
    = 1; less when the small model stops early). Columns as
    :func:`routing_cost`. Defined in :ref:`sec_hybrid`.

    >>> import costmodel as cm
    >>> row = cm.cascade_cost(0.001, 0.02, 0.25).iloc[0]
    >>> round(float(row["blended_usd_per_request"]), 5)   # 0.001 + 0.25 x 0.02
    0.006
    >>> round(float(row["break_even_escalation_rate"]), 3)  # 1 - 0.001 / 0.02
    0.95
    """
    return _blend(slm_usd_per_request, llm_usd_per_request, escalation_rate, router_usd_per_request,
                  slm_paid_on_escalation, slm_latency_s, llm_latency_s, router_latency_s)


def implied_escalation_rate(saving, slm_usd_per_request, llm_usd_per_request, *, router_usd_per_request=0.0,
                            slm_paid_on_escalation=0.0) -> pd.DataFrame:
    """The escalation rate at which a hybrid saves the fraction ``saving``
    (Delta) of the large model's cost: what a published saving says about
    the share of requests that reached the large model, given the two
    models' costs per request. ``reachable`` is False, and the rate NaN,
    where no escalation rate in [0, 1] gives that saving (it exceeds what
    the small model alone saves). Other arguments as :func:`routing_cost`.
    Defined in :ref:`sec_hybrid`.

    >>> import costmodel as cm
    >>> row = cm.implied_escalation_rate(0.85, 0.0, 1.0).iloc[0]   # a free small model: 15% escalate
    >>> round(float(row["implied_escalation_rate"]), 2)
    0.15
    """
    sav = V.size("saving", saving, minimum=-MAX_USD, maximum=1.0)
    c_s, c_l, c_r, k = _hybrid_inputs(slm_usd_per_request, llm_usd_per_request, router_usd_per_request,
                                      slm_paid_on_escalation)
    V.broadcast(saving=sav, slm_usd_per_request=c_s, llm_usd_per_request=c_l, router_usd_per_request=c_r,
                slm_paid_on_escalation=k)
    with np.errstate(divide="ignore", invalid="ignore"):
        eps = F.numeric(F.ESCALATION_FOR_SAVING)(delta_sav=sav, c_slm=c_s, c_llm=c_l, c_rt=c_r, kappa_esc=k)
    ok = np.isfinite(eps) & (eps >= 0) & (eps <= 1)
    return _frame({"saving": sav, "slm_usd_per_request": c_s, "llm_usd_per_request": c_l,
                   "router_usd_per_request": c_r, "slm_paid_on_escalation": k,
                   "implied_escalation_rate": np.where(ok, eps, np.nan), "reachable": ok})


# ----------------------------------------------------------------------
# API prices (data/prices/api.csv)
# ----------------------------------------------------------------------
def api_usd_per_1m_output_tokens(input_usd_per_1m_tokens, output_usd_per_1m_tokens, input_tokens, output_tokens):
    """What an API charges per million output tokens once the prompt tokens
    each request brings are added: p_out + (n_in / n_out) p_in, the figure
    :func:`costmodel.planner.compare` reports for a self-hosted model (whose
    time includes each prompt's prefill). A float for scalar inputs, an
    array otherwise. Defined in :ref:`sec_hybrid`.

    >>> import costmodel as cm
    >>> cm.api_usd_per_1m_output_tokens(0.15, 0.6, input_tokens=1024, output_tokens=256)   # 0.6 + 4 x 0.15
    1.2
    """
    return F.numeric(F.API_PRICE_PER_OUTPUT_TOKEN)(
        p_in=_usd("input_usd_per_1m_tokens", input_usd_per_1m_tokens),
        p_out=_usd("output_usd_per_1m_tokens", output_usd_per_1m_tokens),
        n_in=V.size("input_tokens", input_tokens), n_out=V.size("output_tokens", output_tokens, minimum=1))


def dated_api_usd_per_1m_output_tokens(model: str, date: Any, input_tokens, output_tokens, *,
                                       provider: str | None = None, context_tier: str | None = None):
    """:func:`api_usd_per_1m_output_tokens` at the list price of an API
    ``model`` at ``date`` (:func:`costmodel.api_cost_per_million_tokens`,
    whose errors name the dates and rows that exist). Defined in
    :ref:`sec_hybrid`.

    >>> import costmodel as cm
    >>> cm.dated_api_usd_per_1m_output_tokens("gpt-4o-mini", "2024-07-18", 1024, 256)   # 0.60 + 4 x 0.15
    1.2
    """
    p = api_cost_per_million_tokens(model, date, provider, context_tier=context_tier)
    return api_usd_per_1m_output_tokens(p.input_usd_per_1m_tokens, p.output_usd_per_1m_tokens, input_tokens,
                                        output_tokens)


# ----------------------------------------------------------------------
# Lifecycle: fixed cost plus serving, and break-even volumes
# ----------------------------------------------------------------------
def _lifecycle_inputs(tokens_per_day, months, usd_per_1m_tokens, fixed_usd, utilisation, floor_usd_per_hour):
    arrays = dict(tokens_per_day=V.size("tokens_per_day", tokens_per_day),
                  months=V.size("months", months, maximum=MAX_MONTHS),
                  usd_per_1m_tokens=_usd("usd_per_1m_tokens", usd_per_1m_tokens),
                  fixed_usd=_usd("fixed_usd", fixed_usd),
                  utilisation=V.fraction("utilisation", utilisation),
                  floor_usd_per_hour=_usd("floor_usd_per_hour", floor_usd_per_hour))
    V.broadcast(**arrays)
    return arrays


def _symbols(a: Mapping[str, np.ndarray]) -> dict[str, np.ndarray]:
    return dict(n_day=a["tokens_per_day"], t_mo=a["months"], c_tok=a["usd_per_1m_tokens"] / 1e6, F_fix=a["fixed_usd"],
                U_srv=a["utilisation"], p_min=a["floor_usd_per_hour"])


def _total_usd(a: Mapping[str, np.ndarray]):
    return F.numeric(F.LIFECYCLE_COST)(**_symbols(a))


def lifecycle_cost(tokens_per_day, months, usd_per_1m_tokens, *, fixed_usd=0.0, utilisation=1.0,
                   floor_usd_per_hour=0.0) -> pd.DataFrame:
    """Dollars to own and serve a model: ``fixed_usd`` (F_0: pretraining or
    fine-tuning) plus ``tokens_per_day`` (N_day, output tokens) for
    ``months`` (T_mo, of 365.25 / 12 days) at ``usd_per_1m_tokens`` (the
    price per million output tokens at full utilisation, prompt included: a
    self-hosted model's :func:`costmodel.planner.compare` figure, or an API's
    :func:`api_usd_per_1m_output_tokens`).

    A self-hosted deployment busy a fraction ``utilisation`` (U) of the time
    pays for the idle hours too (c_tok / U per token), and never less than
    ``floor_usd_per_hour`` (p_min: one replica's devices) around the clock;
    an API has p_min = 0 and U = 1. One row per element of the broadcast
    inputs, with ``serving_usd``, ``total_usd``, ``floor_binds`` (the volume
    is below ``floor_tokens_per_day``, where one replica is more than
    enough) and ``usd_per_1m_tokens_served`` (total over tokens served; NaN
    when nothing is served). Volumes, durations and prices must not be
    negative; the utilisation lies in (0, 1]. Defined in :ref:`sec_hybrid`.

    >>> import costmodel as cm
    >>> row = cm.lifecycle_cost(1e6, 12, 2.0, fixed_usd=500).iloc[0]
    >>> round(float(row["total_usd"]), 2)   # 500 + 365.25 days x 1e6 tokens x 2 USD per 1e6
    1230.5
    """
    a = _lifecycle_inputs(tokens_per_day, months, usd_per_1m_tokens, fixed_usd, utilisation, floor_usd_per_hour)
    sym = _symbols(a)
    serving = F.numeric(F.LIFECYCLE_SERVING_COST)(**sym)
    total = sym["F_fix"] + serving
    with np.errstate(divide="ignore", invalid="ignore"):
        floor_volume = np.where(sym["c_tok"] > 0, F.numeric(F.FLOOR_VOLUME)(
            p_min=sym["p_min"], U_srv=sym["U_srv"], c_tok=np.where(sym["c_tok"] > 0, sym["c_tok"], 1.0)), np.inf)
        tokens = a["tokens_per_day"] * a["months"] * float(F.DAYS_PER_MONTH)
        per_1m = np.where(tokens > 0, total / np.where(tokens > 0, tokens, 1.0) * 1e6, np.nan)
    return _frame({**a, "serving_usd": serving, "total_usd": total, "floor_tokens_per_day": floor_volume,
                   "floor_binds": a["tokens_per_day"] < floor_volume, "usd_per_1m_tokens_served": per_1m})


@dataclass(frozen=True)
class ServingOption:
    """One way to serve a model for :func:`break_even_volume` and
    :func:`cheapest_option`: a ``name``, the price per million output tokens
    at full utilisation, the fixed cost, the utilisation and the hourly floor
    (the arguments of :func:`lifecycle_cost`, as scalars). Validated when
    built. Defined in :ref:`sec_hybrid`.
    """

    name: str
    usd_per_1m_tokens: float
    fixed_usd: float = 0.0
    utilisation: float = 1.0
    floor_usd_per_hour: float = 0.0

    def __post_init__(self):
        if not isinstance(self.name, str) or not self.name.strip():
            raise ValueError(f"name={self.name!r} must be a non-empty string")
        checks = {"usd_per_1m_tokens": _usd, "fixed_usd": _usd, "floor_usd_per_hour": _usd,
                  "utilisation": V.fraction}
        for field_name, check in checks.items():
            value = check(field_name, getattr(self, field_name))
            if value.ndim:
                raise ValueError(f"{field_name}={getattr(self, field_name)!r} must be one number")
            object.__setattr__(self, field_name, float(value))

    def _arrays(self, tokens_per_day, months) -> dict[str, np.ndarray]:
        return {"tokens_per_day": np.asarray(tokens_per_day, dtype=float), "months": np.asarray(months, dtype=float),
                "usd_per_1m_tokens": np.float64(self.usd_per_1m_tokens), "fixed_usd": np.float64(self.fixed_usd),
                "utilisation": np.float64(self.utilisation),
                "floor_usd_per_hour": np.float64(self.floor_usd_per_hour)}

    def total_usd(self, tokens_per_day, months):
        """:func:`lifecycle_cost`'s ``total_usd`` (a float or an array),
        without the checks and the table. Defined in :ref:`sec_hybrid`."""
        return _total_usd(self._arrays(tokens_per_day, months))

    def cost(self, tokens_per_day, months) -> pd.DataFrame:
        """:func:`lifecycle_cost` of this option, with its name in an
        ``option`` column. Defined in :ref:`sec_hybrid`."""
        df = lifecycle_cost(tokens_per_day, months, self.usd_per_1m_tokens, fixed_usd=self.fixed_usd,
                            utilisation=self.utilisation, floor_usd_per_hour=self.floor_usd_per_hour)
        df.insert(0, "option", self.name)
        return df

    @property
    def floor_tokens_per_day(self) -> float:
        """The daily volume below which the floor binds (infinite when the
        tokens are free, 0 without a floor)."""
        if self.usd_per_1m_tokens == 0:
            return math.inf
        return float(F.numeric(F.FLOOR_VOLUME)(p_min=self.floor_usd_per_hour, U_srv=self.utilisation,
                                               c_tok=self.usd_per_1m_tokens / 1e6))


def _as_option(value: Any, name: str) -> ServingOption:
    if isinstance(value, ServingOption):
        return value
    raise ValueError(f"{name}={value!r} must be a ServingOption")


def _volume_range(low, high) -> tuple[float, float]:
    lo = float(V.size("low", low, minimum=1e-9))
    hi = float(V.size("high", high))
    if not hi > lo:
        raise ValueError(f"high={high!r} must be above low={low!r}")
    return lo, hi


def _crossings(a: ServingOption, b: ServingOption, months: float, lo: float, hi: float) -> tuple[list[float], str]:
    """Volumes in [lo, hi] at which a and b cost the same (brentq between
    consecutive kinks, where both costs are linear in the volume), and a note
    when they cost the same over a whole interval."""
    from scipy.optimize import brentq

    def diff(n):
        return float(a.total_usd(n, months) - b.total_usd(n, months))

    kinks = [k for k in (a.floor_tokens_per_day, b.floor_tokens_per_day) if lo < k < hi]
    edges = sorted({lo, hi, *kinks})
    roots: list[float] = []
    note = ""
    for x0, x1 in zip(edges[:-1], edges[1:]):
        f0, f1 = diff(x0), diff(x1)
        scale = max(abs(float(a.total_usd(x1, months))), 1.0)
        if abs(f0) <= 1e-12 * scale and abs(f1) <= 1e-12 * scale:
            note = f"{a.name} and {b.name} cost the same from {x0:.4g} to {x1:.4g} output tokens a day"
            continue
        if abs(f0) <= 1e-12 * scale:
            roots.append(x0)
        elif f0 * f1 < 0:
            roots.append(float(brentq(diff, x0, x1, xtol=1e-12 * x1, rtol=1e-12)))
    if abs(diff(hi)) <= 1e-12 * max(abs(float(a.total_usd(hi, months))), 1.0) and not note:
        roots.append(hi)
    return sorted(set(roots)), note


def break_even_volume(a: ServingOption, b: ServingOption, months, *, low=1e3, high=1e13) -> pd.DataFrame:
    """The output tokens per day at which options ``a`` and ``b`` cost the
    same over ``months``, searched between ``low`` and ``high`` tokens a day
    and never beyond: scipy's ``brentq`` on each interval between the
    volumes where a floor stops binding (both costs are linear there, so no
    crossing is missed). One row per crossing and month count, with
    ``break_even_tokens_per_day``, ``total_usd`` there, the option cheaper
    just below (``cheaper_below``) and above (``cheaper_above``) and
    ``found`` True. Where the options do not cross in the range the row says
    so explicitly: ``found`` False, NaN volume, and a ``note`` "no break-even
    between low and high output tokens a day: X is cheaper throughout".
    Defined in :ref:`sec_hybrid`.

    >>> import costmodel as cm
    >>> api = cm.ServingOption("API", 3.0)
    >>> own = cm.ServingOption("fine-tuned", 0.5, fixed_usd=10_000)
    >>> row = cm.break_even_volume(own, api, 12).iloc[0]
    >>> round(float(row["break_even_tokens_per_day"]) / 1e6, 2)  # millions: 10,000 / (365.25 x 2.5e-6) / 1e6
    10.95
    """
    a, b = _as_option(a, "a"), _as_option(b, "b")
    lo, hi = _volume_range(low, high)
    ms = V.size("months", months, maximum=MAX_MONTHS)
    rows = []
    for m in np.atleast_1d(ms).ravel():
        m = float(m)
        roots, note = _crossings(a, b, m, lo, hi)
        if not roots:
            mid = math.sqrt(lo * hi)
            d = float(a.total_usd(mid, m) - b.total_usd(mid, m))
            cheaper = a.name if d < 0 else b.name
            rows.append({"months": m, "option_a": a.name, "option_b": b.name, "break_even_tokens_per_day": math.nan,
                         "total_usd": math.nan, "cheaper_below": cheaper, "cheaper_above": cheaper, "found": False,
                         "note": note or f"no break-even between {lo:.4g} and {hi:.4g} output tokens a day: "
                                         f"{cheaper} is cheaper throughout"})
            continue
        for r in roots:
            below, above = max(r / 1.001, lo), min(r * 1.001, hi)
            d_below = float(a.total_usd(below, m) - b.total_usd(below, m))
            d_above = float(a.total_usd(above, m) - b.total_usd(above, m))
            rows.append({"months": m, "option_a": a.name, "option_b": b.name, "break_even_tokens_per_day": r,
                         "total_usd": float(a.total_usd(r, m)),
                         "cheaper_below": a.name if d_below < 0 else b.name,
                         "cheaper_above": a.name if d_above < 0 else b.name, "found": True, "note": note})
    return pd.DataFrame(rows)


def cheapest_option(options: Iterable[ServingOption], months, *, low=1e3, high=1e13) -> pd.DataFrame:
    """Which of ``options`` costs least at each daily volume between ``low``
    and ``high`` output tokens, over ``months``: one row per month count and
    interval (``from_tokens_per_day``, ``to_tokens_per_day``, ``option``),
    the intervals' ends being the break-even volumes of
    :func:`break_even_volume` between every pair. Defined in :ref:`sec_hybrid`.
    """
    opts = [_as_option(o, "options") for o in options]
    if len(opts) < 2:
        raise ValueError(f"options={opts!r}: give at least two ServingOption to compare")
    if len({o.name for o in opts}) < len(opts):
        raise ValueError(f"options have repeated names {[o.name for o in opts]}; each needs its own")
    lo, hi = _volume_range(low, high)
    ms = V.size("months", months, maximum=MAX_MONTHS)
    rows = []
    for m in np.atleast_1d(ms).ravel():
        m = float(m)
        edges = {lo, hi}
        for i, a in enumerate(opts):
            for b in opts[i + 1:]:
                edges.update(r for r in _crossings(a, b, m, lo, hi)[0] if lo < r < hi)
        edges = sorted(edges)
        spans: list[dict] = []
        for x0, x1 in zip(edges[:-1], edges[1:]):
            mid = math.sqrt(x0 * x1)
            costs = [float(o.total_usd(mid, m)) for o in opts]
            best = opts[int(np.argmin(costs))].name
            if spans and spans[-1]["option"] == best:
                spans[-1]["to_tokens_per_day"] = x1
            else:
                spans.append({"months": m, "option": best, "from_tokens_per_day": x0, "to_tokens_per_day": x1})
        rows.extend(spans)
    return pd.DataFrame(rows)


# ----------------------------------------------------------------------
# Mixture of experts beside dense models
# ----------------------------------------------------------------------
def dense_twins(moe: V.ArchLike) -> dict[str, Architecture]:
    """Two dense models built from a mixture of experts' own shapes:
    ``"same_active"``, whose MLP is as wide as the experts a token uses
    (k F_e, plus the shared experts F_s), and ``"same_total"``, whose MLP
    is as wide as all of them (E F_e + F_s). Attention, embeddings and
    norms are the MoE's, so the twins differ from it only by the router
    (and a shared-expert gate): same parameters a token touches, and same
    parameters stored. Every block must be a mixture of experts.
    Defined in :ref:`sec_hybrid`.
    """
    arch = V.as_arch(moe, "moe")
    if not arch.is_moe:
        raise ValueError(f"moe={arch.name!r} is a dense model; give a mixture of experts")
    if arch.n_moe_layers != arch.n_layers:
        raise ValueError(f"moe={arch.name!r}: {arch.n_layers - arch.n_moe_layers} of its {arch.n_layers} blocks are "
                         "dense; a uniform dense twin needs every block to be a mixture of experts")
    plain = dict(n_experts=0, n_experts_per_token=0, d_ff_expert=0, d_ff_shared=0, shared_expert_gate=False,
                 n_moe_layers=0, router_bias=False)
    width = {"same_active": arch.n_experts_per_token * arch.d_ff_expert + arch.d_ff_shared,
             "same_total": arch.n_experts * arch.d_ff_expert + arch.d_ff_shared}
    return {k: arch.with_(name=f"{arch.name} dense twin ({k.replace('_', ' ')})", d_ff=w, **plain)
            for k, w in width.items()}


#: Labels of the three models :func:`moe_vs_dense` compares.
MOE_ROLES: Mapping[str, str] = {"moe": "mixture of experts", "same_active": "dense, same active parameters",
                                "same_total": "dense, same total parameters"}


def moe_vs_dense(moe: V.ArchLike, hardware: V.HardwareLike, *, batch, context, n_devices: int = 1,
                 weight_dtype: str = "bf16", efficiency=None) -> pd.DataFrame:
    """A decode step of a mixture of experts and of its two
    :func:`dense_twins` on the same devices, at every ``batch`` and
    ``context``: :func:`costmodel.decode` rows (``latency_s`` per output
    token, ``tokens_per_s`` of the batch, ``fits``: False and NaN times where
    the weights and caches do not fit), with ``role`` (see
    :data:`MOE_ROLES`), ``n_params``, ``n_active_params`` and
    ``weight_bytes`` (the checkpoint in ``weight_dtype``). The MoE stores the
    parameters of the same-total twin and, at batch 1, reads about those of
    the same-active one; at a large batch its tokens touch every expert.
    Defined in :ref:`sec_hybrid`.
    """
    arch = V.as_arch(moe, "moe")
    models = {"moe": arch, **dense_twins(arch)}
    b = np.atleast_1d(V.size("batch", batch, minimum=1, integer=True))
    c = np.atleast_1d(V.size("context", context, integer=True))
    frames = []
    for role, a in models.items():
        df = decode(a, hardware, batch=b, context=c, n_devices=n_devices, weight_dtype=weight_dtype,
                    efficiency=efficiency).to_frame()
        df.insert(1, "role", MOE_ROLES[role])
        df["n_params"] = a.n_params
        df["n_active_params"] = a.n_active_params
        df["weight_bytes"] = weight_bytes_stored(a, weight_dtype)
        frames.append(df)
    return pd.concat(frames, ignore_index=True)


# ----------------------------------------------------------------------
# Speculative decoding: who can draft for whom, and how much it gains
# ----------------------------------------------------------------------
def draft_pairs() -> pd.DataFrame:
    """Pairs of catalog models that could run speculative decoding, a small
    model drafting for a large one: the draft's ``size_class`` is ``slm``
    and the target's ``llm``, both come from one publisher (the organisation
    of their Hugging Face repository) with the same vocabulary size, and the
    draft touches fewer parameters per token than the target. A shared
    vocabulary is necessary, not sufficient: the catalog does not record
    whether two tokenizers agree token by token. One row per pair with both
    active parameter counts and their ratio. Defined in :ref:`sec_hybrid`.
    """
    t = model_table()
    t = t.assign(publisher=t["hf_repo"].str.split("/").str[0])
    cols = ["model", "publisher", "vocab_size", "n_active_params"]
    draft = t.loc[t["size_class"] == "slm", cols]
    target = t.loc[t["size_class"] == "llm", cols]
    pairs = draft.merge(target, on=["publisher", "vocab_size"], suffixes=("_draft", "_target"))
    pairs = pairs[pairs["n_active_params_draft"] < pairs["n_active_params_target"]]
    out = pd.DataFrame({
        "draft": pairs["model_draft"], "target": pairs["model_target"], "publisher": pairs["publisher"],
        "vocab_size": pairs["vocab_size"], "draft_active_params": pairs["n_active_params_draft"],
        "target_active_params": pairs["n_active_params_target"],
    })
    out["active_param_ratio"] = out["draft_active_params"] / out["target_active_params"]
    return out.sort_values(["publisher", "target", "draft"]).reset_index(drop=True)


def _pair_member(value: Any, role: str, pair: tuple) -> Architecture:
    try:
        return V.as_arch(value, role)
    except ValueError as exc:
        raise ValueError(f"pairs: {role}={value!r} of the pair {pair!r}: {exc}") from None


def _pair_devices(target: Architecture, draft: Architecture, hw, max_devices: int, check: dict) -> tuple[int, int]:
    """The fewest devices of ``hw`` (up to ``max_devices``) that hold ``target`` and ``draft`` together at the
    ``check`` point, the draft on one of them or split like the target; ``(1, 1)`` where none does (the
    caller's :func:`costmodel.speculative_decode` then reports ``fits`` False)."""
    for n in range(1, max_devices + 1):
        for nd in dict.fromkeys((1, n)):
            try:
                r = speculative_decode(target, draft, hw, n_devices=n, draft_n_devices=nd, **check)
            except ValueError:
                if n == 1:
                    raise  # one device is always a valid degree: the inputs themselves are wrong
                continue  # a tensor-parallel degree that does not divide the heads
            if bool(r["fits"].all()):
                return n, nd
    return 1, 1


def draft_pair_speedups(hardware: V.HardwareLike, *, acceptance_rate, draft_tokens=None,
                        max_draft_tokens: int = 16, batch: int = 1, context: int = 1024, pairs=None,
                        n_devices: int | None = 1, draft_n_devices: int = 1, max_devices: int = 8,
                        weight_dtype: str = "bf16", efficiency=None, price_per_device_hour=None, date=None,
                        provider: str | None = None, utilisation=1.0) -> pd.DataFrame:
    """Speculative decoding of every draft pair on ``hardware``, at each
    ``acceptance_rate``: one row per (pair, acceptance rate), computed by
    :func:`costmodel.speculative_decode` (whose derivation is in
    ``sec_speculative``). ``pairs`` is :func:`draft_pairs` output (the
    default) or (draft, target) tuples. ``draft_tokens`` None takes, at each
    acceptance rate, the draft length gamma in 1..``max_draft_tokens`` of
    :func:`costmodel.best_draft_tokens`; a number fixes it. ``n_devices``
    None gives each pair the fewest devices (up to ``max_devices``) that
    hold target and draft together, the draft on one device or split like
    the target; an integer fixes the count (``draft_n_devices`` the draft's).
    The plain decoding the speed-up is measured against runs the target
    alone on the same devices. Columns: ``draft``, ``target``, ``hardware``,
    ``n_devices``, ``draft_n_devices``, ``batch``, ``context``, ``acceptance_rate``, ``draft_tokens``
    (gamma), ``expected_tokens_per_step``, ``draft_cost_ratio`` (c, a draft
    step over a plain target step), ``verify_cost_ratio`` (the verifying pass
    over a plain step), ``step_time_ratio`` (a speculative step
    over a plain one), ``speedup``, ``break_even_acceptance_rate`` (at that
    gamma), ``pays``, ``lowest_break_even_acceptance_rate`` (the smallest
    break-even over gamma in 1..``max_draft_tokens``, or up to the largest
    given ``draft_tokens``: below it no draft length pays; NaN where none
    ever does), ``target_fits`` (the target alone), ``fits`` (target
    and draft together) and, with ``price_per_device_hour`` or ``date``, USD
    per million output tokens with (``usd_per_1m_output_tokens``) and
    without speculation (``..._plain``). A pair that does not fit is a row
    of NaN with ``fits`` False, never an error; a bad acceptance rate, an
    unknown model or a draft of another vocabulary raises.
    Defined in :ref:`sec_hybrid`.

    >>> import costmodel as cm
    >>> r = cm.draft_pair_speedups("h100-sxm", acceptance_rate=0.8, pairs=[("llama-3.2-1b", "llama-3.1-8b")])
    >>> int(r["draft_tokens"].iloc[0]), bool(r["speedup"].iloc[0] > 1)
    (3, True)
    """
    hw = V.as_hardware(hardware)
    a = np.atleast_1d(np.asarray(acceptance_rate, dtype=float))
    if a.ndim != 1:
        raise ValueError(f"acceptance_rate has shape {a.shape}: give a number or a 1-D sequence")
    if pairs is None:
        pairs = draft_pairs()
    if isinstance(pairs, pd.DataFrame):
        pairs = list(zip(pairs["draft"], pairs["target"]))
    if n_devices is not None:
        n_devices = int(V.size("n_devices", n_devices, minimum=1, integer=True, maximum=1e6))
    max_devices = int(V.size("max_devices", max_devices, minimum=1, integer=True, maximum=1e6))
    common = dict(batch=batch, context=context, weight_dtype=weight_dtype, efficiency=efficiency)
    g_check = max_draft_tokens if draft_tokens is None else np.max(draft_tokens)
    frames = []
    for pair in pairs:
        if len(pair) != 2:
            raise ValueError(f"pairs: {pair!r} must be a (draft, target) pair")
        draft, target = _pair_member(pair[0], "draft", tuple(pair)), _pair_member(pair[1], "target", tuple(pair))
        if n_devices is None:
            check = dict(acceptance_rate=a, draft_tokens=g_check, **common)
            n, nd = _pair_devices(target, draft, hw, max_devices, check)
        else:
            n, nd = n_devices, draft_n_devices
        where = dict(n_devices=n, draft_n_devices=nd, **common)
        if draft_tokens is None:
            best = best_draft_tokens(target, draft, hw, acceptance_rate=a, max_draft_tokens=max_draft_tokens,
                                     **where)
            gamma = np.where(best["fits"], best["best_draft_tokens"], 1.0)
        else:
            gamma = draft_tokens
        r = speculative_decode(target, draft, hw, acceptance_rate=a, draft_tokens=gamma,
                               price_per_device_hour=price_per_device_hour, date=date, provider=provider,
                               utilisation=utilisation, **where)
        alone = decode(target, hw, batch=[batch], context=[context], n_devices=n, weight_dtype=weight_dtype,
                       efficiency=efficiency)
        # the lowest rate at which some draft length pays: the smallest break-even over the lengths tried
        lengths = np.arange(1, int(g_check) + 1, dtype=float)
        every = speculative_decode(target, draft, hw, acceptance_rate=np.zeros_like(lengths), draft_tokens=lengths,
                                   **where)["break_even_acceptance_rate"].to_numpy()
        lowest = float(np.min(every[np.isfinite(every)])) if np.isfinite(every).any() else math.nan
        fits = r["fits"].to_numpy(bool)
        keep = ["draft", "target", "hardware", "n_devices", "draft_n_devices", "batch", "context", "acceptance_rate"]
        out = r[keep].copy()
        out["draft_tokens"] = np.where(fits, r["draft_tokens"], np.nan)
        out["expected_tokens_per_step"] = np.where(fits, r["expected_tokens_per_step"], np.nan)
        out["draft_cost_ratio"] = r["draft_cost_ratio"]
        out["verify_cost_ratio"] = r["verify_cost_ratio"]
        out["step_time_ratio"] = r["step_s"] / r["target_decode_s"]
        for col in ("speedup", "break_even_acceptance_rate", "pays"):
            out[col] = r[col]
        out["lowest_break_even_acceptance_rate"] = lowest
        out["target_fits"] = bool(np.all(alone.fits))
        out["fits"] = fits
        for col in ("usd_per_1m_output_tokens", "usd_per_1m_output_tokens_plain", "price_per_device_hour_usd",
                    "price_source"):
            if col in r:
                out[col] = r[col]
        frames.append(out)
    if not frames:
        raise ValueError("pairs is empty: give at least one (draft, target) pair")
    return pd.concat(frames, ignore_index=True)


# ----------------------------------------------------------------------
# Published results the chapter compares with
# ----------------------------------------------------------------------
ROUTING_CSV = DATA_DIR / "measurements" / "routing.csv"

#: How ``value_kind`` in ``data/measurements/`` reads as a bound.
_BOUND_WORDS = {"lower_bound": "over", "upper_bound": "up to", "approx": "about", "point": "as stated"}
_METRIC_WORDS = {"cost_reduction": "cost", "llm_call_share": "share", "llm_calls_avoided": "fewer calls"}
_RESULT_KEYS = ["system", "benchmark", "strategy", "strong", "weak", "quality", "bibkey"]


@lru_cache(maxsize=None)
def _routing_results() -> pd.DataFrame:
    with ROUTING_CSV.open("rb") as f:
        long = pd.read_csv(f, dtype={"published": str, "retrieved": str})
    rows = []
    for key, g in long.groupby(_RESULT_KEYS, sort=False, dropna=False):
        v = dict(zip(g["metric"], g["value"].astype(float)))
        share = v.get("llm_call_share", 1 - v["llm_calls_avoided"] if "llm_calls_avoided" in v else math.nan)
        kinds = [(_BOUND_WORDS[k], _METRIC_WORDS[m]) for m, k in zip(g["metric"], g["value_kind"])]
        bound = kinds[0][0] if len(kinds) == 1 else "; ".join(f"{w} ({m})" for w, m in kinds)
        rows.append({**dict(zip(_RESULT_KEYS, key)), "llm_call_share": share,
                     "cost_reduction": v.get("cost_reduction", math.nan), "bound": bound,
                     "ids": ";".join(g["id"]), "tag": "V2" if (g["tag"] != "V1").any() else "V1"})
    df = pd.DataFrame(rows).rename(columns={"bibkey": "source"})
    return df[["system", "benchmark", "strategy", "strong", "weak", "llm_call_share", "cost_reduction", "bound",
               "quality", "source", "tag", "ids"]]


def published_routing_results() -> pd.DataFrame:
    """Published routing and cascade results (``data/measurements/routing.csv``),
    one row per system and benchmark: strategy (router or cascade), the
    strong and weak models, ``llm_call_share`` (share of requests the large
    model answered; one minus the share of calls avoided where the source
    states that) and ``cost_reduction`` against the large model alone
    (fractions; NaN where the source gives none), how the source bounds each
    figure, the quality kept, the BibTeX key of the work (``source``), the
    weakest tag of its figures and the ids of its rows in the file. A copy.
    Defined in :ref:`sec_hybrid`.
    """
    return _routing_results().copy()


#: Lin et al.'s AWQ (group 128) rows of ``data/quality/quantisation_perplexity.csv``,
#: under their :mod:`costmodel.formats` names, and how the chapter labels them.
_AWQ_METHODS = {"fp16": ("fp16", "16-bit baseline"), "int4-awq": ("int4", "AWQ, group 128")}
_AWQ_ARXIV, _AWQ_KEY = "arXiv:2306.00978", "lin2023awq"


def published_quantisation_quality() -> pd.DataFrame:
    """WikiText-2 perplexity (lower is better) of Llama 2 7B, 13B and 70B in
    16 bit and in 4-bit AWQ (group 128), from Lin et al.'s Table 4: the AWQ
    and FP16 rows of :func:`costmodel.tradeoff.quantisation_perplexity`, one
    per model and ``weight_dtype`` (the :mod:`costmodel.formats` name), with
    the chapter's label of the method and the BibTeX key of the source.
    Defined in :ref:`sec_hybrid`.
    """
    q = quantisation_perplexity()
    q = q[q["method"].isin(list(_AWQ_METHODS)) & q["source"].str.contains(_AWQ_ARXIV, regex=False)]
    return pd.DataFrame({
        "model": q["model"], "weight_dtype": q["method"].map(lambda m: _AWQ_METHODS[m][0]),
        "wikitext2_perplexity": q["wikitext2_perplexity"].astype(float),
        "method": q["method"].map(lambda m: _AWQ_METHODS[m][1]), "source": _AWQ_KEY,
    }).reset_index(drop=True)


#: Which paper's MMLU (5-shot) the chapter quotes for each model: Jiang et al.,
#: "Mixtral of Experts", for Mixtral 8x7B; Touvron et al., "Llama 2", for the
#: Llama 2 models (arXiv id as ``data/quality/benchmarks.csv`` cites it, and
#: the BibTeX key). The two papers evaluate with their own pipelines.
_MMLU_SOURCES = {
    "mixtral-8x7b-v0.1": ("arXiv:2401.04088", "jiang2024mixtral"),
    "llama-2-7b": ("arXiv:2307.09288", "touvron2023llama2"),
    "llama-2-13b": ("arXiv:2307.09288", "touvron2023llama2"),
    "llama-2-70b": ("arXiv:2307.09288", "touvron2023llama2"),
}


def published_mmlu() -> pd.DataFrame:
    """Published MMLU scores (5-shot, percent) of Mixtral 8x7B and of the
    Llama 2 models, from :func:`costmodel.tradeoff.benchmarks`: one row per
    model with its paper's BibTeX key and the table of its source; each paper
    evaluates with its own pipeline. Defined in :ref:`sec_hybrid`.
    """
    b = benchmarks()
    b = b[b["benchmark"] == "MMLU"]
    rows = []
    for model, (arxiv, key) in _MMLU_SOURCES.items():
        hit = b[(b["model"] == model) & b["source"].str.contains(arxiv, regex=False)]
        if len(hit) != 1:
            raise LookupError(f"data/quality/benchmarks.csv has {len(hit)} MMLU rows of {model} from {arxiv}, not one")
        r = hit.iloc[0]
        rows.append({"model": model, "mmlu": float(r["score"]), "source": key,
                     "source_detail": f"{r['source_detail']}, {r['setting']}"})
    return pd.DataFrame(rows)
