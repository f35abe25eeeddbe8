"""Dollars, joules and carbon per token: self-hosted serving beside API prices,
edge devices, and speculative decoding with a small draft model.

**Dollars.** At the serving operating point (:func:`costmodel.serving_point`:
continuous batching, in the time one request is served the group prefills
every running prompt and runs ``n_out`` decode steps) the ``n`` devices are
paid for the whole cycle. Input tokens are charged the prefill pass, output
tokens the decode steps, so a token's price is the device-seconds of its
phase over the tokens that phase produces, times the price per device-second,
divided by the fraction ``U`` of the paid hour the service is busy
(``utilisation``: a service busy 30 % of the hour pays for the whole hour).
The price per device-hour is the cheapest dated offer for the device in
``data/prices/cloud.csv`` (:func:`costmodel.cheapest_offer`, named in the
result) unless given. Formulas: the "cost" block of
:mod:`costmodel.formulas`.

**Energy and carbon.** The busy device-seconds of a token draw the device's
power (the catalog's ``tdp_w`` times ``power_fraction``, as training counts
it), the idle share of the paid hour draws ``idle_power_w`` (none by default:
no catalog source gives a datacentre device's idle draw), and the data centre
multiplies both by its PUE; CO2 is energy times the grid's carbon intensity.
The arithmetic is training's (:func:`energy_kwh` and :func:`co2e_kg`, which
:func:`costmodel.training_energy_kwh` and :func:`costmodel.training_co2e_kg`
call). Edge devices (:data:`EDGE_DEVICES`) decode one request at a time on
their own battery: joules per token and tokens per charge.

**Speculative decoding** (Leviathan et al. 2023; Chen et al. 2023): a small
draft model proposes ``gamma`` tokens, the target checks them in one pass over
``gamma + 1`` positions on its warm cache, and keeps the accepted run plus one
token of its own. :func:`speculative_decode` times both models with the
inference step model, :func:`best_draft_tokens` picks ``gamma``.

Book sections: ``sec_cost`` and ``sec_speculative``.

    >>> import costmodel as cm
    >>> row = cm.cost_per_million_tokens("llama-3.1-8b", "h100-sxm", 1024, 256, date="2026").iloc[0]
    >>> row["price_source"]
    'lambda/h100-sxm/on-demand/2.49'
    >>> round(float(cm.speculative_speedup(0.75, 7, 0.02)), 2)   # Leviathan et al.: T5-XXL, T5-small draft
    3.16
"""

from __future__ import annotations

import math
from dataclasses import dataclass, replace
from functools import lru_cache
from types import MappingProxyType
from typing import Any, Mapping

import numpy as np
import pandas as pd
from . import _validate as V
from . import formulas as F
from .catalog import DATA_DIR, Hardware, list_hardware
from .inference import DEFAULT_MEMORY_FRACTION, EfficiencyProfile, decode, memory_per_device, prefill, serving_point
from .prices import DEFAULT_CARBON_INTENSITY_ID, DEFAULT_PUE_ID, cheapest_offer, energy_table, energy_value
from ._validate import ArchLike, ArrayLike, HardwareLike

__all__ = [
    "EdgeDevice",
    "EDGE_DEVICES",
    "published_speculative",
    "API_OPEN_WEIGHTS",
    "energy_kwh",
    "co2e_kg",
    "cost_per_million_tokens",
    "cost_per_million_output_tokens",
    "energy_per_million_tokens",
    "electricity_price",
    "edge_energy_per_token",
    "speculative_speedup",
    "break_even_acceptance_rate",
    "speculative_decode",
    "best_draft_tokens",
]

_MILLION = 1e6


#: Hosted-API models of ``data/prices/api.csv`` that serve open weights in the
#: model catalog: (provider, API model name) -> catalog id, from the name the
#: price list gives (Groq's ``llama3-8b-8192`` is Llama 3 8B at its 8,192-token
#: context). Mistral's ``open-mistral-7b`` does not say which release of
#: Mistral 7B it serves; the catalog has v0.1. This belongs in a
#: ``catalog_model`` column of api.csv; it is here until api.csv has one.
API_OPEN_WEIGHTS: Mapping[tuple[str, str], str] = MappingProxyType({
    ("groq", "llama3-8b-8192"): "llama-3-8b",
    ("groq", "llama3-70b-8192"): "llama-3-70b",
    ("groq", "mixtral-8x7b-32768"): "mixtral-8x7b-v0.1",
    ("mistral", "open-mistral-7b"): "mistral-7b-v0.1",
    ("mistral", "open-mixtral-8x7b"): "mixtral-8x7b-v0.1",
})


# ----------------------------------------------------------------------
# Energy and CO2: one implementation, shared with training
# ----------------------------------------------------------------------
def energy_kwh(device_hours: ArrayLike, hardware: HardwareLike | None = None, *,
               device_power_w: ArrayLike | None = None, power_fraction: ArrayLike = 1.0,
               pue: ArrayLike | None = None):
    """Energy drawn from the grid, in kWh, by ``device_hours`` of devices:
    device-hours x device power x ``power_fraction`` (u, the average share of
    it drawn; 1 = the TDP) x ``pue`` (default: the Uptime Institute's 2023
    global average in ``data/prices/energy.csv``). The power is
    ``device_power_w`` or the catalog's ``tdp_w`` of ``hardware``. Numeric
    arguments broadcast. Formula :data:`costmodel.formulas.TRAINING_ENERGY_J`.
    Defined in :ref:`sec_cost`.

    >>> import costmodel as cm
    >>> cm.energy_kwh(10, device_power_w=700, pue=1.5)   # 10 h at 700 W in a PUE-1.5 hall
    10.5
    """
    hours = V.size("device_hours", device_hours, maximum=1e30)
    if device_power_w is None:
        if hardware is None:
            raise ValueError("give hardware (its tdp_w is used) or device_power_w")
        hw = V.as_hardware(hardware)
        if not math.isfinite(hw.tdp_w):
            raise ValueError(f"hardware {hw.id!r} has no published tdp_w; pass device_power_w")
        power = hw.tdp_w
    else:
        power = V.size("device_power_w", device_power_w, minimum=1e-3, maximum=1e7)
    u = V.fraction("power_fraction", power_fraction)
    p = energy_value(DEFAULT_PUE_ID) if pue is None else V.size("pue", pue, minimum=1.0, maximum=10.0)
    V.broadcast(device_hours=hours, device_power_w=power, power_fraction=u, pue=p)
    joules = F.numeric(F.TRAINING_ENERGY_J)(tau_dev=hours * 3600.0, P_dev=power, u_pow=u, PUE=p)
    return joules / 3.6e6


