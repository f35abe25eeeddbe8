"""Efficiency profiles: achieved fractions of peak fitted to published measurements.

``data/efficiency.csv`` holds one profile per engine (and a ``default``
fitted on every engine's rows): ``eta_compute``, ``eta_memory``, a fixed
``layer_overhead_s`` per block and step, a ``link_latency_s`` per
collective message and ``eta_link``, the achieved fraction of interconnect
bandwidth (empty for an engine fitted on no multi-device row: the
interconnect then runs at ``eta_memory``) and ``eta_expert``, the factor on
both efficiencies of the routed experts (empty for an engine fitted on no
mixture-of-experts row: the experts then run at the dense efficiencies),
with the rows they were fitted on and their
leave-one-group-out error. ``scripts/fit_efficiency.py`` rewrites it from
``data/measurements/inference.csv`` with :func:`fit_profile`; users can pass
their own :class:`~costmodel.inference.EfficiencyProfile` to any inference
function. Defined in :ref:`sec_validation`.
"""

from __future__ import annotations

import math
from functools import lru_cache
from typing import Callable, Iterable

import numpy as np
import pandas as pd

from .catalog import DATA_DIR, Hardware, list_hardware, list_models, load_model

__all__ = ["efficiency_profile", "efficiency_table", "usable_measurements", "predictable_measurements", "predict",
           "fit_profile", "cross_validate", "EFFICIENCY_CSV", "NOT_PREDICTED"]

EFFICIENCY_CSV = DATA_DIR / "efficiency.csv"

#: Measurement metrics the step model predicts, and whether a larger value is faster.
METRICS = {
    "ttft_s": "time", "tpot_s": "time", "prefill_tokens_per_s": "rate", "decode_tokens_per_s": "rate",
    "output_tokens_per_s_per_device": "rate", "output_tokens_per_s_total": "rate",
    "output_tokens_per_s_per_user": "rate",
}
#: Measurement precision labels -> weight formats of costmodel.formats.
_FORMATS = {"fp8": "fp8", "fp16": "fp16", "f16": "fp16", "bf16": "bf16", "q4_0": "q4_0", "q8_0": "q8_0",
            "q4_k_m": "q4_k_m", "int4": "int4", "int8": "int8", "gptq-4bit": "int4",
            # TensorRT-LLM's label for its unquantised 16-bit runs (data/measurements/README.md)
            "mixed": "bf16"}
#: Labels whose format depends on the model: "mxfp4" rows of gpt-oss are its own checkpoints, whose routed
#: experts alone are MXFP4 (attention, router, embeddings, LM head bf16: "mxfp4-moe"). An "mxfp4" row of
#: another model is not mapped: which of its tensors are MXFP4 is not known.
_MODEL_FORMATS = {("mxfp4", "gpt-oss-20b"): "mxfp4-moe", ("mxfp4", "gpt-oss-120b"): "mxfp4-moe"}
#: (engine, weight format) of rows that are mapped but not predicted, so neither fitted nor cross-validated,
#: with the reason :func:`predict` gives.
NOT_PREDICTED = {("llama.cpp", "mxfp4-moe"): (
    "llama.cpp runs its own GGUF file of gpt-oss, not the checkpoint 'mxfp4-moe' describes: the file is smaller "
    "(gpt-oss-20b: 11.27 GiB per llama-bench, 12.8 GiB per the model card), so some of its non-expert tensors are "
    "narrower than bf16, and the measured decode rate beats the ideal bound computed from the checkpoint's bytes")}


@lru_cache(maxsize=None)
def efficiency_table() -> pd.DataFrame:
    """The fitted profiles (a copy is returned). Defined in :ref:`sec_validation`."""
    with EFFICIENCY_CSV.open("rb") as f:
        df = pd.read_csv(f, dtype={"engine": str})
    for col in ("engine", "eta_compute", "eta_memory", "layer_overhead_s", "link_latency_s", "source", "retrieved"):
        if col not in df or df[col].isna().any():
            raise ValueError(f"data/efficiency.csv: column {col} is missing or has empty cells")
    return df


