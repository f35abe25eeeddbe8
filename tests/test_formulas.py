"""The sympy expressions: symbolic identities, and numeric == symbolic."""

import numpy as np
import pytest
import sympy as sp

import costmodel as cm
from costmodel import formulas as F
from costmodel.symbols import S, SYMBOLS, latex


def test_matmul_intensity_limit_is_batch_over_bytes():
    # (B x D) @ (D x F): 2BDF FLOP over b_w (BD + DF + BF) bytes. As D, F -> oo the
    # weight read dominates and the intensity tends to 2B / b_w: B FLOP/byte in bf16
    # (hand derivation: divide numerator and denominator by DF).
    lim = sp.limit(sp.limit(F.MATMUL_INTENSITY, S.f, sp.oo), S.d, sp.oo)
    assert sp.simplify(lim - 2 * S.B / S.b_w) == 0


def test_attention_over_matmul_flops_is_C_over_6D_for_gpt_blocks():
    # For a GPT block (K = H, H d_h = D, F = 4D, no gate) the block has 12 D^2 matmul
    # weights (Kaplan et al. 2020, Table 1: 2 n_layer d_model (3 d_attn + d_attn + 2 d_ff)
    # / 2); per token it spends 2 x 12 D^2 FLOP on them and 4 D C on Q K^T and A V
    # over C positions, so attention / matmul = 4DC / (24 D^2) = C / (6D).
    D, C = S.d, S.C
    block_mm = (F.ATTN_MATMUL_WEIGHTS + (2 + S.g) * S.d * S.f).subs(
        {S.n_kv: S.n_h, S.g: 0, S.f: 4 * S.d}).subs({S.d_h: S.d / S.n_h})
    assert sp.simplify(block_mm - 12 * D**2) == 0
    attn = 4 * (S.n_h * S.d_h) * C
    ratio = sp.simplify((attn / (2 * block_mm)).subs({S.d_h: S.d / S.n_h}))
    assert sp.simplify(ratio - C / (6 * D)) == 0


def test_korthikanti_equation_1_is_a_special_case():
    # Korthikanti et al. 2022 (arXiv:2205.05198), eq. (1): activations per layer
    # s b h (34 + 5 a s / h) bytes with 16-bit activations and dropout, no flash attention.
    expr = F.ACTIVATION_BYTES_PER_BLOCK.subs(
        {S.n_kv: S.n_h, S.g: 0, S.f: 4 * S.d, S.b_a: 2, S.p_drop: 1, S.phi_fa: 0}
    ).subs({S.d_h: S.d / S.n_h, S.d_v: S.d / S.n_h})
    paper = S.s * S.B * S.d * (34 + 5 * S.n_h * S.s / S.d)
    assert sp.simplify(expr - paper) == 0


def test_roofline_at_ridge_is_balanced():
    # At I = pi/beta the compute and memory times are equal.
    t_c = S.F_op / (S.pi * S.eta_c)
    t_m = S.M_op / (S.beta_mem * S.eta_m)
    m_at_ridge = sp.solve(sp.Eq(F.ARITHMETIC_INTENSITY, F.RIDGE_INTENSITY), S.M_op)[0]
    assert sp.simplify(t_c - t_m.subs(S.M_op, m_at_ridge)) == 0


def test_windowed_span_closed_form_matches_brute_force():
    fn = F.numeric(F.ATTN_SPAN_CAUSAL_WINDOWED)
    full = F.numeric(F.ATTN_SPAN_CAUSAL)
    for T in (1, 5, 100, 4097):
        for C0 in (0, 3, 4000, 9000):
            for W in (1, 64, 4096):
                brute = sum(min(C0 + i, W) for i in range(1, T + 1))
                assert fn(T=T, C_0=C0, W=W) == brute
            assert full(T=T, C_0=C0) == sum(C0 + i for i in range(1, T + 1))


