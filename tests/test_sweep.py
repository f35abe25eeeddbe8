"""Sweeps: every row is the point API's answer, errors come before work, chunks
add up to the whole, and the queries solve small grids worked out by hand."""

from __future__ import annotations

import importlib
import math
import warnings

import numpy as np
import pandas as pd
import pytest

import costmodel as cm
# the module: the package's name `sweep` is the function it re-exports
SW = importlib.import_module("costmodel.sweep")

# A grid that crosses the model's branches: GQA (llama-3-8b), MoE (mixtral),
# MLA (deepseek-v2-lite), sliding windows (gemma-2-9b), a small model with 14
# heads (qwen2-0.5b); devices with and without room; checkpoint formats and
# KV dtypes; one and two devices; batches from 1 to one that never fits.
GRID = dict(
    models=["llama-3-8b", "mixtral-8x7b-v0.1", "deepseek-v2-lite", "gemma-2-9b", "qwen2-0.5b"],
    hardware=["h100-sxm", "l4", "a100-sxm-80gb"],
    batch=[1, 3, 32, 256, 100_000],
    prompt_tokens=[16, 1000, 6000],
    output_tokens=[1, 64, 777],
    weight_dtype=["bf16", "fp8", "int4"],
    kv_dtype=[None, "fp8"],
    n_devices=[1, 2],
)
PRICES = {"h100-sxm": 3.0, "a100-sxm-80gb": 1.8}  # the l4 has none: its cost is NaN


@pytest.fixture(scope="module")
def grid():
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # contexts beyond gemma-2's and llama-3's trained 8192
        g = dict(GRID)
        return cm.sweep(g.pop("models"), g.pop("hardware"), **g, price_per_device_hour_usd=PRICES)


def test_the_grid_is_the_cartesian_product_in_order(grid):
    assert len(grid) == math.prod(len(v) for v in GRID.values())
    assert list(grid.columns) == list(SW.COLUMNS)
    first = grid.iloc[: len(GRID["output_tokens"])]
    assert first["output_tokens"].tolist() == GRID["output_tokens"]
    assert (first["model"] == "llama-3-8b").all() and (first["hardware"] == "h100-sxm").all()
    assert set(grid["kv_dtype"]) == {"bf16", "fp8"}  # None resolves to the serving default, by name


def test_sampled_rows_equal_serving_point(grid):
    rng = np.random.default_rng(12)
    rows = grid.iloc[rng.choice(len(grid), size=300, replace=False)]
    assert rows["fits"].any() and not rows["fits"].all()  # both kinds of row are checked
    for _, r in rows.iterrows():
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            sp = cm.serving_point(r["model"], r["hardware"], r["prompt_tokens"], r["output_tokens"],
                                  batch=r["batch"], n_devices=int(r["n_devices"]), weight_dtype=r["weight_dtype"],
                                  kv_dtype=r["kv_dtype"]).iloc[0]  # the default resolved, by name
        assert r["fits"] == sp["fits"] and r["decode_bound"] == sp["decode_bound"]
        for mine, theirs in (("ttft_s", "ttft_s"), ("tpot_s", "tpot_s"), ("e2e_latency_s", "e2e_latency_s"),
                             ("memory_per_device_bytes", "total_bytes"), ("max_batch", "max_batch"),
                             ("output_tokens_per_s", "output_tokens_per_s"),
                             ("output_tokens_per_s_per_device", "output_tokens_per_s_per_device")):
            assert r[mine] == pytest.approx(sp[theirs], rel=1e-9, nan_ok=True), (mine, r.to_dict())
        price = PRICES.get(r["hardware"], math.nan)
        tdp = cm.load_hardware(r["hardware"]).tdp_w
        tps, n = sp["output_tokens_per_s"], sp["n_devices"]
        assert r["usd_per_1m_output_tokens"] == pytest.approx(price * n / 3600 / tps * 1e6, rel=1e-12, nan_ok=True)
        assert r["j_per_1m_output_tokens"] == pytest.approx(tdp * n / tps * 1e6, rel=1e-12, nan_ok=True)


