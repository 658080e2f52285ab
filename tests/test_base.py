"""The Layer base contract: parameters, names, modes, state dicts, repr, errors."""

from __future__ import annotations

import numpy as np
import pytest

import minitorchless as mtl


def classic(rng: np.random.Generator, dtype: type = np.float64) -> mtl.Sequential:
    return mtl.Sequential(
        mtl.Dense(5, 4, rng=rng, dtype=dtype),
        mtl.Sigmoid(),
        mtl.Dense(4, 3, bias=True, rng=rng, dtype=dtype),
        mtl.Sigmoid(),
    )


def test_named_parameters_use_dotted_positions(rng: np.random.Generator) -> None:
    model = classic(rng)
    names = [name for name, _ in model.named_parameters()]
    assert names == ["0.weight", "2.weight", "2.bias"]
    assert [p.shape for p in model.parameters()] == [(5, 4), (4, 3), (3,)]
    assert model.num_parameters() == 20 + 12 + 3


def test_nested_containers_join_names(rng: np.random.Generator) -> None:
    inner = mtl.Sequential(mtl.Dense(3, 2, bias=True, rng=rng), mtl.Tanh())
    model = mtl.Sequential(mtl.Dense(4, 3, rng=rng), inner)
    assert [name for name, _ in model.named_parameters()] == ["0.weight", "1.0.weight", "1.0.bias"]


def test_a_shared_layer_is_listed_once(rng: np.random.Generator) -> None:
    shared = mtl.Dense(3, 3, rng=rng)
    model = mtl.Sequential(shared, mtl.Tanh(), shared)
    assert len(model.parameters()) == 1
    assert [name for name, _ in model.named_parameters()] == ["0.weight"]


def test_backward_accumulates_and_zero_grad_clears(rng: np.random.Generator) -> None:
    model = classic(rng)
    x = rng.standard_normal((6, 5))
    out = model(x)
    model.backward(np.ones_like(out))
    first = [p.grad.copy() for p in model.parameters()]
    assert any(np.abs(g).sum() > 0 for g in first)
    model(x)
    model.backward(np.ones_like(out))
    for grad, p in zip(first, model.parameters(), strict=True):
        np.testing.assert_allclose(p.grad, 2 * grad)
    model.zero_grad()
    assert all(not p.grad.any() for p in model.parameters())


def test_train_eval_recurse(rng: np.random.Generator) -> None:
    model = classic(rng)
    assert model.eval() is model
    assert not model.training and not any(layer.training for layer in model)
    model.train()
    assert model.training and all(layer.training for layer in model)


def test_state_dict_round_trip_copies(rng: np.random.Generator) -> None:
    model = classic(rng)
    other = classic(np.random.default_rng(99))
    state = model.state_dict()
    state["0.weight"][0, 0] += 1.0  # a copy: the model must not change
    assert model.state_dict()["0.weight"][0, 0] != state["0.weight"][0, 0]
    other.load_state_dict(model.state_dict())
    x = rng.standard_normal((3, 5))
    np.testing.assert_array_equal(other(x), model(x))


def test_load_state_dict_keeps_parameter_arrays(rng: np.random.Generator) -> None:
    model = classic(rng)
    before = model.parameters()[0].value
    model.load_state_dict(classic(np.random.default_rng(5)).state_dict())
    assert model.parameters()[0].value is before  # optimizers keep pointing at live arrays


@pytest.mark.parametrize(
    ("edit", "fragment"),
    [
        (lambda s: s.pop("2.bias"), "missing keys ['2.bias']"),
        (lambda s: s.update(extra=np.zeros(2)), "unexpected keys ['extra']"),
        (
            lambda s: s.update({"0.weight": np.zeros((4, 5))}),
            "key '0.weight': expected shape (5, 4), received (4, 5)",
        ),
        (lambda s: s.update({"0.weight": np.full((5, 4), "a")}), "expected a numeric array"),
        (lambda s: s.update({"0.weight": [[1.0], [1.0, 2.0]]}), "key '0.weight': not an array"),
    ],
)
def test_load_state_dict_refuses_mismatches_and_changes_nothing(
    rng: np.random.Generator, edit, fragment: str
) -> None:
    model = classic(rng)
    original = model.state_dict()
    state = classic(np.random.default_rng(3)).state_dict()
    edit(state)
    with pytest.raises(mtl.StateDictError) as info:
        model.load_state_dict(state)
    assert fragment in str(info.value)
    for name, value in model.state_dict().items():
        np.testing.assert_array_equal(value, original[name])


