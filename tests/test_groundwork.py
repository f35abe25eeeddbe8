"""The binding between models and the notation, per-matmul tables, checks in
one place, read-only data, and the HF reader's defaults.

Hand derivations use the published configs in data/models/ (Hugging Face
``config.json`` files); each source is named next to its assertion.
"""

from __future__ import annotations

import copy
import datetime
import json
import math
import os

import numpy as np
import pytest
import sympy as sp

import costmodel as cm
from costmodel import formulas as F
from costmodel.catalog import MODELS_DIR
from costmodel.symbols import S, SYMBOLS

CONFIGS = {p.stem: json.loads(p.read_text()) for p in sorted(MODELS_DIR.glob("*.json"))}


def config(name, **changes):
    cfg = copy.deepcopy(CONFIGS[name])
    cfg.update(changes)
    return cfg


# ----------------------------------------------------------------------
# The binding
# ----------------------------------------------------------------------
def test_symbols_bind_every_architecture_symbol_with_effective_values():
    llama = cm.load_model("llama-2-7b")
    bound = {s.name for s in SYMBOLS.values() if s.attr}
    assert set(llama.symbols) == bound
    # Llama-2-7B config: hidden 4096, 32 heads of 128, MHA; its value head is its head (d_v = d_h),
    # not 0 as the notation chapter once showed
    assert (llama.symbols["d"], llama.symbols["n_kv"], llama.symbols["d_h"], llama.symbols["d_v"]) == (4096, 32, 128, 128)
    assert llama.symbols["w_a"] == 32 * 128
    assert llama.symbols["N"] == llama.n_params and llama.symbols["N_mm"] == llama.n_matmul_weights_active
    # DeepSeek-V3 config: 128 heads, qk_nope 128 + qk_rope 64 = 192 query/key width, v_head_dim 128;
    # keys and values are expanded per head (K = H), the cache holds kv_lora_rank 512 + rope 64
    ds = cm.load_model("deepseek-v3").symbols
    assert (ds["n_kv"], ds["d_h"], ds["d_v"], ds["e_kv"]) == (128, 192, 128, 576)
    assert ds["w_a"] == 128 * (192 + 128) / 2


def test_symbols_are_read_only():
    arch = cm.load_model("llama-2-7b")
    with pytest.raises(TypeError):
        arch.symbols["d"] = 1
    with pytest.raises(TypeError):
        SYMBOLS["d"] = SYMBOLS["L"]
    with pytest.raises(AttributeError):
        S.d = sp.Symbol("x")


def test_evaluate_and_substitute():
    # Llama-2-7B: 524,288 B of KV cache per token in 16 bit (2 x 32 x 32 x 128 x 2), 4096 tokens
    assert cm.evaluate(F.KV_CACHE_BYTES, "llama-2-7b", s=4096, B=1, b_kv=2) == 4096 * 524_288
    out = cm.evaluate(F.KV_CACHE_BYTES, "llama-2-7b", s=np.array([1, 2]), B=np.array([[1], [3]]), b_kv=2)
    assert out.shape == (2, 2) and out[1, 1] == 6 * 524_288
    # exact: the published 6,738,417,664 less 32 x 64 rotary buffers (data/models/catalog.csv note)
    assert cm.substitute(F.TOTAL_PARAMS, "llama-2-7b") == 6_738_417_664 - 32 * 64
    # a symbol left free stays symbolic in substitute, and is named by evaluate
    assert cm.substitute(F.KV_CACHE_BYTES, "llama-2-7b", b_kv=2).free_symbols == {S.s, S.B}
    with pytest.raises(ValueError, match=r"no value for \['B'"):
        cm.evaluate(F.KV_CACHE_BYTES, "llama-2-7b", s=1, b_kv=2)
    with pytest.raises(ValueError, match="d=1024: d is bound by the architecture"):
        cm.evaluate(F.KV_CACHE_BYTES, "llama-2-7b", d=1024, s=1, B=1, b_kv=2)
    with pytest.raises(ValueError, match="zz=1 is not a symbol"):
        cm.evaluate(F.KV_CACHE_BYTES, "llama-2-7b", zz=1)
    with pytest.raises(ValueError, match="incompatible shapes"):
        cm.evaluate(F.KV_CACHE_BYTES, "llama-2-7b", s=np.ones(2), B=np.ones(3), b_kv=2)
    # hardware binds pi and beta: H100 SXM datasheet, 989.5 TFLOP/s dense bf16, 3.35 TB/s
    assert cm.evaluate(F.RIDGE_INTENSITY, hardware="h100-sxm", eta_c=1, eta_m=1) == pytest.approx(989.5 / 3.35)


