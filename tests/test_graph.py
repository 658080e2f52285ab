"""Graph, Residual, Parallel and the merge layers.

Random DAGs (hypothesis) pass the whole layer contract, gradients included;
shared layers and fan-out add their gradients; state dicts and configs round
trip; every wiring mistake is refused with a message naming the nodes; and
torch agrees on a residual and a two-branch network in float64.
"""

from __future__ import annotations

import copy
from pathlib import Path
from types import ModuleType
from typing import Any

import numpy as np
import pytest
from conftest import load_example
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import minitorchless as mtl
from minitorchless.errors import ShapeError
from minitorchless.testing import check_layer, gradcheck


# --------------------------------------------------------------- random DAGs
@st.composite
def dags(draw: st.DrawFn) -> tuple[mtl.Graph, Any]:
    """A random graph of Dense, Tanh, Sigmoid, Add and Concatenate nodes, and inputs for it.

    Nodes read from any earlier value, so values fan out; one Dense layer is
    used at two places or more; values read by no node become outputs, or
    are concatenated into a single one; the nodes are listed shuffled.
    """
    rng = np.random.default_rng(draw(st.integers(0, 2**32 - 1)))
    values = [(f"in{i}", draw(st.integers(1, 4))) for i in range(draw(st.integers(1, 2)))]
    inputs = dict(values)
    shared_width = draw(st.integers(1, 3))
    shared = mtl.Dense(shared_width, shared_width, bias=True, rng=rng)
    nodes: list[tuple[str, mtl.Layer, Any]] = []

    def add(layer: mtl.Layer, sources: Any, width: int) -> str:
        name = f"n{len(nodes)}"
        nodes.append((name, layer, sources))
        values.append((name, width))
        return name

    def use_shared(source: str, width: int) -> None:
        if width != shared_width:  # project to the shared layer's width first
            source = add(mtl.Dense(width, shared_width, rng=rng), source, shared_width)
        add(shared, source, shared_width)

    for _ in range(draw(st.integers(1, 7))):
        source, width = draw(st.sampled_from(values))
        kind = draw(st.sampled_from(["dense", "tanh", "sigmoid", "add", "concat", "shared"]))
        if kind == "dense":
            out = draw(st.integers(1, 4))
            add(mtl.Dense(width, out, bias=draw(st.booleans()), rng=rng), source, out)
        elif kind in ("tanh", "sigmoid"):
            add(mtl.Tanh() if kind == "tanh" else mtl.Sigmoid(), source, width)
        elif kind == "add":  # terms of the same width; may repeat one: Add(h, h) = 2h
            same = [name for name, w in values if w == width]
            others = draw(st.lists(st.sampled_from(same), min_size=1, max_size=2))
            add(mtl.Add(), [source, *others], width)
        elif kind == "concat":
            others = draw(st.lists(st.sampled_from(values), min_size=1, max_size=2))
            add(
                mtl.Concatenate(),
                [source, *(name for name, _ in others)],
                width + sum(w for _, w in others),
            )
        else:
            use_shared(source, width)
    while sum(layer is shared for _, layer, _ in nodes) < 2:
        use_shared(*draw(st.sampled_from(values)))

    read = {
        s for _, _, sources in nodes for s in ([sources] if isinstance(sources, str) else sources)
    }
    leaves = [name for name, _ in values if name not in read]
    if draw(st.booleans()) or len(leaves) == 1:
        outputs: Any = leaves
    else:
        nodes.append(("out", mtl.Concatenate(), leaves))
        outputs = "out"
    graph = mtl.Graph(inputs=inputs, nodes=draw(st.permutations(nodes)), outputs=outputs)
    batches = tuple(rng.standard_normal((3, width)) for width in inputs.values())
    return graph, batches if len(batches) > 1 else batches[0]


