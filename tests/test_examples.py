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
    assert "mtl.fit" not in out  # the second part only runs with --fit


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
