"""The testing kit itself must catch broken layers, and name the likely mistake.

Every rule of ``check_layer`` is shown here failing on a layer broken in the
way the rule is about, and every diagnosis of ``gradcheck`` on a gradient
broken in the way it names.
"""

from __future__ import annotations

from types import ModuleType
from typing import Any

import numpy as np
import pytest

import minitorchless as mtl
from minitorchless.testing import (
    GradcheckError,
    LayerCheckError,
    check_layer,
    compare_with_torch,
    gradcheck,
)


class Square(mtl.Layer):
    """A correct parameter-free layer: y = x^2."""

    def forward(self, inputs: Any) -> Any:
        x = np.asarray(inputs)
        self.save_for_backward(x)
        return x * x

    def backward(self, grad_output: Any) -> Any:
        return 2 * self.saved() * grad_output


class WrongSquare(Square):
    def backward(self, grad_output: Any) -> Any:
        return 3 * self.saved() * grad_output  # wrong on purpose


class Scale(mtl.Layer):
    """y = x * s on the last axis, with a parameter; ``bug`` selects a contract violation."""

    def __init__(self, features: int, bug: str = "") -> None:
        super().__init__()
        self.features = features
        self.bug = bug
        self.scale = self.add_parameter("scale", np.linspace(0.5, 1.5, features))

    def forward(self, inputs: Any) -> Any:
        x = np.asarray(inputs)
        if self.bug == "mutate":
            x[...] = x + 1e-3
        self.save_for_backward(x)
        out = x * self.scale.value
        return out.astype(np.float64) if self.bug == "upcast" else out

    def backward(self, grad_output: Any) -> Any:
        x = self.saved()
        contribution = (grad_output * x).reshape(-1, self.features).sum(axis=0)
        if self.bug == "assign":
            self.scale.grad[...] = contribution
        else:
            self.scale.grad += contribution
        return grad_output * self.scale.value

    def get_config(self) -> dict[str, Any]:
        return {"features": self.features, "bug": self.bug}


class Linear(mtl.Layer):
    """y = x W + b, square when in == out; ``bug`` plants one gradient mistake."""

    def __init__(self, n_in: int, n_out: int, bug: str = "", seed: int = 0) -> None:
        super().__init__()
        self.n_in, self.n_out, self.bug, self.seed = n_in, n_out, bug, seed
        rng = np.random.default_rng(seed)
        self.weight = self.add_parameter("weight", rng.standard_normal((n_in, n_out)))
        self.bias = self.add_parameter("bias", rng.standard_normal(n_out))

    def forward(self, inputs: Any) -> Any:
        self.save_for_backward(inputs)
        return inputs @ self.weight.value + self.bias.value

    def backward(self, grad_output: Any) -> Any:
        x = self.saved()
        n = len(x)
        grad_w = {
            "transpose": (grad_output.T @ x),
            "averaged": x.T @ grad_output / n,
            "sign": -(x.T @ grad_output),
        }.get(self.bug, x.T @ grad_output)
        grad_b = grad_output[0] if self.bug == "bias" else grad_output.sum(axis=0)
        self.weight.grad += grad_w
        self.bias.grad += grad_b
        return grad_output @ self.weight.value.T

    def get_config(self) -> dict[str, Any]:
        return {"n_in": self.n_in, "n_out": self.n_out, "bug": self.bug, "seed": self.seed}


X = np.random.default_rng(0).standard_normal((5, 3))


# ------------------------------------------------------------------ gradcheck
def test_gradcheck_passes_a_correct_layer_and_reports() -> None:
    report = gradcheck(Square(), np.random.default_rng(0).standard_normal((3, 4)))
    assert report.checked == {"inputs": 12}
    assert report.max_relative_error["inputs"] < 1e-7
    check = report.tensors["inputs"]
    assert 0 < check.allowance_used < 1 and check.decided_by in ("rtol", "atol")
    assert "of the allowed error" in str(report)


def test_the_report_says_when_atol_decided() -> None:
    # a gradient that is exactly zero everywhere: only atol can allow any error
    report = gradcheck(mtl.ReLU(), -np.ones((2, 3)))
    assert report.tensors["inputs"].decided_by == "atol"


def test_gradcheck_failure_names_tensor_index_values_and_error() -> None:
    with pytest.raises(GradcheckError) as info:
        gradcheck(WrongSquare(), np.array([[1.0, 2.0]]))
    message = str(info.value)
    assert "gradcheck failed for WrongSquare" in message
    assert "inputs[0, 0]" in message and "inputs[0, 1]" in message
    assert "analytic" in message and "numerical" in message and "relative error" in message


