"""Cells of data/hardware.csv checked against their cited sources (foundation review).

One test per corrected cell, the source named next to the assertion. Values are SI
(FLOP/s or OP/s, byte, byte/s, W); every source below was read in November 2026.
"""

import math
import re
from pathlib import Path

import pandas as pd
import pytest

import costmodel as cm
from costmodel import catalog


def hw(hardware_id):
    return cm.load_hardware(hardware_id)


# ----------------------------------------------------------------------
# The derived_columns column and its loader
# ----------------------------------------------------------------------
@pytest.fixture
def catalog_at(monkeypatch):
    """Point the loader at another CSV for one test, with the caches cleared around it."""
    def use(path):
        monkeypatch.setattr(catalog, "HARDWARE_CSV", path)
        catalog._hardware_frame.cache_clear()
        catalog._hardware_by_id.cache_clear()
    yield use
    monkeypatch.undo()
    catalog._hardware_frame.cache_clear()
    catalog._hardware_by_id.cache_clear()


def test_loader_reads_columns_by_name(tmp_path, catalog_at):
    # an extra column is ignored, and a catalog without derived_columns still loads
    df = pd.read_csv(catalog.HARDWARE_CSV, dtype=str, keep_default_na=False)
    path = tmp_path / "hardware.csv"
    df.drop(columns=["derived_columns"]).assign(extra="x").to_csv(path, index=False)
    catalog_at(path)
    h100 = cm.load_hardware("h100-sxm")
    assert h100.derived_columns == ()
    assert h100.memory_bandwidth_bytes_per_s == 3.35e12


def test_unknown_derived_column_is_an_error(tmp_path, catalog_at):
    df = pd.read_csv(catalog.HARDWARE_CSV, dtype=str, keep_default_na=False)
    df.loc[df["id"] == "h100-sxm", "derived_columns"] = "memory_bandwith"
    path = tmp_path / "hardware.csv"
    df.to_csv(path, index=False)
    catalog_at(path)
    with pytest.raises(ValueError, match="h100-sxm.*memory_bandwith"):
        cm.load_hardware("h100-sxm")


def test_derived_columns_name_filled_cells_explained_in_notes():
    df = cm.hardware_table().set_index("id")
    for hid in cm.list_hardware():
        h = hw(hid)
        for col in h.derived_columns:
            assert pd.notna(df.loc[hid, col]), (hid, col)  # a derived cell has a value
            assert col in h.notes, (hid, col)  # and its notes say how it was derived


# ----------------------------------------------------------------------
# B200: one spec revision, NVIDIA's current per-GPU HGX B200 table
# (https://www.nvidia.com/en-us/data-center/hgx/, HGX B200 column)
# ----------------------------------------------------------------------
def test_b200_fp64_current_hgx_table():
    # HGX B200 column: "FP64/FP64 Tensor Core 37 TFLOPS" (launch spec said 40)
    assert hw("b200").peaks_flop_per_s["fp64"] == 37e12


def test_b200_fp32_current_hgx_table():
    # HGX B200 column: "FP32 75 TFLOPS" (was empty; launch spec said 80)
    assert hw("b200").peaks_flop_per_s["fp32"] == 75e12


def test_b200_bandwidth_current_hgx_table():
    # HGX B200 column: "GPU Memory | Bandwidth 180GB HBM3E | 7.7TB/s" (launch spec said 8 TB/s)
    assert hw("b200").memory_bandwidth_bytes_per_s == 7.7e12


def test_b200_other_cells_same_revision():
    # same column: FP16/BF16 4.5 PF and FP4 18 PF with sparsity -> dense 2.25 and 9 PF; up to 1,000 W.
    # Capacity: the column's "180GB" is stored as the nvidia-smi total "183359MiB" of an "NVIDIA B200"
    # (github.com/NVIDIA/TensorRT-LLM/issues/10278), 179.06 GiB
    b200 = hw("b200")
    assert b200.memory_bytes == 183359 * 2**20
    assert b200.peaks_flop_per_s["bf16"] == 2.25e15
    assert b200.peaks_flop_per_s["fp4"] == 9e15
    assert b200.tdp_w == 1000


