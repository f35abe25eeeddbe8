"""The notation of costmodel: every sympy symbol, with its meaning and unit.

One table serves the code (``formulas`` builds every expression from these
symbols), the architecture binding (each architecture symbol names the
:class:`~costmodel.Architecture` attribute that gives its value), the book
(the notation chapter renders :func:`notation_table`) and the API docs (each
public function names the letters it uses).

Each sympy symbol is named by its Python name (``n_kv``), so that
``sympy.pycode`` or a Vega expression generated from a formula is a valid
identifier; the book's letter (``K``) is applied when rendering, through
:func:`latex`.

Conventions (book section ``sec_notation``):

* counts are dimensionless and use decimal prefixes (1 B = 1e9);
* time in seconds, data in bytes, work in FLOP, rates in FLOP/s and bytes/s
  (SI units, with FLOP and byte as the units of work and data);
* indicator symbols (``g``, ``beta_qkv``...) are 0 or 1 and switch a term on.
"""

from __future__ import annotations

from dataclasses import dataclass
from types import MappingProxyType
from typing import Mapping

import pandas as pd
import sympy as sp

__all__ = ["Sym", "SYMBOLS", "S", "GROUPS", "latex", "notation_table"]

#: Symbol groups, in the order the notation chapter lists them.
GROUPS: tuple[str, ...] = ("architecture", "derived", "counts", "workload", "precision", "hardware", "inference",
                           "training", "finetune", "hybrid")


@dataclass(frozen=True)
class Sym:
    """One entry of the notation: a symbol and what it stands for.

    ``attr`` names the :class:`~costmodel.Architecture` attribute (a field or
    a derived property) whose value the symbol takes for a given model; it is
    empty for workload, precision and hardware symbols, which a caller gives.
    ``hf_key`` says where in a Hugging Face ``config.json`` the value comes
    from (free text: families differ).
    """

    name: str  # Python name: the sympy symbol's name and the keyword argument
    latex: str  # how the book writes it
    meaning: str
    unit: str
    hf_key: str = ""
    group: str = "architecture"
    attr: str = ""

    @property
    def symbol(self) -> sp.Symbol:
        return _SYMPY[self.name]


def _a(name, tex, meaning, attr, hf_key="", unit="1"):
    return Sym(name, tex, meaning, unit, hf_key, "architecture", attr)


def _d(name, tex, meaning, attr, hf_key="derived", unit="1"):
    return Sym(name, tex, meaning, unit, hf_key, "derived", attr)


