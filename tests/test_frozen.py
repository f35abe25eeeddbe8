"""What the package shares between callers cannot be changed by one of them.

The dtype table and the catalog are loaded once per process and handed to every
caller, so an edit by one notebook cell (``cm.DTYPES["int4"] = 0``) would
silently change every later result. Read-only objects refuse the edit with
``TypeError``; tables are returned as copies, so editing one changes nothing else.
"""

from __future__ import annotations

import copy
import dataclasses
import pickle

import pytest

import costmodel as cm
from costmodel.catalog import PEAK_COLUMNS
from costmodel.dtypes import canonical_dtype


def test_dtypes_is_read_only():
    with pytest.raises(TypeError):
        cm.DTYPES["int4"] = 0
    with pytest.raises(TypeError):
        del cm.DTYPES["bf16"]
    with pytest.raises(AttributeError):
        cm.DTYPES.update(int4=0)
    # the next caller still sees 0.5 byte per int4 weight
    assert cm.bytes_per_element("int4") == 0.5
    arch = cm.load_model("llama-2-7b")
    assert cm.weight_bytes(arch, "int4", n_params=arch.n_params) == pytest.approx(arch.n_params / 2)


def test_dtype_aliases_are_read_only():
    from costmodel import dtypes

    with pytest.raises(TypeError):
        dtypes._ALIASES["bfloat16"] = "fp32"
    assert canonical_dtype("bfloat16") == "bf16"


def test_peak_columns_are_read_only():
    with pytest.raises(TypeError):
        PEAK_COLUMNS["bf16"] = "peak_fp8_flop_per_s"


def test_loaded_hardware_peaks_are_read_only():
    h100 = cm.load_hardware("h100-sxm")
    bf16 = h100.peak_flops("bf16")
    with pytest.raises(TypeError):
        h100.peaks_flop_per_s["bf16"] = 1.0
    with pytest.raises(TypeError):
        del h100.peaks_flop_per_s["fp8"]
    with pytest.raises(dataclasses.FrozenInstanceError):
        h100.peaks_flop_per_s = {}
    again = cm.load_hardware("h100-sxm")
    assert again.peak_flops("bf16") == bf16 == 989.5e12
    assert again.has_peak("fp8")


def _device(**changes) -> cm.Hardware:
    fields = dict(
        id="toy", name="Toy", vendor="x", category="embedded",
        peaks_flop_per_s={"bf16": 1e12, "fp8": float("nan")},
        memory_bytes=8e9, memory_bandwidth_bytes_per_s=1e11, tdp_w=float("nan"),
    )
    fields.update(changes)
    return cm.Hardware(**fields)


def test_hardware_keeps_its_own_copy_of_the_peaks():
    peaks = {"bf16": 1e12}
    hw = _device(peaks_flop_per_s=peaks)
    peaks["bf16"] = 0.0
    peaks["int8"] = 5.0
    assert hw.peak_flops("bf16") == 1e12
    assert not hw.has_peak("int8")


def test_hardware_is_hashable_and_equal_by_value():
    # nan marks a missing figure; two devices with the same figures are equal
    # even though float("nan") != float("nan")
    a, b = _device(), _device()
    assert a == b and hash(a) == hash(b)
    assert len({a, b}) == 1
    assert a != _device(memory_bytes=16e9)
    assert a != _device(peaks_flop_per_s={"bf16": 2e12})
    h100 = cm.load_hardware("h100-sxm")
    for twin in (pickle.loads(pickle.dumps(h100)), copy.deepcopy(h100), dataclasses.replace(h100)):
        assert twin == h100 and hash(twin) == hash(h100)
        assert twin.peak_flops("bf16") == h100.peak_flops("bf16")
        with pytest.raises(TypeError):
            twin.peaks_flop_per_s["bf16"] = 0.0


def test_hardware_table_is_a_copy():
    first = cm.hardware_table()
    h100_row = first.index[first["id"] == "h100-sxm"][0]
    first.loc[h100_row, "peak_bf16_flop_per_s"] = 0.0
    first.loc[h100_row, "id"] = "edited"
    del first["source"]
    second = cm.hardware_table()
    assert "source" in second.columns
    assert second.loc[second["id"] == "h100-sxm", "peak_bf16_flop_per_s"].item() == 989.5e12
    assert cm.load_hardware("h100-sxm").peak_flops("bf16") == 989.5e12


def test_model_table_is_a_copy():
    first = cm.model_table()
    first.loc[0, "n_params"] = -1
    del first["published_n_params"]
    second = cm.model_table()
    assert "published_n_params" in second.columns
    assert (second["n_params"] > 0).all()


def test_lists_are_copies():
    models, devices = cm.list_models(), cm.list_hardware()
    models.clear()
    devices.append("edited")
    assert cm.list_models() and "edited" not in cm.list_hardware()
