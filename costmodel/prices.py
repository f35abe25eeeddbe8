"""Dated prices: hosted APIs per token, cloud accelerators per device-hour, electricity, PUE and grid carbon.

The catalogs are ``data/prices/api.csv``, ``data/prices/cloud.csv`` and ``data/prices/energy.csv``
(their README says what every column means and where every row comes from).
Prices change, so a price is always asked for at an explicit date: there is
no hidden "current" price. A date matches a row when one is a prefix of the
other (``"2026"`` matches rows dated ``2026-04`` and ``2026``; ``"2026-04-15"``
matches ``2026-04`` and ``2026``); rows without a date never match. When the
rows that match disagree (the catalog keeps contradicting sources side by
side), the error lists them and the caller chooses: a provider, a region, a
more precise date, or an explicit price. Book sections: ``sec_training``
(cloud prices, energy) and ``sec_cost`` (API prices, the cheapest offer).

    >>> import costmodel as cm
    >>> cm.price_per_device_hour("tpu-v5p", date="2026", provider="gcp", region="US regions")
    4.2
    >>> p = cm.api_cost_per_million_tokens("claude-3-haiku", date="2024-03")
    >>> p.input_usd_per_1m_tokens, p.output_usd_per_1m_tokens
    (0.25, 1.25)
"""

from __future__ import annotations

import datetime as _dt
import difflib
import re
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

import pandas as pd

from .catalog import DATA_DIR, Hardware

__all__ = [
    "PRICING_MODELS",
    "DEFAULT_PUE_ID",
    "DEFAULT_CARBON_INTENSITY_ID",
    "cloud_prices",
    "price_per_device_hour",
    "energy_table",
    "energy_value",
    "DeviceOffer",
    "cheapest_offer",
    "ApiPrice",
    "api_prices",
    "api_cost_per_million_tokens",
]

API_CSV = DATA_DIR / "prices" / "api.csv"
CLOUD_CSV = DATA_DIR / "prices" / "cloud.csv"
ENERGY_CSV = DATA_DIR / "prices" / "energy.csv"

#: Pricing models in ``cloud.csv``.
PRICING_MODELS: tuple[str, ...] = ("on_demand", "capacity_block", "committed_1y", "committed_3y")

#: The PUE used when a caller gives none: the Uptime Institute's 2023 global
#: average (a survey of mostly enterprise sites; hyperscalers report lower).
DEFAULT_PUE_ID = "pue/global/data-center/2023"
#: The grid carbon intensity used when a caller gives none: the U.S. EIA's
#: 2023 average for all utility-scale generation (direct CO2, 367 g/kWh).
DEFAULT_CARBON_INTENSITY_ID = "carbon-intensity/us/all-generation/2023"

_DATE = re.compile(r"^\d{4}(-\d{2}(-\d{2})?)?$")


@lru_cache(maxsize=None)
def _cloud_frame() -> pd.DataFrame:
    with CLOUD_CSV.open("rb") as f:
        df = pd.read_csv(f, dtype={"date": str, "region": str, "hardware": str, "id": str})
    df["date"] = df["date"].fillna("")
    df["region"] = df["region"].fillna("")
    return df


@lru_cache(maxsize=None)
def _energy_frame() -> pd.DataFrame:
    with ENERGY_CSV.open("rb") as f:
        return pd.read_csv(f, dtype={"id": str, "date": str, "period": str})


def _hardware_id(hardware: Any) -> str:
    if isinstance(hardware, Hardware):
        return hardware.id
    if isinstance(hardware, str) and hardware.strip():
        return hardware.strip()
    raise ValueError(f"hardware={hardware!r} must be a Hardware or a hardware id (a string)")


def cloud_prices(hardware: Hardware | str | None = None) -> pd.DataFrame:
    """The cloud price catalog (``data/prices/cloud.csv``) as a DataFrame, one
    row per offering, pricing model and region, with ``usd_per_device_hour``
    and the ``date`` the price applied. With ``hardware`` (a catalog id, a
    descriptive id such as ``"a100-80gb"``, or a :class:`Hardware`), only the
    rows for that device: those whose ``hardware`` is it, and those whose
    ``hardware_candidates`` name it (an offering that does not say which form
    factor it is). A copy: changing it changes nothing else.
    Defined in :ref:`sec_training`.
    """
    df = _cloud_frame()
    if hardware is None:
        return df.copy()
    hid = _hardware_id(hardware)
    cands = df["hardware_candidates"].fillna("").str.split(";")
    keep = (df["hardware"] == hid) | cands.apply(lambda c: hid in c)
    return df[keep].reset_index(drop=True)