@pytest.mark.slow
@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(dags())
def test_random_dags_pass_the_layer_contract(case: tuple[mtl.Graph, Any]) -> None:
    graph, inputs = case
    report = check_layer(graph, inputs)
    assert sum(n for name, n in report.checked.items() if name.startswith("inputs")) > 0
    shared_weights = [name for name in report.checked if name.endswith(".weight")]
    assert shared_weights  # every DAG has at least the shared layer's weight
    _same_parameter_gradients(graph, inputs)


def _same_parameter_gradients(model: mtl.Layer, inputs: Any) -> None:
    """``backward_parameters`` adds exactly what ``backward`` adds into every ``.grad``."""
    full, partial = copy.deepcopy(model), copy.deepcopy(model)
    outputs = full(inputs)
    partial(inputs)
    grads = (
        tuple(np.ones_like(part) for part in outputs)
        if isinstance(outputs, tuple)
        else np.ones_like(outputs)
    )
    full.zero_grad()
    partial.zero_grad()
    full.backward(grads)
    partial.backward_parameters(grads)
    for (name, expected), (_, got) in zip(
        full.named_parameters(), partial.named_parameters(), strict=True
    ):
        np.testing.assert_allclose(got.grad, expected.grad, rtol=1e-12, atol=1e-15, err_msg=name)


def test_backward_parameters_matches_backward(rng: np.random.Generator) -> None:
    x = rng.standard_normal((4, 3))
    shared = mtl.Dense(3, 3, bias=True, rng=rng)
    for model in (
        mtl.Residual(mtl.Sequential(mtl.Dense(3, 3, bias=True, rng=rng), mtl.Tanh())),
        mtl.Parallel(shared, mtl.Sequential(mtl.Tanh(), shared), merge="sum"),
        mtl.Sequential(
            mtl.Parallel(mtl.Dense(3, 2, rng=rng), mtl.Sigmoid()),
            mtl.Residual(mtl.Dense(5, 5, rng=rng)),
        ),
        mtl.Graph(
            inputs=["a", "b"],
            nodes=[
                ("ea", shared, "a"),
                ("eb", shared, "b"),
                ("cat", mtl.Concatenate(), ["ea", "b"]),
                ("sum", mtl.Add(), ["eb", "a"]),
                ("both", mtl.Concatenate(), ["cat", "sum"]),
            ],
            outputs="both",
        ),
    ):
        _same_parameter_gradients(model, (x, 2 * x) if isinstance(model, mtl.Graph) else x)


# ------------------------------------------------------ sharing and fan-out
def _two_uses(shared: mtl.Dense, second: mtl.Dense) -> mtl.Graph:
    """y = second(tanh(shared(x))) + ... with ``shared`` and ``second`` possibly one layer."""
    return mtl.Graph(
        inputs="x",
        nodes=[
            ("first", shared, "x"),
            ("t", mtl.Tanh(), "first"),
            ("second", second, "t"),
            ("out", mtl.Add(), ["second", "x"]),
        ],
        outputs="out",
    )


def test_a_shared_layer_gets_the_sum_of_both_uses_gradients(rng: np.random.Generator) -> None:
    shared = mtl.Dense(4, 4, bias=True, rng=rng)
    tied = _two_uses(shared, shared)
    untied = _two_uses(copy.deepcopy(shared), copy.deepcopy(shared))
    x = rng.standard_normal((5, 4))
    grad = rng.standard_normal((5, 4))
    np.testing.assert_allclose(tied(x), untied(x), rtol=1e-12)
    np.testing.assert_allclose(tied.backward(grad), untied.backward(grad), rtol=1e-12)
    untied_first, untied_second = untied.nodes[0].layer, untied.nodes[2].layer
    np.testing.assert_allclose(
        shared.weight.grad, untied_first.weight.grad + untied_second.weight.grad, rtol=1e-12
    )
    assert shared.bias is not None and untied_first.bias is not None
    assert untied_second.bias is not None
    np.testing.assert_allclose(
        shared.bias.grad, untied_first.bias.grad + untied_second.bias.grad, rtol=1e-12
    )
    assert list(tied.state_dict()) == ["first.weight", "first.bias"]
    assert len(tied.parameters()) == 2


