"""Scaling laws: the published fits, their compute-optimal allocations and the
inference-aware optimum, pinned to the figures of Hoffmann et al. (2022),
Besiroglu et al. (2024) and Sardana et al. (2023), each cited next to its assertion,
plus the identities that tie the closed forms to a numerical minimisation.
"""

from __future__ import annotations

import math

import numpy as np
import pytest
import sympy as sp
from scipy.optimize import minimize_scalar

import costmodel as cm
from costmodel import formulas as F
from costmodel.symbols import S

# Chinchilla: 70B parameters on 1.4T tokens (Hoffmann et al. 2022, section 4 and table 1),
# 20 tokens per parameter, at a budget of 6 N D FLOPs.
CHINCHILLA_N, CHINCHILLA_D = 70e9, 1.4e12
CHINCHILLA_BUDGET = 6 * CHINCHILLA_N * CHINCHILLA_D


def test_fits_are_the_published_constants():
    # Hoffmann et al. 2022, section 3.3 (Approach 3): E = 1.69, A = 406.4, B = 410.7, alpha = 0.34,
    # beta = 0.28; the TeX source's alpha = 0.3392, beta = 0.2849 (quoted by Besiroglu et al. 2024);
    # Besiroglu et al. 2024, their refit: E = 1.8172, A = 482.01, B = 2085.43, alpha = 0.3478, beta = 0.3658.
    h, t, b = (cm.SCALING_FITS[k] for k in ("hoffmann2022", "hoffmann2022_tex", "besiroglu2024"))
    assert (h.E, h.A, h.B, h.alpha, h.beta) == (1.69, 406.4, 410.7, 0.34, 0.28)
    assert (t.alpha, t.beta) == (0.3392, 0.2849)
    assert (b.E, b.A, b.B, b.alpha, b.beta) == (1.8172, 482.01, 2085.43, 0.3478, 0.3658)


def test_loss_is_the_parametric_form():
    # hand evaluation of E + A / N^alpha + B / D^beta with Besiroglu et al.'s constants
    n, d = 7e9, 2e12
    expected = 1.8172 + 482.01 / n**0.3478 + 2085.43 / d**0.3658
    assert cm.chinchilla_loss(n, d) == pytest.approx(expected, rel=1e-12)
    grid = cm.chinchilla_loss(np.array([[1e9], [1e10]]), np.array([1e11, 1e12, 1e13]), fit="hoffmann2022")
    assert grid.shape == (2, 3) and np.all(np.diff(grid, axis=0) < 0) and np.all(np.diff(grid, axis=1) < 0)


def test_hoffmann_table_2_approach_3_exponents():
    # Hoffmann et al. 2022, table 2, Approach 3: N_opt ~ C^a with a = 0.46, D_opt ~ C^b with b = 0.54,
    # which the unrounded (TeX) exponents give to the two printed digits; the rounded exponents of
    # the paper's body give 0.45: the rounding bias Besiroglu et al. (2024) point out.
    tex = cm.scaling_fit("hoffmann2022_tex")
    assert tex.params_exponent == pytest.approx(0.46, abs=0.005)
    assert tex.tokens_exponent == pytest.approx(0.54, abs=0.005)
    assert round(cm.scaling_fit("hoffmann2022").params_exponent, 2) == 0.45
    # and the optimum really grows as C^a: one decade of compute multiplies N by 10^a
    opt = cm.compute_optimal([1e22, 1e23], fit="hoffmann2022_tex")
    assert math.log10(opt["n_params"].iloc[1] / opt["n_params"].iloc[0]) == pytest.approx(tex.params_exponent,
                                                                                         rel=1e-12)


def test_replication_fit_gives_about_20_tokens_per_parameter_at_chinchillas_budget():
    # Chinchilla was trained compute-optimally at 20 tokens per parameter (70B, 1.4T tokens;
    # Hoffmann et al. 2022, section 4); Besiroglu et al. (2024, abstract) find their refit compatible
    # with the Approaches that chose it. Tolerance 10 %: the refit gives 18.4 at this budget.
    row = cm.compute_optimal(CHINCHILLA_BUDGET, fit="besiroglu2024").iloc[0]
    assert row["tokens_per_param"] == pytest.approx(20, rel=0.10)
    assert row["n_params"] == pytest.approx(CHINCHILLA_N, rel=0.10)
    assert 6 * row["n_params"] * row["tokens"] == pytest.approx(CHINCHILLA_BUDGET, rel=1e-12)


def test_closed_form_optimum_matches_a_numerical_minimisation():
    # Hoffmann et al.'s equation 4 against scipy: minimise L(N, C / 6N) over log N
    for name in cm.SCALING_FITS:
        fit = cm.scaling_fit(name)
        for c in (1e20, 5.88e23, 1e26):
            res = minimize_scalar(lambda x: float(cm.chinchilla_loss(math.exp(x), c / (6 * math.exp(x)), fit=fit)),
                                  bounds=(math.log(1e6), math.log(1e14)), method="bounded",
                                  options={"xatol": 1e-10})
            closed = cm.compute_optimal(c, fit=fit).iloc[0]
            assert closed["n_params"] == pytest.approx(math.exp(res.x), rel=1e-6), (name, c)


