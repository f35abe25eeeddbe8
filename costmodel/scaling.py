"""Scaling laws: Chinchilla's parametric loss, compute-optimal and inference-aware model sizes.

The loss of a model of N parameters trained on T_train tokens is modelled as
Hoffmann et al.'s (2022) L(N, T) = E + A / N^alpha + B / T^beta
(:data:`costmodel.formulas.CHINCHILLA_LOSS`; the package writes E, A, B,
alpha, beta as E_0, A_N, B_T, alpha_N, beta_T, since E, B and beta already
name experts, the batch and the memory bandwidth). Three published fits are
kept side by side in :data:`SCALING_FITS`, each with its source:

* ``"hoffmann2022"``: Hoffmann et al.'s Approach 3 as printed in the body of
  the paper, E = 1.69, A = 406.4, B = 410.7, alpha = 0.34, beta = 0.28;
* ``"hoffmann2022_tex"``: the same with alpha = 0.3392 and beta = 0.2849,
  the unrounded exponents of the paper's TeX source (as Besiroglu et al.
  2024 quote them). Rounding the exponents moves the optimum a long way:
  Besiroglu et al. show it biases the predictions;
* ``"besiroglu2024"``: Besiroglu, Erdil, Barnett and You's (2024) refit to
  data reconstructed from Hoffmann et al.'s plots, E = 1.8172, A = 482.01,
  B = 2085.43, alpha = 0.3478, beta = 0.3658, which they find consistent
  with Hoffmann et al.'s Approaches 1 and 2.

:func:`compute_optimal` gives the N and T_train that minimise the loss for a
training budget C = 6 N T (Hoffmann et al.'s equation 4, in closed form);
:func:`inference_optimal` the N and T_train that reach a target loss with the
fewest lifetime FLOPs, 6 N T_train + 2 N T_inf, for T_inf tokens served
(Sardana et al. 2023), found numerically with scipy. Every numeric argument
takes numpy arrays. Defined in :ref:`sec_finetune`.

    >>> import costmodel as cm
    >>> opt = cm.compute_optimal(5.88e23, fit="besiroglu2024")   # Chinchilla's budget: 6 x 70e9 x 1.4e12
    >>> round(float(opt["tokens_per_param"].iloc[0]))
    18
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from types import MappingProxyType
from typing import Any, Mapping

import numpy as np
import pandas as pd

from . import _validate as V
from . import formulas as F

__all__ = [
    "ScalingFit",
    "SCALING_FITS",
    "scaling_fit",
    "chinchilla_loss",
    "tokens_for_loss",
    "min_params_for_loss",
    "compute_optimal",
    "lifetime_flops",
    "inference_optimal",
]


@dataclass(frozen=True)
class ScalingFit:
    """One published fit of the parametric loss E + A / N^alpha + B / T^beta:
    its constants (``E`` in nats per token), the BibTeX key of its ``source``
    and a ``note`` on where the values are printed.
    Defined in :ref:`sec_finetune`."""

    name: str
    E: float
    A: float
    B: float
    alpha: float
    beta: float
    source: str
    note: str = ""

    def __post_init__(self):
        for k in ("E", "A", "B", "alpha", "beta"):
            v = getattr(self, k)
            if isinstance(v, bool) or not isinstance(v, (int, float)) or not (math.isfinite(v) and v > 0):
                raise ValueError(f"scaling fit {self.name!r}: {k}={v!r} must be a positive number")

    @property
    def symbols(self) -> dict[str, float]:
        """The fit's values by symbol name (E_0, A_N, B_T, alpha_N, beta_T)."""
        return {"E_0": self.E, "A_N": self.A, "B_T": self.B, "alpha_N": self.alpha, "beta_T": self.beta}

    @property
    def params_exponent(self) -> float:
        """a = beta / (alpha + beta): compute-optimal N grows as C^a (Hoffmann et al.'s table 2)."""
        return self.beta / (self.alpha + self.beta)

    @property
    def tokens_exponent(self) -> float:
        """b = alpha / (alpha + beta): compute-optimal T_train grows as C^b."""
        return self.alpha / (self.alpha + self.beta)