def test_a_layer_shared_inside_a_container_still_gets_both_gradients(
    rng: np.random.Generator,
) -> None:
    inner = mtl.Dense(3, 3, rng=rng)
    graph = mtl.Graph(
        inputs="x",
        nodes=[
            ("block", mtl.Sequential(inner, mtl.Sigmoid()), "x"),
            ("again", inner, "block"),
        ],
        outputs="again",
    )
    gradcheck(graph, rng.standard_normal((4, 3)))


def test_fan_out_gradients_add(rng: np.random.Generator) -> None:
    # y = x + x + tanh(x): dy/dx = 2 + tanh'(x)
    graph = mtl.Graph(
        inputs="x",
        nodes=[
            ("t", mtl.Tanh(), "x"),
            ("sum", mtl.Add(), ["x", "x", "t"]),
        ],
        outputs="sum",
    )
    x = rng.standard_normal((3, 2))
    graph(x)
    np.testing.assert_allclose(graph.backward(np.ones((3, 2))), 2 + 1 - np.tanh(x) ** 2)


def test_several_inputs_and_outputs(rng: np.random.Generator) -> None:
    graph = mtl.Graph(
        inputs=["a", "b"],
        nodes=[
            ("ha", mtl.Dense(3, 2, rng=rng), "a"),
            ("sum", mtl.Add(), ["ha", "b"]),
            ("t", mtl.Tanh(), "sum"),
        ],
        outputs=["t", "ha"],
    )
    a, b = rng.standard_normal((4, 3)), rng.standard_normal((4, 2))
    t, ha = graph((a, b))
    np.testing.assert_allclose(ha, a @ graph.nodes[0].layer.weight.value)  # type: ignore[attr-defined]
    np.testing.assert_allclose(t, np.tanh(ha + b))
    grad_a, grad_b = graph.backward((np.ones_like(t), np.zeros_like(ha)))
    assert grad_a.shape == a.shape and grad_b.shape == b.shape
    gradcheck(graph, (a, b))


def test_a_graph_nests_in_sequential_and_in_a_graph(rng: np.random.Generator) -> None:
    inner = mtl.Graph(
        inputs="x",
        nodes=[
            ("d", mtl.Dense(4, 4, rng=rng), "x"),
            ("skip", mtl.Add(), ["d", "x"]),
        ],
        outputs="skip",
    )
    two_in = mtl.Graph(inputs=["p", "q"], nodes=[("c", mtl.Concatenate(), ["p", "q"])], outputs="c")
    outer = mtl.Graph(
        inputs="x",
        nodes=[
            ("g", inner, "x"),
            ("t", mtl.Tanh(), "x"),
            ("pair", two_in, ["g", "t"]),
            ("head", mtl.Dense(8, 2, rng=rng), "pair"),
        ],
        outputs="head",
    )
    model = mtl.Sequential(mtl.Dense(3, 4, rng=rng), outer, mtl.Sigmoid())
    assert model.output_shape((None, 3)) == (None, 2)
    assert list(model.state_dict()) == ["0.weight", "1.g.d.weight", "1.head.weight"]
    check_layer(model, rng.standard_normal((5, 3)))


def test_residual_and_parallel_in_sequential(rng: np.random.Generator) -> None:
    model = mtl.Sequential(
        mtl.Dense(3, 4, rng=rng),
        mtl.Residual(mtl.Sequential(mtl.Dense(4, 4, rng=rng), mtl.Tanh())),
        mtl.Parallel(mtl.Dense(4, 2, rng=rng), mtl.Sigmoid(), merge="concat"),
    )
    assert model.output_shape((...,)) == (..., 6)
    assert list(model.state_dict()) == ["0.weight", "1.block.0.weight", "2.0.weight"]
    check_layer(model, rng.standard_normal((5, 3)))