def test_closed_form_solves_the_first_order_condition_symbolically():
    # d/dN L(N, C / 6N) = 0 at N_opt, checked at a rational point of the constants
    n = S.N
    loss = F.CHINCHILLA_LOSS.subs(S.T_tr, S.C_tr / (6 * n))
    vals = {S.E_0: sp.Rational(169, 100), S.A_N: sp.Rational(4064, 10), S.B_T: sp.Rational(4107, 10),
            S.alpha_N: sp.Rational(34, 100), S.beta_T: sp.Rational(28, 100), S.C_tr: sp.Integer(10) ** 23}
    grad = sp.diff(loss, n).subs(vals).subs(n, F.CHINCHILLA_N_OPT.subs(vals))
    assert abs(float(sp.N(grad, 30))) < 1e-25


def test_model_size_form_of_the_frontier_agrees_with_the_budget_form():
    by_budget = cm.compute_optimal(np.array([1e21, 1e24]), fit="besiroglu2024")
    by_size = cm.compute_optimal(n_params=by_budget["n_params"].to_numpy(), fit="besiroglu2024")
    np.testing.assert_allclose(by_size["flops"], by_budget["flops"], rtol=1e-10)
    np.testing.assert_allclose(by_size["tokens"], by_budget["tokens"], rtol=1e-10)


def test_tokens_for_loss_inverts_the_loss():
    n = np.array([3e9, 7e9, 70e9])
    d = cm.tokens_for_loss(n, 2.2, fit="hoffmann2022")
    np.testing.assert_allclose(cm.chinchilla_loss(n, d, fit="hoffmann2022"), 2.2, rtol=1e-12)


def test_inference_optimal_without_serving_is_the_chinchilla_optimum():
    # minimising 6ND at a fixed loss and minimising the loss at a fixed 6ND give the same allocation
    opt = cm.compute_optimal(1e23, fit="besiroglu2024").iloc[0]
    inf = cm.inference_optimal(opt["loss"], 0.0, fit="besiroglu2024").iloc[0]
    assert inf["n_params"] == pytest.approx(opt["n_params"], rel=1e-6)
    assert inf["tokens"] == pytest.approx(opt["tokens"], rel=1e-5)
    assert inf["flops_saved"] == pytest.approx(0.0, abs=1e-6 * inf["total_flops"])


def test_sardana_figure_1_13b_to_7b():
    # Sardana et al. 2023, figure 1: a developer who would train a Chinchilla-optimal 13B model and
    # expects 2 trillion tokens of inference demand saves 1.7e22 FLOPs (17 %) by training a 7B model
    # on more data instead. With Hoffmann et al.'s constants at the TeX source's exponents we get
    # 7.1B and 1.63e22 (16.3 %): within 5 % of the published FLOPs and size, and one point of the
    # rounded percentage. (The paper's rounded exponents give 8.0B and 10 %: the figure is not
    # reproduced with them.)
    base = cm.compute_optimal(n_params=13e9, fit="hoffmann2022_tex").iloc[0]
    row = cm.inference_optimal(base["loss"], 2e12, fit="hoffmann2022_tex").iloc[0]
    assert row["chinchilla_n_params"] == pytest.approx(13e9, rel=1e-6)
    assert row["n_params"] == pytest.approx(7e9, rel=0.05)
    assert row["flops_saved"] == pytest.approx(1.7e22, rel=0.05)
    assert row["flops_saved_fraction"] == pytest.approx(0.17, abs=0.01)
    assert row["tokens_per_param"] > base["tokens_per_param"]  # smaller and longer than Chinchilla-optimal


def test_inference_optimum_shrinks_as_demand_grows_and_broadcasts():
    loss = cm.compute_optimal(1e23, fit="besiroglu2024")["loss"].iloc[0]
    rows = cm.inference_optimal(loss, np.array([0.0, 1e12, 1e13, 1e14]), fit="besiroglu2024")
    assert len(rows) == 4 and np.all(np.diff(rows["n_params"]) < 0) and np.all(np.diff(rows["tokens"]) > 0)
    np.testing.assert_allclose(cm.chinchilla_loss(rows["n_params"], rows["tokens"], fit="besiroglu2024"), loss,
                               rtol=1e-10)
    np.testing.assert_allclose(rows["total_flops"], rows["training_flops"] + 2 * rows["n_params"]
                               * rows["inference_tokens"], rtol=1e-12)


def test_lifetime_flops_formula_is_sardanas():
    # Sardana et al. 2023, section 2: training 6 N D_tr, inference 2 N D_inf
    assert sp.expand(F.LIFETIME_FLOPS - (6 * S.N * S.T_tr + 2 * S.N * S.T_inf)) == 0


@pytest.mark.parametrize("call, match", [
    (lambda: cm.inference_optimal(1.5, 1e12, fit="besiroglu2024"), r"loss=1\.5 is not above the irreducible"),
    (lambda: cm.min_params_for_loss(1.69, fit="hoffmann2022"), r"loss=1\.69"),
    (lambda: cm.tokens_for_loss(1e8, 2.0, fit="hoffmann2022"), r"loss=2 is out of reach of n_params=1e\+08"),
    (lambda: cm.compute_optimal(-1.0), r"flops=-1"),
    (lambda: cm.compute_optimal(), r"exactly one"),
    (lambda: cm.compute_optimal(1e23, n_params=7e9), r"exactly one"),
    (lambda: cm.chinchilla_loss(0.0, 1e12), r"n_params=0 must be positive"),
    (lambda: cm.compute_optimal(1e23, fit="kaplan"), r"fit='kaplan'"),
    (lambda: cm.inference_optimal(2.5, -1.0), r"inference_tokens=-1"),
])
def test_bad_input_names_the_value(call, match):
    with pytest.raises(ValueError, match=match):
        call()
