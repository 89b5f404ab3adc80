/* mtf_planner.c - buffer lifetimes and greedy placement; the algorithm is specified in mtf_planner.h. */
#include "mtf_planner.h"
#include "mtf_reader.h"

/* Sort order of step 3: larger first, then lower index. */
static int before(const mtf_plan_buf_t *b, uint16_t i, uint16_t j)
{
    if (b[i].size != b[j].size)
        return b[i].size > b[j].size;
    return i < j;
}

/* Shell sort: no recursion, no extra memory; the order is total, so stability does not matter. */
static void sort_order(const mtf_plan_buf_t *b, uint16_t *order, uint32_t n)
{
    static const uint32_t gaps[] = {1750, 701, 301, 132, 57, 23, 10, 4, 1};
    for (unsigned g = 0; g < sizeof gaps / sizeof gaps[0]; g++) {
        uint32_t gap = gaps[g];
        for (uint32_t i = gap; i < n; i++) {
            uint16_t v = order[i];
            uint32_t j = i;
            while (j >= gap && before(b, v, order[j - gap])) {
                order[j] = order[j - gap];
                j -= gap;
            }
            order[j] = v;
        }
    }
}

uint32_t mtf_plan(mtf_plan_buf_t *bufs, uint16_t *work, uint32_t n)
{
    uint16_t *order = work;       /* step 3 */
    uint16_t *by_offset = work + n; /* placed buffers, increasing offset */
    uint32_t placed = 0;
    uint64_t head = 0;

    for (uint32_t i = 0; i < n; i++)
        order[i] = (uint16_t)i;
    sort_order(bufs, order, n);

    for (uint32_t k = 0; k < n; k++) {
        mtf_plan_buf_t *b = &bufs[order[k]];
        b->offset = 0;
        if (b->size == 0)
            continue;
        uint64_t x = 0;
        uint32_t slot = 0;
        for (uint32_t p = 0; p < placed; p++) {
            const mtf_plan_buf_t *q = &bufs[by_offset[p]];
            if (q->first > b->last || b->first > q->last)
                continue;
            if (x + b->size <= q->offset)
                break;
            if ((uint64_t)q->offset + q->size > x)
                x = (uint64_t)q->offset + q->size;
        }
        if (x + b->size > UINT32_MAX)
            return UINT32_MAX;
        b->offset = (uint32_t)x;
        if (x + b->size > head)
            head = x + b->size;
        /* Keep by_offset sorted; equal offsets stay in placement order. */
        slot = placed;
        while (slot > 0 && bufs[by_offset[slot - 1]].offset > b->offset) {
            by_offset[slot] = by_offset[slot - 1];
            slot--;
        }
        by_offset[slot] = order[k];
        placed++;
    }
    return (uint32_t)head;
}

/* ---- the engine's buffers: steps 1-2 of mtf_planner.h, then the offsets ---- */

static int planned(const mtf_tensor_t *t)
{
    return t != NULL && (t->flags & MTF_TENSOR_PLANNED) && t->reserved;
}

/* Buffer record of tensor idx among the records [lo, hi) of its subgraph (offset holds the tensor index). */
static mtf_plan_buf_t *find_rec(mtf_plan_buf_t *recs, uint32_t lo, uint32_t hi, int32_t idx)
{
    while (lo < hi) {
        uint32_t mid = lo + (hi - lo) / 2;
        if ((int32_t)recs[mid].offset < idx)
            lo = mid + 1;
        else
            hi = mid;
    }
    return &recs[lo];
}

static void widen(mtf_plan_buf_t *r, int32_t step)
{
    if (step < r->first)
        r->first = step;
    if (step > r->last)
        r->last = step;
}

