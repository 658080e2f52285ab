"""Builders of hostile model files: small files that ask the loader for a lot of work.

Each builder returns the bytes of a file that is *valid* wherever it can be,
so that the loader does all the work the file asks for instead of stopping at
the first complaint: a valid worst case is the expensive one. The tests time
nothing: they count work (see ``work.py``) or run the files in a child process
under a memory cap.
"""

from __future__ import annotations

import json
from typing import Any

import numpy as np
import safetensors.numpy

import minitorchless as mtl

Architecture = dict[str, Any]


def model_file(
    architecture: Architecture | str | None,
    tensors: dict[str, np.ndarray] | None = None,
    **metadata: str,
) -> bytes:
    """A safetensors file with minitorchless metadata around ``architecture`` (JSON or text)."""
    entries = {"format": "minitorchless", "format_version": "1", **metadata}
    if architecture is not None:
        text = architecture if isinstance(architecture, str) else json.dumps(architecture)
        entries["architecture"] = text
    return bytes(safetensors.numpy.save(tensors or {}, metadata=entries))


def raw_file(header: bytes, data: bytes = b"") -> bytes:
    """A safetensors container around a header given as raw bytes."""
    return len(header).to_bytes(8, "little") + header + data


def layer(kind: str, config: dict[str, Any] | None = None, training: bool = True) -> dict[str, Any]:
    return {"type": kind, "config": config or {}, "training": training}


def ref(index: int) -> dict[str, int]:
    return {"$layer": index}


def dense(features: int = 2) -> dict[str, Any]:
    config = {"in_features": features, "out_features": features, "bias": False}
    return layer("Dense", {**config, "dtype": "float64"})


def nested_shared(depth: int, width: int = 2) -> bytes:
    """``s = Dense; s = Sequential(s, s, ...)`` ``depth`` times: ``width ** depth`` paths.

    A few kilobytes; a loader that walks paths instead of layers never finishes.
    """
    layers = [dense()]
    for _ in range(depth):
        layers.append(layer("Sequential", {"layers": [ref(len(layers) - 1)] * width}))
    key = "0." * depth + "weight"
    return model_file({"layers": layers, "root": len(layers) - 1}, {key: np.eye(2)})


def reversed_chain_graph(nodes: int) -> bytes:
    """A ``Graph`` of one shared ``Tanh`` at ``nodes`` places, listed from last to first.

    Each node reads the one before it, so the order given is the worst for a
    topological sort that scans the list for ready nodes.
    """
    names = [f"n{i}" for i in range(nodes)]
    wiring = [[name, 0, names[i - 1] if i else "x"] for i, name in enumerate(names)]
    config = {"inputs": ["x"], "layers": [ref(0)], "nodes": wiring[::-1], "outputs": names[-1]}
    return model_file({"layers": [layer("Tanh"), layer("Graph", config)], "root": 1})


def shared_block_everywhere(blocks: int, block_size: int) -> bytes:
    """One ``Sequential`` of ``block_size`` layers, held by ``blocks`` containers.

    A constructor that walks the block for each container that holds it costs
    ``blocks * block_size``; the file lists ``blocks + block_size`` layers.
    """
    layers = [layer("Tanh") for _ in range(block_size)]
    layers.append(layer("Sequential", {"layers": [ref(i) for i in range(block_size)]}))
    block = len(layers) - 1
    holders = []
    for _ in range(blocks):
        layers.append(layer("ReLU"))
        layers.append(layer("Sequential", {"layers": [ref(block), ref(len(layers) - 1)]}))
        holders.append(ref(len(layers) - 1))
    layers.append(layer("Parallel", {"branches": holders, "merge": "sum"}))
    return model_file({"layers": layers, "root": len(layers) - 1})


def many_layers(count: int) -> bytes:
    """``count`` activations in one ``Sequential`` (``count + 1`` layers): the most per byte."""
    layers = [layer("Tanh") for _ in range(count)]
    layers.append(layer("Sequential", {"layers": [ref(i) for i in range(count)]}))
    return model_file({"layers": layers, "root": count})


def deep_chain(depth: int) -> bytes:
    """``Sequential(Sequential(...(Tanh)))``, ``depth`` containers deep."""
    layers = [layer("Tanh")]
    for _ in range(depth):
        layers.append(layer("Sequential", {"layers": [ref(len(layers) - 1)]}))
    return model_file({"layers": layers, "root": depth})


