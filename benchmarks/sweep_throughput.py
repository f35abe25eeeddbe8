"""How fast do the lambdified formulas sweep configurations?

Prints, side by side in one run, the time per configuration of
(a) one vectorised call of ``costmodel.kv_cache_bytes`` / ``forward_flops`` over
    numpy arrays of a million (context, batch) points, and
(b) the same quantities in a plain Python loop calling the scalar API,
and their ratio. The mission targets sweeps of millions of configurations per
second: (a) must be in that range.

    .venv/bin/python benchmarks/sweep_throughput.py
"""

from __future__ import annotations

import time

import numpy as np

import costmodel as cm


def _best_of(fn, repeat: int = 3) -> float:
    best = float("inf")
    for _ in range(repeat):
        t0 = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - t0)
    return best


def main(n_vector: int = 1_000_000, n_loop: int = 2_000) -> None:
    arch = cm.load_model("mistral-7b-v0.1")
    rng = np.random.default_rng(0)
    ctx = rng.integers(1, 32_768, n_vector).astype(np.float64)
    batch = rng.integers(1, 256, n_vector).astype(np.float64)

    def vectorised():
        cm.kv_cache_bytes(arch, ctx, "bf16", batch)
        cm.forward_flops(arch, 1, ctx)

    def loop():
        for i in range(n_loop):
            cm.kv_cache_bytes(arch, int(ctx[i]), "bf16", int(batch[i]))
            cm.forward_flops(arch, 1, int(ctx[i]))

    t_vec = _best_of(vectorised) / n_vector
    t_loop = _best_of(loop, repeat=1) / n_loop
    print(f"{'method':<28}{'s per config':>14}{'configs per s':>16}")
    print(f"{'vectorised numpy (1e6)':<28}{t_vec:>14.3e}{1 / t_vec:>16,.0f}")
    print(f"{'python loop, scalar API':<28}{t_loop:>14.3e}{1 / t_loop:>16,.0f}")
    print(f"ratio loop / vectorised: {t_loop / t_vec:,.0f}x")


if __name__ == "__main__":
    main()
