"""``mtl.draw``: boxes for layers, shapes on edges, parameter counts, shared layers marked."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from pathlib import Path

import numpy as np
import pytest
from specimens import SPECIMENS, build

import minitorchless as mtl

SVG = "{http://www.w3.org/2000/svg}"


def _texts(svg: str) -> list[str]:
    return [element.text or "" for element in ET.fromstring(svg).iter(f"{SVG}text")]


def test_the_classic_network(rng: np.random.Generator) -> None:
    model = mtl.Sequential(
        mtl.Dense(4, 4, rng=rng), mtl.Sigmoid(), mtl.Dense(4, 3, rng=rng), mtl.Sigmoid()
    )
    drawing = mtl.draw(model, input_shape=(4,))
    assert drawing.boxes == [
        "input",
        "Dense · 16 params",
        "Sigmoid",
        "Dense · 12 params",
        "Sigmoid",
        "output",
    ]
    assert [label for _, _, label in drawing.edges] == [
        "(batch, 4)",
        "(batch, 4)",
        "(batch, 4)",
        "(batch, 3)",
        "(batch, 3)",
    ]
    texts = _texts(drawing.svg)
    assert "(batch, 3)" in texts and "in_features=4, out_features=3, bias=False" in texts
    assert drawing._repr_svg_() == str(drawing) == drawing.svg


def test_a_residual_block_draws_its_skip_connection(rng: np.random.Generator) -> None:
    model = mtl.Sequential(
        mtl.Dense(4, 8, rng=rng),
        mtl.Residual(mtl.Sequential(mtl.Dense(8, 8, rng=rng), mtl.Tanh())),
    )
    drawing = mtl.draw(model, 4)
    plus = drawing.boxes.index("+")
    into_plus = sorted(source for source, target, _ in drawing.edges if target == plus)
    assert [drawing.boxes[i] for i in into_plus] == ["Dense · 32 params", "Tanh"]


def test_graphs_name_their_nodes_and_mark_shared_layers(rng: np.random.Generator) -> None:
    shared = mtl.Dense(3, 3, rng=rng)
    graph = mtl.Graph(
        inputs=["a", "b"],
        nodes=[
            ("ha", mtl.Dense(2, 3, rng=rng), "a"),
            ("sa", shared, "ha"),
            ("sb", shared, "b"),
            ("s", mtl.Add(), ["sa", "sb"]),
        ],
        outputs="s",
    )
    drawing = mtl.draw(graph, [(2,), (3,)])
    assert drawing.boxes[:2] == ["a", "b"]
    assert "sa: Dense · 9 params · shared" in drawing.boxes
    assert "sb: Dense · 9 params · shared" in drawing.boxes
    assert "ha: Dense · 6 params" in drawing.boxes  # used once: not marked
    add = drawing.boxes.index("s: Add")
    assert sum(target == add for _, target, _ in drawing.edges) == 2


def test_unknown_input_shapes_are_drawn_as_far_as_they_are_known() -> None:
    drawing = mtl.draw(mtl.Sequential(mtl.Dense(5, 4), mtl.Tanh()))
    assert drawing.edges[-1][2] == "(*, 4)"


def test_a_shape_that_does_not_fit_is_refused_naming_the_layer() -> None:
    with pytest.raises(mtl.ShapeError, match="expects 5 features"):
        mtl.draw(mtl.Dense(5, 4), (3,))
    with pytest.raises(TypeError, match="must be a Layer"):
        mtl.draw("model")  # type: ignore[arg-type]


def test_an_inspector_overlays_its_statistics(rng: np.random.Generator) -> None:
    model = mtl.Sequential(mtl.Dense(3, 4, rng=rng), mtl.Sigmoid(), mtl.Dense(4, 1, rng=rng))
    X, y = rng.standard_normal((20, 3)), rng.standard_normal((20, 1))
    inspector = mtl.Inspector()
    mtl.fit(
        model,
        X,
        y,
        loss=mtl.MSELoss(),
        optimizer=mtl.SGD(model.parameters(), lr=0.1),
        epochs=2,
        callbacks=[inspector],
        verbose=0,
    )
    texts = _texts(mtl.draw(model, 3, inspector=inspector).svg)
    grad = inspector.layer_stats["0.weight/grad_norm"][-1]
    assert f"|g| {grad:.2g}" in texts
    assert any(text.startswith("saturated ") for text in texts)


@pytest.mark.parametrize("name", sorted(SPECIMENS))
def test_every_specimen_draws_valid_svg(name: str, tmp_path: Path) -> None:
    specimen = SPECIMENS[name]
    shapes = [shape for shape in specimen.inputs]
    drawing = mtl.draw(build(name), shapes if len(shapes) > 1 else shapes[0])
    root = ET.fromstring(drawing.svg)
    assert root.tag == f"{SVG}svg"
    assert len(drawing.boxes) >= 3  # inputs, at least one layer, the output
    drawing.save(tmp_path / "model.svg")
    assert (tmp_path / "model.svg").read_text() == drawing.svg