# ----------------------------------------------------------------------
# TPU v5p: Google's newest v5p page (https://docs.cloud.google.com/tpu/docs/v5p)
# ----------------------------------------------------------------------
def test_tpu_v5p_memory_is_95_gib():
    # "HBM capacity per chip (GiB) | 95" -> binary
    assert hw("tpu-v5p").memory_bytes == 95 * 2**30


def test_tpu_v5p_fp8_as_stated():
    # "Peak compute per chip (FP8) (TFLOPs) | 459"; the page states no INT8 figure, so none is entered
    v5p = hw("tpu-v5p")
    assert v5p.peaks_flop_per_s["fp8"] == 459e12
    assert not v5p.has_peak("int8")


# ----------------------------------------------------------------------
# H100 NVL: H100 NVL column of NVIDIA's H100 datasheet
# (https://resources.nvidia.com/en-us-tensor-core/nvidia-tensor-core-gpu-datasheet);
# tensor rows carry NVIDIA's asterisk "with sparsity", dense = half
# ----------------------------------------------------------------------
def test_h100_nvl_fp64():
    # "FP64 Tensor Core 60 teraFLOPS" (FP64 vector 30)
    assert hw("h100-nvl").peaks_flop_per_s["fp64"] == 60e12


def test_h100_nvl_fp32():
    # "FP32 60 teraFLOPS"
    assert hw("h100-nvl").peaks_flop_per_s["fp32"] == 60e12


def test_h100_nvl_tf32_dense():
    # "TF32 Tensor Core 835 teraFLOPS*" -> 835 / 2
    assert hw("h100-nvl").peaks_flop_per_s["tf32"] == 417.5e12


def test_h100_nvl_int8_dense():
    # "INT8 Tensor Core 3,341 TOPS*" -> 3,341 / 2
    assert hw("h100-nvl").peaks_flop_per_s["int8"] == 1670.5e12


# ----------------------------------------------------------------------
# H100 PCIe: NVIDIA H100 PCIe product brief PB-11133-001 (board cells) and the H100 PCIe
# column of NVIDIA's 2022 H100 datasheet (compute cells); the old datasheet URL now
# serves the SXM/NVL datasheet
# ----------------------------------------------------------------------
def test_h100_pcie_cites_its_product_brief():
    assert "PB-11133-001" in hw("h100-pcie").source
    assert "nvidia-tensor-core-gpu-datasheet" not in hw("h100-pcie").source


def test_h100_pcie_cells_match_product_brief():
    # brief: "maximum thermal design power (TDP) level of 350 W", "memory bandwidth greater than 2,000 GBps";
    # 2022 datasheet PCIe column: GPU memory "80 GB", bandwidth "2000 GB/sec"
    h = hw("h100-pcie")
    assert h.tdp_w == 350
    assert h.memory_bandwidth_bytes_per_s == 2.0e12
    assert h.memory_bytes == 80e9


def test_h100_pcie_cells_match_2022_datasheet_column():
    # PCIe column: FP64 Tensor Core 51, FP32 51, BFLOAT16 1,513*, FP8 3,026* (* with sparsity, dense = half)
    p = hw("h100-pcie").peaks_flop_per_s
    assert (p["fp64"], p["fp32"], p["bf16"], p["fp8"]) == (51e12, 51e12, 756.5e12, 1513e12)


# ----------------------------------------------------------------------
# Apple M2 Ultra: the 76-core-GPU configuration, every cell from Apple
# (newsroom 2023-06 and the Mac Pro page, https://www.apple.com/pl/mac-pro/)
# ----------------------------------------------------------------------
def test_m2_ultra_fp32_is_apples_76_core_figure():
    # Mac Pro page: the GPU "with up to 76 cores" reaches "up to 27.2 teraflops"
    m2u = hw("apple-m2-ultra")
    assert "76-core GPU" in m2u.name
    assert m2u.peaks_flop_per_s["fp32"] == 27.2e12


def test_m2_ultra_memory_cells_hold_for_that_configuration():
    # newsroom: "up to 192GB of memory capacity", "800GB/s of memory bandwidth"
    m2u = hw("apple-m2-ultra")
    assert (m2u.memory_bytes, m2u.memory_bandwidth_bytes_per_s) == (192e9, 800e9)