def co2e_kg(energy_kwh: ArrayLike, carbon_intensity_g_per_kwh: ArrayLike | None = None):
    """Kilograms of CO2 for ``energy_kwh`` at ``carbon_intensity_g_per_kwh``
    (default: the U.S. EIA's 2023 average for all utility-scale generation in
    ``data/prices/energy.csv``, direct CO2). Formula
    :data:`costmodel.formulas.TRAINING_CO2E_KG`. Defined in :ref:`sec_cost`.

    >>> import costmodel as cm
    >>> cm.co2e_kg(1000, 400)
    400.0
    """
    e = V.size("energy_kwh", energy_kwh, maximum=1e30)
    c = (energy_value(DEFAULT_CARBON_INTENSITY_ID) if carbon_intensity_g_per_kwh is None
         else V.size("carbon_intensity_g_per_kwh", carbon_intensity_g_per_kwh, maximum=1e4))
    V.broadcast(energy_kwh=e, carbon_intensity_g_per_kwh=c)
    # tau_dev P u PUE = E joules: pass the energy through the joule formula's product
    return F.numeric(F.TRAINING_CO2E_KG)(tau_dev=e * 3.6e6, P_dev=1.0, u_pow=1.0, PUE=1.0, c_grid=c)


# ----------------------------------------------------------------------
# The serving operating point and its price
# ----------------------------------------------------------------------
def _price(hw: Hardware, price_per_device_hour, date, provider, pricing_model, region, include_candidates):
    """(USD per device-hour, where it came from, its date)."""
    if price_per_device_hour is not None:
        if date is not None:
            raise ValueError(f"price_per_device_hour={price_per_device_hour!r} and date={date!r}: give the price or "
                             "the date of a catalog price, not both")
        return V.size("price_per_device_hour", price_per_device_hour, maximum=1e6), "given", ""
    offer = cheapest_offer(hw, date, provider=provider, pricing_model=pricing_model, region=region,
                           include_candidates=include_candidates)
    return np.float64(offer.usd_per_device_hour), offer.row_id, offer.date


_SERVING_KEYS = ("weight_dtype", "kv_dtype", "tensor_parallel", "pipeline_parallel", "expert_parallel", "efficiency",
                 "memory_fraction", "prefill_chunk_tokens")


@dataclass(frozen=True)
class _Point:
    """The serving point at every broadcast input: validated inputs ``a``,
    serving columns ``op``, the model/device columns ``meta``, the blend
    ratio and ``ok`` (1 where it fits, NaN where not)."""

    shape: tuple
    a: dict
    op: dict
    meta: dict
    ratio: Any
    ok: Any


def _operating_point(arch, hw, input_tokens, output_tokens, batch, n_devices, serving: dict, **arrays) -> _Point:
    """Validated inputs broadcast to one shape, and the serving point at each."""
    n_in = V.size("input_tokens", input_tokens, minimum=1, integer=True)
    n_out = V.size("output_tokens", output_tokens, minimum=1, integer=True)
    b = None if batch is None else V.size("batch", batch, minimum=1, integer=True)
    named = {"input_tokens": n_in, "output_tokens": n_out, **({} if b is None else {"batch": b}), **arrays}
    shape = V.broadcast(**named)
    full = {k: np.broadcast_to(v, shape) for k, v in named.items()}
    sp = serving_point(arch, hw, full["input_tokens"], full["output_tokens"], n_devices=n_devices,
                       batch=full.get("batch"), **{k: serving[k] for k in _SERVING_KEYS})
    cols = {k: sp[k].to_numpy().reshape(shape) for k in ("batch", "fits", "ttft_s", "tpot_s", "output_tokens_per_s")}
    # The cycle serving_point's throughput stands on, B T_out / (output tokens per s), is the batch's prefill
    # of every running prompt plus T_out decode steps: the prefill part is what input tokens pay for (NaN where
    # the batch does not fit, as the throughput is).
    cycle = cols["batch"] * full["output_tokens"] / cols["output_tokens_per_s"]
    cols["prefill_s"] = cycle - full["output_tokens"] * cols["tpot_s"]
    meta = sp.iloc[0][["model", "hardware", "n_devices", "weight_dtype"]].to_dict()
    ratio = full.get("blend_ratio", full["input_tokens"] / full["output_tokens"])
    return _Point(shape, full, cols, meta, ratio, np.where(cols["fits"], 1.0, np.nan))


def _frame(shape, columns: Mapping[str, Any]) -> pd.DataFrame:
    return pd.DataFrame({k: np.broadcast_to(np.asarray(v), shape).ravel() for k, v in columns.items()})