def test_lambdified_code_is_plain_python():
    # sympy symbols carry their Python names, so generated code needs no dummy names
    assert "F_op" in sp.pycode(F.ROOFLINE_TIME) and "beta_mem" in sp.pycode(F.ROOFLINE_TIME)


def test_activation_bytes_of_mla_needs_no_patch():
    # DeepSeek-V3, 1 token, bf16, flash attention, no dropout, per block:
    # 2 x (4 D + (H + K) d_h + K d_v + H d_v + 4 F) + 4 H (fp32 log-sum-exp), with D 7168, H = K = 128,
    # d_h 192, d_v 128 and F 18,432 (dense blocks; MoE blocks: 8 x 2048 routed + 2048 shared = 18,432 too)
    per_block = 2 * (4 * 7168 + 256 * 192 + 128 * 128 + 128 * 128 + 4 * 18432) + 4 * 128
    assert per_block == 369_152
    assert cm.activation_bytes("deepseek-v3", 1) == 61 * per_block


# ----------------------------------------------------------------------
# Per-matmul table
# ----------------------------------------------------------------------
def test_matmul_table_llama_2_7b():
    # Llama-2-7B: per block q, k, v, o of 4096 x 4096 and gate, up, down of 4096 x 11008; LM head 4096 x 32000
    t = cm.matmul_table("llama-2-7b").set_index(["block", "matmul"])
    assert t.loc[("attention", "k"), "weights"] == 32 * 4096 * 4096
    assert t.loc[("mlp", "down"), ["d_in", "d_out"]].tolist() == [11008, 4096]
    assert t.loc[("lm head", "lm_head"), "forward_flop_per_token"] == 2 * 4096 * 32000


@pytest.mark.parametrize("model", sorted(cm.list_models()))
def test_matmul_table_sums_to_the_counts(model):
    arch = cm.load_model(model)
    t = cm.matmul_table(arch)
    norms = arch.n_layers * arch.norms_per_block * arch.norm_params_per_width * arch.d_model
    norms += arch.norm_params_per_width * arch.d_model
    mla_norms = (arch.q_lora_rank + arch.kv_lora_rank) * arch.n_layers if arch.is_mla else 0
    lm_bias = arch.vocab_size * int(arch.lm_head_bias)
    assert t["params"].sum() + arch.n_embedding_params + norms + mla_norms + lm_bias == arch.n_params
    assert t["active_weights"].sum() == arch.n_matmul_weights_active
    assert t["forward_flop_per_token"].sum() == cm.forward_flops(arch, 1, 0)


# ----------------------------------------------------------------------
# Quantities that used to be computed in viz
# ----------------------------------------------------------------------
def test_devices_needed_and_kv_tokens_that_fit():
    # Llama-2-7B training state: 16 B/param (ZeRO, Rajbhandari et al. 2020) x 6,738,415,616 = 107.8 GB;
    # two H100s hold it (capacity: nvidia-smi total 81,559 MiB = 85.5 GB, github.com/wilicc/gpu-burn/issues/114)
    assert cm.devices_needed(16 * 6_738_415_616, "h100-sxm") == 2
    # Llama-3-8B bf16 weights 16,060,522,496 B (index total_size); 131,072 B of KV per token
    assert cm.kv_tokens_that_fit("llama-3-8b", "h100-sxm") == (81559 * 2**20 - 16_060_522_496) // 131_072
    # Llama-2-70B bf16 weights (138 GB) do not fit one 85.5 GB device: no room for any token
    assert cm.kv_tokens_that_fit("llama-2-70b", "h100-sxm") == 0