# ----------------------------------------------------------------------
# Jetson Orin Nano 8GB: the original module, NVIDIA Jetson Orin Nano Series Data Sheet
# DS-11105-001 v1.1 (the jetson-modules page it cited now shows the "Super" figures)
# ----------------------------------------------------------------------
def test_orin_nano_cites_the_original_module_datasheet():
    nano = hw("jetson-orin-nano-8gb")
    assert "DS-11105-001" in nano.source
    assert "not Super" in nano.name


def test_orin_nano_cells_are_the_original_not_super():
    # 8GB: up to 40 sparse / 20 dense INT8 TOPs; "theoretical peak memory bandwidth on Orin Nano 8GB is
    # 68 GB/s"; modes "7W | 15W" (Super: 67 sparse TOPS, 102 GB/s, 25 W)
    nano = hw("jetson-orin-nano-8gb")
    assert nano.peaks_flop_per_s["int8"] == 20e12
    assert nano.memory_bandwidth_bytes_per_s == 68e9
    assert nano.memory_bytes == 8e9
    assert nano.tdp_w == 15


# ----------------------------------------------------------------------
# Cells without a primary source, or derived by arithmetic, are marked in derived_columns
# ----------------------------------------------------------------------
@pytest.mark.parametrize(
    "hardware_id, column",
    [
        # bus width (4 x 16 bit) only in press/secondary sources; 4 x 2 B x 9,600 MT/s = 76.8 GB/s
        ("snapdragon-8-gen-3", "memory_bandwidth_bytes_per_s"),
        # 600 GB/s only from Baseten's "NVIDIA A10 vs A10G" post; NVIDIA publishes no A10G datasheet
        ("a10g", "memory_bandwidth_bytes_per_s"),
        # NVIDIA AGX Orin technical brief gives 170 sparse INT8 TOPS for the GPU; 85 = 170 / 2
        ("jetson-agx-orin-64gb", "peak_int8_op_per_s"),
        # 7 Infinity Fabric links x 128 GB/s, from secondary sources quoting AMD
        ("mi300x", "interconnect_bandwidth_bytes_per_s"),
        # AMD per-socket figures (6 TB, 460.8 GB/s, 360 W) x 2 sockets
        ("epyc-9654-2s", "memory_bytes"),
        ("epyc-9654-2s", "memory_bandwidth_bytes_per_s"),
        ("epyc-9654-2s", "tdp_w"),
        # 24 x 200 GbE x 2 directions / 8
        ("gaudi3", "interconnect_bandwidth_bytes_per_s"),
        # PCIe 4.0 x16 link rate, not stated by the cited NVIDIA sources
        ("rtx-4090", "interconnect_bandwidth_bytes_per_s"),
        # 400 Gb/s (200 for DGX A100) / 8 bits, one of the system's eight NICs per GPU
        ("h100-sxm", "internode_bandwidth_bytes_per_s"),
        ("h200-sxm", "internode_bandwidth_bytes_per_s"),
        ("b200", "internode_bandwidth_bytes_per_s"),
        ("a100-sxm-40gb", "internode_bandwidth_bytes_per_s"),
    ],
)
def test_derived_or_secondary_cells_are_marked(hardware_id, column):
    assert column in hw(hardware_id).derived_columns


def test_snapdragon_bandwidth_value_unchanged():
    # 4 channels x 16 bit x 9,600 MT/s (Qualcomm: LPDDR5X "up to 4,800 MHz")
    assert hw("snapdragon-8-gen-3").memory_bandwidth_bytes_per_s == 76.8e9


def test_a10g_bandwidth_value_unchanged():
    # Baseten: "24 gigabytes of GDDR6 VRAM with a memory bandwidth of 600 gigabytes per second"
    assert hw("a10g").memory_bandwidth_bytes_per_s == 600e9


def test_t4_has_no_bf16_peak_and_says_why():
    # T4 datasheet: FP16/FP32 mixed 65 TFLOPS, INT8 130, INT4 260 TOPS; Turing has no BF16 tensor math
    t4 = hw("t4")
    assert not t4.has_peak("bf16")
    assert "BF16" in t4.notes and "Ampere" in t4.notes


def test_retrieved_has_one_format():
    # every source in the catalog was read in November 2026; one ISO YYYY-MM format on every row
    retrieved = cm.hardware_table()["retrieved"]
    assert all(re.fullmatch(r"\d{4}-\d{2}", r) for r in retrieved), sorted(set(retrieved))
    assert set(retrieved) == {"2026-11"}