def test_gradcheck_names_the_broken_parameter() -> None:
    model = mtl.Sequential(mtl.Dense(3, 3, rng=np.random.default_rng(0)), Linear(3, 3, bug="sign"))
    with pytest.raises(GradcheckError, match=r"1\.weight\[") as info:
        gradcheck(model, X)
    assert "1.bias" not in str(info.value)


def test_gradcheck_leaves_the_layer_untouched() -> None:
    layer = mtl.Dense(3, 2, dtype=np.float32, rng=np.random.default_rng(0))
    before = layer.weight.value.copy()
    gradcheck(layer, np.ones((2, 3)), rtol=1e-4)
    assert layer.weight.value.dtype == np.float32
    np.testing.assert_array_equal(layer.weight.value, before)
    assert not layer.weight.grad.any()


@pytest.mark.parametrize(
    ("bug", "words"),
    [
        ("averaged", "off by the batch size: 5 times too small"),
        ("sign", "the opposite sign"),
        ("transpose", "matches after a transpose"),
        ("bias", "equals the gradient of sample 0 alone"),
    ],
)
def test_a_wrong_gradient_names_the_likely_mistake(bug: str, words: str) -> None:
    with pytest.raises(GradcheckError, match=words):
        check_layer(Linear(3, 3, bug=bug), X)


def test_the_kit_draws_are_independent_of_the_users_seed() -> None:
    # inputs from default_rng(0), the kit at seed=0: the output gradient must not be
    # those same numbers, or a missing transpose in a square layer would pass
    x = np.random.default_rng(0).standard_normal((3, 3))
    with pytest.raises(GradcheckError, match="transpose"):
        check_layer(Linear(3, 3, bug="transpose"), x, seed=0)


# ---------------------------------------------------------- the contract rules
@pytest.mark.parametrize(
    ("bug", "rule"),
    [("mutate", "inputs untouched"), ("upcast", "dtype kept"), ("assign", "`=` instead of `\\+=`")],
)
def test_check_layer_catches_contract_breaks(bug: str, rule: str) -> None:
    x = np.random.default_rng(0).standard_normal((3, 2)).astype(np.float32)
    with pytest.raises(LayerCheckError, match=rule):
        check_layer(Scale(2, bug=bug).to(np.float32), x)


def test_check_layer_catches_wrong_gradients() -> None:
    with pytest.raises(GradcheckError):
        check_layer(WrongSquare(), np.ones((2, 2)))


def test_check_layer_catches_a_missing_backward_guard() -> None:
    class NoGuard(Square):
        def backward(self, grad_output: Any) -> Any:
            return grad_output

    with pytest.raises(LayerCheckError, match="backward before forward: no error"):
        check_layer(NoGuard(), np.ones((2, 2)))


def test_check_layer_catches_unrepeatable_construction() -> None:
    def factory(rng: np.random.Generator) -> mtl.Dense:
        return mtl.Dense(2, 2)  # ignores rng: a fresh random draw each time

    with pytest.raises(LayerCheckError, match="construction is not repeatable"):
        check_layer(factory, np.ones((2, 2)))


def test_a_load_state_dict_that_does_nothing_is_caught() -> None:
    class Forgetful(Scale):
        def load_state_dict(self, state_dict: Any) -> None:
            pass  # keeps its own values, says nothing

    with pytest.raises(LayerCheckError, match="load_state_dict did not write 'scale'"):
        check_layer(Forgetful(3), X)


def test_a_parameter_left_out_of_the_list_is_caught() -> None:
    class Hidden(Scale):
        def __init__(self, features: int, bug: str = "") -> None:
            super().__init__(features, bug)
            self.offset = mtl.Parameter(np.zeros(features))  # never registered

        def forward(self, inputs: Any) -> Any:
            return super().forward(inputs) + self.offset.value

    with pytest.raises(
        LayerCheckError,
        match=r"layer\.offset is a parameter the layer does "
        r"not list.*add_parameter",
    ):
        check_layer(Hidden(3), X)


def test_a_buffer_left_out_of_the_list_is_caught() -> None:
    class Hidden(Scale):
        def __init__(self, features: int, bug: str = "") -> None:
            super().__init__(features, bug)
            self.count = mtl.Buffer(np.zeros(1))

    with pytest.raises(LayerCheckError, match="buffer the layer does not list"):
        check_layer(Hidden(3), X)


def test_backward_parameters_that_disagrees_is_caught() -> None:
    class Lazy(Scale):
        def backward_parameters(self, grad_output: Any) -> None:
            self.saved()  # forgets to add the gradient

    with pytest.raises(LayerCheckError, match="backward_parameters: leaves another 'scale'"):
        check_layer(Lazy(3), X)