#: Published fits by name (read-only).
SCALING_FITS: Mapping[str, ScalingFit] = MappingProxyType({f.name: f for f in (
    ScalingFit("hoffmann2022", 1.69, 406.4, 410.7, 0.34, 0.28, "hoffmann2022training",
               "Approach 3 as printed in the body of the paper (section 3.3)"),
    ScalingFit("hoffmann2022_tex", 1.69, 406.4, 410.7, 0.3392, 0.2849, "hoffmann2022training",
               "E, A, B as printed; alpha and beta to four digits, from the paper's TeX source as quoted by "
               "Besiroglu et al. (2024)"),
    ScalingFit("besiroglu2024", 1.8172, 482.01, 2085.43, 0.3478, 0.3658, "besiroglu2024chinchilla",
               "refit of Approach 3 to data reconstructed from Hoffmann et al.'s plots"),
)})


def scaling_fit(fit: Any = "besiroglu2024") -> ScalingFit:
    """The :class:`ScalingFit` named ``fit`` (a key of :data:`SCALING_FITS`), or
    ``fit`` itself. Defined in :ref:`sec_finetune`."""
    if isinstance(fit, ScalingFit):
        return fit
    if isinstance(fit, str) and fit in SCALING_FITS:
        return SCALING_FITS[fit]
    raise ValueError(f"fit={fit!r} must be a ScalingFit or one of {tuple(SCALING_FITS)}")


def _positive(name: str, value: Any, maximum: float = 1e40) -> np.ndarray:
    a = V.size(name, value, maximum=maximum)
    if np.any(a <= 0):
        raise ValueError(f"{name}={a[a <= 0].flat[0]:g} must be positive")
    return a


def chinchilla_loss(n_params: Any, tokens: Any, fit: Any = "besiroglu2024"):
    """The loss (nats per token) the parametric law predicts for ``n_params``
    (N) parameters trained on ``tokens`` (T_train): E + A / N^alpha +
    B / T^beta. Broadcasts. Formula :data:`costmodel.formulas.CHINCHILLA_LOSS`.
    Defined in :ref:`sec_finetune`."""
    f = scaling_fit(fit)
    n, t = _positive("n_params", n_params), _positive("tokens", tokens)
    V.broadcast(n_params=n, tokens=t)
    return F.numeric(F.CHINCHILLA_LOSS)(N=n, T_tr=t, **f.symbols)


def min_params_for_loss(loss: Any, fit: Any = "besiroglu2024"):
    """The smallest model that reaches ``loss`` (ell) at all, with unlimited
    data: (A / (ell - E))^(1/alpha). A loss at or below E (the irreducible
    term) raises ``ValueError``: no model reaches it under the fit.
    Defined in :ref:`sec_finetune`."""
    f = scaling_fit(fit)
    ell = _loss(loss, f)
    return (f.A / (ell - f.E)) ** (1 / f.alpha)


def _loss(loss: Any, f: ScalingFit) -> np.ndarray:
    ell = _positive("loss", loss, maximum=1e3)
    if np.any(ell <= f.E):
        raise ValueError(f"loss={ell[ell <= f.E].flat[0]:g} is not above the irreducible loss E={f.E:g} of fit "
                         f"{f.name!r}: no model reaches it under the fit")
    return ell


def tokens_for_loss(n_params: Any, loss: Any, fit: Any = "besiroglu2024"):
    """Training tokens a model of ``n_params`` parameters needs to reach
    ``loss``: (B / (ell - E - A / N^alpha))^(1/beta). Raises ``ValueError``
    when the loss is out of reach of that model (ell <= E + A / N^alpha,
    :func:`min_params_for_loss` gives the smallest model that can). Formula
    :data:`costmodel.formulas.TOKENS_FOR_LOSS`. Defined in :ref:`sec_finetune`."""
    f = scaling_fit(fit)
    n = _positive("n_params", n_params)
    ell = _loss(loss, f)
    V.broadcast(n_params=n, loss=ell)
    floor = f.E + f.A / n**f.alpha
    bad = np.broadcast_to(ell <= floor, np.broadcast_shapes(n.shape, ell.shape))
    if np.any(bad):
        i = np.argwhere(bad)[0]
        nb, lb = np.broadcast_to(n, bad.shape)[tuple(i)], np.broadcast_to(ell, bad.shape)[tuple(i)]
        raise ValueError(f"loss={lb:g} is out of reach of n_params={nb:.4g} under fit {f.name!r}: even unlimited "
                         f"data gives {f.E + f.A / nb ** f.alpha:.4f}; at least "
                         f"{float(min_params_for_loss(lb, f)):.4g} parameters are needed")
    return F.numeric(F.TOKENS_FOR_LOSS)(N=n, ell=ell, **f.symbols)


