"""Loading costs work linear in the file: counted, never timed.

Each test builds a worst case of one kind at two or more sizes and counts the
work: calls of the methods a walk makes (``children``, ``output_shape``), or
lines of Python run. A quadratic (or exponential) step makes the count grow
faster than the file, and the test fails, naming the ratio.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from hostile_files import (
    deep_chain,
    many_layers,
    nested_shared,
    reversed_chain_graph,
    shape_explosion,
    shared_block_everywhere,
)
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from work import LineCounter, counting_calls, lines_of

import minitorchless as mtl
from minitorchless.layers import wiring
from minitorchless.layers._sharing import shared_uses
from minitorchless.layers.shapes import shape_memo
from minitorchless.serialization import limits

CONTAINERS = [mtl.Layer, mtl.Sequential, mtl.Graph, mtl.Parallel, mtl.Residual]


def _write(tmp_path: Path, data: bytes, name: str = "model.safetensors") -> Path:
    path = tmp_path / name
    path.write_bytes(data)
    return path


def _nested(depth: int, leaf: mtl.Layer | None = None) -> mtl.Layer:
    """``Sequential(s, s)`` nested ``depth`` times around one Dense: 2**depth paths."""
    model = leaf or mtl.Dense(2, 2, rng=np.random.default_rng(0))
    for _ in range(depth):
        model = mtl.Sequential(model, model)
    return model


def _growth(cost: list[int], sizes: list[int]) -> float:
    """How much faster than the size the cost grew from the first to the last size."""
    return (cost[-1] / cost[0]) / (sizes[-1] / sizes[0])


# ------------------------------------------------- nested shared containers
def test_loading_nested_shared_containers_visits_each_layer_a_few_times(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """60 levels: 2**60 paths to the Dense, 61 distinct layers; the issue's 3 KB file."""
    path = _write(tmp_path, nested_shared(60))
    with (
        counting_calls(monkeypatch, CONTAINERS, "children") as children,
        counting_calls(monkeypatch, [mtl.Sequential, mtl.Dense], "output_shape") as shapes,
    ):
        model = mtl.load(path)
    assert sum(children.values()) <= 4 * 61, children
    assert sum(shapes.values()) <= 4 * 61, shapes
    assert [name for name, _ in model.named_parameters()] == ["0." * 60 + "weight"]


