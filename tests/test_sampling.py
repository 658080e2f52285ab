"""Generation: seeded sampling with temperature and top-k, and generate's two ways of going on."""

from __future__ import annotations

import itertools
from typing import Any

import numpy as np
import pytest

import minitorchless as mtl

LOGITS = np.log(np.array([0.5, 0.3, 0.15, 0.05]))


def test_the_same_seed_draws_the_same_tokens() -> None:
    logits = np.random.default_rng(0).standard_normal((5, 7))
    first = mtl.sample(logits, rng=np.random.default_rng(1))
    again = mtl.sample(logits, rng=np.random.default_rng(1))
    assert first.shape == (5,) and first.dtype == np.int64
    np.testing.assert_array_equal(first, again)
    assert mtl.sample(logits[0], rng=np.random.default_rng(1)).shape == ()


def test_frequencies_follow_the_tempered_softmax() -> None:
    rows = np.tile(LOGITS, (20_000, 1))
    for temperature in (1.0, 0.5, 2.0):
        tokens = mtl.sample(rows, temperature, rng=np.random.default_rng(2))
        expected = np.exp(LOGITS / temperature)
        expected /= expected.sum()
        frequencies = np.bincount(tokens, minlength=4) / len(tokens)
        # 20,000 draws: the standard error of each frequency is below 0.0036
        np.testing.assert_allclose(frequencies, expected, atol=0.015)


def test_top_k_keeps_the_k_most_likely() -> None:
    rows = np.tile(LOGITS, (5_000, 1))
    tokens = mtl.sample(rows, top_k=2, rng=np.random.default_rng(3))
    assert set(np.unique(tokens)) == {0, 1}
    np.testing.assert_allclose(np.mean(tokens == 0), 0.5 / 0.8, atol=0.02)
    greedy = np.random.default_rng(4).standard_normal((6, 9))
    np.testing.assert_array_equal(
        mtl.sample(greedy, top_k=1, rng=np.random.default_rng(5)), greedy.argmax(axis=1)
    )
    assert set(np.unique(mtl.sample(rows[:500], top_k=50, rng=np.random.default_rng(6)))) == {
        0,
        1,
        2,
        3,
    }


@pytest.mark.parametrize("temperature", [0, -1.0, 0.0])
def test_a_temperature_at_or_below_zero_is_refused(temperature: float) -> None:
    with pytest.raises(ValueError, match=r"temperature must be > 0.*received"):
        mtl.sample(LOGITS, temperature)
    with pytest.raises(ValueError, match=r"temperature must be > 0"):
        mtl.generate(_bigram_model(), [1], 3, temperature=temperature)


def test_bad_logits_and_arguments() -> None:
    with pytest.raises(mtl.ShapeError, match=r"\(vocabulary,\) or \(N, vocabulary\).*\(2, 3, 4\)"):
        mtl.sample(np.zeros((2, 3, 4)))
    with pytest.raises(ValueError, match="finite"):
        mtl.sample(np.array([0.0, np.nan]))
    with pytest.raises(ValueError, match="top_k must be >= 1"):
        mtl.sample(LOGITS, top_k=0)
    with pytest.raises(mtl.ShapeError, match="integer token ids"):
        mtl.generate(_bigram_model(), np.array([0.5]), 2)


def _bigram_model(vocab: int = 5, seed: int = 0) -> mtl.Sequential:
    rng = np.random.default_rng(seed)
    return mtl.Sequential(mtl.Embedding(vocab, vocab, rng=rng))  # logits = a row per token


def test_generate_continues_the_prompt_reproducibly() -> None:
    model = _bigram_model()
    out = mtl.generate(model, [1, 2], 6, rng=np.random.default_rng(7))
    assert out.shape == (8,) and list(out[:2]) == [1, 2]
    again = mtl.generate(model, [1, 2], 6, rng=np.random.default_rng(7))
    np.testing.assert_array_equal(out, again)
    batch = mtl.generate(model, [[1, 2], [3, 4]], 4, top_k=1, rng=np.random.default_rng(8))
    weight = model.layers[0].weight.value  # type: ignore[attr-defined]
    for row in batch:  # greedy: each token is the argmax of the previous token's logits
        for previous, token in itertools.pairwise(row[1:]):
            assert token == weight[previous].argmax()


def test_generate_windows_a_transformer_and_restores_its_mode() -> None:
    rng = np.random.default_rng(9)
    model = mtl.Sequential(
        mtl.Embedding(6, 8, rng=rng),
        mtl.PositionalEmbedding(4, 8, rng=rng),
        mtl.transformer_block(8, 2, rng=rng),
        mtl.Dense(8, 6, rng=rng),
    )
    out = mtl.generate(model, [0, 1, 2], 5, rng=np.random.default_rng(10))  # max_len 4: windowed
    assert out.shape == (8,) and model.training
    with pytest.raises(mtl.ShapeError, match="max_len = 4"):
        mtl.generate(model, [0, 1, 2], 3, context=5, rng=np.random.default_rng(10))


class RunningSum(mtl.Layer):
    """A toy recurrent layer: ``h_t = h_{t-1} + x_t``, with the state API generate looks for."""

    def __init__(self) -> None:
        super().__init__()
        self.initial_state: Any = None
        self.final_state: Any = None
        self.calls: list[int] = []

    def forward(self, inputs: Any) -> Any:
        state = getattr(self, "initial_state", None)
        start = 0 if state is None else state
        outputs = start + np.cumsum(inputs, axis=1)
        self.final_state = outputs[:, -1:]
        self.calls.append(inputs.shape[1])
        return outputs

    def backward(self, grad_output: Any) -> Any:
        raise NotImplementedError


def test_a_recurrent_state_is_carried_step_to_step() -> None:
    rng = np.random.default_rng(11)
    recurrent = RunningSum()
    model = mtl.Sequential(mtl.Embedding(7, 3, rng=rng), recurrent, mtl.Dense(3, 7, rng=rng))
    carried = mtl.generate(model, [[1, 2, 3]], 5, rng=np.random.default_rng(12))
    assert recurrent.calls == [3, 1, 1, 1, 1]  # the prompt, then one token per step
    assert recurrent.initial_state is None  # put back as it was

    recurrent.initial_state, recurrent.final_state = None, None
    del recurrent.initial_state  # without the state API, generate re-runs the whole sequence
    rerun = mtl.generate(model, [[1, 2, 3]], 5, rng=np.random.default_rng(12))
    np.testing.assert_array_equal(carried, rerun)  # the same tokens either way
