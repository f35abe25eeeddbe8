"""The per-matmul records of :mod:`costmodel.formulas` sum to the closed forms.

The reference expressions below are the hand derivations the package used
before parameters became sums over records (one matrix D x H d_h for Q, two
D x K d_h for K and V, H d_h x D for the output...), written out term by term
so that a record with a wrong shape, bias or copy count fails here.
"""

from __future__ import annotations

import sympy as sp

from costmodel import formulas as F
from costmodel.symbols import S

d, L, n_h, n_kv, d_h, f, V, P, g, t = S.d, S.L, S.n_h, S.n_kv, S.d_h, S.f, S.V, S.P, S.g, S.t


def _same(a, b):
    assert sp.expand(a - b) == 0, sp.expand(a - b)


#: The per-block parameter vectors added for the 2026 families, switched off.
NO_VECTORS = {S.h_qn: 0, S.h_kn: 0, S.sigma: 0, S.beta_r: 0}


def test_gqa_attention_params_and_weights():
    gqa = (d * n_h * d_h + 2 * d * n_kv * d_h + n_h * d_h * d
           + S.beta_qkv * (n_h + 2 * n_kv) * d_h + S.beta_o * d)
    # without QK-norm or sinks, the attention of every family before 2026
    _same(F.ATTN_PARAMS.subs(NO_VECTORS), gqa)
    # QK-norm over h d_h query and h' d_h key channels, nu parameters per channel
    # (Qwen3, Gemma 3: h = h' = 1; OLMo 2: h = H, h' = K), one sink per query head (gpt-oss)
    h, h2 = sp.symbols("h h2", positive=True)
    _same(F.ATTN_PARAMS.subs({S.h_qn: h, S.h_kn: h2, S.sigma: 1}), gqa + S.nu * (h + h2) * d_h + n_h)
    _same(F.ATTN_PARAMS.subs({S.h_qn: 1, S.h_kn: 1, S.sigma: 0}), gqa + 2 * S.nu * d_h)
    # norms and sinks multiply nothing: no matmul weights, no FLOPs
    _same(F.ATTN_MATMUL_WEIGHTS, 2 * d * n_h * d_h + 2 * d * n_kv * d_h)


def test_mlp_params():
    w = sp.Symbol("w", positive=True)
    _same(F.mlp_params(w), (2 + g) * d * w + S.beta_mlp * ((1 + g) * w + d))


def test_moe_params_and_active_weights():
    expected = (S.E * ((2 + g) * d * S.f_e + S.beta_mlp * ((1 + g) * S.f_e + d))
                + d * S.E + (2 + g) * d * S.f_s + S.gamma_s * d)
    _same(F.MOE_PARAMS.subs(NO_VECTORS), expected)
    # a router with a bias of E (gpt-oss)
    _same(F.MOE_PARAMS, expected + S.beta_r * S.E)
    _same(F.MOE_MATMUL_WEIGHTS_ACTIVE, S.k_e * (2 + g) * d * S.f_e + d * S.E + (2 + g) * d * S.f_s + S.gamma_s * d)


def test_gpt_oss_expert_biases():
    # GptOssExperts: gate_up_proj_bias (E, 2 F_e) and down_proj_bias (E, D), router bias (E) (transformers
    # modular_gpt_oss.py); with beta_mlp = beta_r = 1, g = 1 and no shared expert:
    per_block = F.MOE_PARAMS.subs({S.beta_mlp: 1, S.beta_r: 1, g: 1, S.f_s: 0, S.gamma_s: 0})
    _same(per_block, S.E * (3 * d * S.f_e + 2 * S.f_e + d) + d * S.E + S.E)


def test_mla_params_both_query_paths():
    r = sp.Symbol("r", positive=True)
    kv = d * (S.r_kv + S.d_rope) + S.r_kv + S.r_kv * n_h * (S.d_nope + S.d_v) + n_h * S.d_v * d
    # query through a rank-r bottleneck with its RMSNorm (DeepSeek-V3: q_lora_rank 1536)
    _same(F.MLA_PARAMS.subs(S.r_q, r), d * r + r + r * n_h * (S.d_nope + S.d_rope) + kv)
    # full-rank query (DeepSeek-V2-Lite: q_lora_rank null)
    _same(F.MLA_PARAMS.subs(S.r_q, 0), d * n_h * (S.d_nope + S.d_rope) + kv)
    # the matmul weights are the parameters less the two norms
    _same(F.MLA_MATMUL_WEIGHTS.subs(S.r_q, r), (F.MLA_PARAMS - r - S.r_kv).subs(S.r_q, r))


def test_lm_head_and_matmul_weights():
    _same(F.LM_HEAD_PARAMS, (1 - t) * V * d + S.beta_lm * V)
    # a tied head is still a D x V matmul per token
    _same(F.MATMUL_WEIGHTS, L * (2 * d * n_h * d_h + 2 * d * n_kv * d_h) + (L - S.L_moe) * (2 + g) * d * f
          + S.L_moe * F.MOE_MATMUL_WEIGHTS_ACTIVE + V * d)


def test_forward_flops_of_records_are_twice_the_active_weights():
    # 2 FLOP per multiply-add (Kaplan et al. 2020, Table 1: C_forward = 2N)
    for rec in (*F.ATTENTION, *F.MLP, *F.MOE, F.LM_HEAD, *F.MLA):
        _same(rec.forward_flops_per_token, 2 * rec.active_weights)


def test_attention_width_is_h_dh_without_mla():
    _same(F.ATTENTION_WIDTH.subs(S.d_v, d_h), n_h * d_h)