def test_a_date_prices_each_device_at_its_cheapest_catalog_offer():
    df = cm.sweep("llama-3-8b", ["h100-sxm", "l4"], batch=[1, 32], prompt_tokens=512, output_tokens=128, date="2026")
    # data/prices/cloud.csv: Lambda's H100 SXM at $2.49 is the cheapest 2026 offer; the catalog has no L4 price
    h100, l4 = df[df["hardware"] == "h100-sxm"], df[df["hardware"] == "l4"]
    assert (h100["price_per_device_hour_usd"] == cm.cheapest_offer("h100-sxm", "2026").usd_per_device_hour).all()
    assert h100["usd_per_1m_output_tokens"].tolist() == pytest.approx(
        (2.49 / 3600 / h100["output_tokens_per_s"] * 1e6).tolist(), rel=1e-12)
    assert l4["price_per_device_hour_usd"].isna().all() and l4["usd_per_1m_output_tokens"].isna().all()
    with pytest.raises(ValueError, match=r"price_per_device_hour_usd=3.0 and date='2026': give prices or"):
        cm.sweep("llama-3-8b", "h100-sxm", batch=1, prompt_tokens=512, output_tokens=128, date="2026",
                 price_per_device_hour_usd=3.0)
    with pytest.raises(ValueError, match=r"date=2026 must be a date"):
        cm.sweep("llama-3-8b", "h100-sxm", batch=1, prompt_tokens=512, output_tokens=128, date=2026)


def test_rows_that_do_not_fit_have_nan_throughput_and_cost(grid):
    miss = grid[~grid["fits"]]
    assert len(miss) and (miss["batch"] == 100_000).any()
    for c in ("output_tokens_per_s", "output_tokens_per_s_per_device", "usd_per_1m_output_tokens",
              "j_per_1m_output_tokens"):
        assert miss[c].isna().all()
    hit = grid[grid["fits"] & (grid["hardware"] == "h100-sxm")]
    assert (hit["usd_per_1m_output_tokens"] > 0).all()
    assert grid.loc[grid["hardware"] == "l4", "usd_per_1m_output_tokens"].isna().all()  # no price given


def test_models_and_devices_as_objects_and_scalars():
    arch, hw = cm.load_model("qwen2-0.5b"), cm.load_hardware("l4")
    a = cm.sweep(arch, hw, batch=8, prompt_tokens=512, output_tokens=128, price_per_device_hour_usd=0.7,
                 power_w=60.0)
    b = cm.sweep(["qwen2-0.5b"], ["l4"], batch=[8], prompt_tokens=np.array([512]), output_tokens=[128],
                 price_per_device_hour_usd={"l4": 0.7}, power_w={"l4": 60.0})
    pd.testing.assert_frame_equal(a, b)
    assert len(a) == 1 and a["power_w"].item() == 60.0
    # 0.7 $/h and 60 W for the tokens of one second
    assert a["usd_per_1m_output_tokens"].item() == pytest.approx(0.7 / 3600 / a["output_tokens_per_s"].item() * 1e6)
    assert a["j_per_1m_output_tokens"].item() == pytest.approx(60.0 / a["output_tokens_per_s"].item() * 1e6)


# ----------------------------------------------------------------------
# Errors: the axis and the value, before any work
# ----------------------------------------------------------------------
BASE = dict(models=["llama-3-8b"], hardware=["h100-sxm"], batch=[1, 8], prompt_tokens=[128], output_tokens=[64])


