"""What is inside a .tflite model: operators, tensors, parameters, MACs, engine support.

``describe`` is what ``microtf inspect`` prints; it never imports TensorFlow.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field

from . import optable
from .tflfile import Parsed, Tensor, element_count, micro_incompatibility, parse, quant_of
from .tflite_types import type_name


@dataclass
class OpUse:
    name: str
    code: int
    version: int
    count: int
    supported: bool
    macs: int


@dataclass
class TensorDesc:
    name: str
    shape: tuple[int, ...]
    dtype: str
    scale: float | None
    zero_point: int | None
    channels: int = 0  # number of per-channel scales, 0 when per-tensor or not quantized
    const_bytes: int = 0
    subgraph: int = 0
    index: int = 0
    is_variable: bool = False


@dataclass
class ModelInfo:
    size: int
    ops: list[OpUse]
    inputs: list[TensorDesc]
    outputs: list[TensorDesc]
    tensors: list[TensorDesc]
    param_bytes: int
    total_macs: int
    subgraphs: int = 1
    support_source: str = "op table"  # or "engine" when the built engine answered
    float_ops: list[str] = field(default_factory=list)  # operators computing in float (engine: int8 only)
    micro_note: str | None = None  # why TFLite Micro would refuse it (float16, dynamic-range), if so
    unsupported: list[str] = field(default_factory=list)

    @property
    def all_supported(self) -> bool:
        return not self.unsupported

    def to_dict(self) -> dict:
        out = asdict(self)
        out["all_supported"] = self.all_supported
        return out


def op_name(code: int, custom: str | None = None) -> str:
    if custom:
        return f"CUSTOM({custom})"
    import tflite

    return tflite.BUILTIN_OPCODE2NAME.get(code, f"BUILTIN_{code}")


def tensor_desc(t: Tensor, parsed: Parsed | None = None, subgraph: int = 0, index: int = 0) -> TensorDesc:
    scale, zp = quant_of(t)
    quantized = bool(t.scales)
    return TensorDesc(
        name=t.name,
        shape=tuple(t.shape),
        dtype=type_name(t.type),
        scale=scale if quantized else None,
        zero_point=zp if quantized else None,
        channels=len(t.scales) if len(t.scales) > 1 else 0,
        const_bytes=parsed.const_bytes(t) if parsed else 0,
        subgraph=subgraph,
        index=index,
        is_variable=t.is_variable,
    )


# Operators whose cost is multiply-accumulates, and how to count them from their tensors.
def _macs(name: str, ins: list[Tensor | None], outs: list[Tensor]) -> int:
    if not outs:
        return 0
    out_n = element_count(outs[0].shape)
    weights = ins[1] if len(ins) > 1 else None
    if name == "FULLY_CONNECTED" and weights is not None and weights.shape:
        return out_n * max(weights.shape[-1], 1)
    if name == "CONV_2D" and weights is not None and len(weights.shape) == 4:
        _, kh, kw, cin = weights.shape
        return out_n * kh * kw * cin
    if name == "DEPTHWISE_CONV_2D" and weights is not None and len(weights.shape) == 4:
        return out_n * weights.shape[1] * weights.shape[2]
    if name == "TRANSPOSE_CONV" and len(ins) > 2 and ins[1] is not None and ins[2] is not None:
        w, x = ins[1], ins[2]
        if len(w.shape) == 4:
            return element_count(x.shape) * w.shape[0] * w.shape[1] * w.shape[2]
    if name == "BATCH_MATMUL" and ins and ins[0] is not None and ins[0].shape:
        return out_n * max(ins[0].shape[-1], 1)
    if name in ("MUL", "SQUARED_DIFFERENCE"):
        return out_n
    return 0


def engine_support():
    """A function (code, version) -> bool from the built C engine, or None when it is not built."""
    try:
        from . import engine  # written by the engine work; may be absent or unbuilt
    except Exception:  # noqa: BLE001 - absent, unbuilt or broken engine: fall back to the op table
        return None
    list_ops = getattr(engine, "list_ops", None)
    if list_ops is None:
        return None

    def check(model: bytes) -> dict[tuple[int, int], bool] | None:
        try:
            entries = list_ops(model)
        except Exception:  # noqa: BLE001 - a refusal by the engine: fall back to the op table
            return None
        table: dict[tuple[int, int], bool] = {}
        for e in entries:
            get = e.get if isinstance(e, dict) else lambda k, e=e: getattr(e, k, None)
            code = get("builtin_code")
            if code is None:
                code = get("code")
            if code is None:
                return None
            table[(int(code), int(get("version") or 1))] = bool(get("supported"))
        return table

    return check


def describe(model: bytes, name: str = "model") -> ModelInfo:
    """Operators (with versions, counts, support, MACs), tensors, parameter bytes of a .tflite."""
    parsed = parse(model, name)
    uses: dict[tuple, OpUse] = {}
    floats: set[str] = set()
    for graph in parsed.subgraphs:
        for op in graph.operators:
            oc = parsed.opcodes[op.opcode_index]
            ins = [graph.tensors[i] if i >= 0 else None for i in op.inputs]
            outs = [graph.tensors[i] for i in op.outputs if i >= 0]
            opname = op_name(oc.code, oc.custom)
            # Converters may list one code twice in the opcode table: group by what it is.
            key = (oc.code, oc.version, oc.custom)
            use = uses.get(key)
            if use is None:
                supported = oc.custom is None and optable.supported(oc.code, oc.version)
                use = uses[key] = OpUse(opname, oc.code, oc.version, 0, supported, 0)
            use.count += 1
            use.macs += _macs(opname, ins, outs)
            if opname not in ("QUANTIZE", "DEQUANTIZE") and any(t is not None and t.type == 0 for t in ins):
                floats.add(opname)
    source = "op table"
    checker = engine_support()
    table = checker(model) if checker else None
    if table is not None:
        source = "engine"
        for use in uses.values():
            use.supported = table.get((use.code, use.version), use.supported)
    tensors = [
        tensor_desc(t, parsed, s, i)
        for s, graph in enumerate(parsed.subgraphs)
        for i, t in enumerate(graph.tensors)
    ]
    main = parsed.subgraphs[0]
    ops = sorted(uses.values(), key=lambda u: (-u.macs, u.name))
    return ModelInfo(
        size=len(model),
        ops=ops,
        inputs=[tensor_desc(main.tensors[i], parsed, 0, i) for i in main.inputs],
        outputs=[tensor_desc(main.tensors[i], parsed, 0, i) for i in main.outputs],
        tensors=tensors,
        param_bytes=sum(t.const_bytes for t in tensors),
        total_macs=sum(u.macs for u in ops),
        subgraphs=len(parsed.subgraphs),
        support_source=source,
        unsupported=[f"{u.name} v{u.version}" for u in ops if not u.supported],
        float_ops=sorted(floats),
        micro_note=micro_incompatibility(parsed),
    )


def format_shape(shape: tuple[int, ...]) -> str:
    return "[" + ",".join(str(d) for d in shape) + "]"


def format_quant(t: TensorDesc) -> str:
    if t.scale is None:
        return "-"
    if t.channels:
        return f"per-channel x{t.channels} (first scale {t.scale:.6g}, zp {t.zero_point})"
    return f"scale {t.scale:.6g}, zp {t.zero_point}"


def format_info(info: ModelInfo, title: str = "", all_tensors: bool = False, tensors: bool = True) -> str:
    """The human-readable table ``microtf inspect`` prints."""
    lines = []
    if title:
        lines.append(f"{title}: {info.size} bytes, {info.subgraphs} subgraph(s)")
    lines.append(f"operators (support from the {info.support_source}):")
    w = max([22, *(len(u.name) for u in info.ops)])
    lines.append(f"  {'operator':<{w}} {'ver':>3} {'count':>5} {'MACs':>12}  microtf")
    for u in info.ops:
        lines.append(
            f"  {u.name:<{w}} {u.version:>3} {u.count:>5} {u.macs:>12,}  {'yes' if u.supported else 'NO'}"
        )
    lines.append(f"  {'total':<{w}} {'':>3} {sum(u.count for u in info.ops):>5} {info.total_macs:>12,}")
    for label, group in (("inputs", info.inputs), ("outputs", info.outputs)):
        lines.append(f"{label}:")
        for t in group:
            lines.append(f"  {t.name:<30} {format_shape(t.shape):<14} {t.dtype:<8} {format_quant(t)}")
    if tensors:
        shown = info.tensors if all_tensors else [t for t in info.tensors if not t.const_bytes]
        hidden = len(info.tensors) - len(shown)
        lines.append(
            f"tensors ({len(info.tensors)} in all" + (f", {hidden} constant not shown):" if hidden else "):")
        )
    else:
        shown = []
    for t in shown:
        where = f"{t.subgraph}:{t.index}"
        extra = f" const {t.const_bytes} B" if t.const_bytes else (" variable" if t.is_variable else "")
        lines.append(
            f"  {where:>6} {t.name[:40]:<40} {format_shape(t.shape):<16} {t.dtype:<8} "
            f"{format_quant(t)}{extra}"
        )
    lines.append(f"parameters: {info.param_bytes:,} bytes")
    lines.append(f"MACs per inference: {info.total_macs:,}")
    if info.unsupported:
        lines.append("not supported by microtf: " + ", ".join(info.unsupported))
    elif info.micro_note or info.float_ops:
        lines.append("every operator is in microtf's table, but see the notes below")
    else:
        lines.append("every operator is supported by microtf")
    if info.micro_note:
        lines.append(f"note: this is {info.micro_note}")
    if info.float_ops:
        lines.append(
            "note: float32 computation in "
            + ", ".join(info.float_ops)
            + "; the microtf engine runs full-integer (int8) models"
        )
    return "\n".join(lines)