@pytest.mark.parametrize(
    "walk",
    [
        "named_tensors",
        "train",
        "clear_cache",
        "cache_state",
        "repr",
        "summary",
        "to_torch_state_dict",
        "shared_uses",
        "num_parameters",
        "to",
    ],
)
def test_every_walk_of_a_model_is_linear_in_its_distinct_layers(
    walk: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    model = _nested(60)
    actions = {
        "named_tensors": lambda: list(model.named_tensors()),
        "train": lambda: model.eval().train(),
        "clear_cache": model.clear_cache,
        "cache_state": lambda: model.restore_cache(model.cache_state()),
        "repr": lambda: repr(model),
        "summary": lambda: model.summary(2, print_fn=lambda line: None),
        "to_torch_state_dict": lambda: mtl.to_torch_state_dict(_nested(60, mtl.Tanh())),
        "shared_uses": lambda: shared_uses([model, model, model]),
        "num_parameters": model.num_parameters,
        "to": lambda: model.to(np.float32),
    }
    with counting_calls(monkeypatch, CONTAINERS, "children") as children:
        actions[walk]()
    assert sum(children.values()) <= 8 * 61, children


def test_a_torch_state_dict_of_exponential_size_is_refused_after_counting_it(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """PyTorch lists shared tensors under every path: 2**60 keys here, counted in 61 visits."""
    with (
        counting_calls(monkeypatch, CONTAINERS, "children") as children,
        pytest.raises(ValueError, match=r"1,152,921,504,606,846,976 keys, more than MAX_TORCH"),
    ):
        mtl.to_torch_state_dict(_nested(60))
    assert sum(children.values()) <= 4 * 61
    assert list(mtl.to_torch_state_dict(_nested(2))) == [
        "0.0.weight",
        "0.1.weight",
        "1.0.weight",
        "1.1.weight",
    ]


def test_repr_and_summary_show_a_shared_container_once() -> None:
    text = repr(_nested(3))
    assert text.count("Dense(") == 2  # the innermost Sequential(d, d) shows its leaf twice
    assert text.count("<shared: shown above>") == 2  # s2 and s1, each the second time
    lines: list[str] = []
    _nested(3).summary(2, print_fn=lines.append)
    assert sum("shared: listed above" in line for line in lines) == 2
    assert "Total params: 4" in lines


def test_forward_of_a_shared_nest_still_runs_every_use() -> None:
    """Linear walks must not change what is computed: Sequential(s, s) applies s twice."""
    dense = mtl.Dense(2, 2, rng=np.random.default_rng(0))
    model = mtl.Sequential(mtl.Sequential(dense, dense), mtl.Sequential(dense, dense))
    X = np.random.default_rng(1).standard_normal((3, 2))
    W = dense.weight.value
    np.testing.assert_allclose(model(X), X @ W @ W @ W @ W)
    model.backward(np.ones((3, 2)))  # four uses, four caches restored in turn
    expected = sum(
        (X @ np.linalg.matrix_power(W, k)).T
        @ (np.ones((3, 2)) @ np.linalg.matrix_power(W.T, 3 - k))
        for k in range(4)
    )
    np.testing.assert_allclose(dense.weight.grad, expected)


def test_the_shape_memo_answers_each_layer_and_shape_once() -> None:
    with LineCounter(limit=2_000_000), shape_memo() as memo:  # 4**40 calls without the memo
        _nested(40).output_shape((None, 2))
    # three shapes per layer: (batch, 2), and (...,) then (..., 2) from Sequential's own check
    assert memo.inferences <= 3 * 41 + 2
    assert memo.lookups <= 16 * 41  # each inference asks for both children's, twice


# ------------------------------------------------------ topological order
def test_a_graph_listed_in_reverse_loads_in_linear_work(tmp_path: Path) -> None:
    sizes = [2_000, 8_000]
    cost = [
        lines_of(lambda n=n: mtl.load(_write(tmp_path, reversed_chain_graph(n)))) for n in sizes
    ]
    assert _growth(cost, sizes) < 1.25, cost


def test_the_topological_sort_touches_each_edge_a_bounded_number_of_times(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Kahn's algorithm with a heap: one push and one pop per node, whatever the order."""
    pushes, pops = [0], [0]
    real_push, real_pop = wiring.heapq.heappush, wiring.heapq.heappop

    def push(heap: list[int], item: int) -> None:
        pushes[0] += 1
        real_push(heap, item)

    def pop(heap: list[int]) -> int:
        pops[0] += 1
        return real_pop(heap)

    monkeypatch.setattr(wiring.heapq, "heappush", push)
    monkeypatch.setattr(wiring.heapq, "heappop", pop)
    tanh = mtl.Tanh()
    n = 5_000
    names = [f"n{i}" for i in range(n)]
    nodes = [(name, tanh, names[i - 1] if i else "x") for i, name in enumerate(names)][::-1]
    graph = mtl.Graph(inputs="x", nodes=nodes, outputs=names[-1])
    assert [node.name for node in graph._order] == names
    assert pops[0] == n and pushes[0] == n - 1
    cost = [
        lines_of(
            lambda k=k: wiring._topological_order(
                [wiring.Node(*node[:2], (node[2],), False) for node in nodes[-k:]], ["x"]
            )
        )
        for k in (1_000, 4_000)
    ]
    assert _growth(cost, [1_000, 4_000]) < 1.3, cost


def test_a_node_with_many_inputs_is_checked_in_linear_work() -> None:
    """A node reading thousands of values (an ``Add`` of them) is checked in linear Python.

    (The duplicate-name check once called ``list.count`` per name: quadratic work
    inside C calls, which a line count cannot see; a ``Counter`` replaced it.)
    """
    add = mtl.Add()

    def build(k: int) -> None:
        nodes = [(f"a{i}", mtl.Identity(), "x") for i in range(k)]
        mtl.Graph(
            inputs="x", nodes=[*nodes, ("sum", add, [f"a{i}" for i in range(k)])], outputs="sum"
        )

    sizes = [1_000, 4_000]
    assert _growth([lines_of(lambda k=k: build(k)) for k in sizes], sizes) < 1.3


# ----------------------------------------------------------- other bombs
def test_one_block_held_by_every_container_is_walked_once(tmp_path: Path) -> None:
    sizes = [100, 400]
    cost = [
        lines_of(lambda n=n: mtl.load(_write(tmp_path, shared_block_everywhere(n, n))))
        for n in sizes
    ]
    # the file grows like n (n containers, n layers in the block); its load must too
    assert _growth(cost, sizes) < 1.25, cost


def test_many_layers_load_in_linear_work(tmp_path: Path) -> None:
    sizes = [1_000, 4_000]
    cost = [lines_of(lambda n=n: mtl.load(_write(tmp_path, many_layers(n)))) for n in sizes]
    assert _growth(cost, sizes) < 1.25, cost


def test_a_shape_explosion_is_cut_off_within_a_linear_budget(tmp_path: Path) -> None:
    """Nested graphs that feed their inner graph several widths meet depth**3 shapes."""
    with (
        LineCounter(limit=5_000_000),
        pytest.raises(mtl.FileLimitError, match="MAX_SHAPE_CHECKS") as info,
    ):
        mtl.load(_write(tmp_path, shape_explosion(40, 3)))
    assert info.value.limit == "MAX_SHAPE_CHECKS"
    small = shape_explosion(4, 3)
    assert isinstance(mtl.load(_write(tmp_path, small)), mtl.Graph)  # small ones load
    sizes = [20, 80]
    files = [shape_explosion(depth, 3) for depth in sizes]
    cost = [lines_of(lambda f=f: mtl.load(_write(tmp_path, f))) for f in files]
    assert _growth(cost, [len(f) for f in files]) < 1.3, cost


def test_deep_nesting_is_refused_before_any_deep_recursion(tmp_path: Path) -> None:
    assert isinstance(
        mtl.load(_write(tmp_path, deep_chain(limits.MAX_NESTING_DEPTH - 1))), mtl.Layer
    )
    with pytest.raises(mtl.FileLimitError, match="MAX_NESTING_DEPTH") as info:
        mtl.load(_write(tmp_path, deep_chain(5_000)))
    assert info.value.value == limits.MAX_NESTING_DEPTH + 1
    assert lines_of(lambda: mtl.load(_write(tmp_path, deep_chain(5_000)))) < 200_000


# ------------------------------------------------------- cost properties
def _random_architecture(data: st.DataObject) -> mtl.Layer:
    """A random model of shared and nested containers (the expensive shapes of file)."""
    rng = np.random.default_rng(data.draw(st.integers(0, 2**16)))
    pool: list[mtl.Layer] = [mtl.Dense(3, 3, rng=rng), mtl.Tanh(), mtl.Identity()]
    for _ in range(data.draw(st.integers(1, 12))):
        kind = data.draw(st.sampled_from(["seq", "par", "res", "graph"]))
        picks = data.draw(st.lists(st.sampled_from(pool), min_size=1, max_size=4))
        if kind == "seq":
            pool.append(mtl.Sequential(*picks))
        elif kind == "par":
            pool.append(mtl.Parallel(*picks, merge="sum"))
        elif kind == "res":
            pool.append(mtl.Residual(picks[0]))
        else:
            nodes = [(f"n{i}", layer, f"n{i - 1}" if i else "x") for i, layer in enumerate(picks)]
            pool.append(mtl.Graph(inputs={"x": 3}, nodes=nodes, outputs=f"n{len(picks) - 1}"))
    return pool[-1]


@settings(
    max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(data=st.data())
def test_the_work_of_a_load_is_bounded_by_the_size_of_the_file(
    data: st.DataObject, tmp_path: Path
) -> None:
    """Whatever the sharing and nesting: lines run <= 40 per byte (+ a constant)."""
    model = _random_architecture(data)
    path = tmp_path / "random.safetensors"
    mtl.save(model, path)
    size = path.stat().st_size
    work = lines_of(lambda: mtl.load(path))
    assert work <= 40 * size + 20_000, (work, size)