@pytest.mark.parametrize("change, pattern", [
    ({"models": []}, r"models is empty"),
    ({"hardware": []}, r"hardware is empty"),
    ({"batch": []}, r"batch is empty"),
    ({"prompt_tokens": []}, r"prompt_tokens is empty"),
    ({"batch": [1, -2]}, r"batch=-2 must be at least 1"),
    ({"batch": [1.5]}, r"batch=1.5 must be a whole number"),
    ({"output_tokens": [0]}, r"output_tokens=0 must be at least 1"),
    ({"weight_dtype": ["bf16", "int3"]}, r"weight_dtype='int3' is not a known weight format"),
    ({"kv_dtype": ["fp7"]}, r"kv_dtype='fp7' is not a known dtype"),
    ({"models": ["llama-3-8b", "llama-9"]}, r"models\[1\]='llama-9'"),
    ({"hardware": ["h100-sxm", "h999"]}, r"hardware\[1\]='h999'"),
    ({"hardware": ["apple-m2"]}, r"hardware\[0\]='apple-m2' publishes no compute peak"),
    ({"n_devices": [1, 3]}, r"n_devices=3 for model 'llama-3-8b'.*num_attention_heads=32 does not divide"),
    ({"n_devices": [0]}, r"n_devices=0 must be at least 1"),
    ({"price_per_device_hour_usd": -1.0}, r"price_per_device_hour_usd=-1 must be at least 0"),
    ({"power_w": {"h100-sxm": "a lot"}}, r"power_w\['h100-sxm'\]='a lot' must be a number"),
    ({"efficiency": "tgi"}, r"efficiency='tgi' has no fitted profile"),
    ({"backend": "spark"}, r"backend='spark' must be 'numpy' or 'dask'"),
])
def test_bad_axes_raise_naming_the_axis_before_any_work(change, pattern, monkeypatch):
    def no_work(*args, **kwargs):
        raise AssertionError("evaluated before the error")

    monkeypatch.setattr(SW, "_evaluate", no_work)
    kw = {**BASE, **change}
    with pytest.raises(ValueError, match=pattern):
        cm.sweep(kw.pop("models"), kw.pop("hardware"), **kw)
    kw = {**BASE, **change}
    with pytest.raises(ValueError, match=pattern):  # the stream checks before its first chunk too
        cm.sweep_chunks(kw.pop("models"), kw.pop("hardware"), **kw)


def test_a_grid_over_the_limit_says_how_many_rows_and_how_to_chunk():
    kw = dict(BASE, batch=list(range(1, 11)), output_tokens=[16, 32, 64])
    assert cm.sweep_size(**kw) == 30
    with pytest.raises(ValueError, match=r"the grid has 30 rows .* more than max_rows=29 .*sweep_chunks\(\.\.\., "
                                         r"chunk_rows="):
        cm.sweep(kw.pop("models"), kw.pop("hardware"), **kw, max_rows=29)


def test_a_context_beyond_the_trained_one_warns_once_per_model():
    # the longest context: a 5000-token prompt and one output token, whose decode step writes position 5001
    with pytest.warns(UserWarning, match=r"llama-2-7b: context 5001 exceeds the trained context") as w:
        cm.sweep(["llama-2-7b"], ["h100-sxm", "a100-sxm-80gb"], batch=[1, 2], prompt_tokens=[100, 5000],
                 output_tokens=[1, 2])
    assert len([x for x in w if "exceeds the trained context" in str(x.message)]) == 1


# ----------------------------------------------------------------------
# Streaming and backends
# ----------------------------------------------------------------------
SMALL = dict(models=["qwen2-0.5b", "llama-3-8b"], hardware=["l4", "h100-sxm"], batch=[1, 4, 9, 4096],
             prompt_tokens=[64, 512, 3000], output_tokens=[8, 100, 1000, 2000, 4000], weight_dtype=["bf16", "int4"],
             n_devices=[1, 2], price_per_device_hour_usd=1.0)


@pytest.mark.parametrize("chunk_rows", [1, 3, 7, 17, 64, 1000])
def test_chunks_add_up_to_the_whole_sweep(chunk_rows, monkeypatch):
    whole = cm.sweep(**SMALL)
    # blocks no larger than a chunk: small chunks split the output axis, then the prompt, then the batch
    monkeypatch.setattr(SW, "_BLOCK_ROWS", 13)
    parts = list(cm.sweep_chunks(**SMALL, chunk_rows=chunk_rows))
    assert all(len(p) <= chunk_rows for p in parts)
    assert sum(len(p) for p in parts) == len(whole)
    pd.testing.assert_frame_equal(pd.concat(parts), whole, check_exact=True)