def _as_date(date: Any) -> str:
    if isinstance(date, (_dt.date, _dt.datetime)):
        return date.strftime("%Y-%m-%d")
    if isinstance(date, str) and _DATE.match(date.strip()):
        return date.strip()
    raise ValueError(f"date={date!r} must be a date: YYYY, YYYY-MM or YYYY-MM-DD (or a datetime.date)")


def _dates_agree(row_date: str, date: str) -> bool:
    return bool(row_date) and (row_date.startswith(date) or date.startswith(row_date))


def _cloud_rows(hid: str, provider, region, pricing_model: str, include_candidates: bool) -> pd.DataFrame:
    """The cloud.csv rows of device ``hid`` (and, with ``include_candidates``,
    of offerings that may be it) from ``provider`` in ``region`` under
    ``pricing_model``; ``ValueError`` naming what exists when none is left."""
    if pricing_model not in PRICING_MODELS:
        raise ValueError(f"pricing_model={pricing_model!r} is not one of {PRICING_MODELS}")
    df = _cloud_frame()
    cands = df["hardware_candidates"].fillna("").str.split(";").apply(lambda c: hid in c)
    rows = df[(df["hardware"] == hid) | (cands & include_candidates)]
    if rows.empty:
        filed = sorted(set(df.loc[cands, "hardware"]))
        hint = (f"; rows that may be this device are filed as {filed} (cheapest_offer's include_candidates=True "
                "uses them)" if filed else "")
        raise ValueError(f"hardware={hid!r} has no row in data/prices/cloud.csv{hint} "
                         f"(hardware ids with prices: {sorted(set(df['hardware']))}); or give the price yourself")
    for name, value in (("provider", provider), ("region", region)):
        if value is not None:
            sub = rows[rows[name] == value]
            if sub.empty:
                raise ValueError(f"{name}={value!r}: no {hid} price from it; {name}s with prices: "
                                 f"{sorted(set(rows[name]) - {''})}")
            rows = sub
    sub = rows[rows["pricing_model"] == pricing_model]
    if sub.empty:
        raise ValueError(f"pricing_model={pricing_model!r}: no such {hid} price; pricing models with prices: "
                         f"{sorted(set(rows['pricing_model']))}")
    return sub


def _at_date(rows: pd.DataFrame, date: Any, what: str, kind: str = "") -> pd.DataFrame:
    """The ``rows`` whose date agrees with ``date`` (the prefix rule);
    ``ValueError`` naming the dates that exist when none does, or when
    ``date`` is None."""
    dated = sorted(set(rows["date"]) - {""})
    undated = rows.loc[rows["date"] == "", "id"].tolist()
    exist = f"dates that exist: {dated}" + (f" (undated rows, never used for a date: {undated})" if undated else "")
    if date is None:
        raise ValueError(f"date=None: prices change, so give the date of the {what} price (or the price itself); "
                         + exist)
    when = _as_date(date)
    match = rows[rows["date"].apply(lambda d: _dates_agree(d, when))]
    if match.empty:
        raise ValueError(f"date={when!r}: no {what}{' ' + kind if kind else ''} price at that date; {exist}")
    return match


def price_per_device_hour(hardware: Hardware | str, date: Any, *, provider: str | None = None,
                          pricing_model: str = "on_demand", region: str | None = None) -> float:
    """USD per device-hour of ``hardware`` at ``date`` from ``cloud.csv``.

    ``hardware`` must be the row's ``hardware`` id: a catalog id
    (``"tpu-v5p"``, ``"h100-sxm"``) or, for offerings that do not name the
    form factor, the catalog's descriptive id (``"a100-80gb"``, ``"h100"``).
    ``date`` is required (``"2026"``, ``"2026-04"``, ``"2026-04-15"`` or a
    ``datetime.date``): prices change and there is no default. ``provider``
    (``"aws"``, ``"gcp"``, ``"lambda"``...), ``region`` and ``pricing_model``
    (one of :data:`PRICING_MODELS`) narrow the rows. Raises ``ValueError``
    naming the dates that exist when none matches, and listing the rows when
    several match at different prices. Defined in :ref:`sec_training`.
    """
    hid = _hardware_id(hardware)
    when = _as_date(date)
    rows = _cloud_rows(hid, provider, region, pricing_model, False)
    match = _at_date(rows, when, hid, pricing_model)
    prices = set(match["usd_per_device_hour"])
    if len(prices) > 1:
        listing = "; ".join(f"{r.id}: ${r.usd_per_device_hour}/h ({r.date})" for r in match.itertuples())
        raise ValueError(f"{len(match)} {hid} prices match date={when!r} and disagree: {listing}. Pass provider=, "
                         "region= or a more precise date, or give the price yourself")
    return float(prices.pop())


