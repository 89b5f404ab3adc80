"""REPL helpers: ``microtf.info(model)`` and ``microtf.bench(model, n)``.

Both take a Model or anything Model() takes (a path, bytes, an embedded module).
"""

# ruff: noqa: UP031 - %-formatting: f-strings are missing on small MicroPython builds


def _model(model):
    from microtf.model import Model

    return model if isinstance(model, Model) else Model(model)


def _fmt(p):
    shape, dtype, scale, zp = p
    q = " scale %.9g zero_point %d" % (scale, zp) if scale else " (not quantized)"
    return "%s %s%s" % (dtype, shape, q)


def info(model):
    """Print a summary: size, engine, inputs/outputs with quantization, ops, arena, labels."""
    m = _model(model)
    print("model: %d bytes, %s, %s engine" % (m.model_size, m.source, m.engine))
    if m.sha256:
        print("sha256: %s" % m.sha256)
    for i in range(m.n_inputs):
        print("input %d: %s" % (i, _fmt(m.input_info(i))))
    for i in range(m.n_outputs):
        print("output %d: %s" % (i, _fmt(m.output_info(i))))
    ops = m.ops
    print(
        "ops (%d): %s"
        % (len(ops), ", ".join("%s v%d%s" % (o[0], o[1], "" if o[2] else " (unsupported)") for o in ops))
    )
    print("arena: %d bytes used of %d" % (m.arena_used, m.arena_size))
    if m.labels is not None:
        print("labels: %s" % ", ".join(m.labels))
    return m


def _clock():
    """(now, diff) in microseconds: time.ticks_us where it exists, else time.time_ns, else None."""
    try:
        import time
    except ImportError:
        return None
    if hasattr(time, "ticks_us"):
        return time.ticks_us, time.ticks_diff
    if hasattr(time, "time_ns"):
        return (lambda: time.time_ns() // 1000), (lambda a, b: a - b)
    return None


def bench(model, n=100):
    """Time ``n`` invoke() calls on the current input; print latency and memory; return a dict.

    Latency: mean, min and max per invoke in microseconds (time.ticks_us).
    Memory: bytes of arena used, and the heap allocated during the n invokes
    (gc.mem_alloc() after minus before, with no collection in between: 0 when
    invoke allocates nothing).
    """
    import gc

    m = _model(model)
    if n < 1:
        raise ValueError("n must be at least 1, got %r" % (n,))
    clock = _clock()
    m.invoke()  # first call outside the measurement
    gc.collect()
    total = 0
    lo = hi = -1
    before = gc.mem_alloc()
    if clock is None:
        for _ in range(n):
            m.invoke()
    else:
        now, diff = clock
        for _ in range(n):
            t0 = now()
            m.invoke()
            d = diff(now(), t0)
            total += d
            if lo < 0 or d < lo:
                lo = d
            if d > hi:
                hi = d
    grew = gc.mem_alloc() - before
    result = {"n": n, "heap_growth": grew, "arena_used": m.arena_used, "engine": m.engine}
    if clock is None:
        print("bench: %d invokes (no clock on this board)" % n)
    else:
        mean = total / n
        result.update(mean_us=mean, min_us=lo, max_us=hi)
        print(
            "bench: %d invokes, %s engine: mean %.1f us, min %d us, max %d us" % (n, m.engine, mean, lo, hi)
        )
    print(
        "memory: arena %d of %d bytes, heap +%d bytes during the invokes" % (m.arena_used, m.arena_size, grew)
    )
    return result