def test_parallel_with_one_layer_in_two_branches(rng: np.random.Generator) -> None:
    dense = mtl.Dense(3, 3, rng=rng)
    model = mtl.Parallel(dense, mtl.Sequential(mtl.Tanh(), dense), merge="sum")
    assert len(model.parameters()) == 1
    check_layer(model, rng.standard_normal((4, 3)))


def test_residual_keeps_a_float32_block_float32(rng: np.random.Generator) -> None:
    model = mtl.Residual(mtl.Dense(3, 3, rng=rng, dtype=np.float32))
    assert model(rng.standard_normal((2, 3))).dtype == np.float32


def test_graph_trains_with_a_loss_and_an_optimizer(rng: np.random.Generator) -> None:
    graph = mtl.Graph(
        inputs="x",
        nodes=[
            ("h", mtl.Dense(2, 8, bias=True, rng=rng), "x"),
            ("t", mtl.Tanh(), "h"),
            ("skip", mtl.Concatenate(), ["t", "x"]),
            ("out", mtl.Dense(10, 1, bias=True, rng=rng), "skip"),
        ],
        outputs="out",
    )
    X = rng.uniform(-1, 1, (64, 2))
    y = (X[:, :1] * X[:, 1:]) + np.sin(X[:, :1])
    loss_fn, optimizer = mtl.MSELoss(), mtl.SGD(graph.parameters(), lr=0.1, momentum=0.9)
    losses = []
    for _ in range(300):
        losses.append(loss_fn(graph(X), y))
        optimizer.zero_grad()
        graph.backward(loss_fn.backward())
        optimizer.step()
    assert losses[-1] < 0.1 * losses[0]


def test_graph_trains_with_fit_and_predicts(rng: np.random.Generator) -> None:
    graph = mtl.Graph(
        inputs="x",
        nodes=[
            ("wide", mtl.Parallel(mtl.Dense(4, 8, bias=True, rng=rng), mtl.Identity()), "x"),
            ("t", mtl.Tanh(), "wide"),
            ("logits", mtl.Dense(12, 3, bias=True, rng=rng), "t"),
        ],
        outputs="logits",
    )
    X = rng.standard_normal((90, 4))
    y = np.argmax(X[:, :3], axis=1)
    history = mtl.fit(
        graph,
        X,
        y,
        loss=mtl.CrossEntropyLoss(),
        optimizer=mtl.Adam(graph.parameters(), lr=0.05),
        epochs=30,
        batch_size=16,
        rng=rng,
        verbose=0,
    )
    assert history.history["loss"][-1] < 0.5 * history.history["loss"][0]
    assert mtl.metrics.accuracy(mtl.predict(graph, X), y) > 0.9


# ------------------------------------------------- state dicts and configs
def _model(seed: int) -> mtl.Graph:
    rng = np.random.default_rng(seed)
    shared = mtl.Dense(4, 4, bias=True, rng=rng)
    return mtl.Graph(
        inputs={"a": 3, "b": 2},
        nodes=[
            ("pa", mtl.Dense(3, 4, rng=rng), "a"),
            ("pb", mtl.Dense(2, 4, rng=rng), "b"),
            ("sa", shared, "pa"),
            ("sb", shared, "pb"),
            ("both", mtl.Concatenate(), ["sa", "sb"]),
            ("head", mtl.Sequential(mtl.Tanh(), mtl.Dense(8, 2, rng=rng)), "both"),
        ],
        outputs="head",
    )


def test_state_dict_names_are_stable_and_round_trip() -> None:
    source, target = _model(0), _model(1)
    assert list(source.state_dict()) == [
        "pa.weight",
        "pb.weight",
        "sa.weight",
        "sa.bias",
        "head.1.weight",
    ]
    inputs = (np.ones((2, 3)), np.ones((2, 2)))
    assert not np.allclose(source(inputs), target(inputs))
    target.load_state_dict(source.state_dict())
    np.testing.assert_array_equal(source(inputs), target(inputs))