_TABLE: tuple[Sym, ...] = (
    # architecture: one Architecture field each
    _a("d", "D", "model (hidden) width", "d_model", "hidden_size"),
    _a("L", "L", "number of transformer blocks", "n_layers", "num_hidden_layers"),
    _a("n_h", "H", "attention (query) heads", "n_heads", "num_attention_heads"),
    _a("n_kv", "K", "key/value heads (GQA; 1 = MQA; H with MLA, whose keys and values are per head)",
       "n_kv_heads", "num_key_value_heads"),
    _a("d_h", "d_h", "width of one query/key head (MLA: d_nope + d_rope)", "head_dim",
       "head_dim (default hidden_size / num_attention_heads)"),
    _a("f", "F", "MLP hidden width of a dense block", "d_ff", "intermediate_size"),
    _a("V", "V", "vocabulary size", "vocab_size", "vocab_size"),
    _a("P", "P", "learned position embeddings (0 for rotary/ALiBi)", "learned_positions", "n_positions (GPT-2)"),
    _a("g", "g", "gated MLP indicator (SwiGLU/GeGLU: 1, plain: 0)", "gated_mlp",
       "the family's MLP (gate_proj present)"),
    _a("t", "t", "tied input/output embeddings indicator", "tied_embeddings", "tie_word_embeddings (family default)"),
    _a("beta_qkv", r"\beta_{qkv}", "bias on the q/k/v projections indicator", "qkv_bias", "attention_bias, use_bias, bias"),
    _a("beta_o", r"\beta_{o}", "bias on the attention output projection indicator", "attn_out_bias",
       "attention_bias, use_bias, bias"),
    _a("beta_mlp", r"\beta_{mlp}", "bias on the MLP projections (dense and routed experts) indicator", "mlp_bias",
       "mlp_bias, use_bias, bias (gpt-oss: the experts' biases)"),
    _a("beta_lm", r"\beta_{lm}", "bias on the output (LM head) projection indicator", "lm_head_bias",
       "the family (Phi-1/2)"),
    _a("n_norm", "n_{norm}", "normalisations per block", "norms_per_block", "the family"),
    _a("E", "E", "routed experts per MoE block", "n_experts",
       "num_local_experts, num_experts or n_routed_experts"),
    _a("k_e", "k", "routed experts used per token", "n_experts_per_token", "num_experts_per_tok"),
    _a("f_e", "F_e", "hidden width of one routed expert", "d_ff_expert", "moe_intermediate_size"),
    _a("f_s", "F_s", "total hidden width of the shared expert(s)", "d_ff_shared",
       "shared_expert_intermediate_size, or n_shared_experts x moe_intermediate_size"),
    _a("gamma_s", r"\gamma_s", "gate on the shared expert indicator (Qwen-MoE)", "shared_expert_gate", "the family"),
    _a("L_moe", "L_{moe}", "blocks whose MLP is a mixture of experts", "n_moe_layers",
       "derived from first_k_dense_replace and moe_layer_freq, or decoder_sparse_step and mlp_only_layers"),
    _a("r_q", "r_q", "MLA query low-rank width (0 = full-rank query)", "q_lora_rank", "q_lora_rank"),
    _a("r_kv", "r_{kv}", "MLA compressed key/value (latent) width", "kv_lora_rank", "kv_lora_rank"),
    _a("d_nope", "d_{nope}", "MLA per-head query/key width without rotary", "qk_nope_head_dim", "qk_nope_head_dim"),
    _a("d_rope", "d_{rope}", "MLA per-head (shared key) rotary width", "qk_rope_head_dim", "qk_rope_head_dim"),
    _a("beta_r", r"\beta_{r}", "bias on the MoE router indicator", "router_bias", "the family (gpt-oss: router.bias)"),
    _a("h_qn", "h_{qn}",
       "query norm (QK-norm) width in head widths: 0 none, 1 one d_h-wide scale shared by the heads, H the whole "
       "query width", "q_norm_heads", "the family: q_norm of head_dim (Qwen3, Gemma 3) or heads x head_dim (OLMo 2)"),
    _a("h_kn", "h_{kn}",
       "key norm (QK-norm) width in head widths: 0 none, 1 one d_h-wide scale shared by the heads, K the whole key "
       "width", "k_norm_heads", "the family: k_norm of head_dim (Qwen3, Gemma 3) or kv heads x head_dim (OLMo 2)"),
    _a("sigma", r"\sigma", "learned attention-sink logit per query head indicator", "attention_sinks",
       "the family (gpt-oss: self_attn.sinks)"),
    _a("W", "W", "sliding attention window", "sliding_window", "sliding_window", unit="token"),
    _a("L_sw", "L_{sw}", "blocks that attend through the sliding window", "n_sliding_layers",
       "derived from layer_types, or the family's sliding pattern"),
    # derived: effective values the formulas use, computed from the fields
    _d("nu", r"\nu", "parameters of one normalisation per unit width (RMSNorm 1, LayerNorm 2, non-parametric 0)",
       "norm_params_per_width", "the family's norm"),
    _d("d_v", "d_v", "width of one value head (d_h, except with MLA: v_head_dim)", "value_head_dim",
       "v_head_dim (MLA), else head_dim"),
    _d("w_a", "w_a", "attention width of a block, H (d_h + d_v) / 2 (H d_h without MLA)", "attention_width"),
    _d("e_kv", "e_{kv}", "cached elements per token per block (2 K d_h; MLA: r_kv + d_rope)",
       "kv_elements_per_token_layer"),
    # counts: exact sums over the architecture
    Sym("N", "N", "parameters", "1", "", "counts", "n_params"),
    Sym("N_mm", r"N_{mm}", "matrix-multiply weights used per token (includes the LM head, excludes the embedding lookup)",
        "1", "", "counts", "n_matmul_weights_active"),
    # workload
    Sym("T", "T", "tokens processed in one pass", "token", "", "workload"),
    Sym("C", "C", "positions each new token attends to (its context)", "token", "", "workload"),
    Sym("C_0", "C_0", "tokens already in the KV cache before a pass", "token", "", "workload"),
    Sym("B", "B", "sequences in a batch", "1", "", "workload"),
    Sym("s", "S", "sequence length", "token", "", "workload"),
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
    Sym("I", "I", "arithmetic intensity of an operation", "FLOP/byte", "", "hardware"),
    # inference step model (sec_inference); the tensor-parallel degree n_t and the link bandwidth
    # beta_link are shared with training (below)
    Sym("n_ep", "n_{ep}", "expert-parallel degree: devices the routed experts are split over", "1", "", "inference"),
    Sym("alpha_link", r"\alpha_{link}", "latency of one message on the interconnect", "s", "", "inference"),
    # ------------------------------------------------------------------
    # training (sec_training): appended block, kept at the end of the table
    # ------------------------------------------------------------------
    Sym("T_tr", r"T_{train}", "tokens trained on (the whole run)", "token", "", "training"),
    Sym("rho_full", r"\rho_{full}", "full activation recomputation indicator (every block's forward runs twice)",
        "1", "", "training"),
    Sym("rho_sel", r"\rho_{sel}", "selective recomputation indicator (the attention core's forward runs twice)",
        "1", "", "training"),
    Sym("n_t", "n_t", "tensor-parallel degree", "1", "", "training"),
    Sym("n_p", "n_p", "pipeline-parallel degree (stages)", "1", "", "training"),
    Sym("n_d", "n_d", "data-parallel degree", "1", "", "training"),
    Sym("n_c", "n_c", "context-parallel degree (the sequence split across devices)", "1", "", "training"),
    Sym("n_dev", "n", "devices in the run", "1", "", "training"),
    Sym("m_mb", "m", "micro-batches per step and pipeline (gradient accumulation)", "1", "", "training"),
    Sym("sigma_sp", r"\sigma_{sp}", "sequence-parallel indicator (norm and dropout activations split by n_t)",
        "1", "", "training"),
    Sym("zeta_o", r"\zeta_{o}", "optimizer state sharded over n_d n_c (ZeRO stage 1 or more)", "1", "", "training"),
    Sym("zeta_g", r"\zeta_{g}", "gradients sharded over n_d n_c (ZeRO stage 2 or more)", "1", "", "training"),
    Sym("zeta_w", r"\zeta_{w}", "weights sharded over n_d n_c (ZeRO stage 3, FSDP)", "1", "", "training"),
    Sym("mfu", r"\mathrm{MFU}", "model FLOPs utilisation: model FLOP/s over the devices' peak", "1", "", "training"),
    Sym("beta_link", r"\beta_{link}", "interconnect bandwidth one device sends at (one direction)", "byte/s", "",
        "training"),
    Sym("omega", r"\omega", "overlap indicator (data- and context-parallel traffic hidden behind compute)",
        "1", "", "training"),
    Sym("t_comp", r"t_{comp}", "compute time of one step (all micro-batches, no bubble)", "s", "", "training"),
    Sym("tau_dev", r"\tau_{dev}", "device time of the run (devices x wall-clock)", "s", "", "training"),
    Sym("P_dev", r"P_{dev}", "power one device draws at full load (TDP)", "W", "", "training"),
    Sym("u_pow", "u", "average fraction of P_dev drawn during the run", "1", "", "training"),
    Sym("PUE", r"\mathrm{PUE}", "power usage effectiveness of the data centre", "1", "", "training"),
    Sym("c_grid", r"c_{grid}", "grid carbon intensity", "gCO2/kWh", "", "training"),
    Sym("c_dev", r"c_{dev}", "price of one device-hour", "USD/h", "", "training"),
    Sym("g_node", r"n_{node}", "devices per node: the NVLink (or similar) domain of one server or board", "1", "",
        "training"),
    Sym("beta_node", r"\beta_{node}", "scale-out (inter-node) bandwidth one device sends at (one direction)",
        "byte/s", "", "training"),
    Sym("N_ex", r"N_{ex}", "routed-expert parameters of the whole model (split over n_ep devices by expert "
        "parallelism)", "1", "", "training"),
    Sym("v_pp", "v", "virtual pipeline stages (model chunks) per device, interleaved 1F1B schedule", "1", "",
        "training"),
    # ------------------------------------------------------------------
    # fine-tuning and scaling laws (sec_finetune): appended block, kept at the end of the table
    # ------------------------------------------------------------------
    Sym("r_lora", "r", "LoRA rank: the inner width of an adapter B A added to a frozen matrix", "1", "", "finetune"),
    Sym("N_A", "N_A", "trainable adapter parameters (LoRA: r (d_in + d_out) per adapted matrix)", "1", "", "finetune"),
    Sym("b_base", "b_{base}", "bytes per frozen base parameter as stored (averaged over its tensors)", "byte", "",
        "finetune"),
    Sym("k_q", "k_q", "bits per quantised weight value (NF4: 4)", "bit", "", "finetune"),
    Sym("k_c1", "k_{c1}", "bits per first-level quantisation constant (one per block of G weights)", "bit", "",
        "finetune"),
    Sym("k_c2", "k_{c2}", "bits per second-level constant (one per G_2 first-level constants; 0 without double "
        "quantisation)", "bit", "", "finetune"),
    Sym("G_2", "G_2", "first-level constants that share one second-level constant (double quantisation)", "1", "",
        "finetune"),
    Sym("N_tch", "N_{tch}", "teacher parameters (distillation)", "1", "", "finetune"),
    Sym("N_cr", "N_{cr}", "critic (value model) parameters (PPO)", "1", "", "finetune"),
    Sym("N_rw", "N_{rw}", "reward model parameters (PPO)", "1", "", "finetune"),
    Sym("T_p", "T_p", "prompt tokens of one sample", "token", "", "finetune"),
    Sym("T_g", "T_g", "generated (response) tokens of one sample", "token", "", "finetune"),
    Sym("e_ppo", "e_{ppo}", "PPO epochs over each batch of samples", "1", "", "finetune"),
    Sym("N_upd", "N_{upd}", "parameters a federated client sends per round (N full, N_A with LoRA)", "1", "",
        "finetune"),
    Sym("b_upd", "b_{upd}", "bytes per parameter of a client's update", "byte", "", "finetune"),
    Sym("beta_up", r"\beta_{up}", "client uplink bandwidth", "byte/s", "", "finetune"),
    Sym("beta_dn", r"\beta_{dn}", "client downlink bandwidth", "byte/s", "", "finetune"),
    Sym("t_loc", "t_{loc}", "local compute time of one federated round on a client", "s", "", "finetune"),
    Sym("E_0", "E_0", "irreducible loss of the parametric scaling law (Hoffmann et al.'s E)", "nat/token", "",
        "finetune"),
    Sym("A_N", "A_N", "coefficient of the parameter term of the scaling law (Hoffmann et al.'s A)", "nat/token", "",
        "finetune"),
    Sym("B_T", "B_T", "coefficient of the data term of the scaling law (Hoffmann et al.'s B)", "nat/token", "",
        "finetune"),
    Sym("alpha_N", r"\alpha_N", "exponent of the parameter term (Hoffmann et al.'s alpha)", "1", "", "finetune"),
    Sym("beta_T", r"\beta_T", "exponent of the data term (Hoffmann et al.'s beta)", "1", "", "finetune"),
    Sym("ell", r"\ell", "loss: cross-entropy per token", "nat/token", "", "finetune"),
    Sym("C_tr", r"C_{train}", "training compute budget", "FLOP", "", "finetune"),
    Sym("T_inf", r"T_{inf}", "tokens served over the model's lifetime (prompt and generated)", "token", "",
        "finetune"),
    # ------------------------------------------------------------------
    # hybrid (sec_hybrid): appended block, kept at the end of the table
    # ------------------------------------------------------------------
    Sym("c_slm", "c_S", "cost of one request answered by the small model", "USD", "", "hybrid"),
    Sym("c_llm", "c_L", "cost of one request answered by the large model", "USD", "", "hybrid"),
    Sym("c_rt", "c_r", "cost of routing (or verifying) one request", "USD", "", "hybrid"),
    Sym("t_slm", "t_S", "latency of one request answered by the small model", "s", "", "hybrid"),
    Sym("t_llm", "t_L", "latency of one request answered by the large model", "s", "", "hybrid"),
    Sym("t_rt", "t_r", "latency of routing (or verifying) one request", "s", "", "hybrid"),
    Sym("eps_esc", r"\epsilon", "escalation rate: share of requests the large model answers", "1", "", "hybrid"),
    Sym("delta_sav", r"\Delta", "saving: fraction of the large model's cost a hybrid saves", "1", "", "hybrid"),
    Sym("kappa_esc", r"\kappa",
        "share of the small model's work already spent on a request that escalates (router 0, cascade 1)", "1", "",
        "hybrid"),
    Sym("F_fix", "F_0", "fixed cost of an option: pretraining or fine-tuning", "USD", "", "hybrid"),
    Sym("n_day", "N_{day}", "output tokens served per day", "token/day", "", "hybrid"),
    Sym("t_mo", "T_{mo}", "months of service", "month", "", "hybrid"),
    Sym("c_tok", "c_{tok}", "price of one output token at full utilisation (prompt included)", "USD/token", "",
        "hybrid"),
    Sym("U_srv", "U", "utilisation: average fraction of the deployment's capacity in use", "1", "", "hybrid"),
    Sym("p_min", "p_{min}", "price per hour paid whatever the volume (one replica; 0 for an API)", "USD/h", "",
        "hybrid"),
    Sym("p_in", "p_{in}", "API price of one input (prompt) token", "USD/token", "", "hybrid"),
    Sym("p_out", "p_{out}", "API price of one output token", "USD/token", "", "hybrid"),
    Sym("n_in", "n_{in}", "input (prompt) tokens per request", "token", "", "hybrid"),
    Sym("n_out", "n_{out}", "output tokens per request", "token", "", "hybrid"),
    # ------------------------------------------------------------------
    # cost per token (sec_cost) and speculative decoding (sec_speculative):
    # appended block, kept at the end of the table; in the "inference" group,
    # which the notation chapter lists (a group of their own would need a
    # section there). Tokens per request and the busy share of the hour are
    # the hybrid block's n_in, n_out and U.
    # ------------------------------------------------------------------
    Sym("t_pre", r"t_{pre}", "seconds to prefill the prompts of a running batch (once per request lifetime)", "s",
        "", "inference"),
    Sym("t_dec", r"t_{dec}", "seconds of one decode step of a batch (time per output token)", "s", "", "inference"),
    Sym("P_idle", r"P_{idle}", "power one device draws while the service is idle", "W", "", "inference"),
    Sym("r_io", r"r_{io}", "input tokens per output token of a blended price", "1", "", "inference"),
    Sym("alpha_acc", r"\alpha", "acceptance rate: probability the target accepts a drafted token", "1", "",
        "inference"),
    Sym("gamma_sd", r"\gamma", "draft tokens proposed per target step", "token", "", "inference"),
    Sym("t_draft", r"t_{draft}", "seconds of one decode step of the draft model", "s", "", "inference"),
    Sym("t_ver", r"t_{ver}", "seconds of the target's pass over the gamma + 1 tokens that verify a draft", "s", "",
        "inference"),
    Sym("c_sd", "c", "draft decode step time over target decode step time (Leviathan et al.'s c)", "1", "",
        "inference"),
    Sym("p_elec", r"p_{elec}", "price of electricity from the grid", "USD/kWh", "", "inference"),
    Sym("R_out", r"R_{out}", "output tokens per second of a serving group, all its running requests together",
        "token/s", "", "inference"),
)

