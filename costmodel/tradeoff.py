"""The SLM-vs-LLM trade-off: the source article's table recomputed, and its 34 claims checked.

The article ("The Architecture Battle - SLM vs LLM", BhuviAI, 2025) compares
small and large language models in a six-row table (parameters, training,
hardware, latency, accuracy, cost) and makes 34 checkable claims
(``data/quality/article_claims.csv``). This module recomputes each row for a
reference set of open models with the package's own functions, reads
published benchmark scores (``data/quality/benchmarks.csv``) and dated prices
(``data/prices/``), and gives every claim one of four verdicts with its
evidence. Nothing here is a new formula: weights come from
:func:`costmodel.weight_bytes`, fits from :func:`costmodel.min_devices` and
:func:`costmodel.memory_per_device`, latencies from
:func:`costmodel.serving_point` and :func:`costmodel.decode`, training from
:func:`costmodel.published_training_runs`, :func:`costmodel.training_flops`
and :func:`costmodel.training_run`, serving cost from
:func:`costmodel.planner.compare` at a dated price.

GPT-4 and Gemini 1.5 Pro are rows whose architecture is not published: their
parameter counts are labelled as the article's rumour or claim, and every
figure that would need the architecture is "unknown", never estimated.

Defined in :ref:`sec_slm_vs_llm`.
"""

from __future__ import annotations

import difflib
import math
from dataclasses import dataclass
from functools import lru_cache
from typing import Iterable, Mapping

import numpy as np
import pandas as pd

from .catalog import DATA_DIR, list_hardware, list_models, load_hardware, load_model
from .inference import DEFAULT_MEMORY_FRACTION, IDEAL, decode, memory_per_device, min_devices, serving_point
from .prices import _api_frame, _dates_agree, api_prices, cloud_prices, price_per_device_hour
from .quantities import devices_needed, kv_cache_bytes_per_token, roofline_time_s, weight_bytes
from .finetune import federated_finetune, full_finetune, qlora_finetune
from .training import Parallelism, default_mfu, published_training_runs, training_flops, training_run

__all__ = [
    "SLM_MODELS", "LLM_MODELS", "CLOSED_MODELS", "ClosedModel", "VERDICTS", "DTYPES", "INPUT_TOKENS",
    "OUTPUT_TOKENS", "SERVING_BATCH", "BATCHES", "LATENCY_DEVICES", "PRICED_DEVICES", "PRICE_DATE",
    "TPOT_TARGETS_S", "EXPLORER_COLUMNS", "resolve_model", "model_kind", "display_name", "article_claims", "article_figures",
    "benchmarks", "quantisation_perplexity", "mlperf_latency_target", "dated_price",
    "range_verdict", "parameters_table", "training_table", "fit_table", "minimum_hardware", "latency_table",
    "serving_cost_table", "cheapest_serving", "accuracy_table", "api_price_table", "summary_table", "facts",
    "fact_check", "explorer_data",
]

#: The article's small models that the catalog holds (its SLM examples and the models it names as SLMs).
SLM_MODELS: tuple[str, ...] = ("phi-1.5", "phi-2", "phi-3-mini-4k-instruct", "gemma-2b", "starcoder2-3b",
                               "llama-2-7b", "mistral-7b-v0.1")
#: The open large models the comparison uses.
LLM_MODELS: tuple[str, ...] = ("mixtral-8x7b-v0.1", "llama-2-70b", "llama-3-70b")

#: The four verdicts a claim can get.
VERDICTS: tuple[str, ...] = ("holds", "partly holds", "does not hold", "cannot be checked")

#: Weight formats of the comparison (:mod:`costmodel.formats` names).
DTYPES: tuple[str, ...] = ("bf16", "int8", "int4")
#: The request the latency and cost rows are computed for (the planner's default lengths).
INPUT_TOKENS, OUTPUT_TOKENS = 1024, 256
#: The batch of the "serving" latency column; :data:`BATCHES` are the explorer's choices.
SERVING_BATCH = 16
BATCHES: tuple[int, ...] = (1, 4, 16, 64)
#: Devices of the latency rows: datacenter GPUs from the smallest to the largest, and two laptops.
LATENCY_DEVICES: tuple[str, ...] = ("t4", "l4", "a100-sxm-80gb", "h100-sxm", "h200-sxm", "apple-m2", "apple-m3-max")
#: Devices with a usable dated on-demand price in ``data/prices/cloud.csv`` and the filters that pick it.
#: (The A10G has a price but no published compute peak, so no TTFT and no latency target can be checked on
#: it; the H200 and A100 40GB rows are capacity blocks without a date.)
PRICED_DEVICES: Mapping[str, Mapping[str, str]] = {
    "tpu-v5e": {"provider": "gcp", "region": "US regions"},
    "h100-sxm": {"provider": "lambda"},
    "tpu-v6e": {"provider": "gcp", "region": "US regions"},
    "tpu-v5p": {"provider": "gcp", "region": "US regions"},
}
#: The date prices are asked for (:func:`costmodel.price_per_device_hour`): no hidden current price.
PRICE_DATE = "2026-04"
#: Time-per-output-token targets of the explorer besides MLPerf's (a reader's choices, not facts).
TPOT_TARGETS_S: tuple[float, ...] = (0.05, 0.02)
#: The batch at which the GQA claim compares Mistral 7B with its full-head twin (besides batch 1).
GQA_BATCH = 16


@dataclass(frozen=True)
class ClosedModel:
    """A model whose weights and architecture are not published: what is
    known (benchmark scores, API prices) and what is only claimed. ``status``
    labels its parameter count ("rumoured", "unknown"), ``architecture_note``
    says what its report discloses. Defined in :ref:`sec_slm_vs_llm`."""

    id: str
    name: str
    status: str
    architecture_note: str
    report: str


#: GPT-4 and Gemini 1.5 Pro: rows of the table with no architecture.
CLOSED_MODELS: Mapping[str, ClosedModel] = {
    "gpt-4": ClosedModel(
        "gpt-4", "GPT-4", "rumoured",
        "the GPT-4 Technical Report discloses no architecture, model size, hardware or training compute",
        "OpenAI 2023, 'GPT-4 Technical Report', arXiv:2303.08774"),
    "gemini-1.5-pro": ClosedModel(
        "gemini-1.5-pro", "Gemini 1.5 Pro", "unknown",
        "the Gemini 1.5 report describes a mixture-of-experts model and gives no parameter count",
        "Gemini Team 2024, 'Gemini 1.5: Unlocking multimodal understanding across millions of tokens of context', "
        "arXiv:2403.05530"),
}

#: API list prices (``data/prices/api.csv`` row ids) beside each model: the model itself where a provider
#: lists it, else the size bucket of a serverless host (Together prices by parameter count).
API_ROWS: Mapping[str, tuple[str, ...]] = {
    "phi-1.5": ("together/serverless-4b-parameters",),
    "phi-2": ("together/serverless-4b-parameters",),
    "phi-3-mini-4k-instruct": ("together/serverless-4b-parameters",),
    "gemma-2b": ("together/serverless-4b-parameters",),
    "starcoder2-3b": ("together/serverless-4b-parameters",),
    "llama-2-7b": ("together/serverless-4.1-8b-parameters",),
    "mistral-7b-v0.1": ("mistral/open-mistral-7b", "together/serverless-4.1-8b-parameters"),
    "mixtral-8x7b-v0.1": ("mistral/open-mixtral-8x7b/litellm", "mistral/open-mixtral-8x7b/litellm-older",
                          "groq/mixtral-8x7b-32768/0.24", "together/serverless-41.1-80b-parameters"),
    "llama-2-70b": ("together/serverless-41.1-80b-parameters",),
    "llama-3-70b": ("groq/llama3-70b-8192", "together/serverless-41.1-80b-parameters"),
    "gpt-4": ("openai/gpt-4-8k-0314-0613", "openai/gpt-4-turbo-1106-preview-0125-2024-04-09"),
    "gemini-1.5-pro": ("google/gemini-1.5-pro/le-128k/mid-2024", "google/gemini-1.5-pro/le-128k/after-cut"),
}

_QUALITY = DATA_DIR / "quality"
_BENCHMARKS = ("MMLU", "HellaSwag", "GSM8K", "HumanEval")
_GB = 1e9


# ----------------------------------------------------------------------
# Ids, names and kinds
# ----------------------------------------------------------------------
def resolve_model(model_id: str) -> str:
    """``model_id`` if it is a catalog model or one of :data:`CLOSED_MODELS`;
    otherwise ``ValueError`` naming the closest ids. Defined in
    :ref:`sec_slm_vs_llm`."""
    known = list(list_models()) + list(CLOSED_MODELS)
    if isinstance(model_id, str) and model_id in known:
        return model_id
    close = difflib.get_close_matches(str(model_id).strip().lower(), known, n=4, cutoff=0.4)
    hint = f"; closest ids: {', '.join(close)}" if close else ""
    raise ValueError(f"model={model_id!r} is not a catalog model or a closed model{hint}")


def model_kind(model_id: str) -> str:
    """``"slm"``, ``"llm"`` or ``"closed"`` for the models of the comparison
    (``"other"`` for any other catalog model). Defined in :ref:`sec_slm_vs_llm`."""
    m = resolve_model(model_id)
    return "slm" if m in SLM_MODELS else "llm" if m in LLM_MODELS else "closed" if m in CLOSED_MODELS else "other"


@lru_cache(maxsize=None)
def _names() -> dict[str, str]:
    with (DATA_DIR / "models" / "catalog.csv").open("rb") as f:
        frame = pd.read_csv(f, usecols=["id", "name"])
    return {**dict(zip(frame["id"], frame["name"].fillna(frame["id"]))),
            **{k: c.name for k, c in CLOSED_MODELS.items()}}


def display_name(model_id: str) -> str:
    """The catalog's display name of a model (the closed models' own names).
    Defined in :ref:`sec_slm_vs_llm`."""
    return _names()[resolve_model(model_id)]


def _models(models: Iterable[str] | str | None, default: Iterable[str]) -> list[str]:
    if models is None:
        return list(default)
    ms = [models] if isinstance(models, str) else list(models)
    if not ms:
        raise ValueError("models is empty")
    return [resolve_model(m) for m in ms]


def _open(models) -> list[str]:
    return [m for m in models if m not in CLOSED_MODELS]


ALL_MODELS = SLM_MODELS + LLM_MODELS + tuple(CLOSED_MODELS)


# ----------------------------------------------------------------------
# Data: the article, benchmark scores, quantisation quality, API prices
# ----------------------------------------------------------------------
def _read(path, **kwargs) -> pd.DataFrame:
    with path.open("rb") as f:
        return pd.read_csv(f, **kwargs)


@lru_cache(maxsize=None)
def _claims() -> pd.DataFrame:
    return _read(_QUALITY / "article_claims.csv")


def article_claims() -> pd.DataFrame:
    """The article's 34 claims (``data/quality/article_claims.csv``): number,
    group, wording, source. A copy. Defined in :ref:`sec_slm_vs_llm`."""
    return _claims().copy()


@lru_cache(maxsize=None)
def _figures() -> pd.DataFrame:
    return _read(_QUALITY / "article_figures.csv")


def article_figures() -> pd.DataFrame:
    """The figures the article states (``data/quality/article_figures.csv``):
    claim, subject, quantity, ``low``/``high`` bounds (NaN: open), unit and
    ``status`` ("stated", "rumoured"...). A copy. Defined in :ref:`sec_slm_vs_llm`."""
    return _figures().copy()


def _figure(claim: int, subject: str, quantity: str) -> tuple[float, float]:
    f = _figures()
    row = f[(f["claim"] == claim) & (f["subject"] == subject) & (f["quantity"] == quantity)]
    if len(row) != 1:
        raise KeyError(f"article_figures.csv has {len(row)} rows for claim {claim}, {subject}, {quantity}")
    return float(row["low"].iloc[0]), float(row["high"].iloc[0])


@lru_cache(maxsize=None)
def _benchmarks() -> pd.DataFrame:
    return _read(_QUALITY / "benchmarks.csv", dtype={"published": str, "retrieved": str})


