/* mtf_planner.c - buffer lifetimes and greedy placement; the algorithm is specified in mtf_planner.h. */
#include "mtf_planner.h"
#include "mtf_reader.h"

uint32_t mtf_plan(mtf_plan_buf_t *bufs, uint16_t *work, uint32_t n)
{
    uint16_t *order = work;         /* step 3 */
    uint16_t *by_offset = work + n; /* placed buffers, increasing offset */
    uint32_t placed = 0, head = 0;

    /* Step 3 by insertion: index i goes after every earlier index of the same
     * or a larger size. O(n^2) at worst, as the placement below. */
    for (uint32_t i = 0; i < n; i++) {
        uint32_t j = i;
        while (j > 0 && bufs[order[j - 1]].size < bufs[i].size) {
            order[j] = order[j - 1];
            j--;
        }
        order[j] = (uint16_t)i;
    }

    /* Every placed buffer ends at or below UINT32_MAX (checked as it is
     * placed), so offset + size never wraps. */
    for (uint32_t k = 0; k < n; k++) {
        mtf_plan_buf_t *b = &bufs[order[k]];
        uint32_t x = 0;
        b->offset = 0;
        if (b->size == 0)
            continue;
        for (uint32_t p = 0; p < placed; p++) {
            const mtf_plan_buf_t *q = &bufs[by_offset[p]];
            if (q->first > b->last || b->first > q->last)
                continue;
            if (q->offset >= x && q->offset - x >= b->size)
                break;
            if (q->offset + q->size > x)
                x = q->offset + q->size;
        }
        if (b->size > UINT32_MAX - x)
            return UINT32_MAX;
        b->offset = x;
        if (x + b->size > head)
            head = x + b->size;
        /* Keep by_offset sorted; equal offsets stay in placement order. */
        uint32_t slot = placed++;
        while (slot > 0 && bufs[by_offset[slot - 1]].offset > x) {
            by_offset[slot] = by_offset[slot - 1];
            slot--;
        }
        by_offset[slot] = order[k];
    }
    return head;
}

/* ---- the engine's buffers: steps 1-2 of mtf_planner.h, then the offsets ---- */

/* Used by a node or the subgraph's I/O, neither constant, variable nor a VAR_HANDLE output. */
static int planned(const mtf_tensor_t *t)
{
    return (t->flags & MTF_TENSOR_PLANNED) && t->reserved;
}

/* The planned tensors of every read subgraph, in the order of step 2a (subgraph,
 * then index: the order of sg->tensors). Without recs: numbers them (while
 * planning, the data pointer of a planned tensor holds its record index) and
 * fills their records that fit in room bytes; with recs: hands out their
 * offsets. Returns their count. */
static uint32_t each_tensor(mtf_model_t *m, mtf_plan_buf_t *recs, size_t room, const mtf_plan_buf_t *placed)
{
    uint32_t n = 0;
    for (int32_t s = 0; s < m->n_subgraphs; s++) {
        const mtf_subgraph_t *sg = &m->subgraphs[s];
        for (int32_t i = 0; sg->tmap != NULL && i < sg->n_full; i++) {
            mtf_tensor_t *t = &sg->tensors[i];
            if (!planned(t))
                continue;
            if (placed != NULL) {
                t->data = m->base + placed[n].offset;
            } else {
                if ((n + 1) * sizeof *recs <= room) {
                    recs[n].size = (uint32_t)mtf_round_up((size_t)t->bytes, MTF_ARENA_ALIGN);
                    recs[n].first = INT32_MAX;
                    recs[n].last = -1;
                }
                t->data = (uint8_t *)(uintptr_t)n;
            }
            n++;
        }
    }
    return n;
}

/* The scratch records, newest first, against the buffer records just below
 * end (request order). mode 0: counts them; 1: fills the buffer records;
 * 2: hands out their offsets. */
static uint32_t each_scratch(mtf_model_t *m, mtf_plan_buf_t *end, int mode)
{
    uint32_t n = 0;
    for (uint32_t h = m->scratch_last; h != 0;) {
        mtf_scratch_rec_t *rec = mtf_handle_ptr(m, h);
        n++;
        if (mode == 1) {
            mtf_plan_buf_t *r = end - n;
            r->size = (uint32_t)mtf_round_up(rec->size, MTF_ARENA_ALIGN);
            r->first = r->last = rec->step;
        } else if (mode == 2) {
            rec->offset = end[-(ptrdiff_t)n].offset;
        }
        h = rec->prev;
    }
    return n;
}

mtf_status_t mtf_plan_model(mtf_model_t *m)
{
    /* Records sit at base (mtf_arena.h): the free gap, written only where it
     * reaches, and only used once the check below passed. */
    mtf_plan_buf_t *recs = (mtf_plan_buf_t *)(void *)m->base;
    size_t room = (size_t)(m->tail - m->base);
    uint32_t n = each_tensor(m, recs, room, NULL);
    uint32_t total = n + each_scratch(m, NULL, 0);
    /* Arena bytes outside the gap: (base - arena) + (arena + arena_size - tail). */
    size_t fixed = m->arena_size - room;
    if (total > MTF_PLAN_MAX_BUFFERS)
        return mtf_fail(m, MTF_ERR_UNSUPPORTED_TYPE, "over 65535 buffers to plan");
    size_t work = mtf_round_up(mtf_plan_work_bytes(total), MTF_ARENA_ALIGN);
    if (work > room)
        return mtf_fail(m, MTF_ERR_ARENA_TOO_SMALL, "arena too small to plan the model");

    /* Lifetimes (step 2a): every use by a node widens [first, last] to its
     * step; a subgraph input to the subgraph's first step, an output to its
     * last (all its nodes' steps lie between, so this is step 2a). */
    for (int32_t s = 0; s < m->n_subgraphs; s++) {
        mtf_subgraph_t *sg = &m->subgraphs[s];
        for (int32_t j = 0; sg->tmap != NULL && j <= sg->n_nodes; j++)
            mtf_use_io(m, sg, j < sg->n_nodes ? &sg->nodes[j] : NULL, recs);
    }
    /* 2b: scratch, in request order. */
    each_scratch(m, recs + total, 1);
    uint32_t head = mtf_plan(recs, (uint16_t *)(void *)(recs + total), total);
    size_t need_head = head > work ? head : work;
    m->head_size = head;
    m->used = fixed + need_head;
    if (head == UINT32_MAX || need_head > room)
        return mtf_fail(m, MTF_ERR_ARENA_TOO_SMALL, "arena too small: needs %u bytes", (unsigned)m->used);
    /* The records stay intact: data pointers and scratch records live in the tail. */
    each_tensor(m, NULL, 0, recs);
    each_scratch(m, recs + total, 2);
    return MTF_OK;
}
