"""Tables and charts of the memory chapter (book section ``sec_memory``).

Every number comes from :mod:`costmodel.quantities` (which evaluates the
sympy expressions of :mod:`costmodel.formulas`); this module only assembles
tidy DataFrames and turns them into Altair charts. Units are bytes and
decimal gigabytes (1 GB = 1e9 bytes) where a column says ``_gb``.
"""

from __future__ import annotations

import math
from typing import Iterable, Sequence

import altair as alt
import numpy as np
import pandas as pd

from .._validate import as_arch as _arch
from .._validate import as_hardware
from ..architecture import Architecture
from ..catalog import list_hardware, list_models
from .tables import model_names
from ..quantities import (
    activation_bytes,
    devices_needed,
    kv_cache_bytes,
    kv_cache_bytes_per_token,
    kv_tokens_that_fit,
    memory_fit_table,
    training_state_bytes,
    weight_bytes,
)

__all__ = [
    "FIT_DTYPES",
    "mha_twin",
    "kv_per_token_table",
    "gqa_comparison",
    "kv_vs_context_table",
    "kv_vs_context_chart",
    "weight_bytes_table",
    "activation_table",
    "training_state_table",
    "kv_headroom_table",
    "fit_heatmap_data",
    "fit_heatmap",
    "styled",
]

#: Weight formats offered by the fit heatmap's selector, in menu order.
FIT_DTYPES: tuple[str, ...] = ("bf16", "int8", "int4")


def styled(df: pd.DataFrame, formats=None, *, hide_index: bool = False, na_rep: str = "–"):
    """A pandas Styler for the book: ``formats`` (a format string or a
    column -> format mapping), padded cells, numbers right-aligned.
    Defined in :ref:`sec_memory`.
    """
    st = df.style.format(formats, na_rep=na_rep).set_table_styles(
        [{"selector": "th, td", "props": "padding: 2px 6px; white-space: nowrap; font-size: 0.9em;"}]
    )
    numeric = [c for c in df.columns if pd.api.types.is_numeric_dtype(df[c])]
    if numeric:
        st = st.set_properties(subset=numeric, **{"text-align": "right"})
    return st.hide(axis="index") if hide_index else st


def mha_twin(model) -> Architecture:
    """The same model with one key/value head per query head (K = H): what
    the cache would cost without grouped-query attention.
    Defined in :ref:`sec_memory`.
    """
    a = _arch(model)
    return a.with_(n_kv_heads=a.n_heads, name=f"{a.name} (MHA twin)")


def kv_per_token_table(models: Iterable | None = None, dtype: str = "bf16") -> pd.DataFrame:
    """KV-cache elements and bytes one token adds, one row per model
    (``model`` the catalog id, ``model_name`` its display name).

    ``kv_elements_per_token_layer`` is e_kv (2 K d_h, or r_kv + d_rope for
    MLA); ``kv_bytes_per_token`` is L e_kv b_kv. Sorted by bytes per token.
    Defined in :ref:`sec_memory`.
    """
    rows = []
    names = model_names()
    for m in models if models is not None else list_models():
        a = _arch(m)
        rows.append({
            "model": a.name,
            "model_name": names.get(a.name, a.name),
            "attention": a.attention_kind,
            "n_layers": a.n_layers,
            "n_heads": a.n_heads,
            "n_kv_heads": a.n_kv_heads if not a.is_mla else None,
            "head_dim": a.head_dim if not a.is_mla else None,
            "kv_elements_per_token_layer": a.kv_elements_per_token_layer,
            "kv_bytes_per_token": kv_cache_bytes_per_token(a, dtype),
            "sliding_window": a.sliding_window or None,
            "n_sliding_layers": a.n_sliding_layers,
        })
    df = pd.DataFrame(rows)
    df["n_kv_heads"] = df["n_kv_heads"].astype("Int64")
    df["head_dim"] = df["head_dim"].astype("Int64")
    df["sliding_window"] = df["sliding_window"].astype("Int64")
    return df.sort_values("kv_bytes_per_token", ascending=False, ignore_index=True)