def test_ridge_table_is_one_table_sorted_and_complete():
    t = cm.ridge_table(dtype="bf16")
    with_peak = [h for h in cm.list_hardware() if cm.load_hardware(h).has_peak("bf16")]
    assert sorted(t["hardware"]) == sorted(with_peak)
    assert t["ridge_flop_per_byte"].is_monotonic_decreasing
    h100 = t.set_index("hardware").loc["h100-sxm"]
    assert h100["ridge_flop_per_byte"] == pytest.approx(989.5e12 / 3.35e12)


def test_attainable_is_the_roof():
    # below the ridge: beta I; above: the peak (H100 SXM: 3.35 TB/s, 989.5 TFLOP/s bf16)
    out = cm.attainable_flop_per_s("h100-sxm", np.array([1.0, 1e4]))
    assert out.tolist() == [3.35e12, 989.5e12]


def test_phase_roofline_reports_fit():
    # Llama-2-70B in bf16: 137.95 GB of weights do not fit in 80 GB
    df = cm.phase_roofline("llama-2-70b", "h100-sxm", prompt_tokens=128, batch=[1, 2], check_fit=False)
    assert not df["fits"].any()
    assert (df["memory_needed_bytes"] > 2 * 68_976_648_192).all()


# ----------------------------------------------------------------------
# Checks in one place
# ----------------------------------------------------------------------
@pytest.mark.parametrize("value, pattern", [
    (2, r"flash_attention=2 must be True or False"),
    (None, r"flash_attention=None must be True or False"),
    (np.array([True]), r"flash_attention=array"),
])
def test_flags_take_booleans_only(value, pattern):
    with pytest.raises(ValueError, match=pattern):
        cm.activation_bytes("llama-2-7b", 1024, flash_attention=value)


@pytest.mark.parametrize("value", [0.5, -1, 1])
def test_dropout_is_a_boolean(value):
    with pytest.raises(ValueError, match=f"dropout={value!r} must be True or False"):
        cm.activation_bytes("llama-2-7b", 1024, dropout=value)


@pytest.mark.parametrize("value, pattern", [
    (10**400, r"tokens=1000.* exceeds the largest accepted value"),
    ("1024", r"tokens='1024' must be a number, not a string"),
    (b"1024", r"tokens=b'1024' must be a number, not a string"),
    (1 + 2j, r"tokens=\(1\+2j\) must be a number"),
    (np.ma.masked_array([1, 2], mask=[0, 1]), r"tokens is a masked array"),
    (datetime.datetime(2026, 1, 1), r"tokens=datetime.datetime\(2026"),
    ([[1, 2], [3]], r"tokens=\[\[1, 2\], \[3\]\] must be a number"),
])
def test_sizes_refuse_what_is_not_a_number(value, pattern):
    with pytest.raises(ValueError, match=pattern):
        cm.kv_cache_bytes("llama-2-7b", value)


def test_shape_mismatch_names_the_arguments():
    with pytest.raises(ValueError, match=r"tokens \(2,\), context \(3,\)"):
        cm.forward_flops("llama-2-7b", np.ones(2), np.ones(3))


def test_lists_of_ids_and_single_ids():
    one = cm.memory_fit_table("llama-2-7b", "h100-sxm")
    assert one[["model", "hardware"]].values.tolist() == [["llama-2-7b", "h100-sxm"]]
    with pytest.raises(ValueError, match="context=.* must be single numbers"):
        cm.memory_fit_table(["llama-2-7b"], ["h100-sxm"], context=[1024, 2048])
    with pytest.raises(ValueError, match=r"hardware=3 must be an id"):
        cm.memory_fit_table(["llama-2-7b"], 3)


