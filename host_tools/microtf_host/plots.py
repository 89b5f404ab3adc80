"""Pictures for ``microtf check --plot DIR``: the arena plan and a confusion matrix (PNG, matplotlib Agg).

The arena plan is computed here in Python from the specification in
``firmware/engine/src/mtf_planner.h`` (timeline, buffers with lifetimes, greedy placement), because
the C engine exposes tensor offsets (``Engine.tensor_offset``) but not lifetimes. ``compare_with_engine``
checks every offset against the engine's own placement, so the picture shows what the engine does.
Scratch buffers (requested by kernels in prepare) are not visible from Python; no kernel asks for
one today, and a difference in any offset is reported rather than hidden.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from .tflfile import Parsed, parse

ALIGN = 16
CALL_ONCE = 129
VAR_HANDLE = 142
# Element sizes as the engine counts them (mtf_dtype_size); 0: a type the engine cannot hold.
DTYPE_SIZE = {9: 1, 3: 1, 6: 1, 7: 2, 1: 2, 16: 2, 0: 4, 2: 4, 13: 4, 15: 4, 4: 8, 10: 8}


@dataclass
class PlanBuffer:
    subgraph: int
    tensor: int
    name: str
    size: int  # rounded up to 16
    first: int
    last: int
    offset: int = 0


@dataclass
class ArenaPlan:
    buffers: list[PlanBuffer]
    head: int  # planned bytes (largest offset + size)
    steps: int  # nodes on the timeline
    step_names: list[str] = field(default_factory=list)  # operator name per step

    def to_dict(self) -> dict:
        return {
            "head_bytes": self.head,
            "steps": self.steps,
            "buffers": [
                {
                    "subgraph": b.subgraph,
                    "tensor": b.tensor,
                    "name": b.name,
                    "size": b.size,
                    "first": b.first,
                    "last": b.last,
                    "offset": b.offset,
                }
                for b in self.buffers
            ],
        }


def _round(n: int) -> int:
    return -(-n // ALIGN) * ALIGN


def _call_once_targets(model: bytes) -> dict[tuple[int, int], int]:
    """(subgraph, operator) -> the subgraph index each CALL_ONCE runs (its init_subgraph_index)."""
    import tflite

    root = tflite.Model.GetRootAsModel(model, 0)
    out: dict[tuple[int, int], int] = {}
    for s in range(root.SubgraphsLength()):
        g = root.Subgraphs(s)
        for k in range(g.OperatorsLength()):
            op = g.Operators(k)
            oc = root.OperatorCodes(op.OpcodeIndex())
            if max(oc.BuiltinCode(), oc.DeprecatedBuiltinCode()) != CALL_ONCE:
                continue
            table = op.BuiltinOptions()
            target = 0
            if table is not None:
                opts = tflite.CallOnceOptions()
                opts.Init(table.Bytes, table.Pos)
                target = int(opts.InitSubgraphIndex())
            out[(s, k)] = target
    return out


def _timeline(parsed: Parsed, targets: dict[tuple[int, int], int]) -> tuple[dict, dict, list[str]]:
    """Step of every node and [first, last] step of every planned subgraph (mtf_planner.h, step 1)."""
    from .modelinfo import op_name

    node_step: dict[tuple[int, int], int] = {}
    ranges: dict[int, tuple[int, int]] = {}
    names: list[str] = []

    def walk(s: int, depth: int) -> None:
        if depth > 8 or s in ranges:
            raise ValueError(f"subgraph {s} called twice or nested deeper than 8")
        ranges[s] = (-1, -1)  # marks it as reached while its nodes are numbered
        first = len(names)
        for k, op in enumerate(parsed.subgraphs[s].operators):
            node_step[(s, k)] = len(names)
            oc = parsed.opcodes[op.opcode_index]
            names.append(op_name(oc.code, oc.custom))
            if (s, k) in targets:
                walk(targets[(s, k)], depth + 1)
        if len(names) > first:
            ranges[s] = (first, len(names) - 1)
        else:
            step = max(len(names) - 1, 0)
            ranges[s] = (step, step)

    walk(0, 0)
    return node_step, ranges, names


def plan_arena(model: bytes) -> ArenaPlan:
    """The engine's arena head plan (offsets and lifetimes of every planned tensor), in Python."""
    parsed = parse(model)
    node_step, ranges, names = _timeline(parsed, _call_once_targets(model))
    buffers: list[PlanBuffer] = []
    for s in sorted(ranges):
        g = parsed.subgraphs[s]
        handles = {
            i
            for k, op in enumerate(g.operators)
            if parsed.opcodes[op.opcode_index].code == VAR_HANDLE
            for i in op.outputs
        }
        used: dict[int, list[int]] = {}
        for k, op in enumerate(g.operators):
            for i in (*op.inputs, *op.outputs):
                if i >= 0:
                    used.setdefault(i, []).append(node_step[(s, k)])
        first_step, last_step = ranges[s]
        for i, t in enumerate(g.tensors):
            if parsed.const_bytes(t) or t.is_variable or i in handles:
                continue
            if i not in used and i not in g.inputs and i not in g.outputs:
                continue
            steps = used.get(i, [])
            first, last = (min(steps), max(steps)) if steps else (2**31 - 1, -1)
            if i in g.inputs:
                first = first_step
                last = max(last, first)
            if i in g.outputs:
                last = last_step
                first = min(first, last)
            size = DTYPE_SIZE.get(t.type, 0) * int(np.prod([max(d, 0) for d in t.shape], dtype=np.int64))
            buffers.append(PlanBuffer(s, i, t.name, _round(size), first, last))
    head = place(buffers)
    return ArenaPlan(buffers, head, len(names), names)