def benchmarks(model: str | None = None) -> pd.DataFrame:
    """Published benchmark scores (``data/quality/benchmarks.csv``), one row
    per model, benchmark and source, each with its setting (shots, metric),
    source, date and tag; ``model`` selects one model. Scores from different
    sources and settings are not comparable without checking them. A copy.
    Defined in :ref:`sec_slm_vs_llm`."""
    df = _benchmarks()
    if model is not None:
        df = df[df["model"] == resolve_model(model)]
    return df.reset_index(drop=True).copy()


@lru_cache(maxsize=None)
def _perplexity() -> pd.DataFrame:
    return _read(_QUALITY / "quantisation_perplexity.csv", dtype={"published": str, "retrieved": str})


def quantisation_perplexity() -> pd.DataFrame:
    """WikiText-2 perplexity of Llama 2 7B/13B/70B in FP16 and quantised to
    4 and 3 bits (AWQ paper, Table 4; ``data/quality/quantisation_perplexity.csv``).
    A copy. Defined in :ref:`sec_slm_vs_llm`."""
    return _perplexity().copy()


def _score(model: str, benchmark: str) -> float:
    df = _benchmarks()
    hit = df[(df["model"] == model) & (df["benchmark"] == benchmark)]
    return float(hit["score"].iloc[0]) if len(hit) else math.nan


def _ppl(model: str, method: str) -> float:
    df = _perplexity()
    return float(df[(df["model"] == model) & (df["method"] == method)]["wikitext2_perplexity"].iloc[0])


@lru_cache(maxsize=None)
def _mlperf() -> tuple[float, float, str]:
    df = _read(DATA_DIR / "measurements" / "inference.csv", dtype=str)
    rows = df[df["id"].str.startswith("mlperf-rules/llama-2-70b/")]
    ttft = float(rows.loc[rows["metric"] == "ttft_s", "value"].iloc[0])
    tpot = float(rows.loc[rows["metric"] == "tpot_s", "value"].iloc[0])
    return ttft, tpot, str(rows["source"].iloc[0])


def mlperf_latency_target() -> dict:
    """MLPerf Inference's Llama 2 70B server-scenario latency constraints
    (99th-percentile TTFT and TPOT, ``data/measurements/inference.csv``):
    the default latency target of the cost row. Defined in :ref:`sec_slm_vs_llm`."""
    ttft, tpot, source = _mlperf()
    return {"ttft_s": ttft, "tpot_s": tpot, "source": source}


# ----------------------------------------------------------------------
# Dated prices
# ----------------------------------------------------------------------
@lru_cache(maxsize=None)
def _dated_price(hardware: str, date: str, provider: str | None, region: str | None, pricing_model: str):
    rows = cloud_prices()
    rows = rows[(rows["hardware"] == hardware) & (rows["pricing_model"] == pricing_model)]
    if provider is not None:
        rows = rows[rows["provider"] == provider]
    if region is not None:
        rows = rows[rows["region"] == region]
    rows = rows[rows["date"].apply(lambda d: _dates_agree(d, date))]
    if rows.empty:
        return None
    p = rows["usd_per_device_hour"].astype(float)
    return {"hardware": hardware, "low": float(p.min()), "high": float(p.max()), "ids": tuple(rows["id"]),
            "dates": tuple(rows["date"]), "n_rows": len(rows), "sources": tuple(rows["source"])}


def dated_price(hardware: str, date: str = PRICE_DATE, *, provider: str | None = None, region: str | None = None,
                pricing_model: str = "on_demand") -> dict | None:
    """The on-demand price per device-hour of ``hardware`` at ``date`` from
    ``data/prices/cloud.csv``, as :func:`costmodel.price_per_device_hour`
    matches rows, but keeping contradicting rows as a range: ``low`` and
    ``high`` (equal when one price matches), the row ``ids``, ``dates`` and
    ``sources``. None when no dated row matches. Defined in :ref:`sec_slm_vs_llm`."""
    out = _dated_price(hardware, date, provider, region, pricing_model)
    return None if out is None else dict(out)


def _device_price(hw: str) -> dict | None:
    return dated_price(hw, PRICE_DATE, **PRICED_DEVICES[hw]) if hw in PRICED_DEVICES else None


# ----------------------------------------------------------------------
# Verdict logic that can be computed
# ----------------------------------------------------------------------
def range_verdict(values: Iterable[float], low: float = -math.inf, high: float = math.inf) -> str:
    """Whether values fall in a claimed range [low, high] (NaN bound: open):
    "holds" when all do, "partly holds" when at least half do, "does not
    hold" otherwise; "cannot be checked" when no value is known.
    Defined in :ref:`sec_slm_vs_llm`."""
    v = np.asarray([x for x in values if x is not None and not (isinstance(x, float) and math.isnan(x))], float)
    lo = -math.inf if low is None or (isinstance(low, float) and math.isnan(low)) else float(low)
    hi = math.inf if high is None or (isinstance(high, float) and math.isnan(high)) else float(high)
    if v.size == 0:
        return "cannot be checked"
    inside = (v >= lo) & (v <= hi)
    if inside.all():
        return "holds"
    return "partly holds" if inside.mean() >= 0.5 else "does not hold"


# ----------------------------------------------------------------------
# Row 1: parameters and architecture
# ----------------------------------------------------------------------
def parameters_table(models: Iterable[str] | str | None = None) -> pd.DataFrame:
    """One row per model: kind, parameters (all and active, exact from the
    config), layers, width, attention, sliding window, experts, and the
    published count; closed models carry ``status`` ("rumoured", "unknown")
    and no number. Defined in :ref:`sec_slm_vs_llm`."""
    rows = []
    for m in _models(models, ALL_MODELS):
        if m in CLOSED_MODELS:
            c = CLOSED_MODELS[m]
            rows.append({"model": m, "name": c.name, "kind": "closed", "status": c.status, "note": c.architecture_note})
            continue
        a = load_model(m)
        rows.append({"model": m, "name": display_name(m), "kind": model_kind(m), "status": "published",
                     "n_params": float(a.n_params), "n_active_params": float(a.n_active_params),
                     "n_layers": a.n_layers, "d_model": a.d_model, "n_heads": a.n_heads, "n_kv_heads": a.n_kv_heads,
                     "attention": a.attention_kind, "sliding_window": a.sliding_window,
                     "n_experts": a.n_experts, "n_experts_per_token": a.n_experts_per_token, "note": ""})
    return pd.DataFrame(rows)


# ----------------------------------------------------------------------
# Row 2: training
# ----------------------------------------------------------------------
def _runs(model: str) -> pd.DataFrame:
    runs = published_training_runs()
    runs = runs[runs["model"] == model]
    whole = runs[runs["phase"].isin(["", "all"])]
    return whole if len(whole) else runs


def _estimate_device_hours(arch, hw: str, tokens: float, n_devices: int) -> float:
    """Device-hours of a run of ``tokens`` on ``n_devices`` of ``hw`` at the
    default MFU, the config's context as sequence length (the convention of
    the default MFU), ZeRO-3 data parallelism so the state fits."""
    run = training_run(arch, hw, tokens, n_devices, arch.max_position_embeddings,
                       parallelism=Parallelism(data=int(n_devices), zero_stage=3), check_fit=False)
    return float(run["device_hours"].iloc[0])


@lru_cache(maxsize=None)
def _training_row(m: str) -> dict:
    if m in CLOSED_MODELS:
        return {"model": m, "tokens": math.nan, "tokens_basis": "not published", "training_flop": math.nan,
                "device_hours": math.nan, "device_hours_basis": "not published", "hardware": "",
                "n_devices": math.nan, "price_low": math.nan, "price_high": math.nan, "cost_low_usd": math.nan,
                "cost_high_usd": math.nan, "cost_basis": "not published", "price_ids": "",
                "note": CLOSED_MODELS[m].architecture_note}
    a = load_model(m)
    runs = _runs(m)
    rec = {"model": m, "tokens": math.nan, "tokens_basis": "not published", "training_flop": math.nan,
           "device_hours": math.nan, "device_hours_basis": "not published", "hardware": "", "n_devices": math.nan,
           "price_low": math.nan, "price_high": math.nan, "cost_low_usd": math.nan, "cost_high_usd": math.nan,
           "cost_basis": "no device-hours", "price_ids": "", "note": ""}
    if runs.empty:
        rec["note"] = "no training run published (data/measurements/training.csv has none)"
        return rec
    tokens = float(runs["training_tokens"].sum())
    if math.isfinite(tokens) and tokens > 0:
        kinds = set(runs["training_tokens_kind"])
        rec.update(tokens=tokens, tokens_basis="published" + ("" if kinds <= {"point"} else " (" + ", ".join(
            sorted(kinds)) + ")"), training_flop=float(training_flops(a, tokens)))
    r = runs.iloc[0]
    hw_cat = str(r["hardware"]) if isinstance(r["hardware"], str) else ""
    rec["hardware"] = hw_cat or str(r["hardware_as_published"])
    rec["n_devices"] = float(r["n_devices"])
    dh = float(runs["device_hours"].sum()) if runs["device_hours"].notna().all() else math.nan
    if math.isfinite(dh):
        rec.update(device_hours=dh, device_hours_basis="published" if "published" in str(r["device_hours_basis"])
                   else "published devices x wall time")
    elif math.isfinite(rec["tokens"]) and hw_cat and math.isfinite(rec["n_devices"]):
        hw = hw_cat.split(";")[0]  # candidates share the dense peak (published_training_runs resolves so)
        dh = sum(_estimate_device_hours(a, hw, float(t), int(rec["n_devices"])) for t in runs["training_tokens"])
        rec.update(device_hours=dh, device_hours_basis=f"estimated at the default MFU on {hw}")
    # price: the catalog device when the run names one (with the filters of PRICED_DEVICES), else the rows
    # filed under the device as published (offerings that do not name the form factor)
    p, price_id = None, str(r["hardware_as_published"])
    for cand in ([hw_cat] if hw_cat and ";" not in hw_cat else []) + [price_id]:
        p = _device_price(cand) if cand in PRICED_DEVICES else dated_price(cand, PRICE_DATE)
        if p is not None:
            price_id = cand
            break
    if p is not None and math.isfinite(rec["device_hours"]):
        rec.update(price_low=p["low"], price_high=p["high"], cost_low_usd=rec["device_hours"] * p["low"],
                   cost_high_usd=rec["device_hours"] * p["high"], price_ids="; ".join(p["ids"]),
                   cost_basis=f"device-hours x the {PRICE_DATE} price of {price_id}")
    elif math.isfinite(rec["device_hours"]):
        rec["cost_basis"] = f"no dated price for {price_id!r} in data/prices/cloud.csv"
    if not math.isfinite(rec["tokens"]):
        rec["note"] = "training tokens not published"
    return rec


def training_table(models: Iterable[str] | str | None = None) -> pd.DataFrame:
    """One row per model: training tokens (published), training FLOPs
    (6 N T, :func:`costmodel.training_flops`), device-hours (published, or
    estimated with :func:`costmodel.training_run` at the default MFU on the
    published devices, marked so in ``device_hours_basis``), and the cost at
    the :data:`PRICE_DATE` price of that device (a range where the catalog
    holds contradicting prices; NaN with the reason where it holds none).
    Defined in :ref:`sec_slm_vs_llm`."""
    return pd.DataFrame([_training_row(m) for m in _models(models, ALL_MODELS)])


# ----------------------------------------------------------------------
# Row 3: hardware (fit)
# ----------------------------------------------------------------------
@lru_cache(maxsize=None)
def _fit(m: str, hw: str, dtype: str, context: int) -> dict:
    h = load_hardware(hw)
    rec = {"model": m, "hardware": hw, "weight_dtype": dtype, "context": context,
           "weight_bytes": float(weight_bytes(m, dtype)), "memory_bytes": h.memory_bytes,
           "need_one_device_bytes": math.nan, "n_devices": math.nan, "fits_one": False, "shortfall_bytes": math.nan,
           "note": ""}
    if not math.isfinite(h.memory_bytes):
        rec["note"] = f"{hw} publishes no memory capacity"
        return rec
    one = memory_per_device(m, hw, batch=1, context=context, n_devices=1, weight_dtype=dtype)
    need = float(one["total_bytes"].iloc[0])
    usable = h.memory_bytes * DEFAULT_MEMORY_FRACTION
    rec.update(need_one_device_bytes=need, fits_one=need <= usable, shortfall_bytes=max(need - usable, 0.0))
    try:
        rec["n_devices"] = float(min_devices(m, hw, batch=1, context=context, weight_dtype=dtype))
    except ValueError as e:
        rec["note"] = str(e)
    return rec


