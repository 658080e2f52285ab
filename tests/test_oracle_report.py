"""The end-of-run line that says how many PyTorch-oracle tests were skipped without torch."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path
from types import ModuleType

import pytest

# Seven tests: five oracle tests (the fixture, a parametrized pair, a fixture that
# asks for torch, a direct marked call) and two that are not (one skipped for
# another reason, one plain), so only the oracle skips may be counted.
SPECIMEN = """
import pytest
from conftest import torch_or_skip


def test_uses_the_fixture(torch):
    assert torch.ones(2).sum().item() == 2.0


@pytest.mark.parametrize("n", [1, 2])
def test_parametrized(torch, n):
    assert torch.zeros(n).shape == (n,)


@pytest.fixture
def zeros(torch):
    return torch.zeros(3)


def test_through_another_fixture(zeros):
    assert zeros.sum().item() == 0.0


@pytest.mark.oracle
def test_calls_torch_or_skip_directly():
    torch = torch_or_skip()
    assert torch.get_default_dtype() == torch.float64  # torch_or_skip sets it


def test_skipped_for_another_reason():
    pytest.skip("not an oracle skip")


def test_plain():
    assert 1 + 1 == 2
"""
REPORT = "PyTorch-oracle"
# -rs lists the skips as the project's -ra does; strict markers prove "oracle" is registered
OPTIONS = ["-rs", "--strict-markers", "-p", "no:cacheprovider"]


def _run_specimen(tmp_path: Path, *args: str, **env: str) -> list[str]:
    """Run pytest on the specimen beside a copy of tests/conftest.py; its output lines."""
    shutil.copy(Path(__file__).with_name("conftest.py"), tmp_path / "conftest.py")
    (tmp_path / "test_specimen.py").write_text(SPECIMEN)
    environment = {**os.environ, **env}
    environment.pop("MINITORCHLESS_REQUIRE_TORCH", None)  # CI sets it; it would fail, not skip
    environment.pop("PYTEST_ADDOPTS", None)
    environment["PYTEST_DISABLE_PLUGIN_AUTOLOAD"] = "1"  # hypothesis's plugin alone costs 0.7 s
    command = [sys.executable, "-m", "pytest", *OPTIONS, "test_specimen.py", *args]
    result = subprocess.run(
        command,
        capture_output=True,
        text=True,
        cwd=tmp_path,
        env=environment,
        timeout=300,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    return result.stdout.splitlines()


def test_without_torch_the_run_ends_with_the_count_and_the_command(tmp_path: Path) -> None:
    lines = _run_specimen(tmp_path, MINITORCHLESS_HIDE_TORCH="1")
    assert "1 passed, 6 skipped" in lines[-1]
    assert lines[-2] == (
        "5 PyTorch-oracle tests were skipped because torch is not installed; "
        "run them with: pip install torch==2.13.0 && python -m pytest"
    )
    assert sum(REPORT in line for line in lines) == 1


@pytest.mark.slow
def test_with_torch_nothing_is_added(torch: ModuleType, tmp_path: Path) -> None:
    lines = _run_specimen(tmp_path)
    assert "6 passed, 1 skipped" in lines[-1]
    assert not [line for line in lines if REPORT in line]


def test_one_skipped_oracle_test_is_one_test(tmp_path: Path) -> None:
    lines = _run_specimen(tmp_path, "-k", "directly", MINITORCHLESS_HIDE_TORCH="1")
    assert lines[-2] == (
        "1 PyTorch-oracle test was skipped because torch is not installed; "
        "run it with: pip install torch==2.13.0 && python -m pytest"
    )


def test_no_line_when_no_oracle_test_was_skipped(tmp_path: Path) -> None:
    lines = _run_specimen(tmp_path, "-m", "not oracle", MINITORCHLESS_HIDE_TORCH="1")
    assert "1 passed, 1 skipped" in lines[-1]
    assert not [line for line in lines if REPORT in line]
