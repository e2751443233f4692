"""A small writer for ONNX model files, so that shoprec can produce ``.onnx`` files without the
``onnx`` package (which is only a test dependency, used to run ``onnx.checker`` on our output).

It encodes the few protobuf messages a keyword model needs (ModelProto, GraphProto, NodeProto,
AttributeProto, TensorProto, ValueInfoProto) following ``onnx/onnx.proto``. Field numbers are
the ones of that file; repeated scalars are written unpacked, which every protobuf parser reads.
"""

from __future__ import annotations

import struct
from typing import Dict, List, Literal, Optional, Sequence, Tuple, Union, overload

import numpy as np

# onnx.proto TensorProto.DataType
FLOAT, UINT8, INT8, UINT16, INT16, INT32, INT64 = 1, 2, 3, 4, 5, 6, 7
NUMPY_TO_ONNX = {
    np.dtype(np.float32): FLOAT,
    np.dtype(np.uint8): UINT8,
    np.dtype(np.int8): INT8,
    np.dtype(np.uint16): UINT16,
    np.dtype(np.int16): INT16,
    np.dtype(np.int32): INT32,
    np.dtype(np.int64): INT64,
}
# onnx.proto AttributeProto.AttributeType
ATTR_FLOAT, ATTR_INT, ATTR_STRING, ATTR_TENSOR, ATTR_FLOATS, ATTR_INTS = 1, 2, 3, 4, 6, 7

AttributeValue = Union[int, float, str, bytes, Sequence[int], Sequence[float], np.ndarray]


def _varint(value: int) -> bytes:
    if value < 0:
        value += 1 << 64  # int64 two's complement, 10 bytes
    out = bytearray()
    while True:
        byte = value & 0x7F
        value >>= 7
        if value:
            out.append(byte | 0x80)
        else:
            out.append(byte)
            return bytes(out)


def _key(field: int, wire: int) -> bytes:
    return _varint((field << 3) | wire)


def _int(field: int, value: int) -> bytes:
    return _key(field, 0) + _varint(int(value))


def _bytes(field: int, value: Union[bytes, str]) -> bytes:
    data = value.encode("utf-8") if isinstance(value, str) else bytes(value)
    return _key(field, 2) + _varint(len(data)) + data


def _float(field: int, value: float) -> bytes:
    return _key(field, 5) + struct.pack("<f", float(value))


def tensor(name: str, array: np.ndarray) -> bytes:
    """TensorProto: dims (1), data_type (2), name (8), raw_data (9, little-endian)."""
    array = np.ascontiguousarray(array)
    dtype = array.dtype.newbyteorder("<") if array.dtype.byteorder == ">" else array.dtype
    out = b"".join(_int(1, d) for d in array.shape)
    out += _int(2, NUMPY_TO_ONNX[np.dtype(dtype.type)])
    out += _bytes(8, name)
    out += _bytes(9, array.astype(dtype.newbyteorder("<"), copy=False).tobytes())
    return out


def attribute(name: str, value: AttributeValue) -> bytes:
    """AttributeProto: name (1), f (2), i (3), s (4), t (5), floats (7), ints (8), type (20)."""
    out = _bytes(1, name)
    if isinstance(value, np.ndarray):
        out += _bytes(5, tensor("", value)) + _int(20, ATTR_TENSOR)
    elif isinstance(value, bool) or isinstance(value, (int, np.integer)):
        out += _int(3, int(value)) + _int(20, ATTR_INT)
    elif isinstance(value, float):
        out += _float(2, value) + _int(20, ATTR_FLOAT)
    elif isinstance(value, (str, bytes)):
        out += _bytes(4, value) + _int(20, ATTR_STRING)
    elif all(isinstance(v, (int, np.integer)) for v in value):
        out += b"".join(_int(8, v) for v in value) + _int(20, ATTR_INTS)
    else:
        out += b"".join(_float(7, v) for v in value) + _int(20, ATTR_FLOATS)
    return out


def node(op_type: str, inputs: Sequence[str], outputs: Sequence[str], name: str, **attrs: AttributeValue) -> bytes:
    """NodeProto: input (1), output (2), name (3), op_type (4), attribute (5)."""
    out = b"".join(_bytes(1, i) for i in inputs)
    out += b"".join(_bytes(2, o) for o in outputs)
    out += _bytes(3, name) + _bytes(4, op_type)
    out += b"".join(_bytes(5, attribute(k, v)) for k, v in sorted(attrs.items()))
    return out


def value_info(name: str, elem_type: int, shape: Sequence[Union[int, str]]) -> bytes:
    """ValueInfoProto name (1), type (2) -> TypeProto.tensor_type (1) -> elem_type (1), shape (2)
    -> TensorShapeProto.dim (1) -> dim_value (1) or dim_param (2)."""
    dims = b"".join(
        _bytes(1, _bytes(2, d) if isinstance(d, str) else _int(1, d)) for d in shape
    )
    tensor_type = _int(1, elem_type) + _bytes(2, dims)
    return _bytes(1, name) + _bytes(2, _bytes(1, tensor_type))


class GraphBuilder:
    """Collects nodes and initializers, and names intermediate values uniquely."""

    def __init__(self) -> None:
        self.nodes: List[bytes] = []
        self.initializers: List[bytes] = []
        self._count = 0

    def constant(self, name: str, array: np.ndarray) -> str:
        self.initializers.append(tensor(name, array))
        return name

    @overload
    def op(self, op_type: str, *inputs: str, outputs: Optional[Sequence[str]] = None, n_out: int, **attrs: AttributeValue) -> Tuple[str, ...]: ...

    @overload
    def op(self, op_type: str, *inputs: str, outputs: Optional[Sequence[str]] = None, n_out: Literal[1] = 1, **attrs: AttributeValue) -> str: ...

    def op(self, op_type: str, *inputs: str, outputs: Optional[Sequence[str]] = None, n_out: int = 1, **attrs: AttributeValue) -> Union[str, Tuple[str, ...]]:
        """Add a node; its output name (``n_out == 1``) or names. With ``outputs`` given, pass
        ``n_out=len(outputs)`` for more than one."""
        self._count += 1
        if outputs is None:
            outputs = [f"{op_type.lower()}_{self._count}_{i}" for i in range(n_out)]
        self.nodes.append(node(op_type, inputs, outputs, f"{op_type}_{self._count}", **attrs))
        return outputs[0] if len(outputs) == 1 else tuple(outputs)

    def model(
        self,
        name: str,
        inputs: Sequence[bytes],
        outputs: Sequence[bytes],
        *,
        ir_version: int,
        opset: int,
        producer_version: str,
        metadata: Dict[str, str],
    ) -> bytes:
        """ModelProto: ir_version (1), producer_name (2), producer_version (3), graph (7),
        opset_import (8), metadata_props (14). GraphProto: node (1), name (2), initializer (5),
        input (11), output (12)."""
        graph = b"".join(_bytes(1, n) for n in self.nodes)
        graph += _bytes(2, name)
        graph += b"".join(_bytes(5, t) for t in self.initializers)
        graph += b"".join(_bytes(11, v) for v in inputs)
        graph += b"".join(_bytes(12, v) for v in outputs)
        model = _int(1, ir_version)
        model += _bytes(2, "shoprec") + _bytes(3, producer_version)
        model += _bytes(7, graph)
        model += _bytes(8, _bytes(1, "") + _int(2, opset))
        model += b"".join(_bytes(14, _bytes(1, k) + _bytes(2, v)) for k, v in sorted(metadata.items()))
        return model