def efficiency_profile(engine: str | None = None, hardware: Hardware | None = None):
    """The fitted profile of ``engine`` (``"tensorrt-llm"``, ``"llama.cpp"``...;
    None: ``"default"``). An engine without a profile raises, naming those
    that exist. Defined in :ref:`sec_validation`."""
    from .inference import EfficiencyProfile

    df = efficiency_table().set_index("engine")
    key = "default" if engine is None else engine
    if key not in df.index:
        raise ValueError(f"efficiency={engine!r} has no fitted profile; profiles: {', '.join(df.index)}")
    r = df.loc[key]

    def optional(col: str) -> float | None:  # a column an engine may leave empty (or an older table lack)
        v = r.get(col)
        return None if v is None or pd.isna(v) else float(v)

    return EfficiencyProfile(f"fitted:{key}", float(r["eta_compute"]), float(r["eta_memory"]),
                             float(r["layer_overhead_s"]), float(r["link_latency_s"]), str(r["source"]),
                             eta_link=optional("eta_link"), eta_expert=optional("eta_expert"))


def _one_hardware(row) -> str | None:
    hw = set(list_hardware())
    if row["hardware"] in hw:
        return row["hardware"]
    cands = [c for c in str(row.get("hardware_candidates") or "").split(";") if c in hw]
    return cands[0] if len(cands) == 1 else None


def usable_measurements(df: pd.DataFrame | None = None) -> pd.DataFrame:
    """The published measurements the step model can predict: a catalog
    model on one catalog device (or an unambiguous candidate), a known
    precision, a metric of :data:`METRICS`, a point value, and the lengths it
    needs. Adds ``hw`` and ``fmt`` columns. Defined in :ref:`sec_validation`."""
    if df is None:
        with (DATA_DIR / "measurements" / "inference.csv").open("rb") as f:
            df = pd.read_csv(f, dtype=str)
    models = set(list_models())
    rows = []
    for _, r in df.iterrows():
        if r["metric"] not in METRICS or r.get("value_kind") != "point" or r["model"] not in models:
            continue
        hw = _one_hardware(r)
        label = str(r.get("weight_dtype")).lower()
        fmt = _FORMATS.get(label) or _MODEL_FORMATS.get((label, r["model"]))
        if hw is None or fmt is None:
            continue
        serving = r["metric"].startswith("output_tokens_per_s") and r["metric"] != "output_tokens_per_s_per_user"
        if serving and (pd.isna(r.get("input_tokens")) or pd.isna(r.get("output_tokens"))):
            continue
        rows.append({**r.to_dict(), "hw": hw, "fmt": fmt})
    out = pd.DataFrame(rows, columns=[*df.columns, "hw", "fmt"])
    for c in ("value", "batch", "input_tokens", "output_tokens", "n_devices", "tensor_parallel"):
        out[c] = pd.to_numeric(out[c], errors="coerce")
    return out.reset_index(drop=True)


def predictable_measurements(rows: pd.DataFrame | None = None) -> pd.DataFrame:
    """The :func:`usable_measurements` the step model can predict at all (for
    example, not a prefill on a device without a compute peak). Defined in
    :ref:`sec_validation`."""
    from .inference import IDEAL

    rows = usable_measurements() if rows is None else rows
    keep = []
    for i, r in rows.iterrows():
        try:
            predict(r, IDEAL)
            keep.append(i)
        except ValueError:
            pass
    return rows.loc[keep]


def _devices(r) -> int:
    for c in ("tensor_parallel", "n_devices"):
        v = r.get(c)
        if v is not None and not (isinstance(v, float) and math.isnan(v)):
            return int(v)
    return 1


