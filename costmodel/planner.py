"""The planner's comparison: several models on one or more devices, side by side.

:func:`compare` is what the planner notebook (``book/planner.md``, run with
papermill for one's own numbers) and the command line (``costmodel
compare``) both call: for each model and device it finds the fewest devices
that hold the model at the given format and traffic, and reports the serving
operating point (:func:`costmodel.serving_point`), with dollars per million
output tokens at a given price per device-hour or at the catalog's cheapest
offer on a given date. :func:`export_table`
and :func:`export_chart` write the results for a report. Defined in
:ref:`sec_planner`.
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any, Iterable, Mapping

import pandas as pd

from . import _validate as V
from .cost import cost_per_million_output_tokens, cost_per_million_tokens, energy_per_million_tokens
from .formats import weight_format
from .inference import DEFAULT_MEMORY_FRACTION, min_devices, serving_point
from .prices import _catalog_date, _offer_or_reason

__all__ = ["PARAMETER_TYPES", "check_parameters", "compare", "cost_table", "export_table", "export_chart"]

#: The planner notebook's parameters and the types each must have.
PARAMETER_TYPES: Mapping[str, tuple[type, ...]] = {
    "models": (list, tuple),
    "hardware": (list, tuple),
    "weight_dtypes": (list, tuple),
    "input_tokens": (int,),
    "output_tokens": (int,),
    "batch": (int, type(None)),
    "ttft_slo_s": (int, float, type(None)),
    "tpot_slo_s": (int, float, type(None)),
    "price_per_device_hour_usd": (dict, type(None)),
    "price_date": (str, type(None)),
    "output_dir": (str, type(None)),
}


def check_parameters(**params: Any) -> None:
    """Refuse a planner parameter of the wrong type, naming it (papermill
    passes whatever it is given). Defined in :ref:`sec_planner`."""
    for name, value in params.items():
        if name not in PARAMETER_TYPES:
            raise ValueError(f"unknown planner parameter {name!r}; parameters: {', '.join(PARAMETER_TYPES)}")
        types = PARAMETER_TYPES[name]
        if isinstance(value, bool) or not isinstance(value, types):
            want = " or ".join(t.__name__ for t in types)
            raise ValueError(f"planner parameter {name}={value!r} must be {want}, not {type(value).__name__}")
        if isinstance(value, (list, tuple)) and not all(isinstance(v, str) for v in value):
            raise ValueError(f"planner parameter {name}={value!r} must be a list of ids (strings)")


def _ids(values, name: str) -> list[str]:
    values = [values] if isinstance(values, str) else list(values)
    if not values:
        raise ValueError(f"{name} is empty")
    return values


def _price(hw, price_per_device_hour_usd, date) -> tuple[float, str, str]:
    """(USD per device-hour or NaN, where it came from, why it is missing)."""
    if date is not None:
        offer, reason = _offer_or_reason(hw, date)
        if offer is None:
            return math.nan, "", f"no price: {reason}"
        return offer.usd_per_device_hour, offer.row_id, ""
    price = price_per_device_hour_usd.get(hw.id) if isinstance(price_per_device_hour_usd, Mapping) \
        else price_per_device_hour_usd
    if price is None:
        return math.nan, "", ""
    return float(V.size("price_per_device_hour_usd", price, maximum=1e9)), "given", ""


def compare(models: Iterable[str] | str, hardware: Iterable[str] | str, *, weight_dtypes: Iterable[str] | str = "bf16",
            input_tokens: int = 1024, output_tokens: int = 256, batch: int | None = None,
            n_devices: int | None = None, ttft_slo_s: float | None = None, tpot_slo_s: float | None = None,
            price_per_device_hour_usd: Mapping[str, float] | float | None = None, date: Any = None,
            efficiency=None, memory_fraction: float = DEFAULT_MEMORY_FRACTION) -> pd.DataFrame:
    """One row per model, device and weight format: the fewest devices that
    hold it (``n_devices``, default found by :func:`costmodel.min_devices`),
    the weight bytes, the largest batch, TTFT, TPOT and end-to-end latency,
    output tokens per second (group, per device, per user), and, with a price
    per device-hour (one number, or a mapping from device id) or a ``date``
    (each device's cheapest offer in the price catalog at that date,
    :func:`costmodel.cheapest_offer`, named in ``price_source``; a device with
    none is priced NaN and says why in ``note``), dollars per million output
    tokens at full utilisation (:func:`costmodel.cost_per_million_output_tokens`:
    the prompts' prefill is paid by the output tokens). A model that fits on no group
    of up to 1,024 devices is a row with ``fits`` False and the reason.
    Defined in :ref:`sec_planner`."""
    ms = _ids(models, "models")
    hs = _ids(hardware, "hardware")
    ds = _ids(weight_dtypes, "weight_dtypes")
    archs = [V.as_arch(m, "models") for m in ms]
    hws = [V.as_hardware(h) for h in hs]
    for d in ds:
        weight_format(d, "weight_dtypes")
    n_in = int(V.size("input_tokens", input_tokens, minimum=1, integer=True))
    n_out = int(V.size("output_tokens", output_tokens, minimum=1, integer=True))
    if batch is not None:
        batch = int(V.size("batch", batch, minimum=1, integer=True))
    if n_devices is not None:
        n_devices = int(V.size("n_devices", n_devices, minimum=1, integer=True))
    date = _catalog_date(price_per_device_hour_usd, date)
    rows = []
    for a in archs:
        for hw in hws:
            price, price_source, price_note = _price(hw, price_per_device_hour_usd, date)
            for d in ds:
                base = {"model": a.name, "hardware": hw.id, "weight_dtype": d, "input_tokens": n_in,
                        "output_tokens": n_out}
                try:
                    n = n_devices or min_devices(a, hw, batch=batch or 1, context=n_in + n_out, weight_dtype=d,
                                                 memory_fraction=memory_fraction)
                    sp = serving_point(a, hw, n_in, n_out, n_devices=n, weight_dtype=d, batch=batch,
                                       ttft_slo_s=ttft_slo_s, tpot_slo_s=tpot_slo_s, efficiency=efficiency,
                                       memory_fraction=memory_fraction).iloc[0].to_dict()
                except ValueError as e:
                    rows.append({**base, "fits": False, "note": str(e)})
                    continue
                tps = sp["output_tokens_per_s"]
                usd, _ = cost_per_million_output_tokens(tps, n, price)
                rows.append({
                    **base, "n_devices": n, "fits": bool(sp["fits"]), "batch": sp["batch"],
                    "weight_bytes": sp["weight_bytes"], "ttft_s": sp["ttft_s"], "tpot_s": sp["tpot_s"],
                    "e2e_latency_s": sp["e2e_latency_s"], "output_tokens_per_s": tps,
                    "output_tokens_per_s_per_device": sp["output_tokens_per_s_per_device"],
                    "output_tokens_per_s_per_user": sp["output_tokens_per_s_per_user"],
                    "decode_bound": sp["decode_bound"], "price_per_device_hour_usd": price,
                    "price_source": price_source, "usd_per_1m_output_tokens": usd,
                    **({"slo_batch": sp["slo_batch"]} if "slo_batch" in sp else {}), "note": price_note,
                })
    return pd.DataFrame(rows)


def cost_table(models: Iterable[str] | str, hardware: str, *, input_tokens: int = 1024, output_tokens: int = 256,
               date: Any = None, price_per_device_hour_usd: float | None = None, utilisation: float = 1.0,
               weight_dtype: str = "bf16", batch: int | None = None, n_devices: int | None = None,
               memory_fraction: float = DEFAULT_MEMORY_FRACTION) -> pd.DataFrame:
    """One row per model on ``hardware``: the fewest devices that hold it
    (or ``n_devices``), the batch (the largest that fits, or ``batch``),
    USD per million input, output and blended tokens
    (:func:`costmodel.cost_per_million_tokens`, at the catalog's cheapest
    offer on ``date`` or at ``price_per_device_hour_usd``, busy a fraction
    ``utilisation`` of the hour) and kWh and kg CO2 per million output
    tokens at the catalog's default PUE and grid
    (:func:`costmodel.energy_per_million_tokens`). A model that fits on no
    group of up to 1,024 devices, or a device without a price at ``date``,
    raises naming it. What ``costmodel cost`` prints. Defined in
    :ref:`sec_planner`."""
    rows = []
    for m in _ids(models, "models"):
        a = V.as_arch(m, "models")
        n = n_devices or min_devices(a, hardware, batch=batch or 1, context=input_tokens + output_tokens,
                                     weight_dtype=weight_dtype, memory_fraction=memory_fraction)
        common = dict(n_devices=n, batch=batch, utilisation=utilisation, weight_dtype=weight_dtype,
                      memory_fraction=memory_fraction)
        c = cost_per_million_tokens(a, hardware, input_tokens, output_tokens, date=date,
                                    price_per_device_hour=price_per_device_hour_usd, **common).iloc[0]
        e = energy_per_million_tokens(a, hardware, input_tokens, output_tokens, **common).iloc[0]
        rows.append({
            **{k: c[k] for k in ("model", "hardware", "n_devices", "weight_dtype", "input_tokens", "output_tokens",
                                 "batch", "fits", "utilisation", "price_per_device_hour_usd", "price_source",
                                 "usd_per_1m_input_tokens", "usd_per_1m_output_tokens",
                                 "usd_per_1m_blended_tokens")},
            "kwh_per_1m_output_tokens": e["kwh_per_1m_output_tokens"],
            "kg_co2_per_1m_output_tokens": e["kg_co2_per_1m_output_tokens"],
        })
    return pd.DataFrame(rows)


def export_table(df: pd.DataFrame, path: str | Path) -> list[Path]:
    """Write ``df`` as CSV to ``path`` (``.csv`` added if missing) and, when
    openpyxl is installed, as Excel beside it; returns the files written.
    Defined in :ref:`sec_planner`."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    csv = path if path.suffix == ".csv" else path.with_suffix(".csv")
    df.to_csv(csv, index=False)
    out = [csv]
    try:
        import openpyxl  # noqa: F401
    except ImportError:
        return out
    xlsx = csv.with_suffix(".xlsx")
    df.to_excel(xlsx, index=False)
    return [*out, xlsx]


def export_chart(chart, path: str | Path) -> Path:
    """Write an Altair chart as PNG or SVG (by the suffix of ``path``) through
    vl-convert, offline. Defined in :ref:`sec_planner`."""
    import vl_convert as vlc

    path = Path(path)
    spec = chart.to_dict()
    if path.suffix == ".svg":
        path.write_text(vlc.vegalite_to_svg(spec), encoding="utf-8")
    elif path.suffix == ".png":
        path.write_bytes(vlc.vegalite_to_png(spec, scale=2))
    else:
        raise ValueError(f"path={str(path)!r} must end in .png or .svg")
    return path