def cost_per_million_tokens(arch: ArchLike, hw: HardwareLike, input_tokens: ArrayLike, output_tokens: ArrayLike, *,
                            n_devices: int = 1, batch: ArrayLike | None = None,
                            price_per_device_hour: ArrayLike | None = None, date: Any = None,
                            provider: str | None = None, pricing_model: str = "on_demand", region: str | None = None,
                            include_candidates: bool = False, utilisation: ArrayLike = 1.0,
                            blend_ratio: ArrayLike | None = None, weight_dtype: str = "bf16",
                            kv_dtype: str | None = None, tensor_parallel: int | None = None,
                            pipeline_parallel: int = 1, expert_parallel: int = 1,
                            efficiency: EfficiencyProfile | str | None = None,
                            memory_fraction: float = DEFAULT_MEMORY_FRACTION,
                            prefill_chunk_tokens: int = 8192) -> pd.DataFrame:
    """USD per million input, output and blended tokens of ``arch`` served on
    ``n_devices`` devices of ``hw``, for requests of ``input_tokens`` in and
    ``output_tokens`` out.

    The operating point is :func:`costmodel.serving_point` (``batch``
    running requests, default the largest that fits; the layout, formats and
    efficiency arguments pass through). In the time one request is served the
    group prefills every running prompt (``prefill_s``, the batch's share of
    the cycle that serving_point's throughput stands on) and runs
    ``output_tokens`` decode steps (``tpot_s`` each); input tokens are charged
    the prefill and output tokens the decode steps, so ``prefill_share`` of
    the paid device time goes to input tokens. ``ttft_s`` is a request's own
    time to first token, as serving_point gives it. The price per device-hour is
    ``price_per_device_hour`` or, with ``date``, the cheapest offer the
    catalog lists for the device at that date (:func:`costmodel.cheapest_offer`
    with ``provider``, ``pricing_model``, ``region`` and
    ``include_candidates``; its row id is ``price_source``). There is no
    hidden current price: neither raises, naming the dates that exist.
    ``utilisation`` (U, in (0, 1]) is the fraction of the paid hour the
    service is busy: every cost is divided by it. The blended price mixes
    ``blend_ratio`` input tokens per output token (default the request's own
    ``input_tokens / output_tokens``). Numeric arguments broadcast; one row
    per point, NaN costs where the configuration does not fit. Formulas
    :data:`costmodel.formulas.COST_PER_INPUT_TOKEN`,
    :data:`~costmodel.formulas.COST_PER_OUTPUT_TOKEN`,
    :data:`~costmodel.formulas.COST_PER_TOKEN_BLENDED`.
    Defined in :ref:`sec_cost`.
    """
    arch, hw = V.as_arch(arch), V.as_hardware(hw)
    u = V.fraction("utilisation", utilisation)
    price, source, price_date = _price(hw, price_per_device_hour, date, provider, pricing_model, region,
                                       include_candidates)
    arrays = {"utilisation": u, "price_per_device_hour": price}
    if blend_ratio is not None:
        arrays["blend_ratio"] = V.size("blend_ratio", blend_ratio, maximum=1e6)
    pt = _operating_point(arch, hw, input_tokens, output_tokens, batch, n_devices, locals(), **arrays)
    a, op, meta, shape = pt.a, pt.op, pt.meta, pt.shape
    n_in, n_out = a["input_tokens"], a["output_tokens"]
    vals = dict(c_dev=a["price_per_device_hour"], n_dev=float(meta["n_devices"]), t_pre=op["prefill_s"],
                t_dec=op["tpot_s"], B=op["batch"], n_in=n_in, n_out=n_out, U_srv=a["utilisation"], r_io=pt.ratio)

    def per_million(expr):
        fn = F.numeric(expr)
        return _MILLION * fn(**{k: vals[k] for k in fn.args}) * pt.ok

    cycle = F.numeric(F.SERVING_CYCLE_TIME)(t_pre=op["prefill_s"], t_dec=op["tpot_s"], n_out=n_out)
    return _frame(shape, {
        **meta, "input_tokens": n_in, "output_tokens": n_out, "batch": op["batch"], "fits": op["fits"],
        "utilisation": a["utilisation"], "price_per_device_hour_usd": a["price_per_device_hour"],
        "price_source": source, "price_date": price_date, "ttft_s": op["ttft_s"], "tpot_s": op["tpot_s"],
        "prefill_s": op["prefill_s"], "cycle_s": cycle,
        "prefill_share": F.numeric(F.PREFILL_SHARE)(t_pre=op["prefill_s"], t_dec=op["tpot_s"], n_out=n_out),
        "output_tokens_per_s": op["output_tokens_per_s"],
        "usd_per_1m_input_tokens": per_million(F.COST_PER_INPUT_TOKEN),
        "usd_per_1m_output_tokens": per_million(F.COST_PER_OUTPUT_TOKEN),
        "blend_ratio": pt.ratio, "usd_per_1m_blended_tokens": per_million(F.COST_PER_TOKEN_BLENDED),
        "usd_per_request": (per_million(F.COST_PER_INPUT_TOKEN) * n_in
                            + per_million(F.COST_PER_OUTPUT_TOKEN) * n_out) / _MILLION,
    })


def _unknown_or_size(name: str, value, minimum: float = 0.0, maximum: float = 1e12) -> np.ndarray:
    """A non-negative size where NaN means "not known" (a device without a
    price or a power figure, a configuration that does not fit)."""
    a = V._as_float_array(name, value)
    known = a[~np.isnan(a)]
    if known.size:
        V.size(name, known, minimum=minimum, maximum=maximum)
    return a


def per_million_output_tokens(output_tokens_per_s, n_devices, price_per_device_hour_usd, power_w, utilisation,
                              pue):
    """The kernel of :func:`cost_per_million_output_tokens` on validated
    float arrays (the sweeps call it on millions of rows); a throughput that
    is not positive gives NaN."""
    with np.errstate(divide="ignore", invalid="ignore"):
        r = np.where(output_tokens_per_s > 0, output_tokens_per_s, np.nan)
        usd = _MILLION * F.numeric(F.COST_PER_OUTPUT_TOKEN_ALL_IN)(c_dev=price_per_device_hour_usd, n_dev=n_devices,
                                                                   R_out=r, U_srv=utilisation)
        joules = _MILLION * F.numeric(F.ENERGY_PER_OUTPUT_TOKEN_ALL_IN)(P_dev=power_w, n_dev=n_devices, R_out=r,
                                                                       u_pow=1.0, PUE=pue)
    return usd, joules


def cost_per_million_output_tokens(output_tokens_per_s: ArrayLike, n_devices: ArrayLike,
                                   price_per_device_hour_usd: ArrayLike = math.nan, power_w: ArrayLike = math.nan,
                                   *, utilisation: ArrayLike = 1.0, pue: ArrayLike = 1.0):
    """Dollars and joules per million output tokens of a replica of
    ``n_devices`` devices that writes ``output_tokens_per_s`` tokens a second
    in total, the prompts' prefill included (the throughput of
    :func:`costmodel.serving_point`): every paid device-second is charged to
    the output tokens. ``utilisation`` (U, in (0, 1]) divides the dollars (the
    idle part of the hour is paid too); the joules are the busy devices'
    ``power_w`` each times ``pue`` (1 by default: the devices alone). NaN in a
    price, a power or a throughput means unknown and gives NaN. The one place
    the planner, the sweeps and the hybrid chapter turn throughput into
    money and energy. Returns ``(usd, joules)``, floats for scalar inputs.
    Formulas :data:`costmodel.formulas.COST_PER_OUTPUT_TOKEN_ALL_IN` and
    :data:`~costmodel.formulas.ENERGY_PER_OUTPUT_TOKEN_ALL_IN`.
    Defined in :ref:`sec_cost`.

    >>> import costmodel as cm
    >>> cm.cost_per_million_output_tokens(1000.0, 2, 3.6, 700.0)   # 2 x 3.6 / 3600 / 1000 x 1e6; 2 x 700 / 1000 x 1e6
    (2.0, 1400000.0)
    """
    r = _unknown_or_size("output_tokens_per_s", output_tokens_per_s)
    n = V.size("n_devices", n_devices, minimum=1, integer=True, maximum=1e6)
    price = _unknown_or_size("price_per_device_hour_usd", price_per_device_hour_usd, maximum=1e6)
    power = _unknown_or_size("power_w", power_w, maximum=1e7)
    u = V.fraction("utilisation", utilisation)
    p = V.size("pue", pue, minimum=1.0, maximum=10.0)
    V.broadcast(output_tokens_per_s=r, n_devices=n, price_per_device_hour_usd=price, power_w=power, utilisation=u,
                pue=p)
    usd, joules = per_million_output_tokens(r, n, price, power, u, p)
    if all(np.ndim(x) == 0 for x in (output_tokens_per_s, n_devices, price_per_device_hour_usd, power_w,
                                     utilisation, pue)):
        return float(usd), float(joules)
    return usd, joules