def gqa_comparison(model="mistral-7b-v0.1", tokens: int = 32768, dtype: str = "bf16", batch: int = 1) -> pd.DataFrame:
    """A GQA model next to its MHA twin: bytes per token and the cache at
    ``tokens`` tokens, with the model's sliding window and without it
    (every block global). One row per variant.
    Defined in :ref:`sec_memory`.
    """
    a = _arch(model)
    rows = []
    for variant, arch in (("as published", a), ("MHA twin", mha_twin(a))):
        no_window = arch.with_(n_sliding_layers=0, sliding_window=0)
        rows.append({
            "model": a.name,
            "variant": variant,
            "attention": arch.attention_kind,
            "n_kv_heads": arch.n_kv_heads,
            "kv_bytes_per_token": kv_cache_bytes_per_token(arch, dtype),
            "tokens": tokens,
            "kv_cache_bytes": float(kv_cache_bytes(arch, tokens, dtype, batch)),
            "kv_cache_bytes_no_window": float(kv_cache_bytes(no_window, tokens, dtype, batch)),
        })
    return pd.DataFrame(rows)


def kv_vs_context_table(models: Iterable, contexts: Sequence[int], dtype: str = "bf16", batch: int = 1) -> pd.DataFrame:
    """Tidy KV-cache bytes for every (model, context): model, model_name,
    attention, label (display name and attention), context_tokens,
    kv_cache_bytes, kv_cache_gb.
    Defined in :ref:`sec_memory`.
    """
    contexts = np.asarray(contexts, dtype=np.int64)
    names = model_names()
    frames = []
    for m in models:
        a = _arch(m)
        kv = np.asarray(kv_cache_bytes(a, contexts, dtype, batch), dtype=float)
        label = a.attention_kind + (f" + window {a.sliding_window:,}" if a.n_sliding_layers else "")
        name = names.get(a.name, a.name)
        frames.append(pd.DataFrame({
            "model": a.name, "model_name": name, "attention": label, "label": f"{name} ({label})",
            "context_tokens": contexts,
            "kv_cache_bytes": kv, "kv_cache_gb": kv / 1e9,
        }))
    return pd.concat(frames, ignore_index=True)


def kv_vs_context_chart(models: Iterable, contexts: Sequence[int], dtype: str = "bf16", batch: int = 1,
                        *, width: int = 460, height: int = 320) -> alt.Chart:
    """Log-log lines of KV-cache size against context length, one per model. Defined in :ref:`sec_memory`."""
    df = kv_vs_context_table(models, contexts, dtype, batch)
    return (
        alt.Chart(df)
        .mark_line(point=True)
        .encode(
            x=alt.X("context_tokens:Q", scale=alt.Scale(type="log", base=2), title="Context (tokens)",
                    axis=alt.Axis(format=",")),
            y=alt.Y("kv_cache_gb:Q", scale=alt.Scale(type="log"), title=f"KV cache ({dtype}, GB)"),
            color=alt.Color("label:N", title=None,
                            legend=alt.Legend(orient="bottom", columns=2, labelLimit=280)),
            strokeDash=alt.StrokeDash("attention:N", legend=None),
            tooltip=[alt.Tooltip("model_name:N", title="model"), "attention:N",
                     alt.Tooltip("context_tokens:Q", format=","), alt.Tooltip("kv_cache_gb:Q", format=".3f")],
        )
        .properties(width=width, height=height,
                    title=f"KV cache of one sequence against context ({dtype}, batch {batch})")
    )


def weight_bytes_table(models: Iterable, dtypes: Sequence[str] = ("fp32", "bf16", "int8", "int4"),
                       group_size: int = 128, scale_dtype: str = "fp16") -> pd.DataFrame:
    """Weight bytes per model and format; int4 also with one ``scale_dtype``
    scale per ``group_size`` weights (GPTQ/AWQ style). Tidy: model, n_params,
    format, bytes_per_param, weight_bytes, weight_gb.
    Defined in :ref:`sec_memory`.
    """
    rows = []
    names = model_names()
    for m in models:
        a = _arch(m)
        variants = [(d, d, None) for d in dtypes]
        variants.append((f"int4, {scale_dtype} scale per {group_size}", "int4", group_size))
        for label, dtype, g in variants:
            w = float(weight_bytes(a, dtype, group_size=g, scale_dtype=scale_dtype))
            rows.append({"model": a.name, "model_name": names.get(a.name, a.name), "n_params": a.n_params,
                         "format": label,
                         "bytes_per_param": w / a.n_params, "weight_bytes": w, "weight_gb": w / 1e9})
    return pd.DataFrame(rows)


