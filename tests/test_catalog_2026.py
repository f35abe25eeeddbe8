"""The 2026 additions to the model catalog, each count pinned to its published total.

The source of every number is on the line above it (read 2026-11-28). "HF total"
is the Hub's safetensors metadata (``safetensors.total`` of
``https://huggingface.co/api/models/<repo>``), quoted by public code; the full
citations are in ``data/models/catalog.csv``. Models whose family has no parser
yet are listed in ``data/models/pending.csv`` with their configs saved beside it.
"""

import json

import pandas as pd
import pytest

import costmodel as cm

MODELS = cm.catalog.MODELS_DIR

NEW_COLUMNS = ("size_class", "release_date", "license")


# Exact published totals that equal the trainable count.
EXACT = [
    # HF total of meta-llama/Llama-3.2-1B-Instruct (same shapes as the base), 1,235,814,400;
    # the base model.safetensors at revision 4e20de36 holds the same number of BF16 tensors
    ("llama-3.2-1b", 1_235_814_400),
    # HF total of meta-llama/Llama-3.1-8B at revision d04e592b: 8,030,261,248
    ("llama-3.1-8b", 8_030_261_248),
    # HF total of meta-llama/Llama-3.1-405B at revision b906e4dc: 405,853,388,800
    ("llama-3.1-405b", 405_853_388_800),
    # HF total of Qwen/Qwen2.5-1.5B-Instruct: 1,543,714,304 (tied embeddings counted once)
    ("qwen2.5-1.5b-instruct", 1_543_714_304),
    # HF total of microsoft/Phi-3.5-mini-instruct: 3,821,079,552 (same as Phi-3-mini-4k-instruct)
    ("phi-3.5-mini-instruct", 3_821_079_552),
    # HF total of microsoft/Phi-4-mini-instruct: 3,836,021,760; tied embeddings,
    # partial_rotary_factor 0.75 (rotary on 96 of 128 dims) adds no parameter
    ("phi-4-mini-instruct", 3_836_021_760),
    # HF total of HuggingFaceTB/SmolLM2-1.7B-Instruct: 1,711,376,384
    ("smollm2-1.7b-instruct", 1_711_376_384),
]


@pytest.mark.parametrize("model_id, published", EXACT)
def test_exact_published_totals(model_id, published):
    assert cm.load_model(model_id).n_params == published


def test_llama_3_2_1b_card_truncates():
    # Llama 3.2 model card: "1B (1.23B)" -- the exact count is 1.2358B, cut, not rounded
    assert int(cm.load_model("llama-3.2-1b").n_params / 1e7) == 123


def test_llama_3_1_405b_has_eight_kv_heads():
    # A public note: a repack with 16 KV heads totals 410,081,247,232 on the Hub, exactly
    # 126 layers x 2 (k, v) x 8 extra heads x 128 x 16384 more than the released model
    arch = cm.load_model("llama-3.1-405b")
    assert arch.n_kv_heads == 8
    assert arch.n_params + 126 * 2 * 8 * 128 * 16384 == 410_081_247_232


def test_phi_4_mini_ties_its_embeddings():
    assert cm.load_model("phi-4-mini-instruct").tied_embeddings


def test_mistral_small_24b():
    # Mistral AI, "Mistral Small 3" (2025-01-30): "a 24-billion-parameter model" (rounded)
    arch = cm.load_model("mistral-small-24b-base-2501")
    assert arch.n_params == pytest.approx(24e9, rel=0.02)
    # HF total of the fine-tune sarvamai/sarvam-m (same shapes): 23,572,403,200
    assert arch.n_params == 23_572_403_200


def _catalog():
    return pd.read_csv(cm.catalog.MODELS_CSV, dtype=str)


def _pending():
    return pd.read_csv(MODELS / "pending.csv", dtype=str)


def test_catalog_has_the_new_columns_on_every_row():
    df = _catalog()
    for col in (*NEW_COLUMNS, "release_source"):
        assert col in df.columns
    assert df["size_class"].isin(["slm", "llm"]).all()
    # an empty date or licence must say why in release_source
    assert df["release_source"].notna().all()


def test_size_class_is_the_10b_line():
    # slm below 10e9 total parameters, llm from there on (derived count)
    for _, row in _catalog().iterrows():
        n = cm.load_model(row["id"]).n_params
        assert row["size_class"] == ("slm" if n < 10e9 else "llm"), row["id"]


def test_model_table_carries_the_new_columns():
    table = cm.model_table()
    for col in NEW_COLUMNS:
        assert col in table.columns
    row = table.set_index("model").loc["llama-3.1-405b"]
    assert (row["size_class"], row["release_date"], row["license"]) == ("llm", "2024-07-23", "Llama 3.1 Community License")


def test_pending_rows_are_sourced_and_not_yet_loadable():
    pend = _pending()
    assert list(pend.columns) == list(_catalog().columns)
    assert not set(pend["id"]) & set(cm.list_models())
    for _, row in pend.iterrows():
        cfg = json.loads((MODELS / row["config_file"]).read_text())
        assert cfg["model_type"] == row["model_type"]
        assert row["model_type"] not in cm.SUPPORTED_FAMILIES, row["id"]
        assert row["source"] and row["retrieved"] and row["published_n_params_source"]
        n = int(row["published_n_params"])
        assert row["size_class"] == ("slm" if n < 10e9 else "llm"), row["id"]