# ----------------------------------------------------------------------
# Capacities as the bytes a source states: the framebuffer total nvidia-smi reports (MiB x 2^20),
# read in public GitHub threads and files, instead of the marketing decimal GB. A usable reserve below
# the total is a parameter of the inference model, not a catalog value.
# ----------------------------------------------------------------------
@pytest.mark.parametrize(
    "hardware_id, mib",
    [
        # "NVIDIA H100 80GB HBM3 ... 700W | 0MiB / 81559MiB": github.com/wilicc/gpu-burn/issues/114,
        # github.com/NVIDIA/nccl/issues/1264; Modal lists "H100: 81559MiB" (github.com/modal-labs/modal-client/pull/2797)
        ("h100-sxm", 81559),
        # "NVIDIA H100 NVL ... 400W | 0MiB / 95830MiB": github.com/NVIDIA/gpu-admin-tools/issues/4
        ("h100-nvl", 95830),
        # "NVIDIA H200 ... 700W | 1MiB / 143771MiB", FB Memory Usage Total 143771 MiB:
        # github.com/thamada/gls gls/H200_smi.py @c0bed08
        ("h200-sxm", 143771),
        # "NVIDIA A100-SXM4-40GB ... 400W | 598MiB / 40960MiB": github.com/bottlerocket-os/bottlerocket-core-kit/pull/834
        ("a100-sxm-40gb", 40960),
        # "NVIDIA A100-SXM... 400W | 0MiB / 81920MiB": github.com/allenai/PeerRead/issues/40; Modal "A100 80GB: 81920MiB"
        ("a100-sxm-80gb", 81920),
        # "NVIDIA L40S, 595.71.05, 46068 MiB": github.com/akash-network/provider-configs/pull/99; Modal "L40S: 46068MiB"
        ("l40s", 46068),
        # "NVIDIA L4 ... 72W | 0MiB / 23034MiB": github.com/speaches-ai/speaches/pull/438; Modal "L4: 23034MiB"
        ("l4", 23034),
        # "NVIDIA A10G ... 21993MiB / 23028MiB": github.com/NVIDIA/TensorRT-LLM/issues/7818, NVIDIA/DCGM/issues/232
        ("a10g", 23028),
        # Modal "T4: 15360MiB (16.11 GB)": github.com/modal-labs/modal-client/pull/2797
        ("t4", 15360),
        # "NVIDIA B200 ... 1000W | 166593MiB / 183359MiB": github.com/NVIDIA/TensorRT-LLM/issues/10278
        ("b200", 183359),
        # "NVIDIA GH200 120GB ... 639MiB / 97871MiB" on JSC's JEDI: a revision of mccode-dev/Helmholtz2025 install/README.md
        ("gh200-120gb", 97871),
    ],
)
def test_capacity_is_the_nvidia_smi_total(hardware_id, mib):
    h = hw(hardware_id)
    assert h.memory_bytes == mib * 2**20
    assert "nvidia-smi" in h.notes and f"{mib:,} MiB" in h.notes  # the notes say where the bytes come from


@pytest.mark.parametrize("hardware_id", ["h100-pcie", "a100-pcie-80gb"])
def test_capacity_kept_decimal_where_no_nvidia_smi_source(hardware_id):
    # no citable nvidia-smi capture of the PCIe cards was found: the datasheet's 80 GB stays, and the notes say so
    h = hw(hardware_id)
    assert h.memory_bytes == 80e9
    assert "kept at the datasheet's decimal 80 GB" in h.notes