def _energy_per_token(device_seconds, u_srv, hw, device_power_w, power_fraction, idle_power_w, pue):
    """Grid joules of ``device_seconds`` busy device-seconds plus the idle
    share of the paid hour, through :func:`energy_kwh`."""
    busy = energy_kwh(device_seconds / 3600, hw, device_power_w=device_power_w, power_fraction=power_fraction,
                      pue=pue)
    if idle_power_w is None:
        return busy * 3.6e6
    idle_s = device_seconds * (1 - u_srv) / u_srv
    # energy is linear in the power: the idle hours at 1 W, times the idle draw (which may be 0)
    idle = energy_kwh(idle_s / 3600, device_power_w=1.0, pue=pue) * idle_power_w
    return (busy + idle) * 3.6e6


def energy_per_million_tokens(arch: ArchLike, hw: HardwareLike, input_tokens: ArrayLike, output_tokens: ArrayLike, *,
                              n_devices: int = 1, batch: ArrayLike | None = None, utilisation: ArrayLike = 1.0,
                              power_fraction: ArrayLike = 1.0, device_power_w: ArrayLike | None = None,
                              idle_power_w: ArrayLike | None = None, pue: ArrayLike | None = None,
                              carbon_intensity_g_per_kwh: ArrayLike | None = None,
                              electricity_usd_per_kwh: ArrayLike | str | None = None,
                              blend_ratio: ArrayLike | None = None, weight_dtype: str = "bf16",
                              kv_dtype: str | None = None, tensor_parallel: int | None = None,
                              pipeline_parallel: int = 1, expert_parallel: int = 1,
                              efficiency: EfficiencyProfile | str | None = None,
                              memory_fraction: float = DEFAULT_MEMORY_FRACTION,
                              prefill_chunk_tokens: int = 8192) -> pd.DataFrame:
    """Joules per token, kWh and kg CO2 per million input, output and
    blended tokens at the operating point of :func:`cost_per_million_tokens`.

    A token's busy device-seconds (the prefill pass over the batch's input
    tokens, or the decode steps over its output tokens) draw
    ``device_power_w`` (default the catalog's ``tdp_w``) times
    ``power_fraction``; with ``utilisation`` below 1 the idle rest of the
    paid hour draws ``idle_power_w`` per device (default: not counted, since
    no catalog source states a datacentre device's idle draw); the data centre
    multiplies both by ``pue`` (default the Uptime Institute's 2023 average).
    CO2 at ``carbon_intensity_g_per_kwh`` (default the EIA's 2023 U.S.
    average, direct CO2). The arithmetic is :func:`energy_kwh` and
    :func:`co2e_kg`. With ``electricity_usd_per_kwh`` (a price, or the id of
    an ``electricity_price`` row of ``data/prices/energy.csv``) the result
    adds ``electricity_usd_per_1m_..._tokens``: what an owner of the devices
    pays the grid (a cloud price per device-hour already includes it).
    Numeric arguments broadcast; NaN where it does not fit. Formulas
    :data:`costmodel.formulas.ENERGY_PER_OUTPUT_TOKEN` and
    :data:`~costmodel.formulas.ELECTRICITY_COST_PER_OUTPUT_TOKEN`.
    Defined in :ref:`sec_cost`.
    """
    arch, hw = V.as_arch(arch), V.as_hardware(hw)
    arrays = {"utilisation": V.fraction("utilisation", utilisation),
              "power_fraction": V.fraction("power_fraction", power_fraction)}
    optional = {"device_power_w": (device_power_w, 1e-3), "idle_power_w": (idle_power_w, 0.0), "pue": (pue, 1.0),
                "carbon_intensity_g_per_kwh": (carbon_intensity_g_per_kwh, 0.0), "blend_ratio": (blend_ratio, 0.0)}
    for name, (value, low) in optional.items():
        if value is not None:
            arrays[name] = V.size(name, value, minimum=low, maximum=1e7)
    if isinstance(electricity_usd_per_kwh, str):
        arrays["electricity_usd_per_kwh"] = np.float64(electricity_price(electricity_usd_per_kwh))
    elif electricity_usd_per_kwh is not None:
        arrays["electricity_usd_per_kwh"] = V.size("electricity_usd_per_kwh", electricity_usd_per_kwh, maximum=1e3)
    if "device_power_w" not in arrays and not math.isfinite(hw.tdp_w):
        raise ValueError(f"hardware {hw.id!r} has no published tdp_w; pass device_power_w")
    pt = _operating_point(arch, hw, input_tokens, output_tokens, batch, n_devices, locals(), **arrays)
    a, op, meta, shape, ratio, ok = pt.a, pt.op, pt.meta, pt.shape, pt.ratio, pt.ok
    n_in, n_out = a["input_tokens"], a["output_tokens"]
    vals = dict(n_dev=float(meta["n_devices"]), t_pre=op["prefill_s"], t_dec=op["tpot_s"], B=op["batch"], n_in=n_in,
                n_out=n_out)
    joules = {}
    for kind, expr in (("input", F.DEVICE_SECONDS_PER_INPUT_TOKEN), ("output", F.DEVICE_SECONDS_PER_OUTPUT_TOKEN)):
        fn = F.numeric(expr)
        seconds = fn(**{k: vals[k] for k in fn.args})
        joules[kind] = _energy_per_token(seconds, a["utilisation"], hw, a.get("device_power_w"), a["power_fraction"],
                                         a.get("idle_power_w"), a.get("pue")) * ok
    joules["blended"] = (ratio * joules["input"] + joules["output"]) / (ratio + 1)
    power = a.get("device_power_w", hw.tdp_w)
    cols = {**meta, "input_tokens": n_in, "output_tokens": n_out, "batch": op["batch"], "fits": op["fits"],
            "utilisation": a["utilisation"], "device_power_w": power, "power_fraction": a["power_fraction"],
            "idle_power_w": a.get("idle_power_w", 0.0),
            "pue": a.get("pue", energy_value(DEFAULT_PUE_ID)),
            "carbon_intensity_g_per_kwh": a.get("carbon_intensity_g_per_kwh",
                                                energy_value(DEFAULT_CARBON_INTENSITY_ID)),
            "blend_ratio": ratio}
    for kind, j in joules.items():
        kwh = j * _MILLION / 3.6e6
        cols[f"joules_per_{kind}_token"] = j
        cols[f"kwh_per_1m_{kind}_tokens"] = kwh
        cols[f"kg_co2_per_1m_{kind}_tokens"] = co2e_kg(np.nan_to_num(kwh), a.get("carbon_intensity_g_per_kwh")) * ok
    if "electricity_usd_per_kwh" in a:
        p_elec = a["electricity_usd_per_kwh"]
        cols["electricity_usd_per_kwh"] = p_elec
        for kind, j in joules.items():
            # the joules already carry the PUE and the idle share: the formula at PUE = u = 1, P = 1 W, t = j s
            cols[f"electricity_usd_per_1m_{kind}_tokens"] = _MILLION * F.numeric(
                F.ELECTRICITY_COST_PER_OUTPUT_TOKEN)(n_dev=1.0, n_out=1.0, t_dec=j, B=1.0, P_dev=1.0, u_pow=1.0,
                                                     PUE=1.0, P_idle=0.0, U_srv=1.0, p_elec=p_elec)
    return _frame(shape, cols)