#: name -> :class:`Sym`, read-only.
SYMBOLS: Mapping[str, Sym] = MappingProxyType({s.name: s for s in _TABLE})

# Two entries with one name or one letter would be two meanings for one symbol.
assert len(SYMBOLS) == len(_TABLE), "duplicate symbol name in the notation"
assert len({s.latex for s in _TABLE}) == len(_TABLE), "duplicate LaTeX letter in the notation"
assert all(s.group in GROUPS for s in _TABLE)

# Every symbol is nonnegative: sizes, counts and rates are never negative,
# and indicators are 0 or 1.
_SYMPY: dict[str, sp.Symbol] = {s.name: sp.Symbol(s.name, nonnegative=True, real=True) for s in _TABLE}
_LATEX_NAMES: dict[sp.Symbol, str] = {_SYMPY[s.name]: s.latex for s in _TABLE}


class _Namespace:
    """``S.d``, ``S.L``...: attribute access to the sympy symbols."""

    __slots__ = ()

    def __getattr__(self, name: str) -> sp.Symbol:
        try:
            return _SYMPY[name]
        except KeyError:
            raise AttributeError(f"no symbol named {name!r} in costmodel.symbols") from None

    def __setattr__(self, name, value):
        raise AttributeError("costmodel.symbols.S is read-only")

    def __dir__(self):
        return list(_SYMPY)


S = _Namespace()


def latex(expr, **options) -> str:
    """LaTeX of a sympy expression in the book's notation (``n_kv`` -> ``K``).

    Every formula the book displays goes through this one helper, since the
    sympy symbols are named by their Python names. ``options`` go to
    :func:`sympy.latex`. Defined in :ref:`sec_notation`.
    """
    return sp.latex(sp.sympify(expr), symbol_names=_LATEX_NAMES, **options)


def notation_table(group: str | None = None) -> pd.DataFrame:
    """The notation as a tidy table, one row per symbol, in the order of
    :data:`GROUPS`. Defined in :ref:`sec_notation`."""
    if group is not None and group not in GROUPS:
        raise ValueError(f"group={group!r} is not one of {GROUPS}")
    rows = [
        {
            "symbol": f"${s.latex}$",
            "name": s.name,
            "meaning": s.meaning,
            "unit": s.unit,
            "hf_config_key": s.hf_key,
            "architecture_attribute": s.attr,
            "group": s.group,
        }
        for g in GROUPS
        for s in _TABLE
        if s.group == g and (group is None or group == g)
    ]
    return pd.DataFrame(rows)