def place(buffers: list[PlanBuffer]) -> int:
    """Steps 3-5 of mtf_planner.h: largest first, each at the lowest offset free over its lifetime."""
    order = sorted(range(len(buffers)), key=lambda i: (-buffers[i].size, i))
    placed: list[PlanBuffer] = []  # kept by increasing offset, ties in placement order
    head = 0
    for i in order:
        b = buffers[i]
        b.offset = 0
        if b.size == 0:
            continue
        x = 0
        for q in placed:
            if q.first > b.last or b.first > q.last:
                continue
            if x + b.size <= q.offset:
                break
            x = max(x, q.offset + q.size)
        b.offset = x
        head = max(head, x + b.size)
        pos = len(placed)
        while pos > 0 and placed[pos - 1].offset > x:
            pos -= 1
        placed.insert(pos, b)
    return head


def compare_with_engine(model: bytes, plan: ArenaPlan) -> list[str]:
    """Differences between this plan and the C engine's placement (empty when they agree)."""
    from .engine import Engine

    eng = Engine(model)
    diffs = []
    for b in plan.buffers:
        if b.size == 0:
            continue
        got = eng.tensor_offset(b.subgraph, b.tensor)
        if got != b.offset:
            diffs.append(f"tensor {b.subgraph}:{b.tensor} '{b.name}': plan {b.offset}, engine {got}")
    return diffs


def _agg():
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def plot_arena(plan: ArenaPlan, path: Path, title: str = "", tail: int | None = None) -> Path:
    """Each tensor as a bar from its first to its last step, at its arena offset (bytes)."""
    plt = _agg()
    from matplotlib.patches import Rectangle

    fig, ax = plt.subplots(figsize=(10, 6), dpi=110)
    cmap = plt.get_cmap("tab20")
    steps = max(plan.steps, 1)
    for n, b in enumerate(plan.buffers):
        if b.size == 0:
            continue
        rect = Rectangle(
            (b.first - 0.45, b.offset),
            b.last - b.first + 0.9,
            b.size,
            facecolor=cmap(n % 20),
            edgecolor="black",
            linewidth=0.5,
            alpha=0.85,
        )
        ax.add_patch(rect)
        if b.size >= plan.head * 0.06:
            # Wide bars carry the tensor's name, narrow ones only its size.
            wide = (b.last - b.first + 1) >= steps * 0.08
            text = f"{b.name[:28]}\n{b.size:,} B" if wide else f"{b.size:,}"
            ax.text((b.first + b.last) / 2, b.offset + b.size / 2, text, ha="center", va="center", fontsize=6)
    top = plan.head
    if tail:
        ax.axhspan(plan.head, plan.head + tail, color="0.85", hatch="//", zorder=0)
        ax.text(
            -0.4,
            plan.head + tail / 2,
            f"persistent tail (engine structs, op data, variables): {tail:,} B",
            va="center",
            fontsize=8,
        )
        top += tail
    ax.axhline(plan.head, color="red", linewidth=0.8, linestyle="--")
    ax.set_xlim(-0.6, steps - 0.4)
    ax.set_ylim(0, max(top, 16) * 1.03)
    ax.set_xlabel("operator step (timeline of mtf_planner.h)")
    ax.set_ylabel("arena offset (bytes)")
    if plan.steps <= 40:
        ax.set_xticks(range(plan.steps))
        ax.set_xticklabels([f"{i} {nm}" for i, nm in enumerate(plan.step_names)], rotation=70, fontsize=6)
    ax.set_title(title or f"arena plan: head {plan.head:,} B")
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path)
    plt.close(fig)
    return path


def confusion(a: np.ndarray, b: np.ndarray, n: int) -> np.ndarray:
    """Counts m[i, j] of samples with class i in ``a`` and class j in ``b``."""
    m = np.zeros((n, n), dtype=np.int64)
    np.add.at(m, (a.astype(np.int64), b.astype(np.int64)), 1)
    return m


