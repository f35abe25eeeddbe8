"""The catalogs in data/: required rows, provenance on every row, datasheet values."""


import pandas as pd
import pytest

import costmodel as cm

REQUIRED_HARDWARE = [
    "a100-sxm-40gb", "a100-sxm-80gb", "h100-sxm", "h100-pcie", "h200-sxm", "b200", "l4", "l40s",
    "a10g", "t4", "rtx-4090", "mi300x", "tpu-v4", "tpu-v5e", "tpu-v5p", "gaudi3", "apple-m2",
    "apple-m2-ultra", "apple-m3-max", "jetson-agx-orin-64gb", "snapdragon-8-gen-3",
]


def test_required_hardware_present_and_sourced():
    df = cm.hardware_table()
    assert len(df) >= 25
    assert set(REQUIRED_HARDWARE) <= set(df["id"])
    for col in ("source", "retrieved"):
        assert df[col].notna().all() and (df[col].str.strip() != "").all(), col
    assert pd.to_datetime(df["retrieved"], format="mixed").notna().all()
    # every category the brief names is represented
    assert {"datacenter-gpu", "tpu", "accelerator", "laptop", "phone", "embedded", "cpu-server"} <= set(df["category"])


def test_hardware_columns_are_si():
    df = cm.hardware_table()
    for col in ("memory_bytes", "memory_bandwidth_bytes_per_s", "peak_bf16_flop_per_s", "tdp_w"):
        assert col in df.columns
    for h in cm.list_hardware():
        hw = cm.load_hardware(h)
        assert 1e10 <= hw.memory_bandwidth_bytes_per_s <= 1e13, h


@pytest.mark.parametrize(
    "hw_id, dtype, peak, mem_bytes, bw",
    [
        # NVIDIA H100 datasheet (SXM5): 989.5 TFLOP/s dense BF16 (1,979 with sparsity), 3.35 TB/s; capacity =
        # nvidia-smi total "81559MiB" for "NVIDIA H100 80GB HBM3" (github.com/wilicc/gpu-burn/issues/114)
        ("h100-sxm", "bf16", 989.5e12, 81559 * 2**20, 3.35e12),
        # NVIDIA H200 datasheet: same compute as H100 SXM, HBM3e at 4.8 TB/s; capacity = nvidia-smi total
        # "143771MiB" for "NVIDIA H200" (github.com/thamada/gls gls/H200_smi.py @c0bed08)
        ("h200-sxm", "fp8", 1979e12, 143771 * 2**20, 4.8e12),
        # NVIDIA A100 datasheet: 312 TFLOP/s BF16, HBM2 at 1,555 GB/s; capacity = nvidia-smi total "40960MiB" for
        # "NVIDIA A100-SXM4-40GB" (github.com/bottlerocket-os/bottlerocket-core-kit/pull/834)
        ("a100-sxm-40gb", "bf16", 312e12, 40960 * 2**20, 1.555e12),
        # Google Cloud TPU v4 docs: 275 TFLOP/s bf16, 32 GiB HBM2 (binary), 1,200 GBps
        ("tpu-v4", "bf16", 275e12, 32 * 2**30, 1.2e12),
        # NVIDIA L4 datasheet: 242 TFLOP/s FP8 with sparsity -> 121 dense BF16, 300 GB/s; capacity = nvidia-smi
        # total "23034MiB" for "NVIDIA L4" (github.com/speaches-ai/speaches/pull/438)
        ("l4", "bf16", 121e12, 23034 * 2**20, 300e9),
    ],
)
def test_datasheet_values(hw_id, dtype, peak, mem_bytes, bw):
    hw = cm.load_hardware(hw_id)
    assert hw.peak_flops(dtype) == pytest.approx(peak)
    assert hw.memory_bytes == mem_bytes
    assert hw.memory_bandwidth_bytes_per_s == pytest.approx(bw)


def test_hardware_is_frozen():
    # hashing and equality by value: tests/test_frozen.py
    hw = cm.load_hardware("h100-sxm")
    with pytest.raises(AttributeError):
        hw.memory_bytes = 1


def test_dense_not_sparse():
    # The 2:4-sparse H100 figure (1,979 TFLOP/s BF16) must never appear as dense bf16.
    assert cm.load_hardware("h100-sxm").peak_flops("bf16") < 1.5e15


def test_unknown_hardware_suggests_close_ids():
    with pytest.raises(ValueError, match=r"hardware_id='h100'.*h100-sxm"):
        cm.load_hardware("h100")


def test_missing_peak_is_an_error_not_zero():
    a10g = cm.load_hardware("a10g")  # NVIDIA publishes no A10G datasheet peaks
    with pytest.raises(ValueError, match="a10g"):
        a10g.peak_flops("bf16")
    with pytest.raises(ValueError, match="dtype='bf17'"):
        cm.load_hardware("h100-sxm").peak_flops("bf17")


def test_model_catalog_rows_have_sources_and_load():
    df = pd.read_csv(cm.catalog.MODELS_CSV)
    assert df["id"].is_unique
    assert df["source"].notna().all() and df["retrieved"].notna().all()
    # a published count without a source, or a missing count without a note, is a defect
    has_count = df["published_n_params"].notna()
    assert df.loc[has_count, "published_n_params_source"].notna().all()
    assert df.loc[~has_count, "published_n_params_note"].notna().all()
    families = {cm.load_model(m).family for m in cm.list_models()}
    assert families == set(cm.SUPPORTED_FAMILIES)


def test_reference_configs_in_catalog():
    for mid in ["phi-1.5", "phi-2", "phi-3-mini-4k-instruct", "gemma-2b", "llama-2-7b", "llama-2-13b",
                "llama-2-70b", "llama-3-8b", "llama-3-70b", "mistral-7b-v0.1", "starcoder2-3b"]:
        assert mid in cm.list_models()


def test_unknown_model_suggests():
    with pytest.raises(ValueError, match=r"model_id='llama-2-7'.*llama-2-7b"):
        cm.load_model("llama-2-7")


def test_model_table_published_vs_derived():
    df = cm.model_table()
    exact = df.dropna(subset=["published_n_params"])
    rel = (exact["n_params"] - exact["published_n_params"].astype(float)).abs() / exact["published_n_params"].astype(float)
    # published figures are exact or rounded: none is more than 10 % from the derived count
    # (phi-1.5's "1.3 billion" is the farthest: the card rounds 1.418B down)
    assert len(exact) >= 20 and rel.max() < 0.1
