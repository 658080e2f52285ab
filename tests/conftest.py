"""Shared test fixtures, the torch-oracle switch and its end-of-run report.

Oracle tests compare minitorchless with PyTorch. They use the ``torch`` fixture
(or call ``torch_or_skip()`` and carry ``@pytest.mark.oracle``); collection
marks every test that uses the fixture ``oracle``, so ``-m oracle`` and
``-m "not oracle"`` select them. Without torch they are skipped, and the run
ends with one line saying how many were skipped and how to run them.

Environment variables:
    MINITORCHLESS_REQUIRE_TORCH=1: a missing torch fails oracle tests instead of
        skipping them (set by .ci/run, so CI cannot pass without the oracle).
    MINITORCHLESS_HIDE_TORCH=1: behave as if torch were not installed. It exists
        only to test the skip report (tests/test_oracle_report.py).
"""

from __future__ import annotations

import importlib.util
import os
from collections.abc import Generator
from pathlib import Path
from types import ModuleType

import numpy as np
import pytest

TORCH_MISSING = "torch is not installed"
TORCH_PIN = "torch==2.13.0"


def torch_or_skip() -> ModuleType:
    """Import torch for an oracle test, or skip it where torch is absent.

    With MINITORCHLESS_REQUIRE_TORCH=1 (set by .ci/run) a missing torch fails
    the test instead, so CI cannot pass with the oracle silently skipped. A test
    that calls this directly rather than through the ``torch`` fixture must be
    marked ``@pytest.mark.oracle`` to be counted in the end-of-run report.
    """
    try:
        if os.environ.get("MINITORCHLESS_HIDE_TORCH") == "1":
            raise ImportError(f"MINITORCHLESS_HIDE_TORCH=1: acting as if {TORCH_MISSING}")
        import torch
    except ImportError:
        if os.environ.get("MINITORCHLESS_REQUIRE_TORCH") == "1":
            pytest.fail("torch is required here (MINITORCHLESS_REQUIRE_TORCH=1) but not installed")
        pytest.skip(TORCH_MISSING)
    torch.set_default_dtype(torch.float64)
    return torch


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers", "oracle: compares with PyTorch; skipped where torch is not installed"
    )


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    # fixturenames is the closure: a fixture that itself asks for torch counts too
    for item in items:
        if "torch" in getattr(item, "fixturenames", ()):
            item.add_marker(pytest.mark.oracle)


def _skipped_for_missing_torch(report: pytest.TestReport | pytest.CollectReport) -> bool:
    """Whether ``report`` is an oracle test's skip by ``torch_or_skip``."""
    # a module skipped at collection (importorskip) gives a CollectReport, with no keywords
    if "oracle" not in getattr(report, "keywords", {}) or not isinstance(report.longrepr, tuple):
        return False
    return report.longrepr[2] == f"Skipped: {TORCH_MISSING}"


@pytest.hookimpl(wrapper=True, tryfirst=True)
def pytest_terminal_summary(
    terminalreporter: pytest.TerminalReporter,
) -> Generator[None, None, None]:
    # the outermost wrapper: the line comes after the short test summary, above the tally
    yield
    skipped = terminalreporter.stats.get("skipped", [])
    count = sum(_skipped_for_missing_torch(report) for report in skipped)
    if count:
        tests, them = ("test was", "it") if count == 1 else ("tests were", "them")
        terminalreporter.write_line(
            f"{count} PyTorch-oracle {tests} skipped because {TORCH_MISSING}; "
            f"run {them} with: pip install {TORCH_PIN} && python -m pytest"
        )


@pytest.fixture
def rng() -> np.random.Generator:
    return np.random.default_rng(1234)


@pytest.fixture
def torch() -> ModuleType:
    """The torch module for oracle tests (skipped without torch, failed in CI)."""
    return torch_or_skip()


def load_example(name: str) -> ModuleType:
    """Import ``examples/<name>.py`` as a module, so tests can call its functions."""
    path = Path(__file__).resolve().parent.parent / "examples" / f"{name}.py"
    spec = importlib.util.spec_from_file_location(f"example_{name}", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module
