"""The arena plan of firmware/engine/src/mtf_planner.h, steps 3 to 5.

Buffers are [size, first, last] lists (size already rounded up to 16); plan()
sets their offsets and returns the head size. The caller builds the buffer
list in the order of step 2 (tensors per planned subgraph in index order,
then scratch requests), so the offsets equal the C engine's.
"""

ALIGN = 16


def round_up(v, a=ALIGN):
    return (v + a - 1) & ~(a - 1)


def plan(bufs):
    """bufs: list of (size, first, last). Returns (offsets, head_size)."""
    n = len(bufs)
    # Step 3: larger first, equal sizes by index (MicroPython's sort is not
    # stable, so the index is part of the key).
    order = sorted(range(n), key=lambda i: (-bufs[i][0], i))
    offsets = [0] * n
    by_offset: list = []  # placed buffer indexes, increasing offset, ties by placement order
    head = 0
    for i in order:
        size, first, last = bufs[i]
        if size == 0:
            continue
        x = 0
        for j in by_offset:
            s2, f2, l2 = bufs[j]
            if f2 > last or first > l2:
                continue
            if x + size <= offsets[j]:
                break
            end = offsets[j] + s2
            if end > x:
                x = end
        offsets[i] = x
        if x + size > head:
            head = x + size
        slot = len(by_offset)
        while slot > 0 and offsets[by_offset[slot - 1]] > x:
            slot -= 1
        by_offset.insert(slot, i)
    return offsets, head
