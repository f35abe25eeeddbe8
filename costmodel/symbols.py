"""The notation of costmodel: every sympy symbol, with its meaning and unit.

One table serves the code (``formulas`` builds every expression from these
symbols), the book (the notation chapter renders :func:`notation_table`) and
the API docs (each public function names the letters it uses).

Conventions (book section ``sec_notation``):

* counts are dimensionless and use decimal prefixes (1 B = 1e9);
* time in seconds, data in bytes, work in FLOP, rates in FLOP/s and bytes/s;
* indicator symbols (``g``, ``beta_qkv``...) are 0 or 1 and switch a term on.
"""

from __future__ import annotations

from dataclasses import dataclass

import pandas as pd
import sympy as sp

__all__ = ["Sym", "SYMBOLS", "S", "notation_table"]


@dataclass(frozen=True)
class Sym:
    """One entry of the notation: the sympy symbol and what it stands for."""

    name: str  # Python name, used as the lambdified argument name
    latex: str  # how the book writes it
    meaning: str
    unit: str
    hf_key: str = ""  # the Hugging Face config.json key it comes from, if any
    group: str = "architecture"

    @property
    def symbol(self) -> sp.Symbol:
        return _SYMPY[self.name]


_TABLE: tuple[Sym, ...] = (
    # architecture
    Sym("d", "D", "model (hidden) width", "1", "hidden_size"),
    Sym("L", "L", "number of transformer blocks", "1", "num_hidden_layers"),
    Sym("n_h", "H", "attention (query) heads", "1", "num_attention_heads"),
    Sym("n_kv", "K", "key/value heads (GQA; 1 = MQA)", "1", "num_key_value_heads"),
    Sym("d_h", "d_h", "width of one attention head", "1", "head_dim"),
    Sym("f", "F", "MLP hidden width of a dense block", "1", "intermediate_size"),
    Sym("V", "V", "vocabulary size", "1", "vocab_size"),
    Sym("P", "P", "learned position embeddings (0 for rotary/ALiBi)", "1", "n_positions"),
    Sym("g", "g", "gated MLP indicator (SwiGLU/GeGLU: 1, plain: 0)", "1", "hidden_act"),
    Sym("t", "t", "tied input/output embeddings indicator", "1", "tie_word_embeddings"),
    Sym("beta_qkv", r"\beta_{qkv}", "bias on the q/k/v projections indicator", "1", "attention_bias"),
    Sym("beta_o", r"\beta_{o}", "bias on the attention output projection indicator", "1", "attention_bias"),
    Sym("beta_mlp", r"\beta_{mlp}", "bias on the MLP projections indicator", "1", "mlp_bias"),
    Sym("beta_lm", r"\beta_{lm}", "bias on the output (LM head) projection indicator", "1", ""),
    Sym("nu", r"\nu", "parameters of one normalisation per unit width (RMSNorm 1, LayerNorm 2, non-parametric 0)", "1", ""),
    Sym("n_norm", "n_{norm}", "normalisations per block", "1", ""),
    Sym("E", "E", "routed experts per MoE block", "1", "num_local_experts"),
    Sym("k_e", "k", "routed experts used per token", "1", "num_experts_per_tok"),
    Sym("f_e", "F_e", "hidden width of one routed expert", "1", "moe_intermediate_size"),
    Sym("f_s", "F_s", "total hidden width of the shared expert(s)", "1", "shared_expert_intermediate_size"),
    Sym("gamma_s", r"\gamma_s", "gate on the shared expert indicator (Qwen-MoE)", "1", ""),
    Sym("r_q", "r_q", "MLA query low-rank width (0 = full-rank query)", "1", "q_lora_rank"),
    Sym("r_kv", "r_{kv}", "MLA compressed key/value (latent) width", "1", "kv_lora_rank"),
    Sym("d_nope", "d_{nope}", "MLA per-head query/key width without rotary", "1", "qk_nope_head_dim"),
    Sym("d_rope", "d_{rope}", "MLA per-head (shared key) rotary width", "1", "qk_rope_head_dim"),
    Sym("d_v", "d_v", "per-head value width (d_h, except with MLA)", "1", "v_head_dim"),
    Sym("W", "W", "sliding attention window", "token", "sliding_window"),
    Sym("L_sw", "L_{sw}", "blocks that attend through the sliding window", "1", "sliding_window"),
    Sym("L_moe", "L_{moe}", "blocks whose MLP is a mixture of experts", "1", "first_k_dense_replace"),
    Sym("w_a", "w_a", "attention width of a block, H (d_qk + d_v) / 2 (H d_h without MLA)", "1", ""),
    Sym("e_kv", "e_{kv}", "cached elements per token per block (2 K d_h; MLA: r_kv + d_rope)", "1", ""),
    # workload
    Sym("T", "T", "tokens processed in one pass", "token", "", "workload"),
    Sym("C", "C", "positions each new token attends to (its context)", "token", "", "workload"),
    Sym("C_0", "C_0", "tokens already in the KV cache before a pass", "token", "", "workload"),
    Sym("B", "B", "sequences in a batch", "1", "", "workload"),
    Sym("s", "S", "sequence length", "token", "", "workload"),
    Sym("N", "N", "parameters", "1", "", "workload"),
    Sym("N_a", "N_a", "parameters used per token (active)", "1", "", "workload"),
    Sym("N_mm", r"N_{mm}", "matrix-multiply weights used per token (includes the LM head, excludes the embedding lookup)", "1", "", "workload"),
    # precision
    Sym("b_w", "b_w", "bytes per weight", "byte", "", "precision"),
    Sym("b_kv", "b_{kv}", "bytes per cached key/value element", "byte", "", "precision"),
    Sym("b_a", "b_a", "bytes per activation element", "byte", "", "precision"),
    Sym("G", "G", "quantisation group size (weights sharing one scale)", "1", "", "precision"),
    Sym("b_sc", r"b_{sc}", "bytes per quantisation scale (and zero point)", "byte", "", "precision"),
    Sym("p_drop", r"p_{drop}", "dropout indicator (masks stored for backward)", "1", "", "precision"),
    Sym("phi_fa", r"\phi", "fused (flash) attention indicator: scores not stored", "1", "", "precision"),
    Sym("b_opt", r"b_{opt}", "bytes of optimizer state per parameter", "byte", "", "precision"),
    Sym("b_g", "b_g", "bytes per gradient", "byte", "", "precision"),
    # hardware and roofline
    Sym("pi", r"\pi", "peak dense FLOP/s of the device for the dtype", "FLOP/s", "", "hardware"),
    Sym("beta_mem", r"\beta", "memory bandwidth", "byte/s", "", "hardware"),
    Sym("eta_c", r"\eta_c", "achieved fraction of peak compute", "1", "", "hardware"),
    Sym("eta_m", r"\eta_m", "achieved fraction of peak bandwidth", "1", "", "hardware"),
    Sym("F_op", r"F_{op}", "work of an operation", "FLOP", "", "hardware"),
    Sym("M_op", r"M_{op}", "bytes an operation moves to or from memory", "byte", "", "hardware"),
)