def predict(row, profile) -> tuple[float, float]:
    """(expected, ideal bound) of one measurement row's metric under
    ``profile``, in the row's unit. A row of :data:`NOT_PREDICTED` raises
    ``ValueError`` with its reason. Defined in :ref:`sec_validation`."""
    from . import inference as I

    reason = NOT_PREDICTED.get((row.get("engine"), row["fmt"]))
    if reason is not None:
        raise ValueError(reason)

    n = _devices(row)
    # the measurement shows the configuration ran: no memory reserve is imposed on it
    common = dict(n_devices=n, weight_dtype=row["fmt"], efficiency=profile, memory_fraction=1.0)
    b = row.get("batch")
    b = 1 if b is None or (isinstance(b, float) and math.isnan(b)) else int(b)
    metric = row["metric"]
    n_in, n_out = row.get("input_tokens"), row.get("output_tokens")
    if metric in ("ttft_s", "prefill_tokens_per_s"):
        r = I.prefill(row["model"], row["hw"], batch=b, prompt_tokens=int(n_in if n_in == n_in else 512), **common)
        if metric == "ttft_s":
            return float(r.latency_s), float(r.bound_latency_s)
        return float(r.tokens_per_s) / b, float(r.bound_tokens_per_s) / b
    if metric in ("decode_tokens_per_s", "tpot_s", "output_tokens_per_s_per_user") and (
            n_in != n_in or metric != "output_tokens_per_s_per_user"):
        out = int(n_out) if n_out == n_out else 128
        ctx = (int(n_in) if n_in == n_in else 0) + out // 2  # the mean context of the generated tokens
        r = I.decode(row["model"], row["hw"], batch=b, context=ctx, **common)
        if metric == "tpot_s":
            return float(r.latency_s), float(r.bound_latency_s)
        return 1 / float(r.latency_s), 1 / float(r.bound_latency_s)
    batch = None if row.get("batch") != row.get("batch") else int(row["batch"])
    df = I.serving_point(row["model"], row["hw"], int(n_in), int(n_out), batch=batch, **common)
    r = df.iloc[0]
    per = {"output_tokens_per_s_per_device": n, "output_tokens_per_s_total": 1}.get(metric)
    if per is None:  # per user: one token per decode step
        bound = I.decode(row["model"], row["hw"], batch=int(r["batch"]),
                         context=int(n_in) + int(n_out) // 2, **{**common, "efficiency": I.IDEAL})
        return float(r["output_tokens_per_s_per_user"]), 1 / float(bound.bound_latency_s)
    return float(r["output_tokens_per_s"]) / per, float(r["bound_output_tokens_per_s"]) / per


def _log_errors(rows: pd.DataFrame, profile) -> np.ndarray:
    out = []
    for _, r in rows.iterrows():
        try:
            p, _ = predict(r, profile)
        except ValueError:
            p = math.nan
        out.append(math.log(p / r["value"]) if p == p and p > 0 else math.nan)
    return np.array(out)


def fit_profile(rows: pd.DataFrame, name: str = "fitted"):
    """Least-squares fit (scipy) of eta_compute, eta_memory, layer_overhead_s, link_latency_s, eta_link and
    eta_expert to ``rows`` (:func:`usable_measurements`), on the log of predicted over
    measured. ``eta_link`` is fitted only where some row splits the model
    over several devices (otherwise nothing constrains it, and the profile
    keeps None: the interconnect at ``eta_memory``); ``eta_expert`` only
    where some row is of a model with routed experts (otherwise None: the
    experts at the dense efficiencies). Defined in :ref:`sec_validation`."""
    from scipy.optimize import least_squares

    from .inference import EfficiencyProfile

    linked = bool((rows.apply(_devices, axis=1) > 1).any()) if len(rows) else False
    moe = any(load_model(m).is_moe for m in rows["model"].unique()) if len(rows) else False
    i_link, i_expert = 4, 4 + linked  # positions in x of the optional parameters fitted

    def profile(x, source=""):
        return EfficiencyProfile(name, float(x[0]), float(x[1]), float(x[2]) * 1e-6, float(x[3]) * 1e-6, source,
                                 eta_link=float(x[i_link]) if linked else None,
                                 eta_expert=float(x[i_expert]) if moe else None)

    def resid(x):
        e = _log_errors(rows, profile(x))
        return np.where(np.isfinite(e), e, 5.0)

    # overheads in microseconds, so that all parameters have a similar scale; eta_link and eta_expert last,
    # where fitted
    x0, lo, hi = [0.6, 0.7, 20.0, 5.0], [0.02, 0.02, 0.0, 0.0], [1.0, 1.0, 2000.0, 500.0]
    for fitted in (linked, moe):
        if fitted:
            x0, lo, hi = [*x0, 0.7], [*lo, 0.02], [*hi, 1.0]
    fit = least_squares(resid, x0=x0, bounds=(lo, hi), max_nfev=80)
    return profile(fit.x, f"least squares on {len(rows)} published measurements")


def cross_validate(rows: pd.DataFrame, group: str = "model",
                   fit: Callable[[pd.DataFrame], object] = fit_profile) -> pd.DataFrame:
    """Leave-one-group-out residuals: for each value of ``group`` (``"model"``
    or ``"hw"``), fit on the other rows and predict the held-out ones. One row
    per measurement with ``predicted``, ``ratio`` (predicted / measured, as
    a speed: above 1 is optimistic) and the held-out group. Defined in
    :ref:`sec_validation`."""
    out = []
    for g in sorted(rows[group].unique()):
        train, test = rows[rows[group] != g], rows[rows[group] == g]
        if train.empty:
            continue
        prof = fit(train)
        for _, r in test.iterrows():
            p, _ = predict(r, prof)
            speed = METRICS[r["metric"]] == "rate"
            out.append({**r.to_dict(), "held_out": g, "predicted": p,
                        "ratio": p / r["value"] if speed else r["value"] / p})
    return pd.DataFrame(out)