def test_progress_bar_counts_rows(capsys):
    pytest.importorskip("tqdm", reason="tqdm is optional (extra 'sweep'); the bar is skipped without it")
    list(cm.sweep_chunks(**SMALL, chunk_rows=100, progress=True))
    err = capsys.readouterr().err
    assert "sweep" in err and f"{cm.sweep_size(**{k: SMALL[k] for k in SMALL if k != 'price_per_device_hour_usd'})}" in err


def test_dask_backend_gives_the_numpy_results():
    pytest.importorskip("dask.array", reason="dask is optional (extra 'sweep'); backend='dask' needs it")
    a = cm.sweep(**SMALL)
    b = cm.sweep(**SMALL, backend="dask")
    pd.testing.assert_frame_equal(a, b, check_exact=True)


# ----------------------------------------------------------------------
# Queries, on grids solved by hand
# ----------------------------------------------------------------------
def _table(rows):
    cols = ["name", "fits", "ttft_s", "tpot_s", "output_tokens_per_s", "output_tokens", "n_devices",
            "price_per_device_hour_usd"]
    return pd.DataFrame(rows, columns=cols)


# Demand 10 requests/s, TTFT <= 1 s, TPOT <= 0.05 s, 100 output tokens per request:
#   x: 1000 tok/s = 10 req/s per replica -> 1 replica  x 1 device x $2.0 = $2.0/h
#   y: 4000 tok/s = 40 req/s             -> 1 replica  x 2 devices x $1.5 = $3.0/h
#   z:  300 tok/s =  3 req/s             -> 4 replicas x 1 device x $0.5 = $2.0/h (ties x; 4 devices to x's 1)
#   slow (TPOT 0.08), late (TTFT 2 s) and big (does not fit) are out whatever their price.
# Demand 35: x 4 replicas = $8, y 1 = $3, z 12 = $6 -> y.
HAND = _table([
    ("x", True, 0.2, 0.04, 1000.0, 100, 1, 2.0),
    ("y", True, 0.5, 0.05, 4000.0, 100, 2, 1.5),
    ("z", True, 0.9, 0.03, 300.0, 100, 1, 0.5),
    ("slow", True, 0.1, 0.08, 9000.0, 100, 1, 0.1),
    ("late", True, 2.0, 0.01, 9000.0, 100, 1, 0.1),
    ("big", False, 0.1, 0.01, math.nan, 100, 1, 0.1),
])


def test_cheapest_on_a_grid_solved_by_hand():
    best = cm.cheapest(HAND, [10.0, 35.0], ttft_slo_s=1.0, tpot_slo_s=0.05)
    assert best["name"].tolist() == ["x", "y"]
    assert best["usd_per_hour"].tolist() == [2.0, 3.0]
    assert best["replicas"].tolist() == [1.0, 1.0] and best["devices_total"].tolist() == [1.0, 2.0]
    assert best["demand_requests_per_s"].tolist() == [10.0, 35.0]
    # loosen TPOT and the cheap 'slow' row (9000 tok/s = 90 req/s at $0.1) wins both
    assert cm.cheapest(HAND, 35.0, 1.0, 0.1)["name"].item() == "slow"
    with pytest.raises(ValueError, match=r"no configuration meets ttft_slo_s=0.05 and tpot_slo_s=0.05: the fastest "
                                         r"that fit have TTFT 0.1 s"):
        cm.cheapest(HAND, 1.0, 0.05, 0.05)
    with pytest.raises(ValueError, match=r"demand_requests_per_s=0 must be positive"):
        cm.cheapest(HAND, 0.0, 1.0, 0.05)


def test_feasible_filters_and_counts_replicas():
    ok = cm.feasible(HAND, ttft_s=1.0, tpot_s=0.05)
    assert ok["name"].tolist() == ["x", "y", "z"]
    served = cm.feasible(HAND, ttft_s=1.0, tpot_s=0.05, demand_requests_per_s=10.0, max_devices=2)
    assert served["name"].tolist() == ["x", "y"] and served["replicas"].tolist() == [1.0, 1.0]
    assert cm.feasible(HAND)["name"].tolist() == ["x", "y", "z", "slow", "late"]  # all that fit
    with pytest.raises(ValueError, match="max_devices needs demand_requests_per_s"):
        cm.feasible(HAND, max_devices=2)