def _rebuild(layer: mtl.Layer, memo: dict[int, mtl.Layer]) -> mtl.Layer:
    """What a serializer does: rebuild each distinct layer once, from its config."""
    if id(layer) not in memo:

        def decode(value: Any) -> Any:
            if isinstance(value, mtl.Layer):
                return _rebuild(value, memo)
            if isinstance(value, list):
                return [decode(item) for item in value]
            return value

        config = {key: decode(value) for key, value in layer.get_config().items()}
        memo[id(layer)] = type(layer).from_config(config)
    return memo[id(layer)]


def test_config_rebuilds_the_graph_with_its_shared_layer() -> None:
    source = _model(0)
    config = source.get_config()
    assert config["nodes"][2][1] == config["nodes"][3][1]  # sa and sb: one layer index
    rebuilt = _rebuild(source, {})
    assert isinstance(rebuilt, mtl.Graph)
    assert rebuilt.nodes[2].layer is rebuilt.nodes[3].layer
    rebuilt.load_state_dict(source.state_dict())
    inputs = (np.ones((2, 3)), np.ones((2, 2)))
    np.testing.assert_array_equal(source(inputs), rebuilt(inputs))
    for layer in (
        mtl.Residual(mtl.Tanh()),
        mtl.Parallel(mtl.Tanh(), mtl.Sigmoid(), merge="sum"),
        mtl.Add(),
        mtl.Concatenate(),
    ):
        assert repr(_rebuild(layer, {})) == repr(layer)


def test_save_and_load_keep_the_graph(tmp_path: Path) -> None:
    source = _model(0)
    mtl.save(source, tmp_path / "graph.safetensors")
    loaded = mtl.load(tmp_path / "graph.safetensors")
    assert isinstance(loaded, mtl.Graph)
    assert loaded.nodes[2].layer is loaded.nodes[3].layer
    inputs = (np.ones((2, 3)), np.ones((2, 2)))
    np.testing.assert_array_equal(source(inputs), loaded(inputs))


def test_summary_and_repr_show_the_wiring() -> None:
    lines: list[str] = []
    _model(0).summary(print_fn=lines.append)
    text = "\n".join(lines)
    assert "a: input" in text and "(*, 3)" in text
    assert "sb <- pb: Dense (shared with sa)" in text
    assert "both <- sa, sb: Concatenate" in text and "(*, 8)" in text
    assert f"Total params: {_model(0).num_parameters():,}" in text
    assert "(sb): shared with (sa) <- pb" in repr(_model(0))


# ------------------------------------------------------------------ errors
def _dense(in_features: int = 2, out_features: int = 2) -> mtl.Dense:
    return mtl.Dense(in_features, out_features, rng=np.random.default_rng(0))