def activation_table(model, seq_lens: Sequence[int], batch: int = 1, dtype: str = "bf16") -> pd.DataFrame:
    """Activations stored for backward (all blocks, no recomputation) at each
    sequence length, with materialised attention scores (the paper's setting,
    with dropout) and with fused attention (no dropout). Tidy.
    Defined in :ref:`sec_memory`.
    """
    a = _arch(model)
    s = np.asarray(seq_lens, dtype=np.int64)
    frames = []
    for label, fa, drop in (("materialised scores, dropout", False, True), ("fused attention, no dropout", True, False)):
        v = np.asarray(activation_bytes(a, s, batch, dtype, flash_attention=fa, dropout=drop), dtype=float)
        frames.append(pd.DataFrame({"model": a.name, "attention_kernel": label, "seq_len": s,
                                    "activation_bytes": v, "activation_gb": v / 1e9}))
    return pd.concat(frames, ignore_index=True)


def training_state_table(models: Iterable, hardware="h100-sxm") -> pd.DataFrame:
    """Training state (mixed-precision Adam, 16 bytes per parameter) next to
    the bf16 weights and one device's memory.
    Defined in :ref:`sec_memory`.
    """
    hw = as_hardware(hardware)
    rows = []
    for m in models:
        a = _arch(m)
        st = training_state_bytes(a)
        rows.append({"model": a.name, "n_params": a.n_params, "weight_bytes_bf16": weight_bytes(a, "bf16"),
                     "training_state_bytes": st, "hardware": hw.id, "memory_bytes": hw.memory_bytes,
                     "devices_needed": int(devices_needed(st, hw))})
    return pd.DataFrame(rows)


def kv_headroom_table(models: Iterable, hardware: Iterable, weight_dtype: str = "bf16", kv_dtype: str = "bf16") -> pd.DataFrame:
    """Memory left after the weights and how many tokens of KV cache it
    holds (summed over all sequences; each sequence shorter than any
    sliding window). Negative headroom means the weights alone do not fit.
    Defined in :ref:`sec_memory`.
    """
    rows = []
    for m in models:
        a = _arch(m)
        w = weight_bytes(a, weight_dtype)
        per_tok = kv_cache_bytes_per_token(a, kv_dtype)
        for h in hardware:
            hw = as_hardware(h)
            rows.append({"model": a.name, "hardware": hw.id, "weight_dtype": weight_dtype,
                         "weight_bytes": w, "memory_bytes": hw.memory_bytes, "free_bytes": hw.memory_bytes - w,
                         "kv_bytes_per_token": per_tok,
                         "kv_tokens_that_fit": kv_tokens_that_fit(a, hw, weight_dtype, kv_dtype)})
    return pd.DataFrame(rows)


def fit_heatmap_data(models: Iterable | None = None, hardware: Iterable | None = None,
                     dtypes: Sequence[str] = FIT_DTYPES, *, context: int = 4096, batch: int = 1,
                     kv_dtype: str = "bf16") -> pd.DataFrame:
    """:func:`costmodel.memory_fit_table` for every weight format in
    ``dtypes``, stacked, with display columns: ``weight_dtype``, ``status``
    ("fits", "does not fit" or "no memory figure"), ``mark`` (the cell text),
    ``total_gb``, ``memory_gb`` and ``n_params_b``. One row per (model,
    device, dtype).
    Defined in :ref:`sec_memory`.
    """
    models = list(models) if models is not None else list_models()
    hardware = list(hardware) if hardware is not None else list_hardware()
    frames = []
    for dt in dtypes:
        df = memory_fit_table(models, hardware, weight_dtype=dt, context=context, batch=batch, kv_dtype=kv_dtype)
        df.insert(2, "weight_dtype", dt)
        frames.append(df)
    out = pd.concat(frames, ignore_index=True)
    known = np.isfinite(out["memory_bytes"].to_numpy(dtype=float))
    out["status"] = np.where(~known, "no memory figure", np.where(out["fits"], "fits", "does not fit"))
    out["mark"] = np.where(~known, "?", np.where(out["fits"], "", "✗"))
    out["total_gb"] = out["total_bytes"] / 1e9
    out["memory_gb"] = out["memory_bytes"] / 1e9
    out["n_params_b"] = out["n_params"] / 1e9
    out["context_tokens"] = context
    out["batch"] = batch
    out["kv_dtype"] = kv_dtype
    names = model_names()
    out["model_name"] = out["model"].map(lambda m: names.get(m, m))
    return out