# ----------------------------------------------------------------------
# Devices the published inference measurements use (data/measurements/inference.csv)
# ----------------------------------------------------------------------
@pytest.mark.parametrize(
    "hardware_id, bandwidth, memory",
    [
        # M1: Apple states no figure; AnandTech: 128-bit LPDDR4X-4266 = 68.25 GB/s (secondary, marked below).
        # 8 GB: XiongjieDai README (M1, 7-core GPU, 8 GB); Apple MacBook Air (M1) specs: 8GB base
        ("apple-m1-7c-gpu", 68.25e9, 8e9),
        ("apple-m1-8c-gpu", 68.25e9, 8e9),
        # Apple newsroom 2021-10: "M1 Pro offers up to 200GB/s ... M1 Max delivers up to 400GB/s"
        ("apple-m1-pro-14c-gpu", 200e9, 16e9),
        ("apple-m1-pro-16c-gpu", 200e9, 16e9),
        ("apple-m1-max-24c-gpu", 400e9, 32e9),
        # 64 GB: the configuration XiongjieDai measured (M1 Max, 32-core GPU, 64 GB)
        ("apple-m1-max-32c-gpu", 400e9, 64e9),
        # Apple newsroom 2022-03: M1 Ultra 800GB/s; Mac Studio M1 Ultra base 64GB
        ("apple-m1-ultra-48c-gpu", 800e9, 64e9),
        ("apple-m1-ultra-64c-gpu", 800e9, 64e9),
        # Apple MacBook Pro (14-inch, 2023) tech specs: M2 Pro "200GB/s", 16GB; M2 Max "400GB/s", 32GB
        ("apple-m2-pro-16c-gpu", 200e9, 16e9),
        ("apple-m2-pro-19c-gpu", 200e9, 16e9),
        ("apple-m2-max-30c-gpu", 400e9, 32e9),
        ("apple-m2-max-38c-gpu", 400e9, 32e9),
        # Apple newsroom 2023-06: M2 Ultra 800GB/s; 64GB base
        ("apple-m2-ultra-60c-gpu", 800e9, 64e9),
        # M3 100GB/s, 8GB base (secondary, marked below)
        ("apple-m3-10c-gpu", 100e9, 8e9),
        # MacBook Pro (16-inch, Nov 2023) tech specs: M3 Pro "150GB/s", 18GB; M3 Max 14-core CPU / 30-core GPU
        # "(300GB/s memory bandwidth)", 36GB
        ("apple-m3-pro-14c-gpu", 150e9, 18e9),
        ("apple-m3-pro-18c-gpu", 150e9, 18e9),
        ("apple-m3-max-30c-gpu", 300e9, 36e9),
        # NVIDIA Jetson Thor page (quoted): 128 GB LPDDR5X, 273 GB/s
        ("jetson-agx-thor-devkit", 273e9, 128e9),
        # NVIDIA jetson-modules page / Super dev kit datasheet: 8 GB LPDDR5, 102 GB/s
        ("jetson-orin-nano-8gb-super", 102e9, 8e9),
        # NVIDIA DGX Spark: 128 GB LPDDR5x unified, 273 GB/s
        ("dgx-spark-gb10", 273e9, 128e9),
        # NVIDIA GH200 datasheet: 96GB HBM3 "Up to 4TB/s" (capacity: nvidia-smi total, tested above)
        ("gh200-120gb", 4e12, 97871 * 2**20),
        # RTX 3090 Ti: 24GB GDDR6X, 21 Gbps x 384 bit = 1,008 GB/s (secondary, marked below)
        ("rtx-3090-ti", 1008e9, 24e9),
        # RX 7900 XTX: 24 GB GDDR6, 960 GB/s (secondary, marked below)
        ("rx-7900-xtx", 960e9, 24e9),
    ],
)
def test_measured_devices_bandwidth_and_memory(hardware_id, bandwidth, memory):
    h = hw(hardware_id)
    assert h.memory_bandwidth_bytes_per_s == bandwidth
    assert h.memory_bytes == memory
    assert h.retrieved == "2026-11" and h.source


def test_apple_variants_publish_no_peaks():
    # Apple publishes no GPU FLOP/s for these bins (only the 76-core M2 Ultra has a figure, in apple-m2-ultra)
    for hid in cm.list_hardware():
        if hid.startswith("apple-") and hid.endswith("c-gpu"):
            h = hw(hid)
            assert not any(math.isfinite(v) for v in h.peaks_flop_per_s.values()), hid
            assert math.isnan(h.tdp_w), hid


def test_bins_are_separate_rows():
    # the M3 Max 30-core bin is 300 GB/s, the 40-core bin (apple-m3-max) 400 GB/s; the M2 Ultra 60-core bin has
    # no peak while apple-m2-ultra is the 76-core bin with Apple's 27.2 TFLOPS
    assert hw("apple-m3-max-30c-gpu").memory_bandwidth_bytes_per_s == 300e9
    assert hw("apple-m3-max").memory_bandwidth_bytes_per_s == 400e9
    assert not hw("apple-m2-ultra-60c-gpu").has_peak("fp32") and hw("apple-m2-ultra").has_peak("fp32")