def compute_optimal(flops: Any = None, *, n_params: Any = None, fit: Any = "besiroglu2024") -> pd.DataFrame:
    """The compute-optimal allocation under C = 6 N T_train (Hoffmann et al.
    2022, equation 4): give the training budget ``flops`` (C) or the model
    size ``n_params`` (then C is the budget at which that size is optimal).
    One row per input value: ``flops``, ``n_params``, ``tokens``,
    ``tokens_per_param`` and the predicted ``loss``. Formulas
    :data:`costmodel.formulas.CHINCHILLA_N_OPT`,
    :data:`~costmodel.formulas.CHINCHILLA_T_OPT` and
    :data:`~costmodel.formulas.CHINCHILLA_T_OPT_FOR_N`.
    Defined in :ref:`sec_finetune`.
    """
    f = scaling_fit(fit)
    if (flops is None) == (n_params is None):
        raise ValueError(f"give flops={flops!r} or n_params={n_params!r}, exactly one")
    if flops is not None:
        c = np.atleast_1d(_positive("flops", flops, maximum=1e40)).ravel()
        n = F.numeric(F.CHINCHILLA_N_OPT)(C_tr=c, **f.symbols)
        t = F.numeric(F.CHINCHILLA_T_OPT)(C_tr=c, **f.symbols)
    else:
        n = np.atleast_1d(_positive("n_params", n_params)).ravel()
        t = F.numeric(F.CHINCHILLA_T_OPT_FOR_N)(N=n, **f.symbols)
        c = F.numeric(F.TRAINING_FLOPS_6ND)(N=n, T_tr=t)
    n, t = np.broadcast_to(n, c.shape), np.broadcast_to(t, c.shape)
    return pd.DataFrame({"fit": f.name, "flops": c, "n_params": n, "tokens": t, "tokens_per_param": t / n,
                         "loss": F.numeric(F.CHINCHILLA_LOSS)(N=n, T_tr=t, **f.symbols)})


def lifetime_flops(n_params: Any, loss: Any, inference_tokens: Any, fit: Any = "besiroglu2024"):
    """Lifetime FLOPs of the model of ``n_params`` parameters trained just
    long enough to reach ``loss`` (:func:`tokens_for_loss`) that then serves
    ``inference_tokens``: 6 N T_train + 2 N T_inf (Sardana et al. 2023).
    Broadcasts; the curve :func:`inference_optimal` minimises. Formula
    :data:`costmodel.formulas.LIFETIME_FLOPS`. Defined in :ref:`sec_finetune`."""
    n = _positive("n_params", n_params)
    t_inf = V.size("inference_tokens", inference_tokens, maximum=1e20)
    t = tokens_for_loss(n, loss, fit)
    V.broadcast(tokens=t, inference_tokens=t_inf)
    return F.numeric(F.LIFETIME_FLOPS)(N=n, T_tr=t, T_inf=t_inf)


def _lifetime(log_n: float, ell: float, t_inf: float, f: ScalingFit) -> float:
    n = math.exp(log_n)
    t = float(F.numeric(F.TOKENS_FOR_LOSS)(N=n, ell=ell, **f.symbols))
    return float(F.numeric(F.LIFETIME_FLOPS)(N=n, T_tr=t, T_inf=t_inf))