def electricity_price(row_id: str) -> float:
    """USD per kWh of an ``electricity_price`` row of
    ``data/prices/energy.csv`` (e.g.
    ``"electricity-price/us-virginia/industrial/2023-annual"``); any other id
    raises naming the electricity rows there are. Defined in :ref:`sec_cost`.

    >>> import costmodel as cm
    >>> cm.electricity_price("electricity-price/us-texas/industrial/2023-annual")   # EIA, 2023 average
    0.066
    """
    rows = energy_table("electricity_price")
    if row_id not in set(rows["id"]):
        raise ValueError(f"electricity_usd_per_kwh={row_id!r} is not an electricity_price row of "
                         f"data/prices/energy.csv (rows: {rows['id'].tolist()})")
    return energy_value(row_id)


# ----------------------------------------------------------------------
# Edge devices
# ----------------------------------------------------------------------
@dataclass(frozen=True)
class EdgeDevice:
    """A battery device that decodes one request at a time: the catalog
    device whose bandwidth times its decode steps (``hardware``), the power
    it draws while decoding (``power_w``) and idle (``idle_power_w``, NaN when
    no source gives it), its battery (``battery_wh``) and where each figure
    comes from (bib keys of ``references.bib``). Defined in :ref:`sec_cost`."""

    name: str
    hardware: str
    power_w: float
    idle_power_w: float
    battery_wh: float
    power_source: str
    battery_source: str


#: The edge devices of the cost chapter. These figures belong in a data file
#: (they are here until ``data/`` has a table for device power and batteries):
#:
#: * phone: the Snapdragon 8 Gen 3 of the hardware catalog. Sustained power: a
#:   phone cannot shed more than about 3 W of heat for long (Tarkoma et al.
#:   2014, "Smartphone Energy Consumption", read in Warden 2015); the battery
#:   is a Galaxy S10's, 13.09 Wh as its label reads in iFixit's teardown
#:   (2019): a phone battery, not the battery of a Snapdragon 8 Gen 3 phone.
#: * laptop: Apple M2. Power: Apple's figures for the Mac mini (2023) with M2,
#:   7 W idle and 50 W at CPU maximum (Apple support document "Mac mini power
#:   consumption and thermal output", read in copies of January 2023); the
#:   battery: the MacBook Air (M2, 2022), 52.6 Wh (Apple technical
#:   specifications). A Mac mini's wall power under a CPU load, used for a
#:   laptop's GPU decoding: an upper figure.
EDGE_DEVICES: Mapping[str, EdgeDevice] = MappingProxyType({
    "phone": EdgeDevice("phone (Snapdragon 8 Gen 3, Galaxy S10 battery)", "snapdragon-8-gen-3", 3.0, math.nan,
                        13.09, "tarkoma2014smartphone", "ifixit2019galaxys10"),
    "laptop": EdgeDevice("laptop (Apple M2, MacBook Air battery)", "apple-m2", 50.0, 7.0, 52.6,
                         "apple2023macminipower", "apple2022macbookairm2"),
})


def _edge_device(device, device_power_w, idle_power_w, battery_wh) -> EdgeDevice:
    if isinstance(device, EdgeDevice):
        dev = device
    elif isinstance(device, str) and device in EDGE_DEVICES:
        dev = EDGE_DEVICES[device]
    elif isinstance(device, Hardware) or (isinstance(device, str) and device in list_hardware()):
        hw = V.as_hardware(device, "device")
        dev = EdgeDevice(hw.name, hw.id, hw.tdp_w, math.nan, math.nan, "catalog tdp_w", "")
    else:
        raise ValueError(f"device={device!r} must be one of {sorted(EDGE_DEVICES)}, an EdgeDevice or a catalog "
                         "hardware id")
    changes = {}
    for name, field_name, value, low in (("device_power_w", "power_w", device_power_w, 1e-3),
                                         ("idle_power_w", "idle_power_w", idle_power_w, 0.0),
                                         ("battery_wh", "battery_wh", battery_wh, 1e-3)):
        if value is not None:
            changes[field_name] = float(V.size(name, value, minimum=low, maximum=1e7))
    dev = replace(dev, **changes, **({"power_source": "given"} if "power_w" in changes else {}),
                  **({"battery_source": "given"} if "battery_wh" in changes else {}))
    if not math.isfinite(dev.power_w):
        raise ValueError(f"device {dev.name!r} ({dev.hardware}) has no power figure; pass device_power_w")
    return dev


def edge_energy_per_token(arch: ArchLike, device: str | EdgeDevice | Hardware = "phone", *,
                          context: ArrayLike = 1024, weight_dtype: str = "q4_0", kv_dtype: str | None = None,
                          device_power_w: float | None = None, idle_power_w: float | None = None,
                          battery_wh: float | None = None,
                          efficiency: EfficiencyProfile | str | None = None) -> pd.DataFrame:
    """Joules per output token of ``arch`` decoding one request on an edge
    ``device`` (a key of :data:`EDGE_DEVICES`, an :class:`EdgeDevice`, or a
    catalog device, whose ``tdp_w`` is its power), against its battery.

    The time per token is :func:`costmodel.decode` at batch 1 with
    ``context`` tokens cached (``weight_dtype`` default llama.cpp's q4_0;
    the efficiency profile the inference model fits for the device). Joules
    per token = power x time; the marginal joules subtract the idle draw
    (what the model adds to a device that is on anyway; NaN without an idle
    figure). Tokens per charge = battery energy / joules per token, and the
    battery share 1000 tokens take. ``device_power_w``, ``idle_power_w`` and
    ``battery_wh`` override the device's figures. Prefill is not counted:
    the edge devices publish no compute peak, so the step model cannot time
    it. ``context`` broadcasts. Defined in :ref:`sec_cost`.
    """
    arch = V.as_arch(arch)
    dev = _edge_device(device, device_power_w, idle_power_w, battery_wh)
    c = V.size("context", context, integer=True)
    r = decode(arch, dev.hardware, batch=1, context=c, weight_dtype=weight_dtype, kv_dtype=kv_dtype,
               efficiency=efficiency)
    t = np.asarray(r.latency_s, dtype=float)
    joules = dev.power_w * t
    marginal = (dev.power_w - dev.idle_power_w) * t
    per_charge = dev.battery_wh * 3600 / joules
    shape = np.shape(c)
    return _frame(shape, {
        "model": arch.name, "device": dev.name, "hardware": dev.hardware, "weight_dtype": r.inputs["weight_dtype"],
        "context": c, "seconds_per_token": t, "tokens_per_s": 1 / t, "power_w": dev.power_w,
        "idle_power_w": dev.idle_power_w, "joules_per_token": joules, "marginal_joules_per_token": marginal,
        "battery_wh": dev.battery_wh, "tokens_per_charge": per_charge,
        "battery_pct_per_1k_tokens": 100 * 1000 / per_charge, "power_source": dev.power_source,
        "battery_source": dev.battery_source,
    })


