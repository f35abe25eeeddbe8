"""The reader of the 2026 families: the rules each follows from its transformers
configuration and modeling code, and the configs it refuses.

Counts against published totals are in test_catalog_2026.py; here each rule is
checked on a changed copy of a catalog config, and every refusal must name the
field.
"""

from __future__ import annotations

import copy
import json

import pytest

import costmodel as cm
from costmodel.catalog import MODELS_DIR

CONFIGS = {p.stem: json.loads(p.read_text()) for p in sorted(MODELS_DIR.glob("*.json"))}


def config(name, drop=(), **changes):
    cfg = copy.deepcopy(CONFIGS[name])
    for key in drop:
        cfg.pop(key)
    cfg.update(changes)
    return cfg


def load(cfg, **kw):
    return cm.Architecture.from_hf_config(cfg, name="test", **kw)


def test_deepseek_q_lora_rank_null_absent_and_given():
    # q_lora_rank null: a full-rank query; absent: DeepseekV3Config's default 1536
    assert load(config("deepseek-v3", q_lora_rank=None)).q_lora_rank == 0
    assert load(config("deepseek-v3", drop=("q_lora_rank",))).q_lora_rank == 1536


# ----------------------------------------------------------------------
# Refusals, each naming the field
# ----------------------------------------------------------------------
@pytest.mark.parametrize("base, key, value, structure", [
    ("llama-3-8b", "num_local_experts", 8, "a mixture of experts"),
    ("llama-3-8b", "num_experts_per_tok", 2, "a mixture of experts"),
    ("qwen2-7b", "kv_lora_rank", 512, r"latent attention \(MLA\)"),
    ("mixtral-8x7b-v0.1", "q_lora_rank", 1536, r"latent attention \(MLA\)"),
    ("mixtral-8x7b-v0.1", "n_shared_experts", 1, "shared experts"),
    ("mistral-7b-v0.1", "vision_config", {"hidden_size": 1152}, "a multimodal model"),
    ("phi-2", "qk_layernorm", True, "a switchable QK-norm"),
])
def test_a_key_of_another_family_is_refused(base, key, value, structure):
    model_type = CONFIGS[base]["model_type"]
    with pytest.raises(ValueError, match=rf"field {key}=.* sets {structure}, which model_type='{model_type}' "
                                         "does not have"):
        load(config(base, **{key: value}))


@pytest.mark.parametrize("value", [None, 0, False, []])
def test_a_switched_off_key_of_another_family_is_accepted(value):
    assert load(config("llama-3-8b", num_local_experts=value)).n_params == cm.load_model("llama-3-8b").n_params


def test_a_vision_tower_cannot_be_requested_of_a_text_model():
    with pytest.raises(ValueError, match=r"vision_config='<missing>' is absent: model_type='llama' has no vision"):
        load(CONFIGS["llama-3-8b"], vision=True)