@pytest.mark.parametrize(
    ("kwargs", "error", "words"),
    [
        (
            {"inputs": "x", "nodes": [("a", _dense(), "b"), ("b", _dense(), "a")], "outputs": "a"},
            ValueError,
            ["cycle", "a -> b -> a"],
        ),
        (
            {"inputs": "x", "nodes": [("a", _dense(), "a")], "outputs": "a"},
            ValueError,
            ["cycle", "a -> a"],
        ),
        (
            {
                "inputs": "x",
                "nodes": [("a", _dense(), "x"), ("d", mtl.Tanh(), "x")],
                "outputs": "a",
            },
            ValueError,
            ["dangling", "'d'"],
        ),
        (
            {"inputs": ["x", "y"], "nodes": [("a", _dense(), "x")], "outputs": "a"},
            ValueError,
            ["unused input", "'y'"],
        ),
        (
            {
                "inputs": "x",
                "nodes": [("a", _dense(), "x"), ("a", mtl.Tanh(), "a")],
                "outputs": "a",
            },
            ValueError,
            ["duplicate", "'a'", "node 1", "node 0"],
        ),
        (
            {"inputs": "x", "nodes": [("x", _dense(), "x")], "outputs": "x"},
            ValueError,
            ["duplicate", "'x'", "an input"],
        ),
        (
            {"inputs": "x", "nodes": [("a", _dense(), "z")], "outputs": "a"},
            ValueError,
            ["'a'", "'z'", "known names"],
        ),
        (
            {"inputs": "x", "nodes": [("a", _dense(), "x")], "outputs": "b"},
            ValueError,
            ["output 'b'"],
        ),
        (
            {"inputs": "x", "nodes": [("a.b", _dense(), "x")], "outputs": "a.b"},
            ValueError,
            ["'a.b'", "'.'"],
        ),
        (
            {"inputs": "x", "nodes": [("a", "Dense", "x")], "outputs": "a"},
            TypeError,
            ["'a'", "Layer"],
        ),
        ({"inputs": "x", "nodes": [("a", _dense())], "outputs": "a"}, TypeError, ["triple"]),
        (
            {"inputs": ["x", "y"], "nodes": [("a", _dense(), ["x", "y"])], "outputs": "a"},
            ValueError,
            ["'a'", "Dense", "one input", "Concatenate"],
        ),
        (
            {"inputs": "x", "nodes": [("m", mtl.Add(), "x")], "outputs": "m"},
            ValueError,
            ["'m'", "Add", "at least 2 inputs"],
        ),
        (
            {
                "inputs": "x",
                "nodes": [
                    ("a", _dense(2, 3), "x"),
                    ("b", _dense(2, 2), "x"),
                    ("m", mtl.Add(), ["a", "b"]),
                ],
                "outputs": "m",
            },
            ShapeError,
            ["'m'", "Add", "'a' (*, 3)", "'b' (*, 2)", "same shape"],
        ),
        (
            {"inputs": {"x": 5}, "nodes": [("a", _dense(2, 3), "x")], "outputs": "a"},
            ShapeError,
            ["'a'", "'x' (*, 5)", "expects 2 features on the last axis"],
        ),
        (
            {"inputs": {"x": 0}, "nodes": [("a", _dense(), "x")], "outputs": "a"},
            ValueError,
            ["'x'", "positive"],
        ),
    ],
)
def test_wiring_mistakes_are_refused_naming_the_nodes(
    kwargs: dict[str, Any], error: type[Exception], words: list[str]
) -> None:
    with pytest.raises(error) as caught:
        mtl.Graph(**kwargs)
    for word in words:
        assert word in str(caught.value)


def test_a_nested_graph_must_have_one_output_and_the_right_inputs() -> None:
    two_out = mtl.Graph(inputs="x", nodes=[("t", mtl.Tanh(), "x")], outputs=["t", "x"])
    with pytest.raises(ValueError, match=r"'g'.*2 outputs"):
        mtl.Graph(inputs="x", nodes=[("g", two_out, "x")], outputs="g")
    two_in = mtl.Graph(inputs=["p", "q"], nodes=[("s", mtl.Add(), ["p", "q"])], outputs="s")
    with pytest.raises(ValueError, match=r"'g'.*2 input.*\['x'\]"):
        mtl.Graph(inputs="x", nodes=[("g", two_in, "x")], outputs="g")


def test_shape_mismatch_at_a_merge_is_caught_at_the_first_forward() -> None:
    graph = mtl.Graph(inputs=["a", "b"], nodes=[("m", mtl.Add(), ["a", "b"])], outputs="m")
    with pytest.raises(ShapeError) as caught:
        graph((np.ones((2, 3)), np.ones((2, 4))))
    message = str(caught.value)
    for word in ["'m'", "'a' (2, 3)", "'b' (2, 4)", "same shape"]:
        assert word in message


def test_a_layer_error_in_forward_names_the_node() -> None:
    graph = mtl.Graph(inputs="x", nodes=[("h", _dense(3, 2), "x")], outputs="h")
    with pytest.raises(ShapeError, match=r"node 'h'.*'x' \(4, 5\).*\(batch, \.\.\., 3\)"):
        graph(np.ones((4, 5)))


