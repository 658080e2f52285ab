"""Saves that change nothing but the file, and errors that blame the right thing.

A save writes a temporary file next to the target and renames it over it. So:
saving over a private file keeps it private (and keeps its owner where the
process may), a name at the file system's length limit still saves, a failed
save leaves the old file and no stray temporary file, concurrent saves leave
one complete file, a layer that its config cannot rebuild is refused before
anything is written, and a missing directory is named as such.
"""

from __future__ import annotations

import contextlib
import multiprocessing
import os
import shutil
import signal
import stat
import sys
import tempfile
import threading
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest

import minitorchless as mtl
from minitorchless.serialization import _atomic

LINUX = sys.platform.startswith("linux")


def _model(seed: int = 0, width: int = 3) -> mtl.Sequential:
    rng = np.random.default_rng(seed)
    return mtl.Sequential(mtl.Dense(width, width, rng=rng), mtl.Tanh())


def _leftovers(directory: Path) -> list[str]:
    return sorted(name for name in os.listdir(directory) if name.endswith(".tmp"))


SAVERS: dict[str, Callable[[mtl.Layer, Path], None]] = {
    "save": mtl.save,
    "save_weights": mtl.save_weights,
    "save_weights torch": lambda model, path: mtl.save_weights(model, path, layout="torch"),
    "export_onnx": lambda model, path: mtl.export_onnx(model, path, np.zeros((1, 3))),
}


# ------------------------------------------------------ modes and owners
@pytest.mark.skipif(not hasattr(os, "fchmod"), reason="no POSIX modes")
@pytest.mark.parametrize("saver", sorted(SAVERS))
@pytest.mark.parametrize("mode", [0o600, 0o640, 0o604])
def test_saving_over_a_file_keeps_its_mode(saver: str, mode: int, tmp_path: Path) -> None:
    path = tmp_path / "private.safetensors"
    path.write_bytes(b"old")
    path.chmod(mode)
    SAVERS[saver](_model(), path)
    assert stat.S_IMODE(path.stat().st_mode) == mode
    assert path.read_bytes() != b"old" and _leftovers(tmp_path) == []


@pytest.mark.skipif(not hasattr(os, "fchmod"), reason="no POSIX modes")
def test_a_new_file_gets_the_mode_a_plain_open_gives(tmp_path: Path) -> None:
    umask = os.umask(0o027)
    try:
        mtl.save(_model(), tmp_path / "new.safetensors")
    finally:
        os.umask(umask)
    assert stat.S_IMODE((tmp_path / "new.safetensors").stat().st_mode) == 0o640


@pytest.mark.skipif(not hasattr(os, "fchown") or os.geteuid() != 0, reason="needs root to chown")
def test_saving_over_a_file_keeps_its_owner_and_group(tmp_path: Path) -> None:
    path = tmp_path / "theirs.safetensors"
    mtl.save(_model(), path)
    os.chown(path, 4321, 8765)
    path.chmod(0o600)
    mtl.save(_model(1), path)
    info = path.stat()
    assert (info.st_uid, info.st_gid, stat.S_IMODE(info.st_mode)) == (4321, 8765, 0o600)


