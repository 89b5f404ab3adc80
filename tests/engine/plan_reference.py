"""The memory plan of firmware/engine/src/mtf_planner.h, written from its prose alone.

The pure-MicroPython engine must place buffers identically; this reference lets the tests
check the C engine against the specification (for models whose kernels ask for no scratch).
"""

from __future__ import annotations

import tflite

CALL_ONCE, VAR_HANDLE = 129, 142
SIZES = {0: 4, 1: 2, 2: 4, 3: 1, 4: 8, 6: 1, 7: 2, 9: 1, 10: 8, 13: 4, 15: 4, 16: 2}


def _code(model: tflite.Model, op: tflite.Operator) -> int:
    c = model.OperatorCodes(op.OpcodeIndex())
    return max(c.BuiltinCode(), c.DeprecatedBuiltinCode())


def _call_target(op: tflite.Operator) -> int:
    table = tflite.CallOnceOptions()
    opts = op.BuiltinOptions()
    table.Init(opts.Bytes, opts.Pos)
    return table.InitSubgraphIndex()


def plan(data: bytes) -> dict[tuple[int, int], int]:
    """{(subgraph, tensor): offset} of every planned tensor."""
    model = tflite.Model.GetRootAsModel(data, 0)
    steps: dict[tuple[int, int], int] = {}
    ranges: dict[int, tuple[int, int]] = {}
    counter = 0

    def walk(s: int, caller_step: int) -> None:
        nonlocal counter
        g = model.Subgraphs(s)
        first = counter
        for i in range(g.OperatorsLength()):
            op = g.Operators(i)
            steps[(s, i)] = counter
            counter += 1
            if _code(model, op) == CALL_ONCE:
                walk(_call_target(op), counter - 1)
        ranges[s] = (first, counter - 1) if counter > first else (caller_step, caller_step)

    walk(0, 0)
    buffers = []  # [size, first, last, key]
    for s in sorted(ranges):
        g = model.Subgraphs(s)
        used: dict[int, list[int]] = {}
        skip = set()
        for i in range(g.OperatorsLength()):
            op = g.Operators(i)
            if _code(model, op) == VAR_HANDLE:
                skip.update(op.OutputsAsNumpy().tolist())
            for t in [*op.InputsAsNumpy().tolist(), *op.OutputsAsNumpy().tolist()]:
                if t >= 0:
                    used.setdefault(t, []).append(steps[(s, i)])
        ins, outs = set(g.InputsAsNumpy().tolist()), set(g.OutputsAsNumpy().tolist())
        for t in range(g.TensorsLength()):
            tensor = g.Tensors(t)
            const = model.Buffers(tensor.Buffer()).DataLength() > 0 if model.BuffersLength() else False
            if const or tensor.IsVariable() or t in skip or not (t in used or t in ins or t in outs):
                continue
            n = SIZES[tensor.Type()]
            for d in tensor.ShapeAsNumpy().tolist() if tensor.ShapeLength() else []:
                n *= d
            first, last = min(used.get(t, [2**31])), max(used.get(t, [-1]))
            if t in ins:
                first = ranges[s][0]
                last = max(last, first)
            if t in outs:
                last = ranges[s][1]
                first = min(first, last)
            buffers.append([(n + 15) // 16 * 16, first, last, (s, t)])
    order = sorted(range(len(buffers)), key=lambda i: (-buffers[i][0], i))
    placed: list[tuple[int, int, int, int]] = []  # offset, size, first, last
    result = {}
    for i in order:
        size, first, last, key = buffers[i]
        x = 0
        if size:
            for off, sz, f, la in sorted(placed):
                if f <= last and first <= la:
                    if x + size <= off:
                        break
                    x = max(x, off + sz)
            placed.append((x, size, first, last))
        result[key] = x
    return result
