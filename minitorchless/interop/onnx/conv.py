"""ONNX converters of Conv1d and Conv2d: one ``Conv`` node each."""

from __future__ import annotations

from minitorchless.interop.onnx.builder import Inputs, OnnxBuilder, one, register_onnx_converter
from minitorchless.layers.conv import Conv1d, Conv2d

__all__: list[str] = []


def _conv(builder: OnnxBuilder, layer: Conv1d | Conv2d, inputs: Inputs, path: str) -> str:
    # the layer's geometry is 2-D (a Conv1d has height 1): keep its last `rank` axes
    rank = len(layer.kernel_size)
    geometry = layer._geometry
    before = [side[0] for side in geometry.padding][2 - rank :]
    after = [side[1] for side in geometry.padding][2 - rank :]
    operands = [one(inputs, layer), builder.parameter(layer.weight)]
    if layer.bias is not None:
        operands.append(builder.parameter(layer.bias))
    return builder.node(
        "Conv",
        operands,
        path,
        kernel_shape=list(layer.kernel_size),
        strides=list(layer.stride),
        dilations=list(layer.dilation),
        pads=before + after,  # ONNX: every axis's start, then every axis's end
        group=layer.groups,
    )


register_onnx_converter(Conv1d)(_conv)
register_onnx_converter(Conv2d)(_conv)