def energy_table(kind: str | None = None) -> pd.DataFrame:
    """The energy catalog (``data/prices/energy.csv``): electricity prices
    (USD/kWh), data-centre PUE and grid carbon intensity (gCO2/kWh or
    gCO2e/kWh), one row per figure with its region, period and source.
    ``kind`` selects ``"electricity_price"``, ``"pue"`` or
    ``"carbon_intensity"``. A copy. Defined in :ref:`sec_training`.
    """
    df = _energy_frame()
    if kind is None:
        return df.copy()
    kinds = sorted(set(df["kind"]))
    if kind not in kinds:
        raise ValueError(f"kind={kind!r} is not one of {kinds}")
    return df[df["kind"] == kind].reset_index(drop=True)


def energy_value(row_id: str) -> float:
    """The ``value`` of one row of ``energy.csv`` by its ``id`` (e.g.
    :data:`DEFAULT_PUE_ID`). Defined in :ref:`sec_training`.
    """
    df = _energy_frame()
    hit = df[df["id"] == row_id]
    if hit.empty:
        raise ValueError(f"row_id={row_id!r} is not an id of data/prices/energy.csv (ids: {df['id'].tolist()})")
    return float(hit["value"].iloc[0])


# ----------------------------------------------------------------------
# The cheapest dated offer for a device (sec_cost)
# ----------------------------------------------------------------------
@dataclass(frozen=True)
class DeviceOffer:
    """One row of ``cloud.csv`` chosen as a device's price: USD per
    device-hour, the row's ``id``, the ``date`` it applied, its provider,
    region and pricing model. Defined in :ref:`sec_cost`."""

    usd_per_device_hour: float
    row_id: str
    date: str
    provider: str
    region: str
    pricing_model: str


def cheapest_offer(hardware: Hardware | str, date: Any, *, provider: str | None = None,
                   pricing_model: str = "on_demand", region: str | None = None,
                   include_candidates: bool = False) -> DeviceOffer:
    """The cheapest row of ``cloud.csv`` for ``hardware`` whose date agrees
    with ``date`` (the prefix rule of :func:`price_per_device_hour`), among
    ``pricing_model`` rows and, when given, ``provider`` and ``region``.

    Where the catalog keeps contradicting quotes side by side this picks the
    lowest and names it (:class:`DeviceOffer`), where
    :func:`price_per_device_hour` refuses to choose. Only rows filed under
    the device's own id count, unless ``include_candidates``: then rows of
    offerings that do not name the form factor but could be this device
    (``hardware_candidates``, e.g. Lambda's "A100 80GB" for
    ``a100-sxm-80gb``) count too. ``date`` is required: ``None`` raises,
    listing the dates that exist. Raises ``ValueError`` naming the device, the
    dates that exist, and the candidate rows when none of its own match.
    Defined in :ref:`sec_cost`.

    >>> import costmodel as cm
    >>> offer = cm.cheapest_offer("h100-sxm", "2026")
    >>> offer.usd_per_device_hour, offer.row_id
    (2.49, 'lambda/h100-sxm/on-demand/2.49')
    """
    hid = _hardware_id(hardware)
    if not isinstance(include_candidates, bool):
        raise ValueError(f"include_candidates={include_candidates!r} must be True or False")
    match = _at_date(_cloud_rows(hid, provider, region, pricing_model, include_candidates), date, hid, pricing_model)
    best = match.sort_values(["usd_per_device_hour", "id"], kind="stable").iloc[0]
    return DeviceOffer(float(best["usd_per_device_hour"]), str(best["id"]), str(best["date"]), str(best["provider"]),
                       str(best["region"]), str(best["pricing_model"]))


def _catalog_date(price_per_device_hour_usd: Any, date: Any) -> str | None:
    """The checked ``date`` of catalog prices for a planner or a sweep (None
    when not given); given prices and a date together are refused."""
    if date is not None and price_per_device_hour_usd is not None:
        raise ValueError(f"price_per_device_hour_usd={price_per_device_hour_usd!r} and date={date!r}: give prices or "
                         "the date of catalog prices, not both")
    return None if date is None else _as_date(date)


def _offer_or_reason(hardware: Hardware | str, date: str) -> tuple[DeviceOffer | None, str]:
    """:func:`cheapest_offer` at a checked ``date`` (:func:`_catalog_date`), or
    None and why where the catalog has no offer for the device then: a table
    over many devices prices those it can."""
    try:
        return cheapest_offer(hardware, date), ""
    except ValueError as e:
        return None, str(e)


# ----------------------------------------------------------------------
# Hosted-API prices per token (sec_cost)
# ----------------------------------------------------------------------
@lru_cache(maxsize=None)
def _api_frame() -> pd.DataFrame:
    with API_CSV.open("rb") as f:
        df = pd.read_csv(f, dtype={"date": str, "context_tier": str, "model": str, "provider": str, "id": str})
    for col in ("date", "context_tier"):
        df[col] = df[col].fillna("")
    return df