def fit_table(models: Iterable[str] | str | None = None, hardware: Iterable[str] | str | None = None,
              dtypes: Iterable[str] | str = DTYPES, context: int = INPUT_TOKENS + OUTPUT_TOKENS) -> pd.DataFrame:
    """Whether each model fits each device at each weight format, for one
    sequence of ``context`` tokens: the weights, what one device would hold
    (:func:`costmodel.memory_per_device`), ``fits_one`` within
    :data:`~costmodel.inference.DEFAULT_MEMORY_FRACTION` of its memory, the
    ``shortfall_bytes`` on one device (0 when it fits), and the fewest
    devices that hold it (:func:`costmodel.min_devices`; NaN with the
    reason in ``note`` when none does). Closed models are left out: their
    weights are not published. Defined in :ref:`sec_slm_vs_llm`."""
    ms = _open(_models(models, SLM_MODELS + LLM_MODELS))
    hws = list_hardware() if hardware is None else ([hardware] if isinstance(hardware, str) else list(hardware))
    ds = [dtypes] if isinstance(dtypes, str) else list(dtypes)
    return pd.DataFrame([_fit(m, h, d, int(context)) for m in ms for h in hws for d in ds])


def minimum_hardware(models: Iterable[str] | str | None = None, dtypes: Iterable[str] | str = DTYPES,
                     context: int = INPUT_TOKENS + OUTPUT_TOKENS) -> pd.DataFrame:
    """For each model and weight format, the catalog device with the least
    memory that holds it alone (``smallest_device``, its category and
    memory), and the fewest H100 SXM that hold it. Closed models: "unknown".
    Defined in :ref:`sec_slm_vs_llm`."""
    ms = _models(models, ALL_MODELS)
    ds = [dtypes] if isinstance(dtypes, str) else list(dtypes)
    fits = fit_table(_open(ms), None, ds, context) if _open(ms) else pd.DataFrame()
    rows = []
    for m in ms:
        for d in ds:
            if m in CLOSED_MODELS:
                rows.append({"model": m, "weight_dtype": d, "weight_bytes": math.nan, "smallest_device": "",
                             "category": "", "smallest_memory_bytes": math.nan, "h100_devices": math.nan,
                             "note": "unknown: " + CLOSED_MODELS[m].architecture_note})
                continue
            f = fits[(fits["model"] == m) & (fits["weight_dtype"] == d)]
            one = f[f["fits_one"]].sort_values(["memory_bytes", "hardware"])
            h100 = f[f["hardware"] == "h100-sxm"]
            best = one.iloc[0] if len(one) else None
            rows.append({"model": m, "weight_dtype": d, "weight_bytes": float(f["weight_bytes"].iloc[0]),
                         "smallest_device": best["hardware"] if best is not None else "",
                         "category": load_hardware(best["hardware"]).category if best is not None else "",
                         "smallest_memory_bytes": float(best["memory_bytes"]) if best is not None else math.nan,
                         "h100_devices": float(h100["n_devices"].iloc[0]),
                         "note": "" if best is not None else "fits on no single catalog device"})
    return pd.DataFrame(rows)


# ----------------------------------------------------------------------
# Row 4: latency
# ----------------------------------------------------------------------
@lru_cache(maxsize=None)
def _latency(m: str, hw: str, dtype: str, batches: tuple[int, ...], n_in: int, n_out: int) -> tuple[dict, ...]:
    base = {"model": m, "hardware": hw, "weight_dtype": dtype, "input_tokens": n_in, "output_tokens": n_out}
    f = _fit(m, hw, dtype, n_in + n_out)
    out = []
    if not math.isfinite(f["n_devices"]):
        short = f["shortfall_bytes"]
        why = (f"does not fit: short by {short / _GB:.1f} GB on one device" if math.isfinite(short) and short > 0
               else f["note"] or "does not fit")
        for b in batches:
            out.append({**base, "batch": b, "n_devices": math.nan, "fits": False, "ttft_s": math.nan,
                        "tpot_s": math.nan, "tokens_per_s_per_user": math.nan, "shortfall_bytes": short,
                        "note": why})
        return tuple(out)
    n = int(f["n_devices"])
    h = load_hardware(hw)
    bs = np.asarray(batches, float)
    ctx = n_in + (n_out - 1) // 2
    if any(h.has_peak(d) for d in ("bf16", "fp16", "fp32")):
        sp = serving_point(m, hw, n_in, n_out, n_devices=n, weight_dtype=dtype, batch=bs)
        ttft, tpot, ok = sp["ttft_s"].to_numpy(), sp["tpot_s"].to_numpy(), sp["fits"].to_numpy()
        bmax = float(sp["max_batch"].iloc[0])
        note = ""
    else:  # no compute peak: decode is bandwidth-bound and computable, prefill is not
        dec = decode(m, hw, batch=bs, context=ctx, n_devices=n, weight_dtype=dtype)
        tpot = np.asarray(dec.latency_s, float)
        ttft = np.full(len(bs), math.nan)
        ok = np.asarray(dec.fits, bool)
        bmax = math.nan
        note = f"{hw} publishes no compute peak: TTFT cannot be computed"
    for i, b in enumerate(batches):
        fits = bool(ok[i])
        rec = {**base, "batch": b, "n_devices": n, "fits": fits, "ttft_s": float(ttft[i]) if fits else math.nan,
               "tpot_s": float(tpot[i]) if fits else math.nan,
               "tokens_per_s_per_user": 1 / float(tpot[i]) if fits else math.nan, "shortfall_bytes": 0.0,
               "note": note}
        if not fits:
            rec["note"] = (f"batch {b} does not fit on {n} x {hw}" + (f" (largest: {bmax:.0f})"
                                                                      if math.isfinite(bmax) else ""))
        out.append(rec)
    return tuple(out)


def latency_table(models: Iterable[str] | str | None = None, hardware: Iterable[str] | str = LATENCY_DEVICES,
                  dtypes: Iterable[str] | str = DTYPES, batches: Iterable[int] = (1, SERVING_BATCH),
                  input_tokens: int = INPUT_TOKENS, output_tokens: int = OUTPUT_TOKENS) -> pd.DataFrame:
    """Time to first token and time per output token of requests of
    ``input_tokens`` in and ``output_tokens`` out, on the fewest devices of
    each kind that hold the model (:func:`costmodel.min_devices`), at each
    batch: :func:`costmodel.serving_point` (expected values, fitted
    efficiency); on a device without a compute peak only the decode step
    (:func:`costmodel.decode`) and TTFT is NaN. A model that does not fit is
    a row with ``fits`` False, NaN times and the shortfall in ``note``.
    Closed models are left out (no architecture). Defined in :ref:`sec_slm_vs_llm`."""
    ms = _open(_models(models, SLM_MODELS + LLM_MODELS))
    hws = [hardware] if isinstance(hardware, str) else list(hardware)
    for h in hws:
        load_hardware(h)
    ds = [dtypes] if isinstance(dtypes, str) else list(dtypes)
    bs = tuple(int(b) for b in batches)
    rows = [r for m in ms for h in hws for d in ds
            for r in _latency(m, h, d, bs, int(input_tokens), int(output_tokens))]
    return pd.DataFrame(rows)


# ----------------------------------------------------------------------
# Row 6: cost
# ----------------------------------------------------------------------
@lru_cache(maxsize=None)
def _cost(m: str, hw: str, dtype: str, ttft_slo: float, tpot_slo: float, n_in: int, n_out: int) -> dict:
    from .planner import compare

    p = _device_price(hw)
    base = {"model": m, "hardware": hw, "weight_dtype": dtype, "ttft_slo_s": ttft_slo, "tpot_slo_s": tpot_slo,
            "price_low": p["low"] if p else math.nan, "price_high": p["high"] if p else math.nan,
            "price_ids": "; ".join(p["ids"]) if p else "", "n_devices": math.nan, "slo_batch": 0.0,
            "tpot_s": math.nan, "ttft_s": math.nan, "output_tokens_per_s": math.nan,
            "usd_per_1m_low": math.nan, "usd_per_1m_high": math.nan, "meets_target": False, "note": ""}
    if p is None:
        base["note"] = f"no dated price for {hw}"
        return base
    first = compare([m], [hw], weight_dtypes=[dtype], input_tokens=n_in, output_tokens=n_out, ttft_slo_s=ttft_slo,
                    tpot_slo_s=tpot_slo, price_per_device_hour_usd=p["low"]).iloc[0]
    if not bool(first.get("fits", False)) and not isinstance(first.get("batch"), (int, float)):
        base["note"] = str(first.get("note", "does not fit"))
        return base
    slo_b = float(first.get("slo_batch", 0.0)) if math.isfinite(float(first.get("slo_batch", 0.0))) else 0.0
    base["n_devices"] = float(first["n_devices"]) if "n_devices" in first and first["n_devices"] == first[
        "n_devices"] else math.nan
    if slo_b < 1:
        base.update(slo_batch=0.0, note="no batch meets the target" if first.get("fits") else
                    str(first.get("note") or "does not fit"))
        return base
    at = compare([m], [hw], weight_dtypes=[dtype], input_tokens=n_in, output_tokens=n_out, batch=int(slo_b),
                 price_per_device_hour_usd=p["low"]).iloc[0]
    usd = float(at["usd_per_1m_output_tokens"])
    base.update(slo_batch=slo_b, n_devices=float(at["n_devices"]), tpot_s=float(at["tpot_s"]),
                ttft_s=float(at["ttft_s"]), output_tokens_per_s=float(at["output_tokens_per_s"]),
                usd_per_1m_low=usd, usd_per_1m_high=usd * p["high"] / p["low"], meets_target=True)
    return base


def serving_cost_table(models: Iterable[str] | str | None = None, hardware: Iterable[str] | str | None = None,
                       dtypes: Iterable[str] | str = ("bf16",), ttft_slo_s: float | None = None,
                       tpot_slo_s: float | None = None, input_tokens: int = INPUT_TOKENS,
                       output_tokens: int = OUTPUT_TOKENS) -> pd.DataFrame:
    """Dollars per million output tokens, self-hosted, on each priced device
    (:data:`PRICED_DEVICES` at :data:`PRICE_DATE`): :func:`costmodel.planner.compare`
    finds the fewest devices that hold the model and the largest batch that
    meets the latency target (``slo_batch``; default MLPerf's server
    constraints, :func:`mlperf_latency_target`), and prices the group at that
    batch. ``usd_per_1m_low``/``_high`` span the catalog's contradicting
    prices. A configuration no batch of which meets the target is a row with
    ``meets_target`` False. Defined in :ref:`sec_slm_vs_llm`."""
    ms = _open(_models(models, SLM_MODELS + LLM_MODELS))
    hws = list(PRICED_DEVICES) if hardware is None else ([hardware] if isinstance(hardware, str) else list(hardware))
    ds = [dtypes] if isinstance(dtypes, str) else list(dtypes)
    t = mlperf_latency_target()
    ttft = t["ttft_s"] if ttft_slo_s is None else float(ttft_slo_s)
    tpot = t["tpot_s"] if tpot_slo_s is None else float(tpot_slo_s)
    return pd.DataFrame([_cost(m, h, d, ttft, tpot, int(input_tokens), int(output_tokens))
                         for m in ms for h in hws for d in ds])


def cheapest_serving(models: Iterable[str] | str | None = None, dtypes: Iterable[str] | str = ("bf16",),
                     ttft_slo_s: float | None = None, tpot_slo_s: float | None = None) -> pd.DataFrame:
    """For each model and weight format, the row of :func:`serving_cost_table`
    with the lowest dollars per million output tokens among the devices that
    meet the target (all columns NaN and ``hardware`` empty where none does).
    Defined in :ref:`sec_slm_vs_llm`."""
    df = serving_cost_table(models, None, dtypes, ttft_slo_s, tpot_slo_s)
    rows = []
    for (m, d), g in df.groupby(["model", "weight_dtype"], sort=False):
        ok = g[g["meets_target"]].sort_values("usd_per_1m_low")
        if len(ok):
            rows.append(ok.iloc[0].to_dict())
        else:
            r = g.iloc[0].to_dict()
            r.update(hardware="", usd_per_1m_low=math.nan, usd_per_1m_high=math.nan,
                     note="no priced device meets the target")
            rows.append(r)
    return pd.DataFrame(rows)