def test_architecture_checks_types_and_exactness():
    arch = cm.load_model("llama-2-7b")
    with pytest.raises(ValueError, match="d_model='4096' must be an integer"):
        arch.with_(d_model="4096")
    with pytest.raises(ValueError, match="gated_mlp=1 must be true or false"):
        arch.with_(gated_mlp=1)
    # 1024 blocks of 4 D^2 with D = 2**23 is 2**58 parameters, beyond float64's exact 2**53
    with pytest.raises(ValueError, match=r"beyond the exact range of float64 .* hidden_size=8388608"):
        arch.with_(d_model=2**23, n_layers=1024, n_heads=64, n_kv_heads=64, head_dim=2**17)


# ----------------------------------------------------------------------
# The HF reader: transformers' defaults when a key is absent or null
# ----------------------------------------------------------------------
def test_gemma2_without_sliding_window_or_with_null_layer_types():
    # Gemma2Config defaults: sliding_window 4096 on every other block (transformers); Gemma 2 report
    # (arXiv:2408.00118, sec. 2): local 4096 attention alternating with global
    base = cm.load_model("gemma-2-2b")
    for cfg in (config("gemma-2-2b"), {k: v for k, v in config("gemma-2-2b").items() if k != "sliding_window"},
                config("gemma-2-2b", layer_types=None)):
        arch = cm.Architecture.from_hf_config(cfg, name="g")
        assert (arch.sliding_window, arch.n_sliding_layers) == (4096, 13)
        assert cm.kv_cache_bytes(arch, 32768) == cm.kv_cache_bytes(base, 32768)


def test_qwen2_sliding_window_follows_use_sliding_window():
    # Qwen2Config: sliding window only when use_sliding_window, on blocks from max_window_layers on
    cfg = config("qwen2-7b", use_sliding_window=True, sliding_window=4096, max_window_layers=14, layer_types=None)
    arch = cm.Architecture.from_hf_config(cfg, name="q")
    assert (arch.sliding_window, arch.n_sliding_layers) == (4096, 28 - 14)
    assert cm.Architecture.from_hf_config(config("qwen2-7b"), name="q").n_sliding_layers == 0


def test_unknown_layer_types_are_refused_by_name():
    cfg = config("gemma-2-2b", layer_types=["sliding_attention", "chunked_attention"] * 13)
    with pytest.raises(ValueError, match=r"layer_types=.*\['chunked_attention'\] that are not modelled"):
        cm.Architecture.from_hf_config(cfg)


def test_family_defaults_for_absent_keys():
    # GemmaConfig default head_dim 256 (Gemma 2B: 8 heads of 256 over a width of 2048)
    gemma = {k: v for k, v in config("gemma-2b").items() if k != "head_dim"}
    assert cm.Architecture.from_hf_config(gemma).head_dim == 256
    # MistralConfig default sliding_window 4096; an explicit null means no window
    mistral = {k: v for k, v in config("mistral-7b-v0.1").items() if k != "sliding_window"}
    assert cm.Architecture.from_hf_config(mistral).sliding_window == 4096
    assert cm.Architecture.from_hf_config(config("mistral-7b-v0.1", sliding_window=None)).n_sliding_layers == 0
    # GPT-2 computes the head width as n_embd / n_head and ignores a head_dim key
    assert cm.Architecture.from_hf_config(config("gpt2", head_dim=100)).head_dim == 768 // 12


