"""How far is the inference step model from every published measurement it can predict?

For each row of ``costmodel.calibrate.usable_measurements()``, grouped by engine,
prints the measured value, the prediction of the engine's fitted efficiency
profile (``data/efficiency.csv``), the ideal bound, and the ratios of
predicted (or bound) over measured, as speeds (above 1: faster than measured).
It also refits the profile with each row's model left out
(``calibrate.cross_validate``, about a minute on 2 cores) and prints that
held-out ratio, the figure the book quotes (``sec_validation``). Rows the
model cannot predict are listed with the reason.

Targets (exit 1 when one is missed; ``--no-fail`` only reports):

* the ideal bound is never beaten: bound over measured speed >= 1 on every row;
* median held-out error per engine within the limits ``tests/test_inference.py``
  holds the model to today: ``MEDIAN_LIMIT`` (its goal is 10 %).

    .venv/bin/python benchmarks/inference_residuals.py [--engine NAME] [--no-cv] [--no-fail]
"""

from __future__ import annotations

import argparse

import numpy as np
import pandas as pd

from costmodel import calibrate
from costmodel.viz.inference import residuals_table

#: Median |held-out ratio - 1| per engine (tests/test_inference.py, test_cross_validated_error): just above
#: the cv_median_abs_error of data/efficiency.csv, llama.cpp 14.1 %, tensorrt-llm 15.5 % (18.9 % before
#: eta_expert).
MEDIAN_LIMIT = {"llama.cpp": 0.15, "tensorrt-llm": 0.16}


def _short(row_id: str, width: int = 78) -> str:
    return row_id if len(row_id) <= width else row_id[: width - 1] + "…"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--engine", help="only this engine's rows")
    parser.add_argument("--no-cv", action="store_true", help="skip the leave-one-model-out refits")
    parser.add_argument("--no-fail", action="store_true", help="report missed targets without failing")
    args = parser.parse_args()

    usable = calibrate.usable_measurements()
    if args.engine:
        usable = usable[usable["engine"] == args.engine]
        if usable.empty:
            parser.error(f"no usable measurements for engine {args.engine!r}")
    res = residuals_table(usable)
    ok = res[res["predictable"]]
    if not args.no_cv:
        rows = usable[usable["id"].isin(ok["id"])]
        cv = pd.concat([calibrate.cross_validate(rows[rows["engine"] == e], "model") for e in sorted(ok["engine"].unique())],
                       ignore_index=True)
        res = res.merge(cv[["id", "ratio"]].rename(columns={"ratio": "cv_ratio"}), on="id", how="left")
    else:
        res["cv_ratio"] = np.nan

    failures = []
    for engine, g in res.groupby("engine", sort=True):
        good = g[g["predictable"]]
        print(f"\n== {engine}: {len(good)} predictable of {len(g)} usable rows, profile {good['profile'].iloc[0]}")
        print(f"{'id':<79}{'metric':>31}{'measured':>11}{'predicted':>11}{'bound':>11}"
              f"{'ratio':>7}{'bound/m':>8}{'held out':>9}")
        for _, r in good.iterrows():
            print(f"{_short(r['id']):<79}{r['metric']:>31}{r['measured']:>11.4g}{r['predicted']:>11.4g}"
                  f"{r['bound']:>11.4g}{r['ratio']:>7.2f}{r['bound_ratio']:>8.2f}{r['cv_ratio']:>9.2f}")
        beaten = good[good["bound_ratio"] < 1]
        fitted_err = float(np.median(np.abs(good["ratio"] - 1)))
        line = f"median |ratio - 1|: fitted {fitted_err:.1%} (rows the fit saw)"
        if not args.no_cv:
            cv_err = float(np.median(np.abs(good["cv_ratio"] - 1)))
            worst = float(np.max(np.maximum(good["cv_ratio"], 1 / good["cv_ratio"])))
            limit = MEDIAN_LIMIT.get(engine)
            line += f", held out {cv_err:.1%} (target <= {limit:.0%})" if limit is not None else f", held out {cv_err:.1%}"
            line += f", worst held-out {worst:.2f}x"
            if limit is not None and cv_err > limit:
                failures.append(f"{engine}: held-out median error {cv_err:.1%} above {limit:.0%}")
        print(line)
        print(f"smallest bound / measured: {good['bound_ratio'].min():.3f} (target >= 1)")
        failures += [f"{engine}: ideal bound beaten by {r['id']}" for _, r in beaten.iterrows()]
        skipped = g[~g["predictable"]]
        if len(skipped):
            print(f"not predictable ({len(skipped)}):")
            for reason, s in skipped.groupby("reason"):
                print(f"  {len(s):3d} x {reason}")

    print()
    for f in failures:
        print("MISSED:", f)
    print("all targets met" if not failures else f"{len(failures)} target(s) missed")
    return 0 if not failures or args.no_fail else 1


if __name__ == "__main__":
    raise SystemExit(main())