def _argmin_lifetime(ell: float, t_inf: float, f: ScalingFit) -> float:
    """log N minimising 6 N T(N) + 2 N T_inf on the curve L(N, T) = ell.

    The lifetime FLOPs tend to infinity at the smallest model that reaches
    ell (it needs unlimited data) and grow linearly in N for large N, with one
    minimum between; Brent's method on log N, bracketed by 1e-12 above the
    smallest model and 1e9 times it, finds it to a relative 1e-10."""
    from scipy.optimize import minimize_scalar  # scipy is not a core dependency: imported where it is used

    lo = math.log(float(min_params_for_loss(ell, f))) + 1e-12
    res = minimize_scalar(_lifetime, bounds=(lo, lo + math.log(1e9)), args=(ell, t_inf, f), method="bounded",
                          options={"xatol": 1e-10, "maxiter": 500})
    if not res.success:  # pragma: no cover - the objective is smooth and bracketed
        raise ArithmeticError(f"no inference-aware optimum found for loss={ell:g}, inference_tokens={t_inf:g}")
    return float(res.x)


def inference_optimal(loss: Any, inference_tokens: Any, fit: Any = "besiroglu2024") -> pd.DataFrame:
    """The model that reaches ``loss`` (ell) with the fewest lifetime FLOPs
    when it will serve ``inference_tokens`` (T_inf, prompt and generated)
    tokens: it minimises 6 N T_train + 2 N T_inf on the curve
    L(N, T_train) = ell (Sardana et al. 2023), found with scipy's bounded
    Brent method on log N. With T_inf = 0 it is the Chinchilla-optimal model
    of that loss. One row per broadcast input: the optimum's ``n_params``,
    ``tokens``, ``tokens_per_param``, training, inference and total FLOPs,
    and, for comparison, the Chinchilla-optimal model of the same loss
    serving the same tokens (``chinchilla_n_params``, ``chinchilla_tokens``,
    ``chinchilla_total_flops``) with the FLOPs saved (``flops_saved``,
    ``flops_saved_fraction``). A loss no model reaches under the fit raises
    ``ValueError``. Formula :data:`costmodel.formulas.LIFETIME_FLOPS`.

    >>> import costmodel as cm
    >>> ell = float(cm.chinchilla_loss(13e9, cm.compute_optimal(n_params=13e9, fit="hoffmann2022_tex")["tokens"],
    ...                                fit="hoffmann2022_tex")[0])
    >>> row = cm.inference_optimal(ell, 2e12, fit="hoffmann2022_tex").iloc[0]   # Sardana et al., figure 1
    >>> round(row["n_params"] / 1e9), round(100 * row["flops_saved_fraction"])
    (7, 16)

    Defined in :ref:`sec_finetune`.
    """
    f = scaling_fit(fit)
    ell = _loss(loss, f)
    t_inf = V.size("inference_tokens", inference_tokens, maximum=1e20)
    shape = V.broadcast(loss=ell, inference_tokens=t_inf)
    ell_b, t_b = (np.broadcast_to(x, shape).ravel() for x in (ell, t_inf))
    rows = []
    for e, ti in zip(ell_b, t_b):
        n = math.exp(_argmin_lifetime(float(e), float(ti), f))
        n0 = math.exp(_argmin_lifetime(float(e), 0.0, f))
        rows.append((float(e), float(ti), n, n0))
    e, ti, n, n0 = (np.array(c, dtype=float) for c in zip(*rows))
    t = F.numeric(F.TOKENS_FOR_LOSS)(N=n, ell=e, **f.symbols)
    t0 = F.numeric(F.TOKENS_FOR_LOSS)(N=n0, ell=e, **f.symbols)
    train = F.numeric(F.TRAINING_FLOPS_6ND)(N=n, T_tr=t)
    total = F.numeric(F.LIFETIME_FLOPS)(N=n, T_tr=t, T_inf=ti)
    total0 = F.numeric(F.LIFETIME_FLOPS)(N=n0, T_tr=t0, T_inf=ti)
    return pd.DataFrame({
        "fit": f.name, "loss": e, "inference_tokens": ti, "n_params": n, "tokens": t, "tokens_per_param": t / n,
        "training_flops": train, "inference_flops": total - train, "total_flops": total,
        "chinchilla_n_params": n0, "chinchilla_tokens": t0, "chinchilla_total_flops": total0,
        "flops_saved": total0 - total, "flops_saved_fraction": (total0 - total) / total0,
    })