def test_config_files_that_are_not_configs(tmp_path):
    fifo = tmp_path / "fifo.json"
    os.mkfifo(fifo)
    with pytest.raises(ValueError, match="fifo.json' is not a regular file"):
        cm.Architecture.from_hf_config(fifo)
    with pytest.raises(ValueError, match="'/dev/zero' is not a regular file"):
        cm.Architecture.from_hf_config("/dev/zero")
    deep = tmp_path / "deep.json"
    deep.write_text("[" * 100_000 + "]" * 100_000)
    with pytest.raises(ValueError, match="deep.json' is nested too deeply"):
        cm.Architecture.from_hf_config(deep)
    latin = tmp_path / "latin.json"
    latin.write_bytes(b'{"model_type": "llama\xe9"}')
    with pytest.raises(ValueError, match="latin.json' is not UTF-8"):
        cm.Architecture.from_hf_config(latin)
    big = tmp_path / "big.json"
    big.write_bytes(b" " * (5 * 2**20))
    with pytest.raises(ValueError, match="big.json' is .* bytes, more than a config"):
        cm.Architecture.from_hf_config(big)


# ----------------------------------------------------------------------
# Hardware validates itself as Architecture does
# ----------------------------------------------------------------------
def _device(**changes):
    base = dict(id="x", name="X", vendor="V", category="datacenter-gpu", peaks_flop_per_s={"bf16": 1e15},
                memory_bytes=80e9, memory_bandwidth_bytes_per_s=3e12)
    base.update(changes)
    return cm.Hardware(**base)


@pytest.mark.parametrize("changes, pattern", [
    ({"memory_bandwidth_bytes_per_s": 0.0}, r"memory_bandwidth_bytes_per_s=0.0 must be positive"),
    ({"memory_bandwidth_bytes_per_s": float("nan")}, r"memory_bandwidth_bytes_per_s is required"),
    ({"memory_bytes": -1.0}, r"memory_bytes=-1.0 must be positive"),
    ({"peaks_flop_per_s": {"bf16": float("inf")}}, r"peaks_flop_per_s\['bf16'\]=inf must be positive"),
    ({"peaks_flop_per_s": {"bf17": 1e15}}, r"dtype 'bf17'; known"),
    ({"peaks_flop_per_s": {"bf16": True}}, r"peaks_flop_per_s\['bf16'\]=True must be a number"),
    ({"category": "toaster"}, r"category='toaster' is not one of"),
    ({"tdp_w": "700"}, r"tdp_w='700' must be a number"),
])
def test_hardware_constructor_validates(changes, pattern):
    with pytest.raises(ValueError, match=pattern):
        _device(**changes)


def test_a_valid_device_computes():
    # 1e15 FLOP/s over 3e12 B/s: a ridge of 333.3 FLOP/byte
    assert cm.ridge_intensity(_device(), "bf16") == pytest.approx(1e15 / 3e12)
    assert math.isnan(_device(memory_bytes=float("nan")).memory_bytes)


def test_counts_come_back_as_integers():
    assert isinstance(cm.devices_needed(1e12, "h100-sxm"), int)
    assert cm.devices_needed(np.array([1e9, 2e11]), "h100-sxm").tolist() == [1, 3]  # 200 GB / 80 GB -> 3
    assert isinstance(cm.kv_tokens_that_fit("llama-3-8b", "h100-sxm"), int)
    assert isinstance(cm.load_model("llama-2-7b").n_params, int)


def test_kv_bytes_per_token_method_and_function_agree():
    # Llama-3-8B: 2 x 32 blocks x 8 KV heads x 128 x 1 byte in fp8 = 65,536
    a = cm.load_model("llama-3-8b")
    assert a.kv_bytes_per_token("fp8") == 65_536 == cm.kv_cache_bytes_per_token("llama-3-8b", "fp8")
    with pytest.raises(ValueError, match="dtype='fp7' is not a known dtype"):
        a.kv_bytes_per_token("fp7")


@pytest.mark.parametrize("value", [["llama-2-7b"], {"id": "llama-2-7b"}, None, 3])
def test_catalog_ids_must_be_strings(value):
    with pytest.raises(ValueError, match=r"model_id=.* must be a catalog model id, a string"):
        cm.load_model(value)
    with pytest.raises(ValueError, match=r"hardware_id=.* must be a catalog hardware id, a string"):
        cm.load_hardware(value)