def api_prices(model: str | None = None, provider: str | None = None) -> pd.DataFrame:
    """The hosted-API price catalog (``data/prices/api.csv``) as a DataFrame,
    one row per model, context tier and dated price, with
    ``input_usd_per_1m_tokens`` and ``output_usd_per_1m_tokens`` (list prices
    in USD per million tokens), the ``date`` the price applied and its
    source. ``model`` (the name as the price list gives it) and ``provider``
    select rows; a name the catalog lacks raises ``ValueError`` naming the
    close matches. A copy. Defined in :ref:`sec_cost`.
    """
    df = _api_frame()
    if provider is not None:
        providers = sorted(set(df["provider"]))
        if provider not in providers:
            raise ValueError(f"provider={provider!r} is not one of {providers}")
        df = df[df["provider"] == provider]
    if model is not None:
        df = df[df["model"] == _api_model(model, df)]
    return df.reset_index(drop=True).copy()


def _api_model(model: Any, df: pd.DataFrame) -> str:
    if not isinstance(model, str) or not model.strip():
        raise ValueError(f"model={model!r} must be a model name of data/prices/api.csv")
    names = sorted(set(df["model"]))
    if model not in names:
        close = difflib.get_close_matches(model, names, n=4, cutoff=0.5)
        raise ValueError(f"model={model!r} has no row in data/prices/api.csv"
                         + (f"; close names: {close}" if close else "") + f" (models with prices: {names})")
    return model


@dataclass(frozen=True)
class ApiPrice:
    """A hosted API's list price for one model at one date: USD per million
    input and output tokens, the ``date`` the price applied, the row's
    ``row_id``, ``provider``, ``context_tier`` and ``source``.
    Defined in :ref:`sec_cost`."""

    model: str
    provider: str
    context_tier: str
    input_usd_per_1m_tokens: float
    output_usd_per_1m_tokens: float
    date: str
    row_id: str
    source: str


def api_cost_per_million_tokens(model: str, date: Any = None, provider: str | None = None, *,
                                context_tier: str | None = None) -> ApiPrice:
    """The list price of ``model`` that applied at ``date``: USD per million
    input and output tokens (:class:`ApiPrice`).

    ``date`` is required, as for cloud prices: ``None`` raises an error that
    lists the dates the catalog has for the model. A date matches a row by the
    prefix rule of :func:`price_per_device_hour` (``"2024"`` matches a price
    dated ``2024-03-04``); undated rows never match. Where the rows that match
    disagree (a price cut, two context tiers, two sources), the error lists
    them: pass ``provider``, ``context_tier`` (``"<=128k"``, ``">128k"``) or a
    more precise date. A row with no output price raises too. Defined in
    :ref:`sec_cost`.

    >>> import costmodel as cm
    >>> cm.api_cost_per_million_tokens("claude-3.5-haiku", "2024-11").output_usd_per_1m_tokens
    5.0
    """
    rows = api_prices(model, provider)
    if context_tier is not None:
        tiers = sorted(set(rows["context_tier"]) - {""})
        if context_tier not in tiers:
            raise ValueError(f"context_tier={context_tier!r}: {model} has no such tier (tiers: {tiers})")
        rows = rows[rows["context_tier"] == context_tier]
    match = _at_date(rows, date, model)
    when = _as_date(date)
    prices = set(zip(match["input_usd_per_1m_tokens"], match["output_usd_per_1m_tokens"].fillna(-1.0)))
    if len(prices) > 1:
        listing = "; ".join(f"{r.id}: ${r.input_usd_per_1m_tokens}/${r.output_usd_per_1m_tokens} per 1M "
                            f"({r.date}{', ' + r.context_tier if r.context_tier else ''})" for r in match.itertuples())
        raise ValueError(f"{len(match)} {model} prices match date={when!r} and disagree: {listing}. Pass provider=, "
                         "context_tier= or a more precise date")
    r = match.iloc[0]
    if pd.isna(r["output_usd_per_1m_tokens"]) or pd.isna(r["input_usd_per_1m_tokens"]):
        raise ValueError(f"row {r['id']!r} of data/prices/api.csv gives no output price for {model}")
    return ApiPrice(model=str(r["model"]), provider=str(r["provider"]), context_tier=str(r["context_tier"]),
                    input_usd_per_1m_tokens=float(r["input_usd_per_1m_tokens"]),
                    output_usd_per_1m_tokens=float(r["output_usd_per_1m_tokens"]), date=str(r["date"]),
                    row_id=str(r["id"]), source=str(r["source"]))