def api_price_table(models: Iterable[str] | str | None = None) -> pd.DataFrame:
    """The API list prices shown beside each model (rows of
    ``data/prices/api.csv`` named in ``API_ROWS``): provider, the model or
    size bucket priced, USD per million input and output tokens, date.
    Defined in :ref:`sec_slm_vs_llm`."""
    api = _api_frame().set_index("id")
    rows = []
    for m in _models(models, ALL_MODELS):
        for rid in API_ROWS.get(m, ()):
            r = api.loc[rid]
            rows.append({"model": m, "row_id": rid, "provider": r["provider"], "priced_as": r["model"],
                         "input_usd_per_1m": float(r["input_usd_per_1m_tokens"]),
                         "output_usd_per_1m": float(r["output_usd_per_1m_tokens"]),
                         "date": r["date"] or "undated", "tag": r["tag"]})
    return pd.DataFrame(rows)


# ----------------------------------------------------------------------
# Row 5: accuracy
# ----------------------------------------------------------------------
def accuracy_table(models: Iterable[str] | str | None = None) -> pd.DataFrame:
    """Published scores of each model on MMLU, HellaSwag, GSM8K and
    HumanEval (%, NaN where none was found), one row per model, from
    :func:`benchmarks`; the settings differ between sources (see its
    ``setting`` column). Defined in :ref:`sec_slm_vs_llm`."""
    rows = []
    for m in _models(models, ALL_MODELS):
        rec = {"model": m}
        for b in _BENCHMARKS:
            rec[b] = _score(m, b)
        rows.append(rec)
    return pd.DataFrame(rows)


# ----------------------------------------------------------------------
# Facts and the fact check
# ----------------------------------------------------------------------
def _rng(values) -> tuple[float, float]:
    v = [float(x) for x in values if x == x]
    return (min(v), max(v)) if v else (math.nan, math.nan)


def _g(x: float, digits: int = 3) -> str:
    """A number for reading: 3 significant digits, thousands separators."""
    if x is None or x != x:
        return "unknown"
    if x == 0:
        return "0"
    if float(x).is_integer() and abs(x) < 1e6:
        return f"{int(x):,}"
    mag = math.floor(math.log10(abs(x)))
    decimals = max(0, digits - 1 - mag)
    text = f"{round(x, decimals):,.{decimals}f}"
    return text.rstrip("0").rstrip(".") if "." in text else text