# cost, latency, quality of seven configurations:
#   a (1, 5)  b (2, 3)  c (3, 3) dominated by b  d (2, 4) dominated by b
#   e (4, 1)  f (1, 6) dominated by a  g (4, 1) equal to e: both stay
#   h (5, 2) is dominated by e on cost and latency but has the best quality
POINTS = pd.DataFrame({
    "name": list("abcdefgh"),
    "usd_per_1m_output_tokens": [1, 2, 3, 2, 4, 1, 4, 5.0],
    "tpot_s": [5, 3, 3, 4, 1, 6, 1, 2.0],
    "quality": [0.5, 0.5, 0.5, 0.5, 0.5, 0.5, 0.5, 0.9],
})


def test_pareto_front_on_points_solved_by_hand():
    front = cm.pareto_front(POINTS)
    assert front["name"].tolist() == ["a", "b", "e", "g"]
    three = cm.pareto_front(POINTS, quality="quality")
    assert sorted(three["name"]) == ["a", "b", "e", "g", "h"]
    # with a NaN cost (no price, or does not fit) a row is left out
    assert "a" not in cm.pareto_front(POINTS.assign(usd_per_1m_output_tokens=[np.nan] + [2, 3, 2, 4, 1, 4, 5.0]))[
        "name"].tolist()


def _dominated(c, lat, q, i):
    better = (c <= c[i]) & (lat <= lat[i]) & (q >= q[i]) & ((c < c[i]) | (lat < lat[i]) | (q > q[i]))
    return bool(better.any())


@pytest.mark.parametrize("quality", [None, "quality"])
def test_pareto_front_of_a_sweep_is_the_set_of_undominated_rows(grid, quality):
    df = grid[grid["hardware"] == "h100-sxm"]
    df = df.assign(quality=df["model"].map({"llama-3-8b": 0.66, "mixtral-8x7b-v0.1": 0.70, "deepseek-v2-lite": 0.58,
                                            "gemma-2-9b": 0.72, "qwen2-0.5b": 0.45}).astype(float))
    front = cm.pareto_front(df, quality=quality)
    d = df.dropna(subset=["usd_per_1m_output_tokens", "tpot_s"])
    c, lat = d["usd_per_1m_output_tokens"].to_numpy(), d["tpot_s"].to_numpy()
    q = d["quality"].to_numpy() if quality else np.zeros(len(d))
    on = d.index.isin(front.index)
    assert 1 < on.sum() < len(d)
    assert all(not _dominated(c, lat, q, i) for i in np.flatnonzero(on))
    assert all(_dominated(c, lat, q, i) for i in np.flatnonzero(~on))
    assert front["usd_per_1m_output_tokens"].is_monotonic_increasing


@pytest.mark.parametrize("model, hw, n_in, n_out, ttft, tpot", [
    ("llama-3-8b", "h100-sxm", 1024, 256, 0.5, 0.03),
    ("mixtral-8x7b-v0.1", "h100-sxm", 512, 128, 2.0, 0.05),
    ("qwen2-0.5b", "l4", 2000, 500, None, 0.01),
    ("llama-3-8b", "l4", 1024, 256, 0.01, None),  # even one request misses TTFT: 0
])
def test_optimal_batch_is_the_point_apis_slo_batch(model, hw, n_in, n_out, ttft, tpot):
    sp = cm.serving_point(model, hw, n_in, n_out, ttft_slo_s=ttft, tpot_slo_s=tpot).iloc[0]
    b = cm.optimal_batch(model, hw, n_in, n_out, ttft_slo_s=ttft, tpot_slo_s=tpot)
    assert b == sp["slo_batch"]
    if b:  # the batch above misses a target or does not fit
        rows = cm.sweep(model, hw, batch=[b, b + 1], prompt_tokens=n_in, output_tokens=n_out)
        ok = cm.feasible(rows, ttft_s=ttft, tpot_s=tpot)
        assert ok["batch"].tolist() == [b]
