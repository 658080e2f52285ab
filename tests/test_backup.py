"""BackupAndRestore: a run killed with SIGKILL and started again ends as if never stopped."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from pathlib import Path
from typing import Any

import numpy as np
import pytest

import minitorchless as mtl
from minitorchless.callbacks import BackupAndRestore, Callback, EarlyStopping

ROOT = Path(__file__).resolve().parent.parent

# the same call every time; KILL_AT (epoch, batch) makes the process SIGKILL itself there
SCRIPT = """
import json, os, signal, sys
import numpy as np
import minitorchless as mtl
from minitorchless.callbacks import BackupAndRestore, Callback, EarlyStopping

backup, out, kill_epoch = sys.argv[1], sys.argv[2], int(sys.argv[3])

class Kill(Callback):
    epoch = None

    def on_epoch_begin(self, epoch, logs):
        if self.epoch is None:
            print("started at epoch", epoch, flush=True)
        self.epoch = epoch
    def on_batch_end(self, batch, logs):
        if self.epoch == kill_epoch and batch == 2:
            os.kill(os.getpid(), signal.SIGKILL)

rng = np.random.default_rng(0)
X = rng.normal(size=(120, 4))
y = (X[:, 0] * X[:, 1] + X[:, 2] > 0).astype(int) + (X[:, 3] > 1)
model = mtl.Sequential(
    mtl.Dense(4, 16, bias=True, rng=rng), mtl.ReLU(), mtl.Dropout(0.3, rng=rng),
    mtl.Dense(16, 3, bias=True, rng=rng),
)
optimizer = mtl.Adam(model.parameters(), lr=0.02)
history = mtl.fit(
    model, X, y, loss=mtl.CrossEntropyLoss(), optimizer=optimizer, epochs=12,
    batch_size=16, validation_split=0.25, metrics=["accuracy"], verbose=0,
    rng=np.random.default_rng(1),
    callbacks=[
        Kill(),
        mtl.StepLR(optimizer, step_size=3, gamma=0.5),
        EarlyStopping("val_loss", patience=100, restore_best_weights=True),
        BackupAndRestore(backup),
    ],
)
np.savez(out + ".npz", **model.state_dict())
with open(out + ".json", "w") as handle:
    json.dump({"history": history.history, "epoch": history.epoch}, handle)
"""


def _run(tmp_path: Path, name: str, kill_epoch: int) -> subprocess.CompletedProcess[str]:
    script = tmp_path / "run.py"
    script.write_text(SCRIPT)
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    backup, out = tmp_path / f"{name}.backup", tmp_path / name
    return subprocess.run(
        [sys.executable, str(script), str(backup), str(out), str(kill_epoch)],
        capture_output=True, text=True, env=env, timeout=300, check=False,
    )  # fmt: skip


def _result(tmp_path: Path, name: str) -> tuple[dict[str, Any], dict[str, Any]]:
    with np.load(tmp_path / f"{name}.npz") as weights:
        arrays = {key: weights[key] for key in weights.files}
    return arrays, json.loads((tmp_path / f"{name}.json").read_text())


@pytest.mark.skipif(not hasattr(signal, "SIGKILL"), reason="needs SIGKILL")
def test_a_run_killed_twice_and_restarted_ends_bit_for_bit_as_an_uninterrupted_one(
    tmp_path: Path,
) -> None:
    done = _run(tmp_path, "reference", kill_epoch=-1)
    assert done.returncode == 0, done.stderr
    assert not (tmp_path / "reference.backup").exists()  # deleted when training ended
    assert done.stdout.strip() == "started at epoch 0"
    starts = []
    for kill_epoch in (2, 7):  # killed mid-epoch, twice, then run to the end
        killed = _run(tmp_path, "resumed", kill_epoch=kill_epoch)
        assert killed.returncode == -signal.SIGKILL, killed.stderr
        starts.append(killed.stdout.strip())
        assert (tmp_path / "resumed.backup").is_file()
        assert not (tmp_path / "resumed.json").exists()
    finished = _run(tmp_path, "resumed", kill_epoch=-1)
    assert finished.returncode == 0, finished.stderr
    # each start went on after the last completed epoch, not from the beginning
    assert [*starts, finished.stdout.strip()] == [f"started at epoch {e}" for e in (0, 2, 7)]
    expected_weights, expected_history = _result(tmp_path, "reference")
    weights, history = _result(tmp_path, "resumed")
    assert history == expected_history  # every epoch's numbers, exactly
    assert history["epoch"] == list(range(12))
    assert len(set(history["history"]["lr"])) == 4  # the schedule went on where it was
    for key, value in expected_weights.items():
        np.testing.assert_array_equal(weights[key], value)


def _blobs() -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(0)
    y = np.arange(60) % 3
    return rng.normal(size=(60, 2)) + y[:, None], y


def _fit(model: mtl.Sequential, path: Path, callbacks: list[Callback], epochs: int) -> mtl.History:
    X, y = _blobs()
    return mtl.fit(
        model, X, y, loss=mtl.CrossEntropyLoss(), optimizer=mtl.SGD(model.parameters(), lr=0.1),
        epochs=epochs, batch_size=16, verbose=0, rng=np.random.default_rng(0),
        callbacks=[*callbacks, BackupAndRestore(path)],
    )  # fmt: skip


def _model() -> mtl.Sequential:
    return mtl.Sequential(mtl.Dense(2, 3, bias=True, rng=np.random.default_rng(0)))


class _Stop(Callback):
    def on_epoch_end(self, epoch: int, logs: dict[str, float]) -> None:
        if epoch == 1:
            raise KeyboardInterrupt


def test_the_backup_is_kept_after_an_interruption_and_is_safetensors(tmp_path: Path) -> None:
    path = tmp_path / "run.backup"
    with pytest.raises(KeyboardInterrupt):
        _fit(_model(), path, [_Stop()], epochs=5)
    assert path.read_bytes()[8:9] == b"{"  # a safetensors header, no pickle
    resumed = _fit(_model(), path, [], epochs=5)
    assert resumed.epoch == [0, 1, 2, 3, 4] and not path.exists()


def test_a_backup_from_a_run_with_other_callbacks_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "run.backup"
    with pytest.raises(KeyboardInterrupt):
        _fit(_model(), path, [_Stop()], epochs=5)
    model = _model()
    before = model.state_dict()
    with pytest.raises(
        mtl.SerializationError, match=r"callbacks \[\], this run has \['EarlyStopping'\]"
    ):
        _fit(model, path, [EarlyStopping("loss")], epochs=5)
    for key, value in model.state_dict().items():
        np.testing.assert_array_equal(value, before[key])
    (tmp_path / "other").write_bytes(b"not a backup")
    with pytest.raises(mtl.SerializationError):
        _fit(_model(), tmp_path / "other", [], epochs=2)