def test_a_wrong_gradient_shape_in_backward_names_the_node() -> None:
    graph = mtl.Graph(inputs="x", nodes=[("h", _dense(3, 2), "x")], outputs="h")
    graph(np.ones((4, 3)))
    with pytest.raises(ShapeError, match=r"node 'h' \(backward.*\(4, 2\).*\(4, 7\)"):
        graph.backward(np.ones((4, 7)))


def test_inputs_of_a_multi_input_graph_must_be_a_sequence_of_the_right_length() -> None:
    graph = mtl.Graph(inputs=["a", "b"], nodes=[("m", mtl.Add(), ["a", "b"])], outputs="m")
    with pytest.raises(TypeError, match=r"2 arrays.*\['a', 'b'\].*ndarray"):
        graph(np.ones((2, 2)))
    with pytest.raises(TypeError, match="received 3 items"):
        graph([np.ones((2, 2))] * 3)


def test_backward_before_forward_names_the_graph() -> None:
    graph = mtl.Graph(inputs="x", nodes=[("t", mtl.Tanh(), "x")], outputs="t")
    with pytest.raises(RuntimeError, match="Graph"):
        graph.backward(np.ones((1, 1)))


def test_merge_layers_refuse_bad_inputs() -> None:
    with pytest.raises(TypeError, match="list or tuple"):
        mtl.Add()(np.ones((2, 2)))
    with pytest.raises(ValueError, match="at least 2"):
        mtl.Concatenate()([np.ones((2, 2))])
    with pytest.raises(ShapeError, match=r"\(2, 2\), \(3, 2\)"):
        mtl.Concatenate()([np.ones((2, 2)), np.ones((3, 2))])
    with pytest.raises(ShapeError, match="Graph node"):
        mtl.Sequential(mtl.Dense(2, 2), mtl.Add())


def test_residual_and_parallel_refuse_width_changes() -> None:
    with pytest.raises(ShapeError, match=r"Residual.*outputs \(\*, 3\).*expects 2 features"):
        mtl.Residual(_dense(2, 3))
    with pytest.raises(ShapeError, match=r"Residual.*shape"):
        mtl.Residual(mtl.Parallel(mtl.Tanh(), mtl.Tanh()))(np.ones((2, 2)))
    with pytest.raises(ShapeError, match=r"Parallel.*\(\*, 3\), \(\*, 2\) cannot be merged"):
        mtl.Parallel(_dense(2, 3), _dense(2, 2), merge="sum")
    with pytest.raises(ValueError, match="merge"):
        mtl.Parallel(mtl.Tanh(), merge="mean")  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="branch 1"):
        mtl.Parallel(mtl.Tanh(), "tanh")  # type: ignore[arg-type]


# -------------------------------------------------------------- torch oracle
def _assert_close(ours: Any, theirs: Any) -> None:
    np.testing.assert_allclose(ours, theirs.detach().numpy(), rtol=1e-10, atol=1e-13)


def test_residual_network_matches_torch(torch: ModuleType, rng: np.random.Generator) -> None:
    model = mtl.Sequential(
        mtl.Dense(5, 6, bias=True, rng=rng),
        mtl.Tanh(),
        mtl.Residual(
            mtl.Sequential(
                mtl.Dense(6, 6, bias=True, rng=rng), mtl.Tanh(), mtl.Dense(6, 6, bias=True, rng=rng)
            )
        ),
        mtl.Residual(mtl.Sequential(mtl.Dense(6, 6, rng=rng), mtl.Sigmoid())),
        mtl.Dense(6, 3, bias=True, rng=rng),
    )
    x, y = rng.standard_normal((7, 5)), rng.standard_normal((7, 3))
    loss_fn = mtl.MSELoss()
    outputs = model(x)
    loss = loss_fn(outputs, y)
    model.zero_grad()
    grad_x = model.backward(loss_fn.backward())

    t = {
        name: torch.tensor(value, requires_grad=True) for name, value in model.state_dict().items()
    }
    tx = torch.tensor(x, requires_grad=True)
    h = torch.tanh(tx @ t["0.weight"] + t["0.bias"])
    block = torch.tanh(h @ t["2.block.0.weight"] + t["2.block.0.bias"])
    h = h + (block @ t["2.block.2.weight"] + t["2.block.2.bias"])
    h = h + torch.sigmoid(h @ t["3.block.0.weight"])
    t_out = h @ t["4.weight"] + t["4.bias"]
    t_loss = torch.nn.functional.mse_loss(t_out, torch.tensor(y))
    t_loss.backward()

    _assert_close(outputs, t_out)
    assert loss == pytest.approx(t_loss.item(), rel=1e-12)
    _assert_close(grad_x, tx.grad)
    for name, parameter in model.named_parameters():
        _assert_close(parameter.grad, t[name].grad)