# ----------------------------------------------------------------------
# Speculative decoding
# ----------------------------------------------------------------------
#: Published speculative-decoding results the chapter compares with, one row
#: per published number (``data/measurements/speculative.csv``, see its README).
SPECULATIVE_CSV = DATA_DIR / "measurements" / "speculative.csv"
_SPEC_KEYS = ["method", "target", "draft", "setting", "bibkey"]


@lru_cache(maxsize=None)
def _published_speculative() -> pd.DataFrame:
    with SPECULATIVE_CSV.open("rb") as f:
        long = pd.read_csv(f, dtype={"published": str, "retrieved": str}, keep_default_na=False)
    long["value"] = long["value"].astype(float)
    # the draft's cost ratio c is published once per target and draft, for every task
    c = long[long["metric"] == "cost_ratio"].set_index(["target", "draft"])["value"]
    rows = []
    for key, g in long[long["metric"] != "cost_ratio"].groupby(_SPEC_KEYS, sort=False, dropna=False):
        v = dict(zip(g["metric"] + g["value_kind"].map({"range_low": "_low", "range_high": "_high"}).fillna(""),
                     g["value"]))
        speed = v.get("speedup", math.nan)
        rows.append({**dict(zip(_SPEC_KEYS, key)),
                     "acceptance_rate": v.get("acceptance_rate", math.nan),
                     "draft_tokens": v.get("draft_tokens", math.nan),
                     "cost_ratio": float(c.get((key[1], key[2]), math.nan)),
                     "speedup": speed, "speedup_low": v.get("speedup_low", speed),
                     "speedup_high": v.get("speedup_high", speed),
                     "tag": "V2" if (g["tag"] != "V1").any() else "V1", "ids": ";".join(g["id"])})
    df = pd.DataFrame(rows).rename(columns={"bibkey": "source"})
    df["draft"] = df["draft"].replace("", None)
    return df


def published_speculative() -> pd.DataFrame:
    """Published speculative-decoding results (``data/measurements/speculative.csv``),
    one row per result: ``source`` (BibTeX key), method, target, draft,
    setting, the acceptance rate alpha, the draft length gamma
    (``draft_tokens``) where the source states it, the draft's cost ratio c
    and the measured walltime ``speedup``; a published range has ``speedup``
    NaN and its ends in ``speedup_low`` and ``speedup_high`` (equal to
    ``speedup`` for a single value). NaN wherever the record gives no figure.
    Leviathan, Kalman and Matias (2023), tables 2 and 4 (T5-XXL target, one
    TPU v4, batch 1); Chen et al. (2023), abstract (Chinchilla 70B, 2 to 2.5
    times). A copy. Defined in :ref:`sec_speculative`.
    """
    return _published_speculative().copy()


def _acceptance(value) -> np.ndarray:
    a = V.size("acceptance_rate", value, maximum=1.0)
    if np.any(a >= 1):
        raise ValueError(f"acceptance_rate={a[a >= 1].flat[0]:g} must be in [0, 1): at 1 every draft is accepted "
                         "and the expected run never ends")
    return a


def _draft_tokens(value, name: str = "draft_tokens") -> np.ndarray:
    return V.size(name, value, minimum=1, integer=True, maximum=1e3)


def speculative_speedup(acceptance_rate: ArrayLike, draft_tokens: ArrayLike, draft_cost_ratio: ArrayLike):
    """Leviathan et al.'s expected walltime improvement (their theorem 3.8),
    (1 - alpha^(gamma+1)) / ((1 - alpha)(gamma c + 1)): ``acceptance_rate``
    alpha in [0, 1), ``draft_tokens`` gamma >= 1, ``draft_cost_ratio`` c (a
    draft step over a target step), with the verifying pass taking one
    target step. Broadcasts. :func:`speculative_decode` times the steps
    instead. Formula :data:`costmodel.formulas.SPEC_SPEEDUP_LEVIATHAN`.
    Defined in :ref:`sec_speculative`.

    >>> import costmodel as cm
    >>> round(float(cm.speculative_speedup(0.5, 1, 0.5)), 3)   # (1 + 0.5) / (1 + 0.5)
    1.0
    """
    a, g = _acceptance(acceptance_rate), _draft_tokens(draft_tokens)
    c = V.size("draft_cost_ratio", draft_cost_ratio, maximum=1e3)
    V.broadcast(acceptance_rate=a, draft_tokens=g, draft_cost_ratio=c)
    return F.numeric(F.SPEC_SPEEDUP_LEVIATHAN)(alpha_acc=a, gamma_sd=g, c_sd=c, t_dec=1.0)


def break_even_acceptance_rate(step_time_ratio: ArrayLike, draft_tokens: ArrayLike):
    """The acceptance rate at which speculation is exactly as fast as plain
    decoding: the alpha where the expected tokens per step
    (1 - alpha^(gamma+1))/(1 - alpha) equal ``step_time_ratio``, the time of
    a speculative step (gamma draft steps and the verifying pass) over one
    plain decode step. Found by scipy's ``brentq`` on [0, 1) (scipy must be
    installed: it is not a core dependency; the expected
    tokens grow with alpha, so the root is unique); 0 where the step is no
    slower than a decode step, NaN where even alpha -> 1 (gamma + 1 tokens)
    does not pay. Broadcasts. Formula
    :data:`costmodel.formulas.SPEC_EXPECTED_TOKENS`. Defined in
    :ref:`sec_speculative`.

    >>> import costmodel as cm
    >>> round(float(cm.break_even_acceptance_rate(1.25, 1)), 6)   # gamma = 1: 1 + alpha = 1.25
    0.25
    """
    from scipy.optimize import brentq  # scipy is not a core dependency: imported where it is used

    r = V.size("step_time_ratio", step_time_ratio, maximum=1e6)
    g = _draft_tokens(draft_tokens)
    shape = V.broadcast(step_time_ratio=r, draft_tokens=g)
    r, g = np.broadcast_to(r, shape), np.broadcast_to(g, shape)
    expected = F.numeric(F.SPEC_EXPECTED_TOKENS)
    out = np.empty(shape)
    hi = 1.0 - 1e-12
    for idx in np.ndindex(shape):
        ri, gi = float(r[idx]), float(g[idx])
        if ri <= 1.0:
            out[idx] = 0.0
        elif ri >= expected(alpha_acc=hi, gamma_sd=gi):
            out[idx] = math.nan
        else:
            out[idx] = brentq(lambda a: expected(alpha_acc=a, gamma_sd=gi) - ri, 0.0, hi, xtol=1e-14, rtol=1e-12)
    return float(out) if out.ndim == 0 else out


