"""How fast do the lambdified formulas sweep configurations, and is it fast enough?

Measures, in one run,
(a) one vectorised call of ``costmodel.kv_cache_bytes`` and ``forward_flops``
    over numpy arrays of a million (context, batch) points, and
(b) the same quantities in a plain Python loop calling the scalar API,
checks that both give the same numbers, and prints the configurations per
second of each and their ratio next to the targets:

* vectorised: at least ``TARGET_VECTOR_CONFIGS_PER_S`` (a million
  configurations per second on 2 cores: the book sweeps grids of that size
  while a chapter executes);
* vectorised / loop: at least ``TARGET_RATIO`` (vectorising is the point of
  evaluating lambdified sympy with numpy; a smaller ratio means the array path
  lost its advantage, e.g. by falling back to a per-element loop).

Exits 1 when the two paths disagree, or when a target is missed (with
``--no-fail`` a missed target is only reported). A benchmark, not a test: the suite does not run it.

    .venv/bin/python benchmarks/sweep_throughput.py [--n-vector N] [--n-loop N] [--no-fail]
"""

from __future__ import annotations

import argparse
import os
import time

import numpy as np

import costmodel as cm

TARGET_VECTOR_CONFIGS_PER_S = 1e6
TARGET_RATIO = 100.0


def _best_of(fn, repeat: int = 3) -> float:
    best = float("inf")
    for _ in range(repeat):
        t0 = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - t0)
    return best


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--n-vector", type=int, default=1_000_000, help="configurations per vectorised call")
    parser.add_argument("--n-loop", type=int, default=2_000, help="configurations in the Python loop")
    parser.add_argument("--no-fail", action="store_true", help="report missed targets without failing")
    args = parser.parse_args()
    n_vector, n_loop = args.n_vector, min(args.n_loop, args.n_vector)

    arch = cm.load_model("mistral-7b-v0.1")
    rng = np.random.default_rng(0)
    ctx = rng.integers(1, 32_768, n_vector).astype(np.float64)
    batch = rng.integers(1, 256, n_vector).astype(np.float64)

    def vectorised():
        return cm.kv_cache_bytes(arch, ctx, "bf16", batch), cm.forward_flops(arch, 1, ctx)

    def loop():
        return [
            (cm.kv_cache_bytes(arch, int(ctx[i]), "bf16", int(batch[i])), cm.forward_flops(arch, 1, int(ctx[i])))
            for i in range(n_loop)
        ]

    kv, flops = vectorised()
    scalar = np.array(loop())
    agree = np.allclose(scalar[:, 0], kv[:n_loop], rtol=1e-12) and np.allclose(scalar[:, 1], flops[:n_loop], rtol=1e-12)

    vec_per_s = n_vector / _best_of(vectorised)
    loop_per_s = n_loop / _best_of(loop, repeat=1)
    ratio = vec_per_s / loop_per_s

    rows = [
        (f"vectorised numpy ({n_vector:,} configs)", vec_per_s, f">= {TARGET_VECTOR_CONFIGS_PER_S:,.0f}",
         vec_per_s >= TARGET_VECTOR_CONFIGS_PER_S),
        (f"python loop, scalar API ({n_loop:,})", loop_per_s, "-", True),
    ]
    print(f"{'method':<40}{'configs per s':>16}{'target':>16}  ok")
    for name, rate, target, hit in rows:
        print(f"{name:<40}{rate:>16,.0f}{target:>16}  {'yes' if hit else 'NO'}")
    ratio_ok = ratio >= TARGET_RATIO
    print(f"{'ratio vectorised / loop':<40}{ratio:>15,.0f}x{f'>= {TARGET_RATIO:,.0f}x':>16}  {'yes' if ratio_ok else 'NO'}")
    print(f"{'loop and vectorised results agree':<40}{str(agree):>16}{'True':>16}  {'yes' if agree else 'NO'}")
    print(f"(targets assume 2 cores; this machine has {os.cpu_count()})")
    fast = rows[0][3] and ratio_ok
    return 0 if agree and (fast or args.no_fail) else 1


if __name__ == "__main__":
    raise SystemExit(main())