def fit_heatmap(data: pd.DataFrame | None = None, *, cell: int = 14, **kwargs) -> alt.LayerChart:
    """Models (rows, by size) x devices (columns, by memory): colour is the
    fraction of device memory taken by weights plus KV cache, a cross marks
    a pair that does not fit and a question mark a device without a memory
    figure. A dropdown (``alt.param`` named ``weight_dtype``, bound to a
    select input, evaluated by Vega in the browser) switches the weight
    format. ``data`` defaults to :func:`fit_heatmap_data` (``kwargs`` go there).
    Defined in :ref:`sec_memory`.
    """
    df = fit_heatmap_data(**kwargs) if data is None else data
    dtypes = list(dict.fromkeys(df["weight_dtype"]))
    if "model_name" not in df:
        df = df.assign(model_name=df["model"])
    models = (df.drop_duplicates("model").sort_values("n_params")["model_name"].tolist())
    devices = (df.drop_duplicates("hardware").sort_values("memory_bytes", na_position="first")["hardware"].tolist())
    context, batch = int(df["context_tokens"].iloc[0]), int(df["batch"].iloc[0])
    choice = alt.param(
        name="weight_dtype", value=dtypes[0],
        bind=alt.binding_select(options=dtypes, name="Weight format "),
    )
    # the cells go in inline (one record per model, device and format, only the columns drawn), past
    # Altair's 5,000-row guard for DataFrames: the catalog grid is larger than that
    cols = [c for c in ("model", "model_name", "hardware", "weight_dtype", "status", "mark", "n_params_b", "total_gb",
                        "memory_gb", "fraction_of_memory") if c in df]
    records = df[cols].astype(object).where(df[cols].notna(), None).to_dict(orient="records")
    base = (
        alt.Chart(alt.InlineData(values=records))
        .transform_filter("datum.weight_dtype == weight_dtype")
        .encode(
            x=alt.X("hardware:N", sort=devices, title="Device (by memory)", axis=alt.Axis(labelAngle=-50)),
            y=alt.Y("model_name:N", sort=models, title="Model (by parameters)"),
            tooltip=[
                alt.Tooltip("model_name:N", title="model"), "hardware:N", "weight_dtype:N", "status:N",
                alt.Tooltip("n_params_b:Q", title="parameters (B)", format=".2f"),
                alt.Tooltip("total_gb:Q", title="weights + KV (GB)", format=".1f"),
                alt.Tooltip("memory_gb:Q", title="device memory (GB)", format=".1f"),
                alt.Tooltip("fraction_of_memory:Q", title="fraction used", format=".0%"),
            ],
        )
    )
    rect = base.mark_rect(stroke="white", strokeWidth=0.5).encode(
        color=alt.condition(
            "datum.status == 'fits'",
            alt.Color("fraction_of_memory:Q", title="Fraction of memory used",
                      scale=alt.Scale(domain=[0, 1], scheme="yellowgreenblue"),
                      legend=alt.Legend(format=".0%", orient="bottom", direction="horizontal",
                                        gradientLength=cell * 12)),
            alt.value("#e6e6e6"),
        )
    )
    text = base.mark_text(fontSize=max(cell - 4, 8), color="#b2182b").encode(text="mark:N")
    return (
        alt.layer(rect, text)
        .add_params(choice)
        .properties(
            width=cell * len(devices), height=cell * len(models),
            title=alt.TitleParams(
                "Weights + KV cache on one device",
                subtitle=f"{batch} × {context:,} tokens of cache ({df['kv_dtype'].iloc[0]}); "
                         "✗ does not fit, ? no memory figure",
            ),
        )
        .configure_axis(labelFontSize=10, titleFontSize=11)
    )