def tiny_objects_header(size: int) -> bytes:
    """A header of ``size`` bytes made of empty JSON objects: about 25 bytes of memory each."""
    count = max(1, (size - 16) // 3)
    header = b'{"x":[' + b"{}," * count + b'{}],"y":0}'
    return raw_file(header)


def shape_explosion(depth: int, factors: int = 3) -> bytes:
    """Graphs nested ``depth`` deep, each running the one inside on ``factors`` widths.

    Level k feeds the graph inside it the input concatenated with itself 1, 2, ...
    ``factors`` times, so the innermost graph meets every product of those
    widths: the distinct shapes to infer grow like ``depth ** factors``. Only the
    outermost graph declares its input's width, so building the inner ones is cheap.
    """
    layers = [layer("Tanh"), layer("Concatenate")]
    inner, concat = 0, 1
    for level in range(depth):
        nodes, outputs = [], []
        for copies in range(1, factors + 1):
            source = "x"
            if copies > 1:
                nodes.append([f"c{copies}", 1, ["x"] * copies])
                source = f"c{copies}"
            nodes.append([f"g{copies}", 0, source])
            outputs.append(f"g{copies}")
        nodes.append(["out", 1, outputs])
        inputs: Any = {"x": 1} if level == depth - 1 else ["x"]
        config = {"inputs": inputs, "layers": [ref(inner), ref(concat)], "nodes": nodes}
        layers.append(layer("Graph", {**config, "outputs": "out"}))
        inner = len(layers) - 1
    return model_file({"layers": layers, "root": inner})


def big_declared(kind: str, config: dict[str, Any]) -> bytes:
    """A tiny file whose architecture declares one ``kind`` layer of ``config``: a huge one."""
    return model_file({"layers": [layer(kind, config)], "root": 0}, {"weight": np.eye(2)})


def big_declared_dense(features: int) -> bytes:
    """A tiny file whose architecture declares a ``features x features`` Dense."""
    config = {"in_features": features, "out_features": features, "bias": False, "dtype": "float64"}
    return big_declared("Dense", config)


def valid_model_bytes(model: mtl.Layer) -> bytes:
    """The file ``mtl.save`` writes for ``model``."""
    import tempfile
    from pathlib import Path

    with tempfile.TemporaryDirectory() as directory:
        path = Path(directory) / "model.safetensors"
        mtl.save(model, path)
        return path.read_bytes()


def huge_string_header(size: int) -> bytes:
    """One JSON string filling the header: memory proportional to the text, no more."""
    return raw_file(b'{"__metadata__":{"s":"' + b"a" * max(0, size - 30) + b'"}}')


def huge_declared_tensor() -> bytes:
    """A header entry of 10**12 values whose data is not there."""
    header = b'{"w":{"dtype":"F64","shape":[1000000,1000000],"data_offsets":[0,8000000000000]}}'
    return raw_file(header)


def many_tensors(count: int) -> bytes:
    """``count`` scalar tensors: a long header, each entry checked once."""
    tensors = {f"t{i}": np.zeros(()) for i in range(count)}
    return bytes(safetensors.numpy.save(tensors, metadata={"format": "minitorchless"}))


def deep_config(depth: int, kind: str = "Tanh") -> bytes:
    """A ``kind`` layer whose config holds ``value`` nested ``depth`` lists deep.

    With the config itself, the nesting is ``depth + 1`` deep. A ``Tanh`` takes
    no ``value``: only a file refused for its depth before any layer is built
    is meant to use the default.
    """
    value: Any = 1
    for _ in range(depth):
        value = [value]
    return model_file({"layers": [layer(kind, {"value": value})], "root": 0})


def huge_integers(count: int, digits: int = 4000) -> bytes:
    """A shape of ``count`` integers of ``digits`` digits: costly to convert, multiply and print."""
    shape = ",".join(["9" * digits] * count)
    return raw_file(b'{"w":{"dtype":"F64","shape":[%b],"data_offsets":[0,8]}}' % shape.encode())


def many_axes(axes: int, then: dict[str, Any] | None = None) -> bytes:
    """A ``Graph`` declaring an input of ``axes`` axes of 10**19, fed to ``then`` (a Flatten).

    No array has more than 64 axes, but shape inference would multiply them all,
    in time quadratic in their digits.
    """
    sizes = {"$tuple": [10**19] * axes}
    config = {"inputs": {"x": sizes}, "layers": [ref(0)], "nodes": [["y", 0, "x"]], "outputs": "y"}
    return model_file({"layers": [then or layer("Flatten"), layer("Graph", config)], "root": 1})


def battery() -> dict[str, bytes]:
    """Every worst case above at the largest size under 1 MB, by name."""
    files = {
        "nested shared containers": nested_shared(60),
        "wide nested shared containers": nested_shared(63, 8),
        "graph listed in reverse": reversed_chain_graph(20_000),
        "one block in every container": shared_block_everywhere(3_500, 3_500),
        "many layers": many_layers(9_999),
        "too many layers": many_layers(12_000),
        "deep chain": deep_chain(8_000),
        "deep config": deep_config(900),
        "shape explosion": shape_explosion(60, 8),
        "tiny objects header": tiny_objects_header(999_000),
        "huge string header": huge_string_header(999_000),
        "huge declared tensor": huge_declared_tensor(),
        "many tensors": many_tensors(12_000),
        "huge integers": huge_integers(240),
        "many axes": many_axes(45_000),
        "many axes of a layer norm": model_file(
            {"layers": [layer("LayerNorm", {"normalized_shape": [10**19] * 45_000})], "root": 0}
        ),
        "huge declared dense": big_declared_dense(100_000),
        "huge declared embedding": big_declared(
            "Embedding", {"num_embeddings": 10**7, "embedding_dim": 10}
        ),
        "huge declared layer norm": big_declared("LayerNorm", {"normalized_shape": 10**8}),
        "huge header length": (2**60).to_bytes(8, "little") + b"{}",
        "empty": b"",
        "text": b"hello, I am not a model\n" * 100,
    }
    return files


# ---------------------------------------------- users' layers that allocate
class Allocates(mtl.Layer):
    """A user's layer whose size comes from its config, as a hostile file would set it."""

    built = 0

    def __init__(self, size: int) -> None:
        super().__init__()
        type(self).built += 1
        self.size = size
        self.table = self.add_buffer("table", np.zeros(size))

    def forward(self, inputs: Any) -> Any:
        return inputs

    def backward(self, grad_output: Any) -> Any:
        return grad_output

    def get_config(self) -> dict[str, Any]:
        return {"size": self.size}


class Declares(Allocates):
    """The same layer, telling its size from its config."""

    @classmethod
    def size_from_config(cls, config: Any) -> int | None:
        return int(config["size"])
