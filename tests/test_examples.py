"""The examples reach their documented targets with their real settings."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from conftest import load_example

pytest.importorskip("sklearn")  # both examples load their data from scikit-learn


def test_iris_reaches_its_targets_for_seeds_0_to_9(capsys: pytest.CaptureFixture[str]) -> None:
    iris = load_example("iris")
    results = [iris.main(["--seed", str(seed)]) for seed in range(10)]
    accuracies = [result["accuracy"] for result in results]
    assert min(accuracies) >= 0.93, accuracies
    assert np.mean(accuracies) >= 0.95, accuracies
    assert np.mean([result["final_cost"] for result in results]) <= 0.02
    out = capsys.readouterr().out
    assert "epoch  1000  cost" in out and "test accuracy:" in out
    assert "The same training with mtl.fit:" not in out  # the second part needs --fit
    # it says what it trains, what the rounded predictions mean, and where to go next
    for words in (
        "120 flowers to train on and 30 held out",
        "mean squared error",
        "learning rate of 3",
        "below 0.01 shows as 0 and above 0.9 as 1",
        "Where to go next:",
    ):
        assert words in out, words


def test_iris_plots_the_cost_and_the_regions(monkeypatch: pytest.MonkeyPatch) -> None:
    pytest.importorskip("matplotlib")
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    shown: list[object] = []
    monkeypatch.setattr(plt, "show", lambda: shown.append(plt.gcf()))
    load_example("iris").main(["--epochs", "20", "--plot"])
    (figure,) = shown
    titles = [ax.get_title() for ax in figure.axes]  # type: ignore[attr-defined]
    assert titles == ["the cost", "predicted species, training flowers on top"]
    plt.close("all")


def test_iris_fit_part_reaches_the_loops_weights(capsys: pytest.CaptureFixture[str]) -> None:
    iris = load_example("iris")
    result = iris.main(["--seed", "3", "--fit"])
    assert result["same_weights"] == 1.0
    assert result["fit_accuracy"] == result["accuracy"]
    out = capsys.readouterr().out
    assert "The same training with mtl.fit:" in out
    assert "trained 1000/1000 epochs" in out


def test_digits_reaches_96_percent_with_its_real_settings(
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    digits = load_example("digits")
    plot = tmp_path / "curves.png"
    result = digits.main(["--plot", str(plot)])  # default seed and epochs
    assert result["accuracy"] >= 0.96
    out = capsys.readouterr().out
    assert "confusion matrix (rows: true digit, columns: predicted digit):" in out
    assert plot.read_bytes()[:4] == b"\x89PNG"


@pytest.mark.slow
def test_digits_other_seeds_also_reach_the_target(capsys: pytest.CaptureFixture[str]) -> None:
    digits = load_example("digits")
    for seed in (1, 2):
        assert digits.main(["--seed", str(seed), "--verbose", "0"])["accuracy"] >= 0.96


@pytest.mark.slow
def test_the_scale_out_example_trains_on_with_ddp_and_comes_back(torch: object) -> None:
    import subprocess
    import sys

    root = Path(__file__).resolve().parent.parent
    result = subprocess.run(
        [
            sys.executable,
            str(root / "examples" / "scale_out_ddp.py"),
            "--epochs",
            "5",
            "--ddp-epochs",
            "3",
        ],
        capture_output=True,
        text=True,
        timeout=240,
        check=False,
        cwd=root,
        env={**__import__("os").environ, "OMP_NUM_THREADS": "1"},
    )
    assert result.returncode == 0, result.stderr[-3000:]
    lines = result.stdout.splitlines()
    assert lines[0].startswith("1. minitorchless, 5 epochs: test accuracy")
    assert "DistributedDataParallel, 2 processes (gloo, 127.0.0.1), 3 more epochs" in lines[2]
    before = float(lines[0].rsplit(" ", 1)[1])
    after = float(lines[3].rsplit(" ", 1)[1])
    assert after > before + 0.02  # the distributed epochs went on learning (0.91 -> 0.96 here)


# ------------------------------------------------------------ char_lm
TINY_LM = [
    "--steps", "40", "--max-chars", "30000", "--embed", "16", "--heads", "2", "--layers", "1",
    "--context", "16", "--batch-size", "8", "--sample-length", "20", "--log-every", "20",
]  # fmt: skip


def test_char_lm_transformer_runs_and_learns(capsys: pytest.CaptureFixture[str]) -> None:
    char_lm = load_example("char_lm")
    result = char_lm.main(TINY_LM)
    out = capsys.readouterr().out
    assert "step 20/40: train" in out and "step 40/40: train" in out  # progress is shown
    assert "bits per char (transformer)" in out and "bits per char (bigram baseline)" in out
    vocabulary = len(set(char_lm.load_corpus(30000)))
    # 40 tiny steps already beat knowing nothing, log2(vocabulary) bits
    assert result["bits_per_char"] < np.log2(vocabulary) - 1
    assert result["sample"].startswith("The ") and len(result["sample"]) == 24
    assert char_lm.main(TINY_LM)["sample"] == result["sample"]  # seeded: the same text


def test_char_lm_bigram_baseline_is_the_counted_entropy() -> None:
    char_lm = load_example("char_lm")
    train, val = np.array([0, 1, 0, 1, 0, 0]), np.array([0, 1, 1])
    # P(1 | 0) = (2 + a) / (3 + 2a), P(1 | 1) = (0 + a) / (2 + 2a), with a = 0.1
    expected = -(np.log2(2.1 / 3.2) + np.log2(0.1 / 2.2)) / 2
    assert char_lm.bigram_bits(train, val, 2) == pytest.approx(expected, rel=1e-12)


def test_char_lm_lstm_runs_and_learns(capsys: pytest.CaptureFixture[str]) -> None:
    char_lm = load_example("char_lm")
    result = char_lm.main([*TINY_LM, "--model", "lstm", "--hidden", "16"])
    assert "bits per char (lstm)" in capsys.readouterr().out
    assert result["sample"].startswith("The ")


@pytest.mark.slow
@pytest.mark.parametrize("model", ["transformer", "lstm"])
def test_char_lm_defaults_beat_the_bigram_clearly(model: str) -> None:
    # the whole default run, however long a busy machine takes (the time guard off)
    result = load_example("char_lm").main(["--model", model, "--max-minutes", "1000"])
    assert result["bits_per_char"] < result["bigram_bits_per_char"] - 0.4