def plot_confusion(
    matrix: np.ndarray, labels: list[str], path: Path, rows: str, cols: str, title: str = ""
) -> Path:
    plt = _agg()
    n = len(matrix)
    fig, ax = plt.subplots(figsize=(1.2 * n + 3, 1.0 * n + 2.5), dpi=110)
    ax.imshow(matrix, cmap="Blues")
    peak = matrix.max() if matrix.size else 0
    for i in range(n):
        for j in range(n):
            ax.text(
                j,
                i,
                str(matrix[i, j]),
                ha="center",
                va="center",
                color="white" if matrix[i, j] > peak / 2 else "black",
            )
    ax.set_xticks(range(n))
    ax.set_yticks(range(n))
    ax.set_xticklabels(labels, rotation=45, ha="right")
    ax.set_yticklabels(labels)
    ax.set_xlabel(cols)
    ax.set_ylabel(rows)
    agree = int(np.trace(matrix))
    total = int(matrix.sum())
    ax.set_title(title or f"{agree}/{total} on the diagonal")
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path)
    plt.close(fig)
    return path


# ---- for microtf check: the arena plot and confusion matrices of one model ----


def check_plots(
    model: bytes,
    model_path: Path,
    report,
    out: Path,
    expected: list | None,
    floats: np.ndarray | None,
    reference: Path | None,
    labels: Path | None,
) -> None:
    stem = model_path.stem
    try:
        plan = plan_arena(model)
        diffs = compare_with_engine(model, plan)
        host = report.memory.get("microtf_host")
        tail = host - plan.head if host and host >= plan.head else None
        title = f"{stem}: arena head {plan.head:,} B planned" + (
            f", {host:,} B in all (host)" if host else ""
        )
        report.plots.append(str(plot_arena(plan, out / f"{stem}_arena.png", title, tail)))
        report.memory["plan_head"] = plan.head
        if diffs:
            report.notes.append(f"arena plot: {len(diffs)} offsets differ from the engine's, e.g. {diffs[0]}")
    except Exception as exc:  # noqa: BLE001 - a model the planner refuses has no plot, but a note
        report.notes.append(
            f"arena plot: n/a ({str(exc).splitlines()[0] if str(exc) else type(exc).__name__})"
        )
    if expected is None or floats is None:
        if labels is not None or reference is not None:
            report.notes.append("confusion matrix: n/a (needs --data)")
        return
    _confusion_plots(model, model_path, report, out, expected, floats, reference, labels)


def _class_names(model_path: Path, n: int) -> list[str]:
    txt = model_path.with_name("labels.txt")
    names: list[str] = []
    if txt.exists():
        names = [ln.strip() for ln in txt.read_text().splitlines() if ln.strip()]
    else:
        try:
            names = list(json.loads(model_path.with_name("manifest.json").read_text())["labels"])
        except (OSError, ValueError, KeyError, TypeError):
            names = []
    return names if len(names) == n else [str(i) for i in range(n)]


def _confusion_plots(model, model_path, report, out, expected, floats, reference, labels) -> None:
    from .dataio import load_array
    from .verify import _classes, reference_outputs

    n_classes = int(np.prod(expected[0][0].shape))
    if n_classes < 2:
        report.notes.append("confusion matrix: n/a (not a classifier: one output value)")
        return
    int8 = np.array([int(np.argmax(step[0])) for step in expected])
    names = _class_names(model_path, n_classes)
    stem = model_path.stem
    if reference is not None:
        ref = reference_outputs(reference, floats)
        flt = _classes(ref[0])
        m = confusion(flt, int8, n_classes)
        path = out / f"{stem}_confusion_float_vs_int8.png"
        report.plots.append(
            str(
                plot_confusion(
                    m,
                    names,
                    path,
                    "float model (reference)",
                    "int8 model (TFLite Micro)",
                    f"{stem}: int8 vs float, {np.trace(m)}/{m.sum()} agree",
                )
            )
        )
    if labels is not None:
        y = load_array(labels, "labels")
        if len(y) == len(int8):
            truth = np.argmax(y, axis=1) if y.ndim == 2 and y.shape[1] > 1 else y.reshape(-1).astype(np.int64)
            if truth.min() >= 0 and truth.max() < n_classes:
                m = confusion(truth, int8, n_classes)
                path = out / f"{stem}_confusion_labels_vs_int8.png"
                report.plots.append(
                    str(
                        plot_confusion(
                            m,
                            names,
                            path,
                            "true label",
                            "int8 model (TFLite Micro)",
                            f"{stem}: int8 accuracy {np.trace(m)}/{m.sum()}",
                        )
                    )
                )
                return
        report.notes.append(
            "confusion matrix against --labels: n/a (labels do not match the data or classes)"
        )