mtf_status_t mtf_plan_model(mtf_model_t *m)
{
    uint32_t n = 0, n_scratch = 0;
    for (int32_t s = 0; s < m->n_subgraphs; s++) {
        const mtf_subgraph_t *sg = &m->subgraphs[s];
        for (int32_t i = 0; sg->tmap != NULL && i < sg->n_full; i++)
            n += (uint32_t)planned(&sg->tensors[i]);
    }
    for (uint32_t h = m->scratch_last; h != 0; h = ((mtf_scratch_rec_t *)mtf_handle_ptr(m, h))->prev)
        n_scratch++;
    size_t fixed = (size_t)(m->base - m->arena) + (size_t)(m->arena + m->arena_size - m->tail);
    if (n + n_scratch > MTF_PLAN_MAX_BUFFERS)
        return mtf_fail(m, MTF_ERR_UNSUPPORTED_TYPE, "%u buffers to plan (max %u)", n + n_scratch,
                        MTF_PLAN_MAX_BUFFERS);
    uint32_t total = n + n_scratch;
    size_t work = mtf_round_up(mtf_plan_work_bytes(total), MTF_ARENA_ALIGN);
    if (work > (size_t)(m->tail - m->base))
        return mtf_fail(m, MTF_ERR_ARENA_TOO_SMALL, "arena too small to plan the model");
    mtf_plan_buf_t *recs = (mtf_plan_buf_t *)(void *)m->base;
    uint16_t *order = (uint16_t *)(void *)(recs + total);

    /* 2a: tensors, with offset temporarily holding the tensor index. */
    uint32_t k = 0;
    for (int32_t s = 0; s < m->n_subgraphs; s++) {
        const mtf_subgraph_t *sg = &m->subgraphs[s];
        if (sg->tmap == NULL)
            continue;
        uint32_t lo = k;
        for (int32_t i = 0; i < sg->n_tensors; i++) {
            const mtf_tensor_t *t = full_tensor(sg, i);
            if (t == NULL || !planned(t))
                continue;
            recs[k].size = (uint32_t)mtf_round_up((size_t)t->bytes, MTF_ARENA_ALIGN);
            recs[k].first = INT32_MAX;
            recs[k].last = -1;
            recs[k].offset = (uint32_t)i;
            k++;
        }
        for (int32_t j = 0; j < sg->n_nodes; j++) {
            const mtf_node_t *node = &sg->nodes[j];
            for (uint32_t e = 0; e < (uint32_t)node->n_inputs + node->n_outputs; e++) {
                uint32_t pos = e < node->n_inputs ? node->inputs + 4 * e : node->outputs + 4 * (e - node->n_inputs);
                int32_t idx = (int32_t)mtf_rd_u32_at(m->fb + pos);
                const mtf_tensor_t *t = idx >= 0 ? full_tensor(sg, idx) : NULL;
                if (t != NULL && planned(t))
                    widen(find_rec(recs, lo, k, idx), node->step);
            }
        }
        for (uint32_t e = 0; e < sg->n_inputs; e++) {
            int32_t idx = (int32_t)mtf_rd_u32_at(m->fb + sg->inputs + 4 * e);
            if (planned(full_tensor(sg, idx))) {
                mtf_plan_buf_t *r = find_rec(recs, lo, k, idx);
                r->first = sg->first_step;
                if (r->last < r->first)
                    r->last = r->first;
            }
        }
        for (uint32_t e = 0; e < sg->n_outputs; e++) {
            int32_t idx = (int32_t)mtf_rd_u32_at(m->fb + sg->outputs + 4 * e);
            if (planned(full_tensor(sg, idx))) {
                mtf_plan_buf_t *r = find_rec(recs, lo, k, idx);
                r->last = sg->last_step;
                if (r->first > r->last)
                    r->first = r->last;
            }
        }
    }
    /* 2b: scratch, in request order (the list runs from the newest). */
    uint32_t h = m->scratch_last;
    for (uint32_t j = total; j > n; j--) {
        const mtf_scratch_rec_t *rec = mtf_handle_ptr(m, h);
        recs[j - 1].size = (uint32_t)mtf_round_up(rec->size, MTF_ARENA_ALIGN);
        recs[j - 1].first = rec->step;
        recs[j - 1].last = rec->step;
        h = rec->prev;
    }
    uint32_t head = mtf_plan(recs, order, total);
    size_t need_head = head > work ? head : work;
    m->head_size = head;
    m->used = fixed + need_head;
    if (head == UINT32_MAX || need_head > (size_t)(m->tail - m->base))
        return mtf_fail(m, MTF_ERR_ARENA_TOO_SMALL, "arena too small: needs %u bytes", (unsigned)m->used);

    /* Hand out the offsets. Records are read before anything is written over them:
     * collect the tensor offsets first into the tensors (not in the arena head). */
    k = 0;
    for (int32_t s = 0; s < m->n_subgraphs; s++) {
        mtf_subgraph_t *sg = &m->subgraphs[s];
        for (int32_t i = 0; sg->tmap != NULL && i < sg->n_full; i++) {
            if (planned(&sg->tensors[i]))
                sg->tensors[i].data = m->base + recs[k++].offset;
        }
    }
    h = m->scratch_last;
    for (uint32_t j = total; j > n; j--) {
        mtf_scratch_rec_t *rec = mtf_handle_ptr(m, h);
        rec->offset = recs[j - 1].offset;
        h = rec->prev;
    }
    return MTF_OK;
}
