"""Read and check .tflite flatbuffers into plain Python objects (the ``tflite`` package, no TF).

Everything is read once, inside one try/except, so a truncated or garbage file
becomes one ``MicrotfError`` here and never a traceback deeper down.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from .errors import MicrotfError

IDENTIFIER = b"TFL3"
# Root offset (4) + identifier (4) + the smallest possible tables: anything shorter is not a model.
MIN_SIZE = 24


@dataclass
class Tensor:
    name: str
    shape: tuple[int, ...]
    type: int
    buffer: int
    scales: tuple[float, ...] = ()
    zero_points: tuple[int, ...] = ()
    quantized_dimension: int = 0
    is_variable: bool = False


@dataclass
class Operator:
    opcode_index: int
    inputs: tuple[int, ...]
    outputs: tuple[int, ...]


@dataclass
class Subgraph:
    name: str
    tensors: list[Tensor]
    operators: list[Operator]
    inputs: tuple[int, ...]
    outputs: tuple[int, ...]


@dataclass
class OpCode:
    code: int
    version: int
    custom: str | None


@dataclass
class Parsed:
    """A .tflite model as plain data; ``buffer_sizes[i]`` is the byte length of buffer i."""

    version: int
    opcodes: list[OpCode]
    subgraphs: list[Subgraph]
    buffer_sizes: list[int]
    description: str = ""
    extra: dict = field(default_factory=dict)

    def const_bytes(self, tensor: Tensor) -> int:
        if 0 < tensor.buffer < len(self.buffer_sizes):
            return self.buffer_sizes[tensor.buffer]
        return 0


def read_model(path: str | Path) -> bytes:
    """The bytes of a .tflite file, checked to be a complete TFLite flatbuffer."""
    p = Path(path)
    if not p.exists():
        raise MicrotfError(f"{p}: no such file")
    if p.is_dir():
        raise MicrotfError(f"{p}: is a directory, expected a .tflite file")
    try:
        data = p.read_bytes()
    except OSError as exc:
        raise MicrotfError(f"{p}: cannot read ({exc.strerror})") from None
    parse(data, str(p))
    return data


def check_identifier(data: bytes, name: str = "model") -> None:
    if len(data) < MIN_SIZE:
        raise MicrotfError(f"{name}: {len(data)} bytes is too short to be a .tflite model")
    if data[4:8] != IDENTIFIER:
        raise MicrotfError(f"{name}: not a TFLite flatbuffer (no 'TFL3' identifier)")


def parse(data: bytes, name: str = "model") -> Parsed:
    """Parse every table of the model; any fault is a MicrotfError naming the file."""
    check_identifier(data, name)
    root = int.from_bytes(data[0:4], "little")
    if root >= len(data):
        raise MicrotfError(f"{name}: truncated or corrupt .tflite (root offset {root} past the end)")
    try:
        parsed = _parse(bytes(data))
    except MicrotfError:
        raise
    except Exception:  # noqa: BLE001 - the flatbuffers reader raises many kinds on bad offsets
        raise MicrotfError(
            f"{name}: truncated or corrupt .tflite (its offsets point outside its {len(data)} bytes)"
        ) from None
    _check_references(parsed, name)
    return parsed


def _parse(data: bytes) -> Parsed:
    import tflite

    model = tflite.Model.GetRootAsModel(data, 0)
    opcodes = []
    for i in range(model.OperatorCodesLength()):
        oc = model.OperatorCodes(i)
        # Codes above 127 live in BuiltinCode; old files only fill the deprecated byte.
        code = max(int(oc.BuiltinCode()), int(oc.DeprecatedBuiltinCode()))
        custom = oc.CustomCode()
        opcodes.append(OpCode(code, int(oc.Version()), custom.decode("utf-8", "replace") if custom else None))
    sizes = []
    for i in range(model.BuffersLength()):
        buf = model.Buffers(i)
        if buf.Offset() > 1:
            # Large models keep buffer data outside the flatbuffer, at an absolute offset.
            if buf.Offset() + buf.Size() > len(data):
                raise MicrotfError(f"buffer {i} lies past the end of the file")
            sizes.append(int(buf.Size()))
        else:
            n = int(buf.DataLength())
            if n:
                # Reading the last byte proves the vector lies inside the file.
                buf.Data(n - 1)
            sizes.append(n)
    subgraphs = [_subgraph(model.Subgraphs(s)) for s in range(model.SubgraphsLength())]
    if not subgraphs:
        raise MicrotfError("the model has no subgraph")
    desc = model.Description()
    return Parsed(
        version=int(model.Version()),
        opcodes=opcodes,
        subgraphs=subgraphs,
        buffer_sizes=sizes,
        description=desc.decode("utf-8", "replace") if desc else "",
    )


def _ints(getter, length: int) -> tuple[int, ...]:
    return tuple(int(getter(i)) for i in range(length))


def _subgraph(graph) -> Subgraph:
    tensors = []
    for t in range(graph.TensorsLength()):
        tensor = graph.Tensors(t)
        q = tensor.Quantization()
        scales: tuple[float, ...] = ()
        zps: tuple[int, ...] = ()
        qdim = 0
        if q is not None:
            scales = tuple(float(q.Scale(i)) for i in range(q.ScaleLength()))
            zps = _ints(q.ZeroPoint, q.ZeroPointLength())
            qdim = int(q.QuantizedDimension())
        name = tensor.Name()
        tensors.append(
            Tensor(
                name=name.decode("utf-8", "replace") if name else f"tensor{t}",
                shape=_ints(tensor.Shape, tensor.ShapeLength()),
                type=int(tensor.Type()),
                buffer=int(tensor.Buffer()),
                scales=scales,
                zero_points=zps,
                quantized_dimension=qdim,
                is_variable=bool(tensor.IsVariable()),
            )
        )
    operators = []
    for o in range(graph.OperatorsLength()):
        op = graph.Operators(o)
        operators.append(
            Operator(
                opcode_index=int(op.OpcodeIndex()),
                inputs=_ints(op.Inputs, op.InputsLength()),
                outputs=_ints(op.Outputs, op.OutputsLength()),
            )
        )
    name = graph.Name()
    return Subgraph(
        name=name.decode("utf-8", "replace") if name else "",
        tensors=tensors,
        operators=operators,
        inputs=_ints(graph.Inputs, graph.InputsLength()),
        outputs=_ints(graph.Outputs, graph.OutputsLength()),
    )


def _check_references(parsed: Parsed, name: str) -> None:
    """Indices between tables must point at things that exist."""
    for s, graph in enumerate(parsed.subgraphs):
        n = len(graph.tensors)
        for t in graph.tensors:
            if not 0 <= t.buffer < max(len(parsed.buffer_sizes), 1):
                raise MicrotfError(f"{name}: corrupt .tflite (tensor '{t.name}' names buffer {t.buffer})")
        for i in graph.inputs + graph.outputs:
            if not 0 <= i < n:
                raise MicrotfError(f"{name}: corrupt .tflite (subgraph {s} names tensor {i})")
        for k, op in enumerate(graph.operators):
            if not 0 <= op.opcode_index < len(parsed.opcodes):
                raise MicrotfError(f"{name}: corrupt .tflite (operator {k} has opcode {op.opcode_index})")
            for i in op.inputs + op.outputs:
                if not -1 <= i < n:  # -1 marks an optional input left out
                    raise MicrotfError(f"{name}: corrupt .tflite (operator {k} names tensor {i})")


def quant_of(tensor: Tensor) -> tuple[float, int]:
    """(scale, zero point) of a per-tensor quantized tensor, (0.0, 0) when not quantized."""
    if tensor.scales:
        return tensor.scales[0], (tensor.zero_points[0] if tensor.zero_points else 0)
    return 0.0, 0


def element_count(shape: tuple[int, ...]) -> int:
    # A -1 (unknown batch) counts as 1, as it runs on a microcontroller.
    return int(np.prod([max(d, 1) for d in shape])) if shape else 1


def micro_incompatibility(parsed: Parsed) -> str | None:
    """Why TFLite Micro will refuse the model, for the kinds of model it never runs; else None."""
    tensors = [t for g in parsed.subgraphs for t in g.tensors]
    if any(t.type == 1 for t in tensors):
        return "a float16 model (float16 models do not run on TFLite Micro or microcontrollers)"
    for g in parsed.subgraphs:
        for op in g.operators:
            ins = [g.tensors[i] for i in op.inputs if i >= 0]
            # Hybrid: float activations meet int8 constant weights inside one operator.
            if any(t.type == 0 and not parsed.const_bytes(t) for t in ins) and any(
                t.type == 9 and parsed.const_bytes(t) for t in ins
            ):
                return "a dynamic-range model (these do not run on TFLite Micro or microcontrollers)"
    return None
