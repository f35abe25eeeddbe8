"""Dated prices: cloud accelerators per device-hour, electricity, PUE and grid carbon.

The catalogs are ``data/prices/cloud.csv`` and ``data/prices/energy.csv``
(their README says what every column means and where every row comes from).
Prices change, so a price is always asked for at an explicit date: there is
no hidden "current" price. A date matches a row when one is a prefix of the
other (``"2026"`` matches rows dated ``2026-04`` and ``2026``; ``"2026-04-15"``
matches ``2026-04`` and ``2026``); rows without a date never match. When the
rows that match disagree (the catalog keeps contradicting sources side by
side), the error lists them and the caller chooses: a provider, a region, a
more precise date, or an explicit price. Book section: ``sec_training``.

    >>> import costmodel as cm
    >>> cm.price_per_device_hour("tpu-v5p", date="2026", provider="gcp", region="US regions")
    4.2
"""

from __future__ import annotations

import datetime as _dt
import re
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
]

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
    if pricing_model not in PRICING_MODELS:
        raise ValueError(f"pricing_model={pricing_model!r} is not one of {PRICING_MODELS}")
    df = _cloud_frame()
    rows = df[df["hardware"] == hid]
    if rows.empty:
        known = sorted(set(df["hardware"]))
        cands = sorted(set(df.loc[df["hardware_candidates"].fillna("").str.contains(hid, regex=False), "hardware"]))
        hint = f"; rows that may be this device are filed as {cands}" if cands else ""
        raise ValueError(f"hardware={hid!r} has no row in data/prices/cloud.csv{hint} "
                         f"(hardware ids with prices: {known})")
    for name, value, col in (("provider", provider, "provider"), ("region", region, "region")):
        if value is not None:
            sub = rows[rows[col] == value]
            if sub.empty:
                raise ValueError(f"{name}={value!r}: no {hid} price from it; {name}s with prices: "
                                 f"{sorted(set(rows[col]) - {''})}")
            rows = sub
    sub = rows[rows["pricing_model"] == pricing_model]
    if sub.empty:
        raise ValueError(f"pricing_model={pricing_model!r}: no such {hid} price; pricing models with prices: "
                         f"{sorted(set(rows['pricing_model']))}")
    rows = sub
    match = rows[rows["date"].apply(lambda d: _dates_agree(d, when))]
    if match.empty:
        dated = sorted(set(rows["date"]) - {""})
        undated = rows.loc[rows["date"] == "", "id"].tolist()
        raise ValueError(
            f"date={when!r}: no {hid} {pricing_model} price at that date; dates that exist: {dated}"
            + (f" (undated rows, never used for a date: {undated})" if undated else "")
        )
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