def test_gh200_dense_peaks_from_datasheet():
    # GH200 datasheet: FP64 Tensor Core 67, FP32 67, TF32 989* | 494, BF16/FP16 1,979* | 990, FP8 3,958* | 1,979,
    # INT8 3,958* | 1,979 (* with sparsity; the dense figure after the bar is entered)
    p = hw("gh200-120gb").peaks_flop_per_s
    assert (p["fp64"], p["fp32"], p["tf32"], p["bf16"], p["fp16"], p["fp8"], p["int8"]) == (
        67e12, 67e12, 494e12, 990e12, 990e12, 1979e12, 1979e12)


def test_edge_peaks_are_sparse_over_two():
    # Jetson Thor: 2,070 FP4 TFLOPS sparse -> 1,035; DGX Spark: 1 PFLOP FP4 sparse -> 0.5; Orin Nano Super:
    # 67 INT8 TOPS sparse -> 33.5. Each is marked as derived by arithmetic.
    assert hw("jetson-agx-thor-devkit").peaks_flop_per_s["fp4"] == 1035e12
    assert hw("dgx-spark-gb10").peaks_flop_per_s["fp4"] == 500e12
    assert hw("jetson-orin-nano-8gb-super").peaks_flop_per_s["int8"] == 33.5e12
    assert hw("jetson-orin-nano-8gb-super").tdp_w == 25 and hw("jetson-agx-thor-devkit").tdp_w == 130


@pytest.mark.parametrize(
    "hardware_id, columns",
    [
        ("apple-m1-7c-gpu", {"memory_bandwidth_bytes_per_s"}),
        ("apple-m1-8c-gpu", {"memory_bandwidth_bytes_per_s"}),
        ("apple-m1-pro-14c-gpu", {"memory_bytes"}),
        ("apple-m1-pro-16c-gpu", {"memory_bytes"}),
        ("apple-m1-max-24c-gpu", {"memory_bytes"}),
        ("apple-m1-ultra-48c-gpu", {"memory_bytes"}),
        ("apple-m1-ultra-64c-gpu", {"memory_bytes"}),
        ("apple-m2-ultra-60c-gpu", {"memory_bytes"}),
        ("apple-m3-10c-gpu", {"memory_bytes", "memory_bandwidth_bytes_per_s"}),
        ("apple-m3-pro-14c-gpu", {"memory_bytes", "memory_bandwidth_bytes_per_s"}),
        ("jetson-agx-thor-devkit", {"peak_fp4_flop_per_s", "memory_bandwidth_bytes_per_s", "tdp_w"}),
        ("jetson-orin-nano-8gb-super", {"peak_int8_op_per_s"}),
        ("dgx-spark-gb10", {"peak_fp4_flop_per_s", "memory_bandwidth_bytes_per_s"}),
        ("rtx-3090-ti", {"memory_bytes", "memory_bandwidth_bytes_per_s", "tdp_w"}),
        ("rx-7900-xtx", {"memory_bytes", "memory_bandwidth_bytes_per_s", "tdp_w"}),
    ],
)
def test_new_devices_mark_secondary_and_derived_cells(hardware_id, columns):
    assert set(hw(hardware_id).derived_columns) == columns


def test_every_hardware_id_of_the_inference_measurements_is_in_the_catalog():
    # each device the published inference measurements name, unambiguously, is now a catalog row
    df = pd.read_csv(Path(__file__).resolve().parents[1] / "data" / "measurements" / "inference.csv", dtype=str,
                     keep_default_na=False)
    missing = sorted(set(df.loc[df["hardware_in_catalog"] == "false", "hardware"]) - {""})
    # left out: ambiguous between catalog rows (a100, h100, h100-80gb, jetson-orin-nano), or not a device the
    # catalog models (cerebras-cs-3)
    assert missing == ["a100", "cerebras-cs-3", "h100", "h100-80gb", "jetson-orin-nano"]