def _speculative(target, draft, hw, acceptance_rate, draft_tokens, batch, context, n_devices, draft_n_devices,
                 weight_dtype, draft_weight_dtype, kv_dtype, efficiency, memory_fraction):
    """Arrays of a speculative step at every broadcast point (validated inputs)."""
    t_arch, d_arch, hw = V.as_arch(target, "target"), V.as_arch(draft, "draft"), V.as_hardware(hw)
    if d_arch.vocab_size != t_arch.vocab_size:
        raise ValueError(f"draft {d_arch.name!r} has vocab_size={d_arch.vocab_size}, target {t_arch.name!r} "
                         f"vocab_size={t_arch.vocab_size}: the target verifies the draft's tokens, so they must share "
                         "one vocabulary")
    a, g = _acceptance(acceptance_rate), _draft_tokens(draft_tokens)
    b = V.size("batch", batch, minimum=1, integer=True)
    c = V.size("context", context, integer=True)
    nd = int(V.size("draft_n_devices", draft_n_devices, minimum=1, integer=True, maximum=1e6))
    if nd > n_devices:
        raise ValueError(f"draft_n_devices={nd} exceeds n_devices={n_devices}: the draft runs on the target's devices")
    shape = V.broadcast(acceptance_rate=a, draft_tokens=g, batch=b, context=c)
    a, g, b, c = (np.broadcast_to(x, shape).astype(float) for x in (a, g, b, c))
    frac = float(V.fraction("memory_fraction", memory_fraction))
    d_dtype = weight_dtype if draft_weight_dtype is None else draft_weight_dtype
    common = dict(kv_dtype=kv_dtype, efficiency=efficiency, memory_fraction=1.0)
    arr = (lambda x: np.atleast_1d(x)) if not shape else (lambda x: x)  # arrays: no fit error inside the steps
    t_dec = decode(t_arch, hw, batch=arr(b), context=arr(c), n_devices=n_devices, weight_dtype=weight_dtype, **common)
    d_first = decode(d_arch, hw, batch=arr(b), context=arr(c), n_devices=nd, weight_dtype=d_dtype, **common)
    d_last = decode(d_arch, hw, batch=arr(b), context=arr(c + g - 1), n_devices=nd, weight_dtype=d_dtype, **common)
    ver = prefill(t_arch, hw, batch=arr(b), prompt_tokens=arr(g + 1), cached_tokens=arr(c), n_devices=n_devices,
                  weight_dtype=weight_dtype, logits="all", **common)
    # decode time is linear in the context over the gamma drafted positions: the mean of the first and last step
    t_draft = (np.asarray(d_first.latency_s) + np.asarray(d_last.latency_s)) / 2
    need_t = memory_per_device(t_arch, hw, batch=arr(b), context=arr(c + g + 1), n_devices=n_devices,
                               weight_dtype=weight_dtype, kv_dtype=kv_dtype, workspace_tokens=arr(b * (g + 1)))
    need_d = memory_per_device(d_arch, hw, batch=arr(b), context=arr(c + g), n_devices=nd, weight_dtype=d_dtype,
                               kv_dtype=kv_dtype)
    need = (need_t["total_bytes"].to_numpy() + need_d["total_bytes"].to_numpy()).reshape(np.shape(arr(b)))
    cap = hw.memory_bytes * frac
    fits = need <= cap if math.isfinite(cap) else np.ones(np.shape(need), bool)
    if not shape and not bool(np.all(fits)):
        raise ValueError(f"{t_arch.name} and its draft {d_arch.name} do not fit together on {hw.id}: "
                         f"{float(np.max(need)) / 1e9:.1f} GB per device against {cap / 1e9:.1f} GB "
                         f"({frac:.0%} of memory); add devices, quantise, or shorten batch or context")
    ok = np.where(fits, 1.0, np.nan)
    vals = dict(alpha_acc=a, gamma_sd=g, t_draft=np.reshape(t_draft, shape) * np.reshape(ok, shape),
                t_ver=np.reshape(np.asarray(ver.latency_s), shape), t_dec=np.reshape(np.asarray(t_dec.latency_s), shape))
    expected = F.numeric(F.SPEC_EXPECTED_TOKENS)(alpha_acc=a, gamma_sd=g)
    step = F.numeric(F.SPEC_STEP_TIME)(**{k: vals[k] for k in F.numeric(F.SPEC_STEP_TIME).args})
    speedup = F.numeric(F.SPEC_SPEEDUP)(**{k: vals[k] for k in F.numeric(F.SPEC_SPEEDUP).args})
    ratio = step / vals["t_dec"]
    finite = np.isfinite(ratio)
    breakeven = np.full(shape, np.nan)
    if np.any(finite):
        be = break_even_acceptance_rate(np.where(finite, ratio, 1.0), g)
        breakeven = np.where(finite, be, np.nan)
    return shape, {
        "target": t_arch.name, "draft": d_arch.name, "hardware": hw.id, "n_devices": n_devices,
        "draft_n_devices": nd, "weight_dtype": t_dec.inputs["weight_dtype"],
        "draft_weight_dtype": d_first.inputs["weight_dtype"], "acceptance_rate": a, "draft_tokens": g, "batch": b,
        "context": c, "expected_tokens_per_step": expected, "draft_step_s": vals["t_draft"],
        "verify_s": vals["t_ver"], "step_s": step, "target_decode_s": vals["t_dec"],
        "draft_cost_ratio": vals["t_draft"] / vals["t_dec"], "verify_cost_ratio": vals["t_ver"] / vals["t_dec"],
        "tokens_per_s_per_sequence": expected / step, "tokens_per_s_per_sequence_plain": 1 / vals["t_dec"],
        "speedup": speedup, "break_even_acceptance_rate": breakeven, "pays": speedup > 1,
        "memory_per_device_bytes": np.reshape(need, shape), "fits": np.reshape(fits, shape),
    }


