"""ONNX export: a minitorchless model as an inference graph for ONNX runtimes.

Each layer type has a converter that appends the ONNX nodes computing its
forward pass; containers convert their children and wire the results. The
graph is always the *inference* graph: ``Dropout`` becomes the identity, as it
is in eval mode.

Layers without a converter are refused with a message naming them. Add one for
your own layer with :func:`register_onnx_converter`::

    @register_onnx_converter(Swish)
    def _swish(builder, layer, inputs, path):
        return builder.node("Mul", [inputs, builder.node("Sigmoid", [inputs], path)], path)

The ``onnx`` package is imported only when exporting (the ``onnx`` extra).
"""

# the converter modules register themselves with the builder when imported
from minitorchless.interop.onnx import attention as attention
from minitorchless.interop.onnx import conv as conv
from minitorchless.interop.onnx import core as core
from minitorchless.interop.onnx import pooling as pooling
from minitorchless.interop.onnx import recurrent as recurrent
from minitorchless.interop.onnx import smooth_activations as smooth_activations
from minitorchless.interop.onnx import tensor_layers as tensor_layers
from minitorchless.interop.onnx.builder import (
    IR_VERSION,
    OPSET,
    OnnxBuilder,
    register_onnx_converter,
)
from minitorchless.interop.onnx.export import export_onnx

__all__ = ["IR_VERSION", "OPSET", "OnnxBuilder", "export_onnx", "register_onnx_converter"]