# ----------------------------------------------------------------------
# Nodes and the scale-out network (devices_per_node, internode_bandwidth_bytes_per_s), read November 2026
# ----------------------------------------------------------------------
@pytest.mark.parametrize(
    "hardware_id, per_node, bandwidth",
    [
        # NVIDIA DGX BasePOD reference architecture, "Core Components" (docs.nvidia.com/dgx-basepod/...):
        # DGX H100/H200 "Eight NVIDIA Hopper GPUs", "Four OSFP ports serving eight single-port NVIDIA ConnectX-7
        # VPI ... up to 400 Gb/s InfiniBand/Ethernet" -> one per GPU, 400 Gb/s / 8 = 50 GB/s each direction
        ("h100-sxm", 8, 50e9),
        ("h200-sxm", 8, 50e9),
        # same page, DGX B200: "Built with eight NVIDIA B200", "4x OSFP ports serving 8x single-port NVIDIA
        # ConnectX-7 VPI", "Up to 400Gb/s"; four of the ConnectX-7 OSFP serve the compute fabric
        ("b200", 8, 50e9),
        # NVIDIA developer blog "Defining AI Innovation with NVIDIA DGX A100" (2020, the 320 GB system of eight
        # A100 40GB): "eight single-port Mellanox ConnectX-6 200Gb/s HDR InfiniBand ports" -> 25 GB/s per GPU
        ("a100-sxm-40gb", 8, 25e9),
        # Intel Gaudi docs, Network Configuration: eight Gaudi 3 per HLS-3 box; "The scale-out bandwidth from
        # each Gaudi 3 is 3*200Gbps = 75 GB/s in each direction"; Gaudi 2: "3*100Gbps = 37.5 GB/s in each
        # direction", and habana.ai/products/networking "8x Gaudi2 per node (server)"
        ("gaudi3", 8, 75e9),
        ("gaudi2", 8, 37.5e9),
    ],
)
def test_node_and_scale_out_cells(hardware_id, per_node, bandwidth):
    h = hw(hardware_id)
    assert h.devices_per_node == per_node
    assert h.internode_bandwidth_bytes_per_s == bandwidth
    assert h.internode  # the reference system is named
    assert "devices_per_node" in h.notes and "internode_bandwidth_bytes_per_s" in h.notes


@pytest.mark.parametrize("hardware_id", ["tpu-v4", "tpu-v5p", "a100-sxm-80gb", "h100-pcie", "mi300x", "apple-m2",
                                         "jetson-agx-orin-64gb", "gh200-120gb"])
def test_no_scale_out_figure_is_empty_not_zero(hardware_id):
    h = hw(hardware_id)
    assert math.isnan(h.devices_per_node) and math.isnan(h.internode_bandwidth_bytes_per_s)


def test_every_row_has_both_node_cells_or_says_why_not():
    df = cm.hardware_table()
    for _, row in df.iterrows():
        filled = pd.notna(row["devices_per_node"]), pd.notna(row["internode_bandwidth_bytes_per_s"])
        assert filled[0] == filled[1], row["id"]  # a node size is only useful with its scale-out figure
        if filled[0]:
            assert isinstance(row["internode"], str) and row["internode"].strip(), row["id"]
        else:
            assert "internode_bandwidth_bytes_per_s are empty" in row["notes"], row["id"]
    tpus = df[df["category"] == "tpu"]
    assert tpus["notes"].str.contains("ICI").all() and tpus["notes"].str.contains("DCN").all()


def test_node_fields_are_validated():
    import dataclasses
    h100 = hw("h100-sxm")
    for bad in (2.5, 0, -8):
        with pytest.raises(ValueError, match="devices_per_node"):
            dataclasses.replace(h100, devices_per_node=bad)
    with pytest.raises(ValueError, match="internode_bandwidth_bytes_per_s"):
        dataclasses.replace(h100, internode_bandwidth_bytes_per_s=0.0)


def test_a_catalog_without_the_node_columns_still_loads(tmp_path, catalog_at):
    df = pd.read_csv(catalog.HARDWARE_CSV, dtype=str, keep_default_na=False)
    path = tmp_path / "hardware.csv"
    df["derived_columns"] = df["derived_columns"].str.replace(r";?internode_bandwidth_bytes_per_s", "", regex=True)
    df.drop(columns=["devices_per_node", "internode_bandwidth_bytes_per_s", "internode"]).to_csv(path, index=False)
    catalog_at(path)
    h100 = cm.load_hardware("h100-sxm")
    assert math.isnan(h100.devices_per_node) and h100.internode == ""
