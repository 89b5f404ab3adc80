/*
 * mtf_planner.h - where activations and scratch buffers go in the arena head.
 *
 * THE PLAN (any engine that implements these steps gets identical offsets):
 *
 * 1. Timeline. Node steps are numbered from 0 by walking subgraph 0 (main) in
 *    operator order. When a node is CALL_ONCE, its own step is taken first,
 *    then the nodes of the subgraph it calls are numbered right away (recursively,
 *    the same way), and only then the next node of the caller. A subgraph's
 *    range [first_step, last_step] is the steps of its own nodes and of every
 *    subgraph it calls (an empty subgraph gets first_step = last_step = the
 *    step its caller took). Subgraphs that no CALL_ONCE reaches are never
 *    run: they are neither prepared nor planned. Each subgraph may be called
 *    by at most one CALL_ONCE node, calls may not form a cycle, and they nest
 *    at most 8 deep (the engine refuses other models).
 *
 * 2. Buffers, in this index order:
 *    a. for each planned subgraph in index order, for each tensor in index
 *       order that is neither constant (data in the model), nor is_variable,
 *       nor an output of a VAR_HANDLE node (it points at the resource id),
 *       and that is used by at least one node of the subgraph or is an input
 *       or output of the subgraph: one buffer.
 *       Its size is the tensor's byte size rounded up to a multiple of 16.
 *       first = the smallest step of a node of that subgraph that has the
 *       tensor as an input or output; last = the largest such step.
 *       Then, for a subgraph input: first = the subgraph's first_step and
 *       last = max(last, first) (no node may use it); after that, for a
 *       subgraph output: last = the subgraph's last_step (for main, the last
 *       step of the whole timeline) and first = min(first, last).
 *    b. then each scratch request, in the order kernels made them (node
 *       order, prepare order): size rounded up to 16, first = last = the
 *       step of the requesting node.
 *    Two buffers are "alive together" when first_a <= last_b and first_b <= last_a.
 *
 * 3. Order. Sort buffers by size, largest first; equal sizes by buffer index,
 *    smallest first.
 *
 * 4. Placement, in that order. A buffer of size 0 gets offset 0 and is
 *    ignored by every later step. Otherwise its offset is the smallest
 *    x >= 0 such that for every buffer already placed and alive together with
 *    it, either x + size <= placed.offset or x >= placed.offset + placed.size.
 *    (Scanning the placed buffers alive together with it by increasing offset
 *    - ties by placement order - and taking the first gap that fits, as TFLite
 *    Micro's greedy planner does, finds the same x.)
 *
 * 5. Head size = the largest offset + size over all buffers (0 if none).
 *
 * All sizes and offsets are multiples of 16, so every buffer is 16-aligned.
 */
#ifndef MTF_PLANNER_H
#define MTF_PLANNER_H

#include <stdint.h>

#define MTF_PLAN_MAX_BUFFERS 65535

typedef struct {
    uint32_t size;   /* rounded up to 16 by the caller */
    int32_t first;   /* first step alive */
    int32_t last;    /* last step alive */
    uint32_t offset; /* result */
} mtf_plan_buf_t;

/* Working bytes mtf_plan needs beside the buffer records, for n buffers. */
static inline uint32_t mtf_plan_work_bytes(uint32_t n)
{
    return (uint32_t)(n * (sizeof(mtf_plan_buf_t) + 2 * sizeof(uint16_t)));
}

/*
 * Place n buffers (n <= MTF_PLAN_MAX_BUFFERS). work holds 2*n uint16 entries.
 * Returns the head size, or UINT32_MAX when it would not fit in 32 bits.
 */
uint32_t mtf_plan(mtf_plan_buf_t *bufs, uint16_t *work, uint32_t n);

#endif /* MTF_PLANNER_H */
