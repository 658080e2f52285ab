"""``mtl.draw`` of CNNs, recurrent models and transformer blocks: shapes, counts, frames."""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET

import numpy as np

import minitorchless as mtl

SVG = "{http://www.w3.org/2000/svg}"


def _texts(svg: str) -> list[str]:
    return [element.text or "" for element in ET.fromstring(svg).iter(f"{SVG}text")]


def test_a_cnn_shows_its_channels_kernels_and_feature_maps() -> None:
    rng = np.random.default_rng(0)
    model = mtl.Sequential(
        mtl.Conv2d(1, 4, 3, padding="same", rng=rng),
        mtl.BatchNorm2d(4),
        mtl.ReLU(),
        mtl.MaxPool2d(2),
        mtl.Conv2d(4, 6, (3, 1), stride=(2, 1), dilation=2, groups=2, bias=False, rng=rng),
        mtl.GlobalAvgPool2d(),
        mtl.Dense(6, 3, rng=rng),
    )
    drawing = mtl.draw(model, (1, 10, 10))
    assert drawing.boxes[1:3] == ["Conv2d · 40 params", "BatchNorm2d · 8 params"]
    assert "Conv2d · 36 params" in drawing.boxes  # 6 * (4 / 2) * 3 * 1 weights, no bias
    assert [label for _, _, label in drawing.edges] == [
        "(batch, 1, 10, 10)",
        "(batch, 4, 10, 10)",
        "(batch, 4, 10, 10)",
        "(batch, 4, 10, 10)",
        "(batch, 4, 5, 5)",
        "(batch, 6, 1, 5)",
        "(batch, 6)",
        "(batch, 3)",
    ]
    texts = _texts(drawing.svg)
    assert "1 -> 4 channels, 3 x 3, padding same" in texts
    assert "4 -> 6 channels, 3 x 1, stride 2 x 1, dilation 2, groups 2" in texts


def test_conv1d_and_a_recurrent_stack() -> None:
    rng = np.random.default_rng(1)
    model = mtl.Sequential(
        mtl.Conv1d(3, 5, 3, rng=rng),
        mtl.Reshape(7, 5),  # (N, 5, 7) read as 7 steps of 5 features
        mtl.LSTM(5, 4, num_layers=2, rng=rng),
        mtl.LastStep(),
    )
    drawing = mtl.draw(model, (3, 9))
    assert drawing.boxes[1] == "Conv1d · 50 params"
    lstm = 4 * 4 * (5 + 4 + 2) + 4 * 4 * (4 + 4 + 2)  # two layers of four gates
    assert drawing.boxes[3] == f"LSTM · {lstm:,} params"
    assert [label for _, _, label in drawing.edges][2:] == [
        "(batch, 7, 5)",
        "(batch, 7, 4)",
        "(batch, 4)",
    ]
    assert "3 -> 5 channels, 3" in _texts(drawing.svg)


def test_a_transformer_block_frames_its_two_residual_blocks() -> None:
    rng = np.random.default_rng(2)
    model = mtl.Sequential(
        mtl.PositionalEmbedding(8, 16, rng=rng), mtl.transformer_block(16, 4, 32, rng=rng)
    )
    drawing = mtl.draw(model, (8, 16))
    titles = [title for _, _, title in drawing.groups]
    assert titles == ["Residual 1.0", "Residual 1.1"]
    (a_first, a_last, _), (m_first, m_last, _) = drawing.groups
    assert drawing.boxes[a_first : a_last + 1] == [
        "LayerNorm · 32 params",
        "MultiheadAttention · 1,088 params",
        "+",
    ]
    assert drawing.boxes[m_first : m_last + 1] == [
        "LayerNorm · 32 params",
        "Dense · 544 params",
        "GELU",
        "Dense · 528 params",
        "+",
    ]
    # each sum takes the skip from before its block, and its block's output
    into = {
        target: sorted(source for source, t, _ in drawing.edges if t == target)
        for target in (a_last, m_last)
    }
    assert into == {a_last: [a_first - 1, a_last - 1], m_last: [a_last, m_last - 1]}
    root = ET.fromstring(drawing.svg)
    dashed = [rect for rect in root.iter(f"{SVG}rect") if rect.get("stroke-dasharray")]
    assert len(dashed) == 2
    assert {"Residual 1.0", "Residual 1.1"} <= set(_texts(drawing.svg))
    assert "16, num_heads=4, causal=True" in _texts(drawing.svg)


def test_a_frame_encloses_its_boxes_and_its_skip_edge() -> None:
    rng = np.random.default_rng(3)
    model = mtl.Residual(mtl.Sequential(mtl.Dense(4, 4, rng=rng), mtl.Tanh()))
    root = ET.fromstring(mtl.draw(model, 4).svg)
    frame = next(rect for rect in root.iter(f"{SVG}rect") if rect.get("stroke-dasharray"))
    left, width = float(frame.get("x", "")), float(frame.get("width", ""))
    boxes = [rect for rect in root.iter(f"{SVG}rect") if rect.get("rx") == "6"]
    inside = boxes[1:-1]  # not the input nor the output
    for box in inside:
        x = float(box.get("x", ""))
        assert left < x and x + float(box.get("width", "")) < left + width
    lanes = [
        float(number)
        for path in root.iter(f"{SVG}path")
        if path.get("marker-end")  # an edge, not the arrow head
        for number in re.findall(r"L ([\d.]+)", path.get("d") or "")
    ]
    assert lanes and all(left < x < left + width for x in lanes)