@pytest.mark.skipif(not hasattr(os, "fchown"), reason="no POSIX owners")
def test_a_process_that_may_not_give_files_away_still_keeps_the_mode(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """As a user, fchown to another owner fails: the group is tried, the mode still kept."""
    calls: list[tuple[int, int]] = []

    def refuse_owner(descriptor: int, uid: int, gid: int) -> None:
        calls.append((uid, gid))
        if uid != -1:
            raise PermissionError(1, "Operation not permitted")

    path = tmp_path / "private.safetensors"
    mtl.save(_model(), path)
    path.chmod(0o600)
    monkeypatch.setattr(_atomic.os, "fchown", refuse_owner)
    mtl.save(_model(1), path)
    info = path.stat()
    assert calls == [(info.st_uid, info.st_gid), (-1, info.st_gid)]
    assert stat.S_IMODE(info.st_mode) == 0o600


def test_saving_through_a_symbolic_link_replaces_the_link_not_its_target(tmp_path: Path) -> None:
    target = tmp_path / "target.safetensors"
    target.write_bytes(b"kept")
    link = tmp_path / "link.safetensors"
    link.symlink_to(target)
    mtl.save(_model(), link)
    assert target.read_bytes() == b"kept" and not link.is_symlink()
    assert isinstance(mtl.load(link), mtl.Sequential)


# ------------------------------------------------------------------ names
def _name_max(directory: Path) -> int:
    try:
        return int(os.pathconf(directory, "PC_NAME_MAX"))
    except (AttributeError, OSError, ValueError):
        return 255


@pytest.mark.parametrize("letter", ["m", "é"])  # é takes two bytes in UTF-8
def test_a_name_at_the_file_systems_length_limit_saves(letter: str, tmp_path: Path) -> None:
    suffix = ".safetensors"
    room = _name_max(tmp_path) - len(suffix)
    name = letter * (room // len(letter.encode())) + "x" * (room % len(letter.encode())) + suffix
    assert len(name.encode()) == _name_max(tmp_path)
    path = tmp_path / name
    model = _model()
    mtl.save(model, path)
    mtl.save(model, path)  # and over itself
    np.testing.assert_array_equal(mtl.load(path).state_dict()["0.weight"], model[0].weight.value)
    assert os.listdir(tmp_path) == [name]


def test_the_temporary_name_is_never_cut_inside_a_character() -> None:
    directory = os.fsencode(os.curdir)
    for name in ("é" * 200 + ".safetensors", "日本" * 60):
        temporary = os.path.basename(_atomic._temporary_name(directory, name.encode()))
        assert len(temporary) <= _atomic._name_max(directory)
        temporary.decode("utf-8")  # raises if a character was cut


def test_a_name_over_the_limit_is_the_file_systems_error(tmp_path: Path) -> None:
    with pytest.raises(OSError, match="File name too long"):
        mtl.save(_model(), tmp_path / ("m" * (_name_max(tmp_path) + 1)))
    assert _leftovers(tmp_path) == []


# --------------------------------------------------- failures change nothing
def test_saving_into_a_missing_directory_names_the_directory(tmp_path: Path) -> None:
    missing = tmp_path / "no" / "such"
    with pytest.raises(FileNotFoundError) as info:
        mtl.save(_model(), missing / "model.safetensors")
    assert f"the directory {missing} does not exist" in str(info.value)
    assert ".tmp" not in str(info.value)


def test_saving_under_a_file_names_it_as_not_a_directory(tmp_path: Path) -> None:
    (tmp_path / "plain").write_bytes(b"")
    with pytest.raises(NotADirectoryError, match=f"{tmp_path / 'plain'} is not a directory"):
        mtl.save(_model(), tmp_path / "plain" / "model.safetensors")


def _save_as_nobody(directory: str) -> None:
    if os.geteuid() == 0:
        os.setuid(65534)  # root may write anywhere: be an ordinary user
    try:
        mtl.save(_model(), os.path.join(directory, "model.safetensors"))
    except PermissionError as err:
        expected = f"no permission to create a file in {directory}"
        os._exit(0 if expected in str(err) and ".tmp" not in str(err) else 2)
    os._exit(1)


@pytest.mark.skipif(not LINUX, reason="forked processes and POSIX permissions")
def test_saving_into_a_read_only_directory_names_it() -> None:
    # in /tmp itself, which every user may reach (pytest's own directory is private to root)
    parent = Path(tempfile.mkdtemp(dir="/tmp"))
    try:
        parent.chmod(0o755)
        directory = parent / "read only"
        directory.mkdir(mode=0o555)
        worker = multiprocessing.get_context("fork").Process(
            target=_save_as_nobody, args=(str(directory),)
        )
        worker.start()
        worker.join(timeout=60)
        assert worker.exitcode == 0, "the PermissionError did not name the directory"
        assert os.listdir(directory) == []
    finally:
        shutil.rmtree(parent)


@pytest.mark.parametrize("failure", [OSError(28, "No space left on device"), KeyboardInterrupt()])
def test_a_save_that_fails_midway_leaves_the_old_file(
    failure: BaseException, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "model.safetensors"
    mtl.save(_model(0), path)
    path.chmod(0o600)
    before = path.read_bytes()

    def fail(descriptor: int) -> None:
        raise failure

    monkeypatch.setattr(_atomic.os, "fsync", fail)
    with pytest.raises(type(failure)):
        mtl.save(_model(1), path)
    assert path.read_bytes() == before and _leftovers(tmp_path) == []
    assert stat.S_IMODE(path.stat().st_mode) == 0o600


@pytest.mark.parametrize("kind", ["directory", "fifo"])
def test_a_save_never_replaces_a_directory_or_a_fifo(kind: str, tmp_path: Path) -> None:
    path = tmp_path / "model.safetensors"
    if kind == "directory":
        path.mkdir()
    else:
        if not hasattr(os, "mkfifo"):
            pytest.skip("no FIFOs")
        os.mkfifo(path)
    error = IsADirectoryError if kind == "directory" else FileExistsError
    with _within(10), pytest.raises(error, match="which a save must not replace"):
        mtl.save(_model(), path)
    assert _leftovers(tmp_path) == []


# ------------------------------------- a config that cannot rebuild its layer
class _ForgetsRequired(mtl.Layer):
    def __init__(self, features: int, scale: float = 1.0) -> None:
        super().__init__()
        self.features, self.scale = features, scale
        self.weight = self.add_parameter("weight", np.ones(features))

    def forward(self, inputs: Any) -> Any:
        return inputs * self.weight.value

    def backward(self, grad_output: Any) -> Any:
        return grad_output

    def get_config(self) -> dict[str, Any]:
        return {"scale": self.scale}  # forgets ``features``


class _ForgetsOptional(_ForgetsRequired):
    def __init__(self, features: int = 2, scale: float = 1.0) -> None:
        super().__init__(features, scale)


class _ForgetsInItsOwnFromConfig(_ForgetsRequired):
    @classmethod
    def from_config(cls, config: Any) -> _ForgetsInItsOwnFromConfig:
        return cls(config["features"], config["scale"])


@pytest.mark.parametrize(
    ("cls", "match"),
    [
        (_ForgetsRequired, r"leaves out the required argument\(s\) \['features'\]"),
        (_ForgetsOptional, r"leaves out an argument, among \['features'\]"),
        (_ForgetsInItsOwnFromConfig, r"from_config\(.*\) fails.*KeyError: 'features'"),
    ],
)
def test_a_layer_its_config_cannot_rebuild_is_refused_at_save_time(
    cls: type[_ForgetsRequired], match: str, tmp_path: Path
) -> None:
    path = tmp_path / "model.safetensors"
    path.write_bytes(b"the previous file")
    with pytest.raises(TypeError, match=match) as info:
        mtl.save(mtl.Sequential(mtl.Tanh(), cls(5)), path)
    assert f"save: {cls.__name__}" in str(info.value)
    assert path.read_bytes() == b"the previous file" and _leftovers(tmp_path) == []


def test_a_layer_whose_config_rebuilds_it_saves_and_loads(tmp_path: Path) -> None:
    class Scale(_ForgetsRequired):
        def get_config(self) -> dict[str, Any]:
            return {"features": self.features, "scale": self.scale}

    mtl.save(Scale(4, 2.0), tmp_path / "model.safetensors")
    loaded = mtl.load(tmp_path / "model.safetensors", custom_layers=[Scale])
    assert isinstance(loaded, Scale) and loaded.weight.value.shape == (4,)


# ----------------------------------------------------------- concurrent saves
def _models(count: int) -> list[mtl.Sequential]:
    # different sizes, so that a mix of two files could never pass for one
    return [_model(seed, width=2 + seed) for seed in range(count)]


def _matches_one_of(path: Path, models: list[mtl.Sequential]) -> bool:
    loaded = mtl.load(path).state_dict()
    return any(
        loaded.keys() == model.state_dict().keys()
        and all(np.array_equal(loaded[k], v) for k, v in model.state_dict().items())
        for model in models
    )


def test_threads_saving_to_one_path_leave_one_complete_file(tmp_path: Path) -> None:
    path = tmp_path / "model.safetensors"
    models = _models(4)
    mtl.save(models[0], path)
    failures: list[BaseException] = []
    done = threading.Event()

    def saver(model: mtl.Sequential) -> None:
        try:
            for _ in range(25):
                mtl.save(model, path)
        except BaseException as err:  # reported below: a thread's exception is lost otherwise
            failures.append(err)

    def reader() -> None:
        try:
            while not done.is_set():
                assert _matches_one_of(path, models)  # readers see whole files only
        except BaseException as err:
            failures.append(err)

    savers = [threading.Thread(target=saver, args=(model,)) for model in models]
    watcher = threading.Thread(target=reader)
    for thread in [*savers, watcher]:
        thread.start()
    for thread in savers:
        thread.join()
    done.set()
    watcher.join()
    assert failures == []
    assert _matches_one_of(path, models) and _leftovers(tmp_path) == []


def _save_in_a_process(path: str, seed: int, rounds: int) -> None:
    model = _models(seed + 1)[seed]
    for _ in range(rounds):
        mtl.save(model, path)


@pytest.mark.skipif(not LINUX, reason="forked processes")
def test_processes_saving_to_one_path_leave_one_complete_file(tmp_path: Path) -> None:
    path = tmp_path / "model.safetensors"
    context = multiprocessing.get_context("fork")
    workers = [
        context.Process(target=_save_in_a_process, args=(str(path), seed, 20)) for seed in range(4)
    ]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join(timeout=120)
    assert [worker.exitcode for worker in workers] == [0] * 4
    assert _matches_one_of(path, _models(4)) and _leftovers(tmp_path) == []


# ------------------------------------------------------------- no blocking
@contextlib.contextmanager
def _within(seconds: int) -> Iterator[None]:
    """Fail, rather than hang, if the block has not ended after ``seconds``."""
    if not hasattr(signal, "SIGALRM"):
        yield
        return

    def stop(signum: int, frame: Any) -> None:
        raise TimeoutError(f"blocked for {seconds} s")

    previous = signal.signal(signal.SIGALRM, stop)
    signal.alarm(seconds)
    try:
        yield
    finally:
        signal.alarm(0)
        signal.signal(signal.SIGALRM, previous)


@pytest.mark.skipif(not LINUX, reason="FIFOs and /dev/zero")
@pytest.mark.parametrize("kind", ["fifo", "link to fifo", "dev zero", "link to dev zero"])
@pytest.mark.parametrize("loader", ["load", "load_weights"])
def test_special_files_are_refused_before_reading_without_blocking(
    kind: str, loader: str, tmp_path: Path
) -> None:
    fifo = tmp_path / "fifo"
    os.mkfifo(fifo)
    target = {"fifo": fifo, "dev zero": Path("/dev/zero")}[kind.removeprefix("link to ")]
    path = target
    if kind.startswith("link"):
        path = tmp_path / "link.safetensors"
        path.symlink_to(target)
    load: Callable[[Path], Any] = (
        mtl.load if loader == "load" else lambda p: mtl.load_weights(_model(), p, layout="torch")
    )
    expected = "a FIFO" if "fifo" in kind else "a character device"
    with _within(10), pytest.raises(mtl.NotARegularFileError, match=f"is {expected}"):
        load(path)