SYMBOLS: dict[str, Sym] = {s.name: s for s in _TABLE}
# sympy identifies symbols by their printed name: two entries with the same
# LaTeX would silently become one symbol.
assert len({s.latex for s in _TABLE}) == len(_TABLE), "duplicate LaTeX name in the notation"

# Every symbol is positive: sizes, counts and rates are never negative, and
# indicators are handled as nonnegative.
_SYMPY: dict[str, sp.Symbol] = {
    s.name: sp.Symbol(s.latex, nonnegative=True, real=True) for s in _TABLE
}


class _Namespace:
    """``S.d``, ``S.L``...: attribute access to the sympy symbols."""

    def __getattr__(self, name: str) -> sp.Symbol:
        try:
            return _SYMPY[name]
        except KeyError:
            raise AttributeError(f"no symbol named {name!r} in costmodel.symbols") from None

    def __dir__(self):
        return list(_SYMPY)


S = _Namespace()

# Reverse map used by the lambdify helpers: sympy symbol -> python name.
PYNAME: dict[sp.Symbol, str] = {v: k for k, v in _SYMPY.items()}


def notation_table(group: str | None = None) -> pd.DataFrame:
    """The notation as a tidy table: one row per symbol (book: ``sec_notation``)."""
    rows = [
        {
            "symbol": f"${s.latex}$",
            "name": s.name,
            "meaning": s.meaning,
            "unit": s.unit,
            "hf_config_key": s.hf_key,
            "group": s.group,
        }
        for s in _TABLE
        if group is None or s.group == group
    ]
    return pd.DataFrame(rows)