@lru_cache(maxsize=None)
def _facts() -> dict:
    f: dict = {}
    params = parameters_table(SLM_MODELS + LLM_MODELS).set_index("model")
    n = params["n_params"]
    f["slm_params_min"], f["slm_params_max"] = _rng(n[list(SLM_MODELS)])
    f["llm_params_min"], f["llm_params_max"] = _rng(n[list(LLM_MODELS)])
    f["slm_params_max_model"] = n[list(SLM_MODELS)].idxmax()
    f["llm_params_min_model"] = n[list(LLM_MODELS)].idxmin()
    mix = load_model("mixtral-8x7b-v0.1")
    f["mixtral_params"], f["mixtral_active_params"] = float(mix.n_params), float(mix.n_active_params)
    f["slm_threshold"] = _figure(1, "slm", "n_params")[1]
    for m in ("phi-1.5", "gemma-2b", "llama-2-7b"):
        f[f"article_params_{m}"] = _figure(2, m, "n_params")[0]
        f[f"params_{m}"] = float(n[m])
        f[f"params_ratio_{m}"] = float(n[m]) / f[f"article_params_{m}"]
    f["article_params_llama-3-70b"] = _figure(5, "llama-3-70b", "n_params")[0]
    f["params_llama-3-70b"] = float(n["llama-3-70b"])
    f["article_gpt4_params"] = _figure(5, "gpt-4", "n_params")[0]
    f["article_gemini_params"] = _figure(5, "gemini-1.5-pro", "n_params")[1]
    # layers and widths
    layers = params["n_layers"]
    f["slm_layers_lo"], f["slm_layers_hi"] = _figure(9, "slm", "n_layers")
    f["slm_layers_in_range"] = int(((layers[list(SLM_MODELS)] >= f["slm_layers_lo"])
                                    & (layers[list(SLM_MODELS)] <= f["slm_layers_hi"])).sum())
    f["n_slm"], f["n_llm"] = len(SLM_MODELS), len(LLM_MODELS)
    f["slm_layers_min"], f["slm_layers_max"] = _rng(layers[list(SLM_MODELS)])
    f["llm_layers_lo"] = _figure(12, "llm", "n_layers")[0]
    f["llm_dmodel_lo"] = _figure(12, "llm", "d_model")[0]
    llm_ok = (layers[list(LLM_MODELS)] >= f["llm_layers_lo"]) & (params.loc[list(LLM_MODELS), "d_model"]
                                                               >= f["llm_dmodel_lo"])
    f["llm_in_range"] = int(llm_ok.sum())
    f["layers_llama-2-7b"], f["layers_mistral-7b-v0.1"] = int(layers["llama-2-7b"]), int(layers["mistral-7b-v0.1"])
    f["layers_mixtral"], f["dmodel_mixtral"] = int(layers["mixtral-8x7b-v0.1"]), int(mix.d_model)
    f["layers_llama-3-70b"], f["dmodel_llama-3-70b"] = int(layers["llama-3-70b"]), int(params.loc["llama-3-70b",
                                                                                                  "d_model"])
    f["slm_dmodel_min"], f["slm_dmodel_max"] = _rng(params.loc[list(SLM_MODELS), "d_model"])
    f["slm_sliding"] = int((params.loc[list(SLM_MODELS), "sliding_window"] > 0).sum())
    f["slm_gqa_mqa"] = int(params.loc[list(SLM_MODELS), "attention"].isin(["GQA", "MQA"]).sum())
    f["llm_gqa"] = int(params.loc[list(LLM_MODELS), "attention"].isin(["GQA", "MQA"]).sum())
    # GQA in Mistral 7B: a copy with one key/value head per query head, same everything else
    mis = load_model("mistral-7b-v0.1")
    mha = mis.with_(n_kv_heads=mis.n_heads, name="mistral-7b-v0.1 with MHA")
    f["mistral_kv_heads"], f["mistral_heads"] = mis.n_kv_heads, mis.n_heads
    f["mistral_window"] = mis.sliding_window
    f["mistral_kv_per_token"] = kv_cache_bytes_per_token(mis)
    f["mha_kv_per_token"] = kv_cache_bytes_per_token(mha)
    ctx = mis.sliding_window
    f["gqa_batch"] = GQA_BATCH
    for b, key in ((1, "b1"), (GQA_BATCH, "bn")):
        # array inputs: a step that does not fit comes back with fits False and NaN times, no exception
        g = decode(mis, "h100-sxm", batch=np.float64(b), context=np.asarray([ctx]))
        h = decode(mha, "h100-sxm", batch=np.float64(b), context=np.asarray([ctx]))
        f[f"mistral_tpot_{key}"] = float(np.asarray(g.latency_s)[0])
        f[f"mha_tpot_{key}"] = float(np.asarray(h.latency_s)[0])
    sp_g = serving_point(mis, "h100-sxm", ctx - OUTPUT_TOKENS, OUTPUT_TOKENS)
    sp_h = serving_point(mha, "h100-sxm", ctx - OUTPUT_TOKENS, OUTPUT_TOKENS)
    f["mistral_max_batch"], f["mha_max_batch"] = float(sp_g["max_batch"].iloc[0]), float(sp_h["max_batch"].iloc[0])
    f["mistral_gqa_context"] = ctx
    # edge fits (int4, llama.cpp q4_0 and GPTQ int4)
    edge = "jetson-orin-nano-8gb"
    f["edge_device"] = edge
    f["edge_memory"] = load_hardware(edge).memory_bytes
    ef = fit_table(SLM_MODELS, edge, ("bf16", "int4"))
    f["slm_fit_edge_int4"] = int(ef[ef["weight_dtype"] == "int4"]["fits_one"].sum())
    f["slm_fit_edge_bf16"] = int(ef[ef["weight_dtype"] == "bf16"]["fits_one"].sum())
    wq = {m: float(weight_bytes(m, "int4")) for m in SLM_MODELS}
    f["slm_int4_max_gb"] = max(wq.values()) / _GB
    f["slm_int4_min_gb"] = min(wq.values()) / _GB
    wb = {m: float(weight_bytes(m, "bf16")) for m in SLM_MODELS}
    f["slm_bf16_min_gb"], f["slm_bf16_max_gb"] = min(wb.values()) / _GB, max(wb.values()) / _GB
    # CPUs and laptop GPUs: Llama 2 7B q4_0, measured and predicted
    meas = _read(DATA_DIR / "measurements" / "inference.csv", dtype=str)
    row = meas[meas["id"] == "llamacpp-4167/llama-2-7b/q4-0/apple-m2/apple-m2-10-core-gpu/n1/b1/x-128/decode-tokens-per-s"]
    f["m2_measured_tps"] = float(row["value"].iloc[0])
    f["m2_measured_source"] = str(row["source"].iloc[0])
    d = decode("llama-2-7b", "apple-m2", context=128, weight_dtype="q4_0", efficiency="llama.cpp")
    f["m2_predicted_tps"] = float(d.tokens_per_s)
    cpu = decode("llama-2-7b", "epyc-9654-2s", context=INPUT_TOKENS, weight_dtype="q4_0", efficiency=IDEAL)
    f["cpu_bound_tps"] = float(cpu.bound_tokens_per_s)
    f["l7_q4_0_gb"] = float(weight_bytes("llama-2-7b", "q4_0")) / _GB
    # quantisation
    f["l7_bf16_gb"] = float(weight_bytes("llama-2-7b", "bf16")) / _GB
    f["l7_int4_gb"] = float(weight_bytes("llama-2-7b", "int4")) / _GB
    f["l7_int8_gb"] = float(weight_bytes("llama-2-7b", "int8")) / _GB
    f["l7_ppl_fp16"], f["l7_ppl_awq"] = _ppl("llama-2-7b", "fp16"), _ppl("llama-2-7b", "int4-awq")
    f["l7_ppl_rtn3"] = _ppl("llama-2-7b", "int3-g128-rtn")
    f["l13_ppl_fp16"], f["l70_ppl_awq"] = _ppl("llama-2-13b", "fp16"), _ppl("llama-2-70b", "int4-awq")
    f["l70_ppl_fp16"] = _ppl("llama-2-70b", "fp16")
    f["l70_int4_gb"] = float(weight_bytes("llama-2-70b", "int4")) / _GB
    f["l13_bf16_gb"] = float(weight_bytes("llama-2-13b", "bf16")) / _GB
    l7i = latency_table("llama-2-7b", "h100-sxm", ("bf16", "int4"), (1,)).set_index("weight_dtype")
    f["l7_tpot_bf16_h100"], f["l7_tpot_int4_h100"] = l7i.loc["bf16", "tpot_s"], l7i.loc["int4", "tpot_s"]
    # Phi-2 on one GPU
    for hw in ("t4", "l4", "apple-m2"):
        lt = latency_table("phi-2", hw, "bf16", (1,)).iloc[0]
        f[f"phi2_{hw}_devices"] = lt["n_devices"]
        f[f"phi2_{hw}_tpot"] = lt["tpot_s"]
        f[f"phi2_{hw}_ttft"] = lt["ttft_s"]
    f["phi2_bf16_gb"] = float(weight_bytes("phi-2", "bf16")) / _GB
    f["t4_memory_gb"] = load_hardware("t4").memory_bytes / _GB
    f["phi2_t4_max_batch"] = float(serving_point("phi-2", "t4", INPUT_TOKENS, OUTPUT_TOKENS)["max_batch"].iloc[0])
    # LLM hardware
    for m in ("llama-3-70b",):
        for dt in ("bf16", "int4"):
            ff = _fit(m, "h100-sxm", dt, INPUT_TOKENS + OUTPUT_TOKENS)
            f[f"l3_70_h100_{dt}"] = ff["n_devices"]
        f["l3_70_bf16_gb"] = float(weight_bytes(m, "bf16")) / _GB
        f["l3_70_int4_gb"] = float(weight_bytes(m, "int4")) / _GB
        mx = _fit(m, "apple-m3-max", "int4", INPUT_TOKENS + OUTPUT_TOKENS)
        f["l3_70_m3max_int4_fits"] = bool(mx["fits_one"])
        lt = latency_table(m, "apple-m3-max", "int4", (1,)).iloc[0]
        f["l3_70_m3max_tpot"] = lt["tpot_s"]
    f["h100_usable_gb"] = load_hardware("h100-sxm").memory_bytes * DEFAULT_MEMORY_FRACTION / _GB
    # the rumoured GPT-4 count, weights only, labelled as resting on the rumour; the catalog model only carries
    # the weight format (n_params counts that many parameters at the format's bytes, with no structure)
    n_rum = f["article_gpt4_params"]
    for dt in ("bf16", "int4"):
        wbytes = float(weight_bytes("llama-3-70b", dt, n_params=n_rum))
        f[f"rumour_{dt}_gb"] = wbytes / _GB
        for hw in ("h100-sxm", "h200-sxm"):
            f[f"rumour_{dt}_{hw}"] = devices_needed(wbytes, hw)
    n_dev = f["rumour_bf16_h100-sxm"]
    # every weight read once per token, spread over the group: what a dense model of that size needs at least
    f["rumour_dense_tpot_bound"] = float(roofline_time_s(2 * n_rum / n_dev, f["rumour_bf16_gb"] * _GB / n_dev,
                                                         "h100-sxm"))
    # training
    tr = training_table(SLM_MODELS + LLM_MODELS).set_index("model")
    f["slm_tokens_min"], f["slm_tokens_max"] = _rng(tr.loc[list(SLM_MODELS), "tokens"])
    f["llm_tokens_min"], f["llm_tokens_max"] = _rng(tr.loc[list(LLM_MODELS), "tokens"])
    f["slm_tokens_unknown"] = int(tr.loc[list(SLM_MODELS), "tokens"].isna().sum())
    f["llm_tokens_unknown"] = int(tr.loc[list(LLM_MODELS), "tokens"].isna().sum())
    for m in ("phi-3-mini-4k-instruct", "llama-2-7b", "llama-2-70b", "llama-3-70b", "phi-1.5"):
        f[f"tokens_{m}"] = float(tr.loc[m, "tokens"])
        f[f"device_hours_{m}"] = float(tr.loc[m, "device_hours"])
    f["slm_flop_min"], f["slm_flop_max"] = _rng(tr.loc[list(SLM_MODELS), "training_flop"])
    f["llm_flop_min"], f["llm_flop_max"] = _rng(tr.loc[list(LLM_MODELS), "training_flop"])
    f["slm_dh_min"], f["slm_dh_max"] = _rng(tr.loc[list(SLM_MODELS), "device_hours"])
    f["llm_dh_min"], f["llm_dh_max"] = _rng(tr.loc[list(LLM_MODELS), "device_hours"])
    f["slm_cost_min"], _ = _rng(tr.loc[list(SLM_MODELS), "cost_low_usd"])
    _, f["slm_cost_max"] = _rng(tr.loc[list(SLM_MODELS), "cost_high_usd"])
    f["llm_cost_min"], _ = _rng(tr.loc[list(LLM_MODELS), "cost_low_usd"])
    _, f["llm_cost_max"] = _rng(tr.loc[list(LLM_MODELS), "cost_high_usd"])
    f["default_mfu"] = default_mfu().value
    # fine-tuning memory (costmodel.finetune, sequences as long as the chapter's requests; memory does not
    # depend on the dataset size, so one sequence of tokens is asked for)
    s_ft = INPUT_TOKENS + OUTPUT_TOKENS
    for m in ("phi-2", "llama-2-70b"):
        full = full_finetune(m, "h100-sxm", s_ft, s_ft).iloc[0]
        f[f"ft_full_{m}_gb"] = float(full["total_bytes"]) / _GB
        f[f"ft_full_{m}_fits_h100"] = bool(full["fits"])
        f[f"ft_h100_{m}"] = devices_needed(float(full["total_bytes"]), "h100-sxm")
    q = qlora_finetune("llama-2-70b", "l40s", s_ft, s_ft).iloc[0]
    f["qlora_l70_gb"], f["qlora_l70_fits_l40s"] = float(q["total_bytes"]) / _GB, bool(q["fits"])
    f["qlora_l70_pageable_gb"] = float(q["pageable_bytes"]) / _GB
    f["qlora_l70_trainable_pct"] = 100 * float(q["trainable_fraction"])
    f["qlora_l70_rank"] = float(q["rank"])
    f["l40s_memory_gb"] = load_hardware("l40s").memory_bytes / _GB
    f["ft_seq_len"] = s_ft
    # a federated round on an edge device: the update a client sends (bytes do not depend on the link speed, which
    # the function needs and no source gives here, so it is passed as 1 B/s and only the byte counts are read)
    edge_ft = {}
    for method in ("lora", "full"):
        r = federated_finetune("phi-2", edge, rounds=1, local_tokens=s_ft, seq_len=s_ft, uplink_bytes_per_s=1.0,
                               method=method).iloc[0]
        edge_ft[method] = r
        f[f"fed_{method}_update_gb"] = float(r["update_bytes_per_round"]) / _GB
        f[f"fed_{method}_fits_edge"] = bool(r["fits"])
    f["fed_lora_rank"] = float(edge_ft["lora"]["rank"])
    # phone: Phi-3-mini at 4 bit on the Snapdragon 8 Gen 3 (no published capacity: bandwidth bound only)
    phone = "snapdragon-8-gen-3"
    f["phone_device"] = phone
    f["phi3_q4_0_gb"] = float(weight_bytes("phi-3-mini-4k-instruct", "q4_0")) / _GB
    f["phi3_kv_4k_gb"] = kv_cache_bytes_per_token("phi-3-mini-4k-instruct") * load_model(
        "phi-3-mini-4k-instruct").max_position_embeddings / _GB
    f["phi3_context"] = load_model("phi-3-mini-4k-instruct").max_position_embeddings
    pd_ = decode("phi-3-mini-4k-instruct", phone, context=INPUT_TOKENS, weight_dtype="q4_0", efficiency=IDEAL)
    f["phi3_phone_bound_tps"] = float(pd_.bound_tokens_per_s)
    f["phone_bandwidth_gbs"] = load_hardware(phone).memory_bandwidth_bytes_per_s / _GB
    # accuracy
    acc = accuracy_table(ALL_MODELS).set_index("model")
    f["slm_mmlu_min"], f["slm_mmlu_max"] = _rng(acc.loc[list(SLM_MODELS), "MMLU"])
    f["llm_mmlu_min"], f["llm_mmlu_max"] = _rng(acc.loc[list(LLM_MODELS), "MMLU"])
    f["slm_mmlu_known"] = int(acc.loc[list(SLM_MODELS), "MMLU"].notna().sum())
    f["gpt4_mmlu"], f["gemini_mmlu"] = acc.loc["gpt-4", "MMLU"], acc.loc["gemini-1.5-pro", "MMLU"]
    f["phi3_mmlu"], f["l2_70_mmlu"] = acc.loc["phi-3-mini-4k-instruct", "MMLU"], acc.loc["llama-2-70b", "MMLU"]
    f["sc2_humaneval"], f["l2_70_humaneval"] = acc.loc["starcoder2-3b", "HumanEval"], acc.loc["llama-2-70b",
                                                                                             "HumanEval"]
    f["gpt4_humaneval"] = acc.loc["gpt-4", "HumanEval"]
    f["sc2_params"], f["l2_70_params"] = float(n["starcoder2-3b"]), float(n["llama-2-70b"])
    # latency: batch 1 and the serving batch on H100 SXM, bf16
    lat = latency_table(SLM_MODELS + LLM_MODELS, "h100-sxm", "bf16", (1, SERVING_BATCH)).set_index(
        ["model", "batch"])
    t1 = lat.xs(1, level="batch")["tpot_s"]
    tb = lat.xs(SERVING_BATCH, level="batch")["tpot_s"]
    f["slm_tpot1_min"], f["slm_tpot1_max"] = _rng(t1[list(SLM_MODELS)])
    f["llm_tpot1_min"], f["llm_tpot1_max"] = _rng(t1[list(LLM_MODELS)])
    f["slm_tpotb_min"], f["slm_tpotb_max"] = _rng(tb[list(SLM_MODELS)])
    f["llm_tpotb_min"], f["llm_tpotb_max"] = _rng(tb[list(LLM_MODELS)])
    ttf = lat.xs(1, level="batch")["ttft_s"]
    f["slm_ttft1_min"], f["slm_ttft1_max"] = _rng(ttf[list(SLM_MODELS)])
    f["llm_ttft1_min"], f["llm_ttft1_max"] = _rng(ttf[list(LLM_MODELS)])
    nd = lat.xs(1, level="batch")["n_devices"]
    f["llm_h100_min"], f["llm_h100_max"] = _rng(nd[list(LLM_MODELS)])
    f["tpot1_phi-2"], f["tpot1_llama-3-70b"] = float(t1["phi-2"]), float(t1["llama-3-70b"])
    f["devices_llama-3-70b"] = float(nd["llama-3-70b"])
    f["serving_batch"] = SERVING_BATCH
    # the batch at which Phi-2 on one H100 reaches Llama 3 70B's batch-1 time per token
    target = f["tpot1_llama-3-70b"]
    bmax = int(serving_point("phi-2", "h100-sxm", INPUT_TOKENS, OUTPUT_TOKENS)["max_batch"].iloc[0])
    bs = np.arange(1, bmax + 1, dtype=float)
    tp = np.asarray(decode("phi-2", "h100-sxm", batch=bs, context=INPUT_TOKENS + (OUTPUT_TOKENS - 1) // 2).latency_s)
    over = np.nonzero(tp >= target)[0]
    f["phi2_batch_matching_llm"] = float(bs[over[0]]) if over.size else math.nan
    f["phi2_max_batch_h100"] = float(bmax)
    f["phi2_tpot_at_max"] = float(tp[-1])
    # cost
    cs = cheapest_serving(SLM_MODELS + LLM_MODELS, ("bf16",)).set_index("model")
    f["slm_usd_min"], _ = _rng(cs.loc[list(SLM_MODELS), "usd_per_1m_low"])
    _, f["slm_usd_max"] = _rng(cs.loc[list(SLM_MODELS), "usd_per_1m_high"])
    f["llm_usd_min"], _ = _rng(cs.loc[list(LLM_MODELS), "usd_per_1m_low"])
    _, f["llm_usd_max"] = _rng(cs.loc[list(LLM_MODELS), "usd_per_1m_high"])
    f["slm_usd_unmet"] = int(cs.loc[list(SLM_MODELS), "usd_per_1m_low"].isna().sum())
    f["llm_usd_unmet"] = int(cs.loc[list(LLM_MODELS), "usd_per_1m_low"].isna().sum())
    t = mlperf_latency_target()
    f["target_ttft_s"], f["target_tpot_s"] = t["ttft_s"], t["tpot_s"]
    api = api_price_table(ALL_MODELS)
    gpt4 = api[api["row_id"] == "openai/gpt-4-8k-0314-0613"].iloc[0]
    f["gpt4_out_usd"], f["gpt4_in_usd"] = gpt4["output_usd_per_1m"], gpt4["input_usd_per_1m"]
    slm_api = api[api["model"].isin(SLM_MODELS)]
    llm_api = api[api["model"].isin(LLM_MODELS)]
    f["slm_api_out_min"], f["slm_api_out_max"] = _rng(slm_api["output_usd_per_1m"])
    f["llm_api_out_min"], f["llm_api_out_max"] = _rng(llm_api["output_usd_per_1m"])
    gem = api[api["model"] == "gemini-1.5-pro"]
    f["gemini_out_min"], f["gemini_out_max"] = _rng(gem["output_usd_per_1m"])
    f["mistral_api_out"] = float(api[api["row_id"] == "mistral/open-mistral-7b"]["output_usd_per_1m"].iloc[0])
    for key, rid in (("mixtral_api_out", "mistral/open-mixtral-8x7b/litellm"),
                     ("mixtral_api_out_older", "mistral/open-mixtral-8x7b/litellm-older")):
        f[key] = float(api[api["row_id"] == rid]["output_usd_per_1m"].iloc[0])
    # Mixtral: an MoE reads its active experts per token
    mx1 = latency_table("mixtral-8x7b-v0.1", "h100-sxm", "bf16", (1,)).iloc[0]
    f["mixtral_tpot1"], f["mixtral_devices"] = float(mx1["tpot_s"]), float(mx1["n_devices"])
    f["l2_70_tpot1"] = float(t1["llama-2-70b"])
    return f


def facts() -> dict:
    """Every computed number the chapter and the fact check quote, by name
    (parameters, layers, fits, latencies, costs, scores...), each from the
    package function named in the chapter, as plain Python numbers. A copy.
    Defined in :ref:`sec_slm_vs_llm`."""
    return {k: v.item() if isinstance(v, np.generic) else v for k, v in _facts().items()}


def _e(x: float) -> str:
    """A large number as a MyST math role, ``{math}`8.1 \\times 10^{22}```."""
    if x != x:
        return "unknown"
    e = math.floor(math.log10(abs(x)))
    m = round(x / 10**e, 1)
    if m >= 10:
        m, e = m / 10, e + 1
    return f"{{math}}`{m:.1f} \\times 10^{{{e}}}`"


def _b(x):  # billions
    return _g(x / 1e9)


def _ms(x):
    return _g(x * 1e3)


@lru_cache(maxsize=None)
def _fact_check() -> pd.DataFrame:
    f = _facts()
    ev: dict[int, tuple[str, str, str]] = {}
    N = display_name
    # 1. Model size
    v = range_verdict([f["slm_params_max"], f["slm_params_min"]], high=f["slm_threshold"])
    ev[1] = (v, f"All {f['n_slm']} reference SLMs have {_b(f['slm_params_min'])}–{_b(f['slm_params_max'])} B "
                f"parameters, below the claimed {_b(f['slm_threshold'])} B.", "sec_slm_vs_llm_params")
    ratios = [f[f"params_ratio_{m}"] for m in ("phi-1.5", "gemma-2b", "llama-2-7b")]
    v = range_verdict(ratios, 0.9, 1.1)
    ev[2] = (v, f"Counted from the configs: {N('phi-1.5')} {_b(f['params_phi-1.5'])} B (claimed "
                f"{_b(f['article_params_phi-1.5'])}), {N('gemma-2b')} {_b(f['params_gemma-2b'])} B (claimed "
                f"{_b(f['article_params_gemma-2b'])}), {N('llama-2-7b')} {_b(f['params_llama-2-7b'])} B (claimed "
                f"{_b(f['article_params_llama-2-7b'])}); within 10 %: "
                f"{sum(0.9 <= r <= 1.1 for r in ratios)} of 3 (the names round).", "sec_slm_vs_llm_params")
    v = "holds" if f["slm_fit_edge_bf16"] == f["n_slm"] else (
        "partly holds" if f["slm_fit_edge_int4"] == f["n_slm"] else "does not hold")
    ev[3] = (v, f"On a {_g(f['edge_memory'] / _GB)} GB NVIDIA Jetson Orin Nano: "
                f"{f['slm_fit_edge_int4']} of {f['n_slm']} SLMs fit at int4, {f['slm_fit_edge_bf16']} in bf16. "
                f"Phones: no catalog phone publishes its memory, so a fit on a phone cannot be checked.",
             "sec_slm_vs_llm_hardware")
    ev[4] = ("partly holds", f"The open LLMs have {_b(f['llm_params_min'])}–{_b(f['llm_params_max'])} B parameters "
                             "(tens of billions). 'Trillions for frontier models': no frontier lab publishes a "
                             "count, so that part cannot be checked.", "sec_slm_vs_llm_params")
    ev[5] = ("partly holds", f"{N('llama-3-70b')}: {_b(f['params_llama-3-70b'])} B, as claimed. GPT-4's "
                             f"{_g(f['article_gpt4_params'] / 1e12)} T is a rumour: "
                             f"{CLOSED_MODELS['gpt-4'].architecture_note}. Gemini 1.5: "
                             f"{CLOSED_MODELS['gemini-1.5-pro'].architecture_note}.", "sec_slm_vs_llm_params")
    # 2. Training data
    slm_tokens = _span(f["slm_tokens_min"] / 1e12, f["slm_tokens_max"] / 1e12, _g, "T")
    llm_tokens = _span(f["llm_tokens_min"] / 1e12, f["llm_tokens_max"] / 1e12, _g, "T")
    ev[6] = ("partly holds", f"Published SLM tokens {slm_tokens} against {llm_tokens} for the LLMs: they overlap ({N('llama-2-7b')} "
                             f"and {N('llama-2-70b')} both saw {_g(f['tokens_llama-2-7b'] / 1e12)} T; "
                             f"{N('phi-3-mini-4k-instruct')} saw {_g(f['tokens_phi-3-mini-4k-instruct'] / 1e12)} T). "
                             "Curated and synthetic data: as the Phi reports say. Distillation: none of the reference "
                             "SLMs' reports describes it (judgement).", "sec_slm_vs_llm_training")
    ev[7] = ("partly holds", f"The Phi-3 report trained {N('phi-3-mini-4k-instruct')} on "
                             f"{_g(f['tokens_phi-3-mini-4k-instruct'] / 1e12)} T tokens of heavily filtered public "
                             "web data and synthetic data; 'textbook quality' is the earlier Phi reports' phrase, and "
                             "the synthetic share is not published (judgement).", "sec_slm_vs_llm_training")
    ev[8] = ("partly holds", f"{N('llama-3-70b')} saw {_g(f['tokens_llama-3-70b'] / 1e12)} T tokens, "
                             f"{_g(f['tokens_llama-3-70b'] / f['tokens_llama-2-70b'])} times "
                             f"{N('llama-2-70b')}'s. The reports give tokens, not bytes, so 'petabytes' cannot be "
                             f"checked; open LLMs without a published token count: "
                             f"{f['llm_tokens_unknown']} of {f['n_llm']}.", "sec_slm_vs_llm_training")
    # 3. Architecture
    v = range_verdict([load_model(m).n_layers for m in SLM_MODELS], f["slm_layers_lo"], f["slm_layers_hi"])
    ev[9] = (v, f"Only {f['slm_layers_in_range']} of {f['n_slm']} SLMs have {_g(f['slm_layers_lo'])}–"
                f"{_g(f['slm_layers_hi'])} layers; {N('llama-2-7b')} and {N('mistral-7b-v0.1')} have "
                f"{f['layers_llama-2-7b']} and {f['layers_mistral-7b-v0.1']}, as many as {N('mixtral-8x7b-v0.1')} "
                f"({f['layers_mixtral']}). SLM widths {_g(f['slm_dmodel_min'])}–{_g(f['slm_dmodel_max'])}: narrower "
                f"than the 70B models' {_g(f['dmodel_llama-3-70b'])}, but {N('mixtral-8x7b-v0.1')} is "
                f"{_g(f['dmodel_mixtral'])} wide too.", "sec_slm_vs_llm_params")
    ev[10] = ("partly holds", f"Sliding-window attention in {f['slm_sliding']} of {f['n_slm']} SLMs, sparse "
                              f"attention in none; GQA or MQA in {f['slm_gqa_mqa']} SLMs and in {f['llm_gqa']} of "
                              f"{f['n_llm']} LLMs, so efficient attention is not an SLM trait.",
              "sec_slm_vs_llm_params")
    ev[11] = ("holds", f"{N('mistral-7b-v0.1')} has {f['mistral_kv_heads']} key/value heads for "
                       f"{f['mistral_heads']} query heads: {_g(f['mistral_kv_per_token'] / 1024)} KiB of cache per "
                       f"token instead of {_g(f['mha_kv_per_token'] / 1024)} KiB. At its "
                       f"{f['mistral_gqa_context']:,}-token window on one H100 SXM, a decode step at batch 1 takes "
                       f"{_ms(f['mistral_tpot_b1'])} ms against {_ms(f['mha_tpot_b1'])} ms with full heads, at batch "
                       f"{GQA_BATCH} {_ms(f['mistral_tpot_bn'])} ms against "
                       f"{_ms(f['mha_tpot_bn'])} ms; the largest batch "
                       f"is {_g(f['mistral_max_batch'])} against {_g(f['mha_max_batch'])}.",
              "sec_slm_vs_llm_gqa")
    llm_layers = [load_model(m).n_layers for m in LLM_MODELS]
    v = range_verdict([x if load_model(m).d_model >= f["llm_dmodel_lo"] else -1 for m, x in zip(LLM_MODELS,
                                                                                                 llm_layers)],
                      f["llm_layers_lo"])
    ev[12] = (v, f"{f['llm_in_range']} of {f['n_llm']} open LLMs have at least {_g(f['llm_layers_lo'])} layers and "
                 f"{_g(f['llm_dmodel_lo'])} dimensions (the 70B models: {f['layers_llama-3-70b']} and "
                 f"{_g(f['dmodel_llama-3-70b'])}); {N('mixtral-8x7b-v0.1')} has {f['layers_mixtral']} and "
                 f"{_g(f['dmodel_mixtral'])}.", "sec_slm_vs_llm_params")
    ev[13] = ("partly holds", f"The 70B models use dense attention over the whole context (with GQA); "
                              f"{N('mixtral-8x7b-v0.1')} is an MoE ({_b(f['mixtral_active_params'])} B of "
                              f"{_b(f['mixtral_params'])} B active per token). GPT-4 as an MoE is a rumour: "
                              f"{CLOSED_MODELS['gpt-4'].architecture_note}.", "sec_slm_vs_llm_params")
    # 4. Memory and compute
    ev[14] = ("holds", f"SLM weights: {_g(f['slm_bf16_min_gb'])}–{_g(f['slm_bf16_max_gb'])} GB in bf16, "
                       f"{_g(f['slm_int4_min_gb'])}–{_g(f['slm_int4_max_gb'])} GB at int4. {N('llama-2-7b')} at "
                       f"q4_0 ({_g(f['l7_q4_0_gb'])} GB) decodes {_g(f['m2_measured_tps'])} tokens/s on an Apple M2 "
                       f"laptop GPU, measured (the model predicts {_g(f['m2_predicted_tps'])}); on a dual-socket "
                       f"EPYC 9654 CPU server at most {_g(f['cpu_bound_tps'])} tokens/s (bandwidth bound).",
              "sec_slm_vs_llm_hardware")
    ev[15] = ("holds", f"{N('llama-2-7b')}: {_g(f['l7_bf16_gb'])} GB in bf16, {_g(f['l7_int8_gb'])} GB at int8, "
                       f"{_g(f['l7_int4_gb'])} GB at int4; WikiText-2 perplexity {_g(f['l7_ppl_fp16'])} -> "
                       f"{_g(f['l7_ppl_awq'])} with 4-bit AWQ (AWQ Table 4). Decode at batch 1 on an H100 SXM: "
                       f"{_ms(f['l7_tpot_bf16_h100'])} -> {_ms(f['l7_tpot_int4_h100'])} ms. The same applies to "
                       "LLMs (claim 34).", "sec_slm_vs_llm_hardware")
    ev[16] = ("holds", f"{N('phi-2')} takes {_g(f['phi2_bf16_gb'])} GB in 16 bit and fits one T4 "
                       f"({_g(f['t4_memory_gb'])} GB; largest batch {_g(f['phi2_t4_max_batch'])}): "
                       f"{_ms(f['phi2_t4_tpot'])} ms per token at batch 1, TTFT {_ms(f['phi2_t4_ttft'])} ms for "
                       f"{INPUT_TOKENS:,} tokens; on one L4 {_ms(f['phi2_l4_tpot'])} ms; on an Apple M2 laptop "
                       f"{_ms(f['phi2_apple-m2_tpot'])} ms per token. 'Efficiently' is a judgement.",
              "sec_slm_vs_llm_latency")
    ev[17] = ("partly holds", f"Training: {N('llama-3-70b')} took {_g(f['device_hours_llama-3-70b'] / 1e6)} M "
                              f"H100-hours (published). Inference: {_g(f['l3_70_h100_bf16'])} H100 SXM in bf16, "
                              f"{_g(f['l3_70_h100_int4'])} at int4 ({_g(f['l3_70_int4_gb'])} GB), and it fits one "
                              f"Apple M3 Max laptop at int4 ({_ms(f['l3_70_m3max_tpot'])} ms per token): no cluster "
                              "needed to serve it.", "sec_slm_vs_llm_hardware")
    ev[18] = ("holds", f"{N('llama-3-70b')} in bf16 ({_g(f['l3_70_bf16_gb'])} GB) exceeds one H100's usable "
                       f"{_g(f['h100_usable_gb'])} GB, so it must be split (tensor parallel over "
                       f"{_g(f['l3_70_h100_bf16'])}). On the rumoured {_g(f['article_gpt4_params'] / 1e12)} T "
                       f"parameters GPT-4's weights alone would take {_g(f['rumour_bf16_gb'] / 1e3)} TB in bf16: "
                       f"{f['rumour_bf16_h100-sxm']} H100 or {f['rumour_bf16_h200-sxm']} H200 (rests on the "
                       "rumour).", "sec_slm_vs_llm_rumour")
    # 5. Use cases
    ev[19] = ("holds", f"{N('phi-3-mini-4k-instruct')} at q4_0 takes {_g(f['phi3_q4_0_gb'])} GB of weights plus "
                       f"{_g(f['phi3_kv_4k_gb'])} GB of cache at {f['phi3_context']:,} tokens; on a Snapdragon 8 "
                       f"Gen 3 ({_g(f['phone_bandwidth_gbs'])} GB/s) decode is bound to at most "
                       f"{_g(f['phi3_phone_bound_tps'])} tokens/s. The Phi-3 report calls it small enough to be "
                       "deployed on a phone; the phone's memory is not in the catalog, so the fit is not checked "
                       "here.", "sec_slm_vs_llm_hardware")
    ev[20] = ("partly holds", f"{N('starcoder2-3b')} scores {_g(f['sc2_humaneval'])} on HumanEval against "
                              f"{_g(f['l2_70_humaneval'])} for {N('llama-2-70b')}, with "
                              f"{_g(f['l2_70_params'] / f['sc2_params'])} times fewer parameters. Medical QA: no "
                              "data here, cannot be checked.", "sec_slm_vs_llm_accuracy")
    ev[21] = ("holds", f"Time per token at batch 1 on H100 SXM: SLMs {_ms(f['slm_tpot1_min'])}–"
                       f"{_ms(f['slm_tpot1_max'])} ms, LLMs {_ms(f['llm_tpot1_min'])}–{_ms(f['llm_tpot1_max'])} ms. "
                       f"API output prices: {N('mistral-7b-v0.1')} ${_g(f['mistral_api_out'])} vs "
                       f"{N('mixtral-8x7b-v0.1')} ${_g(f['mixtral_api_out'])} per million tokens at Mistral (an older "
                       f"price map lists ${_g(f['mixtral_api_out_older'])}).",
              "sec_slm_vs_llm_latency")
    ev[22] = ("partly holds", f"On MMLU GPT-4 scores {_g(f['gpt4_mmlu'])}, Gemini 1.5 Pro {_g(f['gemini_mmlu'])}, "
                              f"the open LLMs {_g(f['llm_mmlu_min'])}–{_g(f['llm_mmlu_max'])}, the SLMs "
                              f"{_g(f['slm_mmlu_min'])}–{_g(f['slm_mmlu_max'])} ({N('phi-3-mini-4k-instruct')} "
                              f"{_g(f['phi3_mmlu'])} = {N('llama-2-70b')} {_g(f['l2_70_mmlu'])}). Enterprise use: "
                              "not measurable here.", "sec_slm_vs_llm_accuracy")
    # 6. Fine-tuning
    ev[23] = ("holds", f"Full fine-tuning (mixed-precision Adam, {f['ft_seq_len']:,}-token sequences) needs "
                       f"{_g(f['ft_full_phi-2_gb'])} GB for {N('phi-2')}, which "
                       f"{'fits' if f['ft_full_phi-2_fits_h100'] else 'does not fit'} one H100 SXM, against "
                       f"{_g(f['ft_full_llama-2-70b_gb'])} GB for {N('llama-2-70b')} ({f['ft_h100_llama-2-70b']} H100 "
                       "by capacity). Easier on small datasets: a judgement, not computed.", "sec_slm_vs_llm_finetune")
    ev[24] = ("cannot be checked", f"Feasible on an edge device: a federated round of {N('phi-2')} with rank-"
                                   f"{_g(f['fed_lora_rank'])} LoRA sends {_g(f['fed_lora_update_gb'] * 1e3)} MB per "
                                   f"client and {'fits' if f['fed_lora_fits_edge'] else 'does not fit'} the "
                                   f"{_g(f['edge_memory'] / _GB)} GB Jetson Orin Nano (full weights: "
                                   f"{_g(f['fed_full_update_gb'])} GB, "
                                   f"{'fits' if f['fed_full_fits_edge'] else 'does not fit'}). Whether SLMs are used "
                                   "this way is not documented in our sources.", "sec_slm_vs_llm_finetune")
    ev[25] = ("holds", f"Full fine-tuning of {N('llama-2-70b')}: {_g(f['ft_full_llama-2-70b_gb'])} GB. QLoRA (paper "
                       f"defaults: 4-bit NormalFloat base, rank {_g(f['qlora_l70_rank'])} on every linear layer) "
                       f"trains {_g(f['qlora_l70_trainable_pct'])} % of the parameters in "
                       f"{_g(f['qlora_l70_gb'])} GB, {_g(f['qlora_l70_pageable_gb'])} GB of it pageable optimizer "
                       f"state: it {'fits' if f['qlora_l70_fits_l40s'] else 'does not fit'} one "
                       f"{_g(f['l40s_memory_gb'])} GB L40S.", "sec_slm_vs_llm_finetune")
    ev[26] = ("holds", "The Llama 2 and GPT-4 reports describe fine-tuning with RLHF (documented, not computed).",
              "sec_slm_vs_llm_finetune")
    # 7. The trade-off table
    v27 = range_verdict([f["slm_params_max"]], high=f["slm_threshold"])
    v27b = range_verdict([f["llm_params_min"]], low=_figure(27, "llm", "n_params")[0])
    ev[27] = ("partly holds" if "holds" == v27 == v27b else "does not hold",
              f"SLMs up to {_b(f['slm_params_max'])} B, open LLMs from {_b(f['llm_params_min'])} B: the "
              f"{_b(f['slm_threshold'])} B line separates the sets. '1T+': no published count reaches it.", "sec_slm_vs_llm_params")
    ev[28] = ("partly holds", f"Tokens: SLMs {slm_tokens}, LLMs {llm_tokens}: they overlap; training compute {_e(f['slm_flop_min'])} to {_e(f['slm_flop_max'])} FLOP against "
                              f"{_e(f['llm_flop_min'])} to {_e(f['llm_flop_max'])}.", "sec_slm_vs_llm_training")
    ev[29] = ("partly holds", f"SLMs: {f['slm_fit_edge_int4']} of {f['n_slm']} fit the {_g(f['edge_memory'] / _GB)} GB Jetson at int4, and a "
                              f"laptop GPU decodes {N('llama-2-7b')} at {_g(f['m2_measured_tps'])} tokens/s "
                              f"(measured). LLMs: {N('llama-3-70b')} at int4 fits one H100 or an Apple M3 Max "
                              "laptop; clusters are needed to train them, not to serve them.",
              "sec_slm_vs_llm_hardware")
    ev[30] = ("partly holds", f"At batch 1 on H100 SXM an LLM takes {_ms(f['llm_tpot1_min'])}–"
                              f"{_ms(f['llm_tpot1_max'])} ms per token (SLMs {_ms(f['slm_tpot1_min'])}–"
                              f"{_ms(f['slm_tpot1_max'])}): higher, but {_g(1 / f['tpot1_llama-3-70b'])} tokens/s "
                              f"for {N('llama-3-70b')} on {_g(f['devices_llama-3-70b'])} GPUs is real-time. Batching "
                              "raises latency, it does not cut it: "
                              + (f"{N('phi-2')} on one H100 reaches that model's batch-1 time per token only at batch "
                                 f"{_g(f['phi2_batch_matching_llm'])}."
                                 if f["phi2_batch_matching_llm"] == f["phi2_batch_matching_llm"] else
                                 f"{N('phi-2')} on one H100 serving its largest batch ({_g(f['phi2_max_batch_h100'])}"
                                 f" requests) still answers each faster ({_ms(f['phi2_tpot_at_max'])} ms per token) "
                                 f"than {N('llama-3-70b')} answers one."),
              "sec_slm_vs_llm_latency")
    ev[31] = ("holds", f"MMLU: GPT-4 {_g(f['gpt4_mmlu'])}, open LLMs {_g(f['llm_mmlu_min'])}–"
                       f"{_g(f['llm_mmlu_max'])}, SLMs {_g(f['slm_mmlu_min'])}–{_g(f['slm_mmlu_max'])}. HumanEval: "
                       f"the 3B code model {N('starcoder2-3b')} {_g(f['sc2_humaneval'])} beats {N('llama-2-70b')} "
                       f"{_g(f['l2_70_humaneval'])}; GPT-4 {_g(f['gpt4_humaneval'])}. Scores come from different "
                       "settings.", "sec_slm_vs_llm_accuracy")
    ev[32] = ("holds", f"Self-hosted at MLPerf's target (TTFT {_g(f['target_ttft_s'])} s, TPOT "
                       f"{_ms(f['target_tpot_s'])} ms), cheapest priced device, bf16: SLMs "
                       f"${_g(f['slm_usd_min'])}–{_g(f['slm_usd_max'])}, open LLMs ${_g(f['llm_usd_min'])}–"
                       f"{_g(f['llm_usd_max'])} per million output tokens. API output prices: SLM-size "
                       f"${_g(f['slm_api_out_min'])}–{_g(f['slm_api_out_max'])}, open LLMs "
                       f"${_g(f['llm_api_out_min'])}–{_g(f['llm_api_out_max'])}, GPT-4 (8k) "
                       f"${_g(f['gpt4_out_usd'])}.", "sec_slm_vs_llm_cost")
    # 8. Conclusion
    ev[33] = ("partly holds", f"Generality: MMLU {_g(f['slm_mmlu_min'])}–{_g(f['slm_mmlu_max'])} (SLMs) vs "
                              f"{_g(f['llm_mmlu_min'])}–{_g(f['gpt4_mmlu'])} (LLMs and GPT-4), but the best SLM ties "
                              f"{N('llama-2-70b')}. Speed: {_g(f['llm_tpot1_max'] / f['slm_tpot1_min'])} times apart "
                              "at most at batch 1. Infrastructure: a 70B model at int4 fits one device; only "
                              "training needs heavy infrastructure.", "sec_slm_vs_llm_summary")
    ev[34] = ("holds", f"{N('mixtral-8x7b-v0.1')} stores {_b(f['mixtral_params'])} B parameters but a token uses "
                       f"{_b(f['mixtral_active_params'])} B: {_ms(f['mixtral_tpot1'])} ms per token at batch 1 on "
                       f"{_g(f['mixtral_devices'])} H100 against {_ms(f['l2_70_tpot1'])} ms for "
                       f"{N('llama-2-70b')}. {N('llama-2-70b')} at 4-bit AWQ ({_g(f['l70_int4_gb'])} GB) has "
                       f"perplexity {_g(f['l70_ppl_awq'])}, better than {N('llama-2-13b')} in FP16 "
                       f"({_g(f['l13_bf16_gb'])} GB, {_g(f['l13_ppl_fp16'])}).", "sec_slm_vs_llm_summary")
    claims = _claims()
    rows = []
    for r in claims.itertuples(index=False):
        verdict, evidence, section = ev[int(r.claim)]
        rows.append({"claim": int(r.claim), "group": int(r.group), "group_name": r.group_name,
                     "claim_text": r.claim_text, "verdict": verdict, "evidence": evidence, "section": section})
    return pd.DataFrame(rows)


def fact_check() -> pd.DataFrame:
    """The 34 claims, one row each: number, group, wording, one verdict of
    :data:`VERDICTS`, the evidence (computed numbers; judgement calls say
    so) and the label of the section that derives it. Defined in
    :ref:`sec_slm_vs_llm`."""
    return _fact_check().copy()


# ----------------------------------------------------------------------
# The six-row table
# ----------------------------------------------------------------------
def _span(lo, hi, fmt, unit="") -> str:
    if lo != lo:
        return "unknown"
    a, b = fmt(lo), fmt(hi)
    return (a if a == b else f"{a}–{b}") + (f" {unit}" if unit else "")


def summary_table() -> pd.DataFrame:
    """The article's six-row table recomputed: one row per aspect
    (parameters, training, hardware, latency, accuracy, cost) with a text
    cell for the SLMs, the open LLMs and the closed models, the numbers it
    quotes (``slm_low``... ``llm_high``, in ``unit``) and the section that
    derives it. Defined in :ref:`sec_slm_vs_llm`."""
    f = _facts()
    mh = minimum_hardware(SLM_MODELS + LLM_MODELS, ("bf16", "int4"))
    slm_dev = mh[mh["model"].isin(SLM_MODELS) & (mh["weight_dtype"] == "int4")]
    llm_h100 = mh[mh["model"].isin(LLM_MODELS)]
    rows = [
        {"aspect": "Parameters", "unit": "parameters",
         "slm_low": f["slm_params_min"], "slm_high": f["slm_params_max"],
         "llm_low": f["llm_params_min"], "llm_high": f["llm_params_max"],
         "slm": _span(f["slm_params_min"], f["slm_params_max"], _b, "B"),
         "llm": _span(f["llm_params_min"], f["llm_params_max"], _b, "B")
         + f" ({display_name('mixtral-8x7b-v0.1')}: {_b(f['mixtral_active_params'])} B active)",
         "closed": f"not published; GPT-4 rumoured {_g(f['article_gpt4_params'] / 1e12)} T, Gemini 1.5 "
                   f"'up to {_g(f['article_gemini_params'] / 1e12)} T' (the article, no source)",
         "section": "sec_slm_vs_llm_params"},
        {"aspect": "Training", "unit": "FLOP",
         "slm_low": f["slm_flop_min"], "slm_high": f["slm_flop_max"],
         "llm_low": f["llm_flop_min"], "llm_high": f["llm_flop_max"],
         "slm": f"{_span(f['slm_tokens_min'] / 1e12, f['slm_tokens_max'] / 1e12, _g, 'T tokens')}; "
                f"{_e(f['slm_flop_min'])} to {_e(f['slm_flop_max'])} FLOP; "
                f"{_span(f['slm_dh_min'], f['slm_dh_max'], _g, 'device-hours')}",
         "llm": f"{_span(f['llm_tokens_min'] / 1e12, f['llm_tokens_max'] / 1e12, _g, 'T tokens')}; "
                f"{_e(f['llm_flop_min'])} to {_e(f['llm_flop_max'])} FLOP; "
                f"{_span(f['llm_dh_min'], f['llm_dh_max'], _g, 'device-hours')}",
         "closed": "not published", "section": "sec_slm_vs_llm_training"},
        {"aspect": "Hardware", "unit": "bytes",
         "slm_low": f["slm_int4_min_gb"] * _GB, "slm_high": f["slm_int4_max_gb"] * _GB,
         "llm_low": float(llm_h100[llm_h100["weight_dtype"] == "int4"]["weight_bytes"].min()),
         "llm_high": float(llm_h100[llm_h100["weight_dtype"] == "int4"]["weight_bytes"].max()),
         "slm": f"int4 weights {_span(f['slm_int4_min_gb'], f['slm_int4_max_gb'], _g, 'GB')}; "
                f"{int((slm_dev['category'] == 'embedded').sum() + (slm_dev['category'] == 'laptop').sum())} of "
                f"{f['n_slm']} fit one edge or laptop device",
         "llm": "int4 weights " + _span(llm_h100[llm_h100["weight_dtype"] == "int4"]["weight_bytes"].min() / _GB,
                                         llm_h100[llm_h100["weight_dtype"] == "int4"]["weight_bytes"].max() / _GB,
                                         _g, "GB")
                + f"; H100 SXM needed: {_span(*_rng(llm_h100[llm_h100['weight_dtype'] == 'bf16']['h100_devices']), _g)}"
                f" in bf16, {_span(*_rng(llm_h100[llm_h100['weight_dtype'] == 'int4']['h100_devices']), _g)} at int4",
         "closed": "unknown (weights not released)", "section": "sec_slm_vs_llm_hardware"},
        {"aspect": "Latency", "unit": "s",
         "slm_low": f["slm_tpot1_min"], "slm_high": f["slm_tpot1_max"],
         "llm_low": f["llm_tpot1_min"], "llm_high": f["llm_tpot1_max"],
         "slm": f"{_span(f['slm_tpot1_min'], f['slm_tpot1_max'], _ms, 'ms')} per token at batch 1, "
                f"{_span(f['slm_tpotb_min'], f['slm_tpotb_max'], _ms, 'ms')} at batch {SERVING_BATCH} (one H100)",
         "llm": f"{_span(f['llm_tpot1_min'], f['llm_tpot1_max'], _ms, 'ms')} per token at batch 1, "
                f"{_span(f['llm_tpotb_min'], f['llm_tpotb_max'], _ms, 'ms')} at batch {SERVING_BATCH} "
                f"({_span(f['llm_h100_min'], f['llm_h100_max'], _g)} H100)",
         "closed": "not computable (API only)", "section": "sec_slm_vs_llm_latency"},
        {"aspect": "Accuracy", "unit": "% (MMLU)",
         "slm_low": f["slm_mmlu_min"], "slm_high": f["slm_mmlu_max"],
         "llm_low": f["llm_mmlu_min"], "llm_high": f["llm_mmlu_max"],
         "slm": f"MMLU {_span(f['slm_mmlu_min'], f['slm_mmlu_max'], _g, '%')} ({f['slm_mmlu_known']} of "
                f"{f['n_slm']} published)",
         "llm": f"MMLU {_span(f['llm_mmlu_min'], f['llm_mmlu_max'], _g, '%')}",
         "closed": f"MMLU GPT-4 {_g(f['gpt4_mmlu'])} %, Gemini 1.5 Pro {_g(f['gemini_mmlu'])} %",
         "section": "sec_slm_vs_llm_accuracy"},
        {"aspect": "Cost", "unit": "USD per 1M output tokens",
         "slm_low": f["slm_usd_min"], "slm_high": f["slm_usd_max"],
         "llm_low": f["llm_usd_min"], "llm_high": f["llm_usd_max"],
         "slm": f"self-hosted ${_span(f['slm_usd_min'], f['slm_usd_max'], _g)}; API "
                f"${_span(f['slm_api_out_min'], f['slm_api_out_max'], _g)} per 1M output tokens",
         "llm": f"self-hosted ${_span(f['llm_usd_min'], f['llm_usd_max'], _g)}; API "
                f"${_span(f['llm_api_out_min'], f['llm_api_out_max'], _g)} per 1M output tokens",
         "closed": f"API: GPT-4 ${_g(f['gpt4_out_usd'])}, Gemini 1.5 Pro "
                   f"${_span(f['gemini_out_min'], f['gemini_out_max'], _g)} per 1M output tokens",
         "section": "sec_slm_vs_llm_cost"},
    ]
    return pd.DataFrame(rows)


# ----------------------------------------------------------------------
# The explorer: precomputed cells for the interactive table
# ----------------------------------------------------------------------
#: The explorer's columns, in order.
EXPLORER_COLUMNS: tuple[str, ...] = ("Weights", "Devices", "TTFT", "TPOT", "$/1M out", "Cheapest on")


def explorer_data(models: Iterable[str] | str | None = None, hardware: Iterable[str] | str = LATENCY_DEVICES,
                  dtypes: Iterable[str] | str = DTYPES, batches: Iterable[int] = BATCHES) -> pd.DataFrame:
    """Long-form cells for the chapter's interactive table, one row per model,
    column (:data:`EXPLORER_COLUMNS`) and choice: weights (by format), the
    devices needed or the shortfall on one (by device and format), TTFT and
    TPOT (by device, format and batch, from :func:`latency_table`), dollars
    per million output tokens and the cheapest priced device that meets a
    latency target (by format and target, from :func:`cheapest_serving`):
    MLPerf's server constraints or a stricter TPOT of :data:`TPOT_TARGETS_S`
    under the same TTFT. Each row has its text ``cell`` and its ``value``
    (NaN where the cell is a reason); ``"*"`` marks a choice a column does
    not depend on; ``batch`` is a string. Defined in :ref:`sec_slm_vs_llm`."""
    ms = _models(models, ALL_MODELS)
    hws = [hardware] if isinstance(hardware, str) else list(hardware)
    ds = [dtypes] if isinstance(dtypes, str) else list(dtypes)
    bs = tuple(int(b) for b in batches)
    t = mlperf_latency_target()
    targets = [("MLPerf", t["ttft_s"], t["tpot_s"])] + [(f"{round(x * 1e3):g} ms", t["ttft_s"], x)
                                                        for x in TPOT_TARGETS_S]
    rows = []

    def add(m, column, device, dtype, batch, target, cell, value):
        rows.append({"model": m, "name": display_name(m), "kind": model_kind(m), "column": column,
                     "device": device, "dtype": dtype, "batch": str(batch), "target": target, "cell": cell,
                     "value": float(value)})

    opn = _open(ms)
    lat = latency_table(opn, hws, ds, bs) if opn else pd.DataFrame()
    for m in ms:
        if m in CLOSED_MODELS:
            for d in ds:
                add(m, "Weights", "*", d, "*", "*", "unknown", math.nan)
                for h in hws:
                    add(m, "Devices", h, d, "*", "*", "unknown", math.nan)
                    for b in bs:
                        add(m, "TTFT", h, d, b, "*", "unknown", math.nan)
                        add(m, "TPOT", h, d, b, "*", "unknown", math.nan)
                for name, _, _ in targets:
                    add(m, "$/1M out", "*", d, "*", name, "API only", math.nan)
                    add(m, "Cheapest on", "*", d, "*", name, "–", math.nan)
            continue
        for d in ds:
            w = float(weight_bytes(m, d))
            add(m, "Weights", "*", d, "*", "*", f"{_g(w / _GB)} GB", w)
            for h in hws:
                sub = lat[(lat["model"] == m) & (lat["hardware"] == h) & (lat["weight_dtype"] == d)]
                first = sub.iloc[0]
                if not math.isfinite(first["n_devices"]):
                    short = first["shortfall_bytes"]
                    cell = f"short {_g(short / _GB)} GB" if math.isfinite(short) and short > 0 else "no fit"
                    add(m, "Devices", h, d, "*", "*", cell, math.nan)
                else:
                    add(m, "Devices", h, d, "*", "*", f"{int(first['n_devices'])}", first["n_devices"])
                for r in sub.itertuples(index=False):
                    if r.fits:
                        add(m, "TTFT", h, d, r.batch, "*", f"{_ms(r.ttft_s)} ms" if r.ttft_s == r.ttft_s
                            else "no peak", r.ttft_s)
                        add(m, "TPOT", h, d, r.batch, "*", f"{_ms(r.tpot_s)} ms", r.tpot_s)
                    else:
                        why = "no fit" if not math.isfinite(r.n_devices) else "batch too big"
                        add(m, "TTFT", h, d, r.batch, "*", why, math.nan)
                        add(m, "TPOT", h, d, r.batch, "*", why, math.nan)
            for name, ttft, tpot in targets:
                c = cheapest_serving(m, (d,), ttft, tpot).iloc[0]
                if c["usd_per_1m_low"] == c["usd_per_1m_low"]:
                    add(m, "$/1M out", "*", d, "*", name, f"${_g(c['usd_per_1m_low'])}", c["usd_per_1m_low"])
                    add(m, "Cheapest on", "*", d, "*", name, f"{int(c['n_devices'])} x {c['hardware']}",
                        c["n_devices"])
                else:
                    add(m, "$/1M out", "*", d, "*", name, "not met", math.nan)
                    add(m, "Cheapest on", "*", d, "*", name, "–", math.nan)
    return pd.DataFrame(rows)