def test_a_wrong_output_shape_is_caught() -> None:
    class Liar(Scale):
        def output_shape(self, input_shape: Any) -> Any:
            return (*input_shape[:-1], self.features + 1)

    with pytest.raises(LayerCheckError, match=r"output_shape infers \(batch, 4\)"):
        check_layer(Liar(3), X)


def test_a_config_that_cannot_rebuild_is_caught() -> None:
    class Unconfigured(Scale):
        def get_config(self) -> dict[str, Any]:
            return {"bug": self.bug}  # forgets features

    with pytest.raises(
        LayerCheckError,
        match=r"get_config: the config cannot be saved: .*leaves out the required "
        r"argument\(s\) \['features'\]",
    ):
        check_layer(Unconfigured(3), X)


def test_a_config_that_cannot_be_saved_is_caught() -> None:
    class Unsavable(Scale):
        def get_config(self) -> dict[str, Any]:
            return {"features": self.features, "bug": object()}

    with pytest.raises(LayerCheckError, match="the config cannot be saved"):
        check_layer(Unsavable(3), X)


def test_an_eval_mode_that_changes_state_is_caught() -> None:
    class Counting(Scale):
        def __init__(self, features: int, bug: str = "") -> None:
            super().__init__(features, bug)
            self.seen = self.add_buffer("seen", np.zeros(1))

        def forward(self, inputs: Any) -> Any:
            self.seen.value += 1  # even in eval mode
            return super().forward(inputs)

    with pytest.raises(LayerCheckError, match="changed the buffer 'seen'"):
        check_layer(Counting(3), X)


# ------------------------------------------------------ ranks and integer inputs
class Lookup(mtl.Layer):
    """Rows of a table by integer index: an integer input, whose gradient is None."""

    def __init__(self, rows: int, width: int, none: bool = True) -> None:
        super().__init__()
        self.rows, self.width, self.none = rows, width, none
        self.table = self.add_parameter(
            "table", np.random.default_rng(0).standard_normal((rows, width))
        )

    def forward(self, inputs: Any) -> Any:
        indices = np.asarray(inputs)
        self.save_for_backward(indices)
        return self.table.value[indices]

    def backward(self, grad_output: Any) -> Any:
        indices = self.saved()
        np.add.at(self.table.grad, indices, grad_output)
        return None if self.none else np.zeros(indices.shape)

    def output_shape(self, input_shape: Any) -> Any:
        return (*input_shape, self.width)

    def get_config(self) -> dict[str, Any]:
        return {"rows": self.rows, "width": self.width, "none": self.none}


def test_integer_inputs_are_not_differentiated_and_must_get_none() -> None:
    indices = np.random.default_rng(1).integers(0, 4, size=(3, 5))
    report = check_layer(Lookup(4, 2), indices)
    assert set(report.checked) == {"table"}
    with pytest.raises(LayerCheckError, match="integer inputs: inputs holds integers"):
        check_layer(Lookup(4, 2, none=False), indices)


def test_inputs_of_any_rank() -> None:
    report = check_layer(Scale(3), np.random.default_rng(2).standard_normal((2, 4, 5, 3)))
    assert report.checked["inputs"] == 120 and report.checked["scale"] == 3


def test_check_layer_passes_user_layers() -> None:
    report = check_layer(Scale(3), np.random.default_rng(1).standard_normal((4, 3)))
    assert set(report.checked) == {"inputs", "scale"}


# ----------------------------------------------------------- compare_with_torch
def test_compare_with_torch_passes_twins_and_names_what_differs(torch: ModuleType) -> None:
    dense = mtl.Dense(4, 3, bias=True, rng=np.random.default_rng(0))
    report = compare_with_torch(dense, torch.nn.Linear(4, 3), X[:, :3].repeat(2, axis=1)[:, :4])
    assert set(report.max_abs_error) == {"outputs", "inputs", "weight", "bias"}
    assert all(error < 1e-12 for error in report.max_abs_error.values())
    with pytest.raises(GradcheckError, match=r"outputs: max \|error\|"):
        compare_with_torch(mtl.Tanh(), torch.nn.Sigmoid(), X)


def test_compare_with_torch_sees_a_wrong_parameter_gradient(torch: ModuleType) -> None:
    class HalfBias(mtl.Dense):
        def backward(self, grad_output: Any) -> Any:
            result = super().backward(grad_output)
            assert self.bias is not None
            self.bias.grad *= 0.5
            return result

    layer = HalfBias(3, 2, bias=True, rng=np.random.default_rng(0))
    with pytest.raises(GradcheckError) as info:
        compare_with_torch(layer, torch.nn.Linear(3, 2), X)
    assert "bias: max |error|" in str(info.value) and "weight" not in str(info.value)
