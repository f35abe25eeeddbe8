"""Bad input gets a ValueError that names the field and the value; fuzzed too."""

import copy
import json
import math
import os

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import costmodel as cm
from costmodel.catalog import MODELS_DIR

#: CI runs every fuzzer FUZZ_SCALE times longer: 4 x (1500 + 1000 + 300 + 800) = 14,400 generated
#: configs and inputs, about a minute on 2 cores; a local run keeps the short counts.
FUZZ_SCALE = 4 if os.environ.get("CI") else 1

LLAMA = json.loads((MODELS_DIR / "llama-2-7b.json").read_text())
BASES = {p.stem: json.loads(p.read_text()) for p in sorted(MODELS_DIR.glob("*.json"))}


def mutated(**changes):
    cfg = copy.deepcopy(LLAMA)
    for k, v in changes.items():
        if v is None:
            cfg.pop(k, None)
        else:
            cfg[k] = v
    return cfg


@pytest.mark.parametrize(
    "changes, pattern",
    [
        ({"hidden_size": None}, r"'hidden_size' is missing"),
        ({"num_attention_heads": 33}, r"num_attention_heads=33 does not divide hidden_size=4096"),
        ({"num_key_value_heads": 5}, r"num_key_value_heads=5 must divide num_attention_heads=32"),
        ({"num_hidden_layers": 0}, r"num_hidden_layers=0"),
        ({"intermediate_size": -4}, r"intermediate_size=-4"),
        ({"vocab_size": float("nan")}, r"vocab_size=nan"),
        ({"hidden_size": 4096.5}, r"hidden_size=4096.5"),
        ({"hidden_size": "4096"}, r"hidden_size='4096'"),
        ({"hidden_size": True}, r"hidden_size=True"),
        ({"tie_word_embeddings": "yes"}, r"tie_word_embeddings='yes'"),
        ({"model_type": "bert"}, r"model_type='bert' is not supported.*llama.*deepseek_v3"),
        ({"model_type": None}, r"no 'model_type'"),
    ],
)
def test_config_errors_name_field_and_value(changes, pattern):
    with pytest.raises(ValueError, match=pattern):
        cm.Architecture.from_hf_config(mutated(**changes))


def test_head_dim_given_allows_non_dividing_heads():
    arch = cm.Architecture.from_hf_config(mutated(num_attention_heads=24, num_key_value_heads=8, head_dim=128))
    assert arch.head_dim == 128


def test_bad_file(tmp_path):
    p = tmp_path / "config.json"
    p.write_text("{not json")
    with pytest.raises(ValueError, match="not valid JSON"):
        cm.Architecture.from_hf_config(p)
    with pytest.raises(ValueError, match="cannot read"):
        cm.Architecture.from_hf_config(tmp_path / "missing.json")
    with pytest.raises(ValueError, match="JSON object"):
        cm.Architecture.from_hf_config([1, 2])


@pytest.mark.parametrize(
    "call, pattern",
    [
        (lambda a: cm.kv_cache_bytes(a, 100, "bf16", batch=-1), r"batch=-1"),
        (lambda a: cm.kv_cache_bytes(a, float("nan")), r"tokens=nan"),
        (lambda a: cm.kv_cache_bytes(a, 10.5), r"tokens=10.5"),
        (lambda a: cm.kv_cache_bytes(a, 10, "bf17"), r"dtype='bf17'"),
        (lambda a: cm.weight_bytes(a, "int3"), r"dtype='int3'"),
        (lambda a: cm.weight_bytes(a, "int4", group_size=0), r"group_size=0"),
        (lambda a: cm.forward_flops(a, -1, 0), r"tokens=-1"),
        (lambda a: cm.forward_flops(a, 1, "many"), r"context='many'"),
        (lambda a: cm.phase_roofline(a, "h100-sxm", batch=0), r"batch=0"),
        (lambda a: cm.phase_roofline(a, "h100-sxm", eta_compute=1.5), r"eta_compute=1.5"),
        (lambda a: cm.phase_roofline(a, "h100-sxm", batch=4096, prompt_tokens=4096), r"does not fit on h100-sxm"),
        (lambda a: cm.phase_roofline(a, "no-such-gpu"), r"hardware_id='no-such-gpu'"),
        (lambda a: cm.phase_roofline(a, "snapdragon-8-gen-3", compute_dtype="int8"), r"snapdragon-8-gen-3"),
        (lambda a: cm.forward_flops("no-such-model", 1), r"model_id='no-such-model'"),
    ],
)
def test_numeric_errors_name_field_and_value(call, pattern):
    with pytest.raises(ValueError, match=pattern):
        call(cm.load_model("llama-2-7b"))


def test_architecture_constructor_validates():
    arch = cm.load_model("llama-2-7b")
    with pytest.raises(ValueError, match="n_kv_heads"):
        arch.with_(n_kv_heads=0)
    with pytest.raises(ValueError, match="d_model=-1"):
        arch.with_(d_model=-1)


