"""Fit the efficiency profiles of data/efficiency.csv to the published measurements.

    .venv/bin/python scripts/fit_efficiency.py

For each engine with enough predictable rows (and a ``default`` profile over
all of them), fits eta_compute, eta_memory, layer_overhead_s,
link_latency_s, eta_link (where some row spans several devices) and
eta_expert (where some row is of a mixture-of-experts model) by least
squares on log(predicted / measured)
(costmodel.calibrate.fit_profile), then reports the error the way a user
meets it: leave one model out, fit on the rest, predict the held-out rows.
The file records the fitted values, the rows used and those cross-validated
errors; the book's validation chapter shows the residuals.
"""

from __future__ import annotations

import csv
import datetime
import sys
import warnings
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from costmodel import calibrate as C  # noqa: E402

MIN_ROWS = 10


def main() -> None:
    warnings.simplefilter("ignore")
    rows = C.predictable_measurements()
    out = []
    for engine in [*sorted(e for e, n in rows["engine"].value_counts().items() if n >= MIN_ROWS), "default"]:
        sub = rows if engine == "default" else rows[rows["engine"] == engine]
        prof = C.fit_profile(sub, engine)
        cv = C.cross_validate(sub, "model")
        err = np.abs(cv["ratio"] - 1)
        out.append({
            "engine": engine, "eta_compute": round(prof.eta_compute, 4), "eta_memory": round(prof.eta_memory, 4),
            "layer_overhead_s": f"{prof.layer_overhead_s:.4g}", "link_latency_s": f"{prof.link_latency_s:.4g}",
            "eta_link": "" if prof.eta_link is None else round(prof.eta_link, 4),
            "eta_expert": "" if prof.eta_expert is None else round(prof.eta_expert, 4),
            "n_rows": len(sub), "models": ";".join(sorted(sub["model"].unique())),
            "hardware": ";".join(sorted(sub["hw"].unique())),
            "cv_group": "model", "cv_median_abs_error": round(float(np.median(err)), 4),
            "cv_max_ratio": round(float(np.max(np.maximum(cv["ratio"], 1 / cv["ratio"]))), 3),
            "source": "fitted by scripts/fit_efficiency.py (costmodel.calibrate.fit_profile) to the rows of "
                      "data/measurements/inference.csv named in models and hardware",
            "retrieved": datetime.date.today().isoformat(),
        })
        print(engine, out[-1]["eta_compute"], out[-1]["eta_memory"], out[-1]["layer_overhead_s"],
              out[-1]["link_latency_s"], out[-1]["eta_link"], out[-1]["eta_expert"], "CV median", out[-1]["cv_median_abs_error"], "max",
              out[-1]["cv_max_ratio"])
    with open(C.EFFICIENCY_CSV, "w", newline="", encoding="utf-8") as f:
        w = csv.DictWriter(f, fieldnames=list(out[0]), lineterminator="\n")
        w.writeheader()
        w.writerows(out)


if __name__ == "__main__":
    main()