def test_two_branch_network_matches_torch(torch: ModuleType, rng: np.random.Generator) -> None:
    shared = mtl.Dense(4, 4, bias=True, rng=rng)
    graph = mtl.Graph(
        inputs=["a", "b"],
        nodes=[
            ("pa", mtl.Dense(3, 4, bias=True, rng=rng), "a"),
            ("ta", mtl.Tanh(), "pa"),
            ("pb", mtl.Dense(2, 4, rng=rng), "b"),
            ("sb", mtl.Sigmoid(), "pb"),
            ("ua", shared, "ta"),
            ("ub", shared, "sb"),
            ("sum", mtl.Add(), ["ta", "sb", "ua"]),
            ("cat", mtl.Concatenate(), ["ua", "ub", "sum"]),
            ("head", mtl.Dense(12, 2, bias=True, rng=rng), "cat"),
        ],
        outputs="head",
    )
    a, b = rng.standard_normal((6, 3)), rng.standard_normal((6, 2))
    grad_output = rng.standard_normal((6, 2))
    outputs = graph((a, b))
    graph.zero_grad()
    grad_a, grad_b = graph.backward(grad_output)

    t = {
        name: torch.tensor(value, requires_grad=True) for name, value in graph.state_dict().items()
    }
    ta_in, tb_in = torch.tensor(a, requires_grad=True), torch.tensor(b, requires_grad=True)
    ta = torch.tanh(ta_in @ t["pa.weight"] + t["pa.bias"])
    sb = torch.sigmoid(tb_in @ t["pb.weight"])
    ua = ta @ t["ua.weight"] + t["ua.bias"]
    ub = sb @ t["ua.weight"] + t["ua.bias"]  # the shared layer, under its first node's name
    cat = torch.cat([ua, ub, ta + sb + ua], dim=1)
    t_out = cat @ t["head.weight"] + t["head.bias"]
    (t_out * torch.tensor(grad_output)).sum().backward()

    assert list(t) == [
        "pa.weight",
        "pa.bias",
        "pb.weight",
        "ua.weight",
        "ua.bias",
        "head.weight",
        "head.bias",
    ]
    _assert_close(outputs, t_out)
    _assert_close(grad_a, ta_in.grad)
    _assert_close(grad_b, tb_in.grad)
    for name, parameter in graph.named_parameters():
        _assert_close(parameter.grad, t[name].grad)


# ------------------------------------------------------------------ examples


@pytest.mark.slow
def test_residual_example_trains_where_the_plain_network_does_not(
    capsys: pytest.CaptureFixture[str],
) -> None:
    result = load_example("residual").main([])  # the real settings
    assert result["residual_accuracy"] >= 0.93
    assert result["plain_accuracy"] <= 0.3
    assert result["residual_gradient"] > 10 * result["plain_gradient"]
    out = capsys.readouterr().out
    assert "residual:" in out and "plain:" in out and "test accuracy" in out


def test_multi_input_example_classifies_iris(capsys: pytest.CaptureFixture[str]) -> None:
    result = load_example("multi_input").main([])
    assert result["accuracy"] >= 0.9
    assert result["without_petal"] < result["accuracy"]
    assert "both <- petal_branch, sepal_branch: Concatenate" in capsys.readouterr().out