# ----------------------------------------------------------------------
# Fuzzing: random and mutated configs produce a valid Architecture or a
# ValueError; never another exception, never a negative or NaN count.
# ----------------------------------------------------------------------
JSONISH = st.one_of(
    st.none(), st.booleans(), st.integers(-10, 10**6), st.floats(allow_nan=True, allow_infinity=True),
    st.text(max_size=5), st.lists(st.integers(-2, 40), max_size=4),
)


def _check(cfg):
    try:
        arch = cm.Architecture.from_hf_config(cfg, name="fuzz")
    except ValueError as e:
        assert str(e)
        return
    for v in (arch.n_params, arch.n_active_params, arch.n_matmul_weights_active):
        assert isinstance(v, int) and v > 0
    assert arch.n_active_params <= arch.n_params
    kv = cm.kv_cache_bytes(arch, 1000)
    assert math.isfinite(kv) and kv > 0
    assert np.isfinite(cm.forward_flops(arch, 3, 100))


@settings(max_examples=1500 * FUZZ_SCALE, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(base=st.sampled_from(sorted(BASES)), data=st.data())
def test_fuzz_mutated_configs(base, data):
    cfg = copy.deepcopy(BASES[base])
    keys = sorted(cfg)
    for _ in range(data.draw(st.integers(1, 4))):
        action = data.draw(st.sampled_from(["drop", "set", "scale"]))
        key = data.draw(st.sampled_from(keys))
        if action == "drop":
            cfg.pop(key, None)
        elif action == "set":
            cfg[key] = data.draw(JSONISH)
        elif isinstance(cfg.get(key), int) and not isinstance(cfg.get(key), bool):
            cfg[key] = cfg[key] * data.draw(st.sampled_from([-1, 0, 2, 3]))
    _check(cfg)


@settings(max_examples=1000 * FUZZ_SCALE, deadline=None)
@given(cfg=st.dictionaries(
    st.sampled_from(["model_type", "hidden_size", "num_attention_heads", "num_hidden_layers",
                     "num_key_value_heads", "intermediate_size", "vocab_size", "head_dim",
                     "tie_word_embeddings", "sliding_window", "num_local_experts", "num_experts_per_tok",
                     "kv_lora_rank", "n_routed_experts", "layer_types", "n_embd", "n_head", "n_layer"]),
    st.one_of(JSONISH, st.sampled_from(["llama", "mixtral", "gpt2", "deepseek_v3", "falcon", "gemma2"])),
    max_size=14,
))
def test_fuzz_random_configs(cfg):
    _check(cfg)


@settings(max_examples=300 * FUZZ_SCALE, deadline=None)
@given(tokens=JSONISH, batch=JSONISH)
def test_fuzz_numeric_inputs(tokens, batch):
    arch = cm.load_model("mistral-7b-v0.1")
    try:
        out = cm.kv_cache_bytes(arch, tokens, "bf16", batch)
    except ValueError as e:
        assert str(e)
        return
    assert np.all(np.isfinite(out)) and np.all(np.asarray(out) >= 0)


ANY_INPUT = st.one_of(
    JSONISH, st.binary(max_size=3), st.complex_numbers(allow_nan=True), st.integers(-10**400, 10**400),
    st.lists(st.floats(allow_nan=True), max_size=3), st.sampled_from([np.array([1, 2]), np.array([[1], [2], [3]]),
                                                                       np.array([True]), np.ma.masked_array([1])]),
)
CALLS = {
    "kv_cache_bytes": lambda a, x, y: cm.kv_cache_bytes(a, x, "bf16", y),
    "forward_flops": lambda a, x, y: cm.forward_flops(a, x, y),
    "prefill_flops": lambda a, x, y: cm.prefill_flops(a, x, y),
    "activation_bytes": lambda a, x, y: cm.activation_bytes(a, x, y),
    "activation_flags": lambda a, x, y: cm.activation_bytes(a, 16, 1, flash_attention=x, dropout=y),
    "weight_bytes": lambda a, x, y: cm.weight_bytes(a, "int4", group_size=x),
    "roofline_time_s": lambda a, x, y: cm.roofline_time_s(x, y, "h100-sxm"),
    "phase_roofline": lambda a, x, y: cm.phase_roofline(a, "h200-sxm", prompt_tokens=x, batch=y, check_fit=False),
}


@settings(max_examples=800 * FUZZ_SCALE, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(call=st.sampled_from(sorted(CALLS)), x=ANY_INPUT, y=ANY_INPUT)
def test_fuzz_public_functions(call, x, y):
    # any input: a finite, nonnegative result or a ValueError that says why; never
    # TypeError, OverflowError or a numpy error from deep inside
    arch = cm.load_model("llama-3-8b")
    try:
        out = CALLS[call](arch, x, y)
    except ValueError as e:
        assert str(e)
        return
    values = out.select_dtypes("number").to_numpy() if hasattr(out, "select_dtypes") else np.asarray(out)
    assert np.all(np.isfinite(values)) and np.all(values >= 0)
