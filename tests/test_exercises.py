"""The exercises kit: references pass, stubs and wrong answers fail with useful feedback."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest

from minitorchless.teaching import exercises
from minitorchless.testing import GradcheckError, LayerCheckError, check_layer


@pytest.mark.parametrize("name", sorted(exercises.EXERCISES))
def test_the_reference_solution_passes(name: str) -> None:
    grade = exercises.grade(name, exercises.EXERCISES[name].reference)
    assert grade.passed, grade.feedback
    assert str(grade).startswith(f"{name}: passed")


@pytest.mark.parametrize("name", sorted(exercises.EXERCISES))
def test_the_bare_stub_is_not_yet_written(name: str) -> None:
    grade = exercises.grade(name, exercises.EXERCISES[name].stub)
    assert not grade.passed
    assert "backward is not written yet" in grade.feedback and grade.hints


def test_a_wrong_backward_gets_the_likely_mistake_and_hints() -> None:
    class MyDense(exercises.DenseStub):
        def backward(self, grad_output: Any) -> Any:
            x = self.saved()
            self.weight.grad += x.T @ grad_output
            self.bias.grad += grad_output.mean(axis=0)  # a mean: the classic slip
            return grad_output @ self.weight.value.T

    grade = exercises.grade("dense", MyDense)
    assert not grade.passed
    assert "likely mistake in 'bias': off by the batch size" in grade.feedback
    assert "b is added to every row: sum G over rows" in str(grade)


def test_a_right_answer_written_differently_passes() -> None:
    class MySigmoid(exercises.SigmoidStub):
        def backward(self, grad_output: Any) -> Any:
            s = self.saved()
            return grad_output * (s - s**2)

    assert exercises.grade("sigmoid", MySigmoid).passed


def test_grade_refuses_what_is_not_the_exercise() -> None:
    with pytest.raises(KeyError, match="no exercise 'convolution'"):
        exercises.grade("convolution", exercises.Conv2dStub)
    with pytest.raises(TypeError, match="subclass of DenseStub"):
        exercises.grade("dense", exercises.SigmoidStub)


def test_solutions_and_answers_are_behind_a_flag() -> None:
    with pytest.raises(PermissionError, match="reveal=True"):
        exercises.solution("dense")
    assert "def backward" in exercises.solution("dense", reveal=True)
    exhibit = exercises.BUG_ZOO["assigned"]
    with pytest.raises(PermissionError, match="hidden"):
        exhibit.answer()
    assert "+=" in exhibit.answer(reveal=True)


EXPECTED_DIAGNOSIS = {
    "averaged twice": "off by the batch size",
    "one sample's bias": "gradient of sample 0 alone",
    "assigned": "`=` instead of `+=`",
    "not transposed": "matches after a transpose",
    "sign flipped": "the opposite sign",
    "no mean terms": "gradcheck failed",
}


@pytest.mark.parametrize("name", sorted(exercises.BUG_ZOO))
def test_every_exhibit_of_the_zoo_is_caught_by_the_kit(name: str) -> None:
    exhibit = exercises.BUG_ZOO[name]
    with pytest.raises((GradcheckError, LayerCheckError)) as caught:
        check_layer(exhibit.build(), exhibit.inputs)
    assert EXPECTED_DIAGNOSIS[name] in str(caught.value)
    assert exhibit.question and exhibit.answer(reveal=True)


def test_the_stubs_forward_matches_its_equations() -> None:
    rng = np.random.default_rng(0)
    x = rng.standard_normal((1, 1, 3, 3))
    conv = exercises.Conv2dStub(channels=1, filters=1, kernel=2)
    w, b = conv.weight.value[0, 0], conv.bias.value[0]
    expected = [[b + np.sum(x[0, 0, i : i + 2, j : j + 2] * w) for j in range(2)] for i in range(2)]
    np.testing.assert_allclose(conv(x)[0, 0], expected)
