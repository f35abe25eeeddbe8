"""The hardware chapter's table and chart (costmodel.viz.hardware): every
label readable, none clipped, none on top of another."""

from __future__ import annotations

import pytest

import costmodel as cm
from costmodel.viz import hardware as hv


@pytest.fixture(scope="module")
def frame():
    return cm.ridge_table(dtype="bf16")


def _data(spec, layer):
    return spec["datasets"][layer["data"]["name"]]


def test_display_table_has_sources_as_links():
    table = hv.hardware_display_table()
    assert len(table) == len(cm.list_hardware())
    assert table["source"].str.contains(r"\]\(https?://").all()


def test_missing_peak_notes_say_why_t4_and_jetson_have_no_bf16():
    notes = hv.missing_peak_notes("bf16").set_index("hardware")
    missing = [h for h in cm.list_hardware() if not cm.load_hardware(h).has_peak("bf16")]
    assert sorted(notes.index) == sorted(missing)
    # the T4 (Turing) has no bf16 tensor math; Jetson modules are rated in int8 only
    assert "Turing has no BF16" in notes.loc["t4", "why"]
    for jetson in ("jetson-agx-orin-64gb", "jetson-orin-nano-8gb"):
        assert "Why only int8" in notes.loc[jetson, "why"]


def _boxes(spec, width, height):
    """Pixel boxes of the device labels, from the spec's own scales."""
    x_dom = spec["layer"][0]["encoding"]["x"]["scale"]["domain"]
    y_dom = spec["layer"][0]["encoding"]["y"]["scale"]["domain"]
    boxes = []
    for layer in spec["layer"]:
        mark = layer["mark"]
        if mark["type"] != "text" or layer["encoding"]["text"]["field"] != "hardware":
            continue
        for row in _data(spec, layer):
            px = float(hv._pixels(row["memory_bandwidth_bytes_per_s"], x_dom, width))
            py = float(hv._pixels(row["peak_flop_per_s"], y_dom, height, flip=True))
            boxes.append((row["hardware"], hv._box(px, py, row["hardware"], mark["align"])))
    return boxes


def _ridge_boxes(spec, width, height):
    x_dom = spec["layer"][0]["encoding"]["x"]["scale"]["domain"]
    y_dom = spec["layer"][0]["encoding"]["y"]["scale"]["domain"]
    layer = next(l for l in spec["layer"] if l["mark"]["type"] == "text" and l["encoding"]["text"]["field"] == "ridge")
    mark = layer["mark"]
    boxes = []
    for r in _data(spec, layer):
        px = float(hv._pixels(r["memory_bandwidth_bytes_per_s"], x_dom, width)) + mark["dx"]
        py = float(hv._pixels(r["peak_flop_per_s"], y_dom, height, flip=True)) + mark["dy"]
        boxes.append((r["ridge"], hv._box(px, py, r["ridge"], mark["align"])))
    return boxes


def test_device_labels_do_not_overlap_and_stay_inside(frame):
    width, height = 560, 380
    spec = hv.compute_bandwidth_chart(frame, "bf16", width=width, height=height).to_dict()
    boxes = _boxes(spec, width, height)
    assert sorted(name for name, _ in boxes) == sorted(frame["hardware"])
    ridges = _ridge_boxes(spec, width, height)
    for i, (a, box_a) in enumerate(boxes):
        assert box_a[0] >= 0 and box_a[2] <= width and box_a[1] >= 0 and box_a[3] <= height, a
        for b, box_b in boxes[i + 1:] + ridges:
            assert not hv._overlaps(box_a, box_b), f"labels {a} and {b} overlap"


def test_label_layout_separates_coincident_points():
    # three devices at (almost) the same place, as the A100s are
    layout = hv.label_layout([100, 102, 104], [100, 100, 100], ["a100-sxm-40gb", "a100-sxm-80gb", "a100-pcie-80gb"],
                             400, 300)
    boxes = [hv._box(100 + 2 * i + r.dx, 100 + r.dy, t, r.align)
             for i, (r, t) in enumerate(zip(layout.itertuples(), ["a100-sxm-40gb", "a100-sxm-80gb", "a100-pcie-80gb"]))]
    assert not any(hv._overlaps(boxes[i], boxes[j]) for i in range(3) for j in range(i + 1, 3))


def test_ridge_labels_are_inside_the_plot(frame):
    width, height = 560, 380
    spec = hv.compute_bandwidth_chart(frame, "bf16", width=width, height=height).to_dict()
    boxes = _ridge_boxes(spec, width, height)
    assert {name for name, _ in boxes} >= {"100 FLOP/B", "300 FLOP/B"}
    for name, (left, top, right, bottom) in boxes:
        assert left >= 0 and right <= width and top >= 0 and bottom <= height, name


def test_chart_fits_the_page(frame):
    spec = hv.compute_bandwidth_chart(frame, "bf16").to_dict()
    # the legend goes below the plot, so the chart is no wider than the text column
    assert spec["width"] <= 600
    legends = [l["encoding"]["color"].get("legend") for l in spec["layer"] if "color" in l.get("encoding", {})
               and "field" in l["encoding"]["color"]]
    assert legends and all(leg and leg["orient"] == "bottom" for leg in legends)
    for l in spec["layer"]:
        for axis in ("x", "y"):
            scale = l.get("encoding", {}).get(axis, {}).get("scale")
            if scale:
                assert scale["type"] == "log" and scale["nice"] is False