EXPRESSIONS = [
    F.TOTAL_PARAMS, F.TOTAL_PARAMS_MLA, F.MATMUL_WEIGHTS, F.FORWARD_FLOPS, F.PREFILL_FLOPS,
    F.KV_CACHE_BYTES, F.WEIGHT_BYTES, F.ACTIVATION_BYTES_PER_BLOCK, F.ROOFLINE_TIME, F.EXPERTS_TOUCHED,
]


@pytest.mark.parametrize("expr", EXPRESSIONS, ids=lambda e: str(e)[:40])
def test_numeric_equals_symbolic(expr):
    rng = np.random.default_rng(0)
    fn = F.numeric(expr)
    for _ in range(20):
        vals = {a: float(rng.integers(1, 64)) for a in fn.args}
        for ind in ("g", "t", "beta_qkv", "beta_o", "beta_mlp", "beta_lm", "gamma_s", "p_drop", "phi_fa"):
            if ind in vals:
                vals[ind] = float(rng.integers(0, 2))
        if "k_e" in vals and "E" in vals:
            vals["k_e"] = min(vals["k_e"], vals["E"])
        subs = {getattr(S, a): sp.Rational(int(v)) for a, v in vals.items()}
        exact = float(expr.subs(subs))
        assert fn(**vals) == pytest.approx(exact, rel=1e-12)


def test_numeric_broadcasts_and_casts_to_float64():
    # int64 would overflow: 6 x 70e9 x 15e12 = 6.3e24 (CONTRIBUTING.md, conventions)
    fn = F.numeric(F.WEIGHT_BYTES)
    out = fn(N=np.array([70_000_000_000, 7_000_000_000], dtype=np.int64), b_w=np.int64(15_000_000_000_000), b_sc=0, G=1)
    assert out.dtype == np.float64 and out[0] == pytest.approx(70e9 * 15e12)
    assert np.shape(F.numeric(F.RIDGE_INTENSITY)(pi=np.ones(3), beta_mem=1.0, eta_c=1.0, eta_m=1.0)) == (3,)


def test_every_free_symbol_is_declared():
    # a stray sp.Symbol in a formula would be a letter with no meaning or unit
    for expr in EXPRESSIONS:
        for s in expr.free_symbols:
            assert s.name in SYMBOLS and s is SYMBOLS[s.name].symbol, s


def test_every_declared_symbol_is_used():
    # the notation lists no letter that no formula or binding uses
    used = set().union(*(e.free_symbols for e in vars(F).values() if isinstance(e, sp.Expr)))
    used = {s.name for s in used} | {"N_mm", "N"}  # counts are bound, not free in a formula of their own
    unused = sorted(set(SYMBOLS) - used)
    assert not unused, unused


def test_symbols_are_python_identifiers_and_render_as_the_book_writes_them():
    for name, sym in SYMBOLS.items():
        assert name.isidentifier() and sym.symbol.name == name
    assert sp.pycode(F.KV_CACHE_BYTES).count("{") == 0  # valid Python, no LaTeX braces
    assert latex(S.n_kv * S.d_h) in {"K d_h", "d_h K"}
    assert latex(S.F_op) == "F_{op}"


def test_activations_reduce_to_korthikanti_eq1():
    # Korthikanti et al. 2022, eq. (1): s b h (34 + 5 a s / h) bytes per layer for a GPT block
    # (K = H, d_h = d_v = D / H, F = 4 D, plain MLP, 16-bit, dropout, scores materialised)
    gpt = {S.n_kv: S.n_h, S.d_h: S.d / S.n_h, S.d_v: S.d / S.n_h, S.f: 4 * S.d, S.g: 0, S.b_a: 2, S.p_drop: 1,
           S.phi_fa: 0}
    reduced = F.ACTIVATION_BYTES_PER_BLOCK.subs(gpt)
    assert sp.simplify(reduced - (34 * S.s * S.B * S.d + 5 * S.n_h * S.s**2 * S.B)) == 0