def speculative_decode(target: ArchLike, draft: ArchLike, hw: HardwareLike, *, acceptance_rate: ArrayLike,
                       draft_tokens: ArrayLike, batch: ArrayLike = 1, context: ArrayLike = 1024, n_devices: int = 1,
                       draft_n_devices: int = 1, weight_dtype: str = "bf16", draft_weight_dtype: str | None = None,
                       kv_dtype: str | None = None, efficiency: EfficiencyProfile | str | None = None,
                       memory_fraction: float = DEFAULT_MEMORY_FRACTION,
                       price_per_device_hour: ArrayLike | None = None, date: Any = None, provider: str | None = None,
                       pricing_model: str = "on_demand", utilisation: ArrayLike = 1.0) -> pd.DataFrame:
    """Speculative decoding of ``target`` with the ``draft`` model on ``hw``:
    expected tokens per target step, time per step, speed-up over plain
    decoding, the break-even acceptance rate, and the cost per token.

    Each step the draft decodes ``draft_tokens`` (gamma) tokens, one decode
    step each at the growing context (:func:`costmodel.decode`, on
    ``draft_n_devices`` of the target's devices, in ``draft_weight_dtype``,
    default the target's), then the target runs one pass over the gamma + 1
    positions on its warm cache of ``context`` tokens, logits at every
    position (:func:`costmodel.prefill` with ``prompt_tokens=gamma+1``,
    ``cached_tokens=context``, ``logits="all"``). Each drafted token is
    accepted with probability ``acceptance_rate`` (alpha, in [0, 1),
    independently: Leviathan et al.'s assumption) and the step yields
    (1 - alpha^(gamma+1)) / (1 - alpha) tokens per sequence. The speed-up
    divides the tokens per second by those of plain decoding at the same
    ``batch`` and ``context``; ``break_even_acceptance_rate`` is the alpha
    below which speculation is slower (:func:`break_even_acceptance_rate`).
    Both models must fit on a device together (weights, caches, the
    verifying pass's workspace, within ``memory_fraction``): a scalar call
    that does not raises, array points come back NaN with ``fits`` False. The
    draft must share the target's vocabulary. With ``price_per_device_hour``
    or ``date`` (the cheapest catalog offer, as in
    :func:`cost_per_million_tokens`) the result adds USD per million output
    tokens with and without speculation, the ``n_devices`` paid for, at
    ``utilisation``. Numeric arguments broadcast; one row per point.
    Formulas :data:`costmodel.formulas.SPEC_EXPECTED_TOKENS`,
    :data:`~costmodel.formulas.SPEC_STEP_TIME`,
    :data:`~costmodel.formulas.SPEC_SPEEDUP`.
    Defined in :ref:`sec_speculative`.
    """
    shape, cols = _speculative(target, draft, hw, acceptance_rate, draft_tokens, batch, context, n_devices,
                               draft_n_devices, weight_dtype, draft_weight_dtype, kv_dtype, efficiency, memory_fraction)
    if price_per_device_hour is not None or date is not None:
        hw_obj = V.as_hardware(hw)
        price, source, price_date = _price(hw_obj, price_per_device_hour, date, provider, pricing_model, None, False)
        u = V.fraction("utilisation", utilisation)
        shape = V.broadcast(points=np.empty(shape), price_per_device_hour=price, utilisation=u)
        vals = dict(c_dev=price, n_dev=float(n_devices), B=cols["batch"], U_srv=u, t_dec=cols["target_decode_s"],
                    alpha_acc=cols["acceptance_rate"], gamma_sd=cols["draft_tokens"], t_draft=cols["draft_step_s"],
                    t_ver=cols["verify_s"])
        plain, spec = F.numeric(F.COST_PER_OUTPUT_TOKEN), F.numeric(F.SPEC_COST_PER_OUTPUT_TOKEN)
        cols.update({
            "price_per_device_hour_usd": price, "price_source": source, "price_date": price_date, "utilisation": u,
            "usd_per_1m_output_tokens_plain": _MILLION * plain(**{k: vals[k] for k in plain.args}),
            "usd_per_1m_output_tokens": _MILLION * spec(**{k: vals[k] for k in spec.args}),
        })
    return _frame(shape, cols)


def best_draft_tokens(target: ArchLike, draft: ArchLike, hw: HardwareLike, *, acceptance_rate: ArrayLike,
                      max_draft_tokens: int = 16, batch: ArrayLike = 1, context: ArrayLike = 1024,
                      **kwargs) -> pd.DataFrame:
    """The draft length gamma in 1..``max_draft_tokens`` that gives the
    largest speed-up of :func:`speculative_decode` at each
    ``acceptance_rate``, ``batch`` and ``context`` (they broadcast; other
    keyword arguments pass through): one row per point with
    ``best_draft_tokens``, the ``speedup`` there, its break-even acceptance
    rate and ``pays`` (False where even the best gamma is slower than plain
    decoding: then decode without a draft). Defined in :ref:`sec_speculative`.
    """
    g_max = int(_draft_tokens(max_draft_tokens, "max_draft_tokens"))
    a = _acceptance(acceptance_rate)
    b = V.size("batch", batch, minimum=1, integer=True)
    c = V.size("context", context, integer=True)
    shape = V.broadcast(acceptance_rate=a, batch=b, context=c)
    a, b, c = (np.broadcast_to(x, shape)[..., None] for x in (a, b, c))
    gammas = np.arange(1, g_max + 1, dtype=float)
    full, cols = _speculative(target, draft, hw, a, gammas, b, c, kwargs.pop("n_devices", 1),
                              kwargs.pop("draft_n_devices", 1), kwargs.pop("weight_dtype", "bf16"),
                              kwargs.pop("draft_weight_dtype", None), kwargs.pop("kv_dtype", None),
                              kwargs.pop("efficiency", None), kwargs.pop("memory_fraction", DEFAULT_MEMORY_FRACTION))
    if kwargs:
        raise ValueError(f"unknown arguments {sorted(kwargs)} for best_draft_tokens")
    speed = np.where(np.isfinite(cols["speedup"]), cols["speedup"], -np.inf)
    best = np.argmax(speed, axis=-1)[..., None]
    pick = {k: np.take_along_axis(np.broadcast_to(v, full), best, axis=-1)[..., 0]
            for k, v in cols.items() if isinstance(v, np.ndarray)}
    keep = ("target", "draft", "hardware", "n_devices", "weight_dtype")
    return _frame(shape, {**{k: cols[k] for k in keep}, "acceptance_rate": pick["acceptance_rate"],
                          "batch": pick["batch"], "context": pick["context"], "best_draft_tokens": pick["draft_tokens"],
                          "expected_tokens_per_step": pick["expected_tokens_per_step"], "speedup": pick["speedup"],
                          "break_even_acceptance_rate": pick["break_even_acceptance_rate"], "pays": pick["pays"],
                          "fits": pick["fits"]})