def test_backward_before_forward_names_the_layer() -> None:
    for layer in (
        mtl.Dense(2, 2),
        mtl.Sigmoid(),
        mtl.Tanh(),
        mtl.ReLU(),
        mtl.Sequential(mtl.Dense(2, 2)),
    ):
        with pytest.raises(RuntimeError, match=type(layer).__name__):
            layer.backward(np.zeros((1, 2)))


def test_clear_cache_forgets_the_forward(rng: np.random.Generator) -> None:
    model = classic(rng)
    model(rng.standard_normal((2, 5)))
    model.clear_cache()
    with pytest.raises(RuntimeError, match="before forward"):
        model.backward(np.zeros((2, 3)))


def test_repr_is_readable(rng: np.random.Generator) -> None:
    assert repr(classic(rng)) == (
        "Sequential(\n"
        "  (0): Dense(in_features=5, out_features=4, bias=False)\n"
        "  (1): Sigmoid()\n"
        "  (2): Dense(in_features=4, out_features=3, bias=True)\n"
        "  (3): Sigmoid()\n"
        ")"
    )


def test_to_casts_parameters_and_grads(rng: np.random.Generator) -> None:
    model = classic(rng).to(np.float32)
    assert model.dtype == np.float32
    assert all(p.grad.dtype == np.float32 for p in model.parameters())
    assert model(np.ones((2, 5))).dtype == np.float32
    with pytest.raises(TypeError, match="floating dtype"):
        model.to(np.int32)


def test_get_config_rebuilds_an_equal_architecture(rng: np.random.Generator) -> None:
    model = classic(rng, np.float32)
    config = model.get_config()
    rebuilt = mtl.Sequential.from_config(
        {"layers": [type(layer).from_config(layer.get_config()) for layer in config["layers"]]}
    )
    assert repr(rebuilt) == repr(model)
    assert rebuilt.dtype == np.float32


def test_parameter_basics() -> None:
    p = mtl.Parameter(np.ones((2, 3), dtype=np.float32))
    assert p.shape == (2, 3) and p.dtype == np.float32 and p.size == 6
    assert p.grad.shape == (2, 3) and p.grad.dtype == np.float32 and not p.grad.any()
    p.grad += 1
    p.zero_grad()
    assert not p.grad.any()
    assert repr(p) == "Parameter(shape=(2, 3), dtype=float32)"
    with pytest.raises(TypeError, match="floating"):
        mtl.Parameter(np.ones(3, dtype=np.int64))


def test_a_failed_forward_leaves_no_cache_for_backward(rng: np.random.Generator) -> None:
    for layer, good, bad in (
        (mtl.Dense(3, 2, rng=rng), np.ones((2, 3)), np.ones((2, 4))),
        (mtl.Sigmoid(), np.ones((2, 3)), np.array(["a", "b"])),
    ):
        layer(good)
        with pytest.raises((ValueError, TypeError)):
            layer(bad)
        with pytest.raises(RuntimeError, match="before forward"):
            layer.backward(np.ones((2, 2)))
    loss_fn = mtl.MSELoss()
    loss_fn(np.ones((2, 2)), np.zeros((2, 2)))
    with pytest.raises(mtl.ShapeError):
        loss_fn(np.ones((2, 2)), np.zeros((2, 3)))
    with pytest.raises(RuntimeError, match="before the loss was computed"):
        loss_fn.backward()


def test_zero_grad_is_seen_by_every_reader_and_accumulation() -> None:
    p = mtl.Parameter(np.zeros((2, 2)))
    p.grad += 5.0
    held = p.grad
    p.zero_grad()
    assert not p.grad.any()
    assert p.grad is held  # zeroed in place: references stay valid
    left, right = np.ones((2, 3)), np.full((3, 2), 2.0)
    p.zero_grad()
    p.add_product(left, right)  # written straight into the zeroed gradient
    np.testing.assert_array_equal(p.grad, left @ right)
    p.add_product(left, right)  # then accumulated
    np.testing.assert_array_equal(p.grad, 2 * (left @ right))
