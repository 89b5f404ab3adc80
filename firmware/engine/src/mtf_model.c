/*
 * mtf_model.c - model life cycle: init (read, prepare, plan), invoke, reset,
 * and the accessors kernels use. Arena layout: mtf_arena.h.
 */
#include "mtf_planner.h"
#include "mtf_reader.h"

int mtf_dtype_size(int dtype)
{
    switch (dtype) {
    case MTF_INT8:
    case MTF_UINT8:
    case MTF_BOOL:
        return 1;
    case MTF_INT16:
    case MTF_FLOAT16:
    case 16: /* UINT16 */
        return 2;
    case MTF_FLOAT32:
    case MTF_INT32:
    case MTF_RESOURCE: /* a resource id, as TFLite Micro stores it */
    case 15:           /* UINT32 */
        return 4;
    case MTF_INT64:
    case MTF_FLOAT64:
        return 8;
    default:
        return 0;
    }
}

void *mtf_tail_alloc(mtf_model_t *m, size_t bytes)
{
    bytes = mtf_round_up(bytes, MTF_TAIL_ALIGN);
    if (bytes > (size_t)(m->tail - m->base)) {
        mtf_fail(m, MTF_ERR_ARENA_TOO_SMALL, "arena too small for the model's structures");
        return NULL;
    }
    m->tail -= bytes;
    memset(m->tail, 0, bytes);
    return m->tail;
}

/* ---- accessors for kernels ---- */

int mtf_node_num_inputs(const mtf_node_t *node)
{
    return node->io.n_inputs;
}

int mtf_node_num_outputs(const mtf_node_t *node)
{
    return node->io.n_outputs;
}

/* Entry e of the node's inputs then outputs; NULL for an absent input (-1). */
static mtf_tensor_t *node_tensor(mtf_model_t *m, const mtf_node_t *node, uint32_t e, int slot)
{
    /* Indices were checked at init to be -1 or a tensor of the node's subgraph. */
    int32_t idx = mtf_io_tensor(m, &node->io, e);
    if (idx < 0)
        return NULL;
    const mtf_subgraph_t *sg = &m->subgraphs[m->cur_subgraph];
    uint32_t entry = sg->tmap[idx];
    if (!(entry & MTF_TMAP_CONST))
        return &sg->tensors[entry];
    /* A constant (never an output): decode it again from its table, checked at init (mtf_read_const). */
    mtf_tensor_t *t = &m->slots[slot < MTF_CONST_SLOTS ? slot : MTF_CONST_SLOTS - 1];
    mtf_read_const(m, entry & ~MTF_TMAP_CONST, t);
#ifdef MTF_VERIFY_CONST_DECODE
    /* Sanitizer/fuzz builds: the unchecked decoder must find the data the checked reader found. */
    const uint8_t *data;
    mtf_table_t tt;
    mtf_rd_table(m, entry & ~MTF_TMAP_CONST, &tt);
    if (mtf_check_tensor(m, &tt, idx, &data) != MTF_TENSOR_CONST || data != t->data)
        __builtin_trap();
#endif
    return t;
}

mtf_tensor_t *mtf_node_input(mtf_model_t *m, const mtf_node_t *node, int i)
{
    return (unsigned)i < node->io.n_inputs ? node_tensor(m, node, (uint32_t)i, i) : NULL;
}

mtf_tensor_t *mtf_node_output(mtf_model_t *m, const mtf_node_t *node, int i)
{
    return (unsigned)i < node->io.n_outputs ? node_tensor(m, node, node->io.n_inputs + (uint32_t)i, 0) : NULL;
}

int32_t mtf_node_version(const mtf_node_t *node)
{
    return node->version;
}

void *mtf_node_data(const mtf_node_t *node)
{
    return node->data;
}

void mtf_node_set_data(mtf_node_t *node, void *data)
{
    node->data = data;
}

uint32_t mtf_reset_count(const mtf_model_t *m)
{
    return m->reset_count;
}

void *mtf_alloc_persistent(mtf_model_t *m, size_t bytes)
{
    if (!m->preparing)
        return NULL;
    return mtf_tail_alloc(m, bytes);
}

mtf_status_t mtf_request_scratch(mtf_model_t *m, mtf_node_t *node, size_t bytes, int *handle)
{
    MTF_ENSURE(m, m->preparing, MTF_ERR_INTERNAL, "scratch requested outside prepare");
    MTF_ENSURE(m, bytes <= 0x7fffffffu, MTF_ERR_ARENA_TOO_SMALL, "scratch over 2 GB");
    mtf_scratch_rec_t *rec = mtf_tail_alloc(m, sizeof *rec);
    if (rec == NULL)
        return m->status;
    rec->size = (uint32_t)bytes;
    rec->step = node->step;
    rec->prev = m->scratch_last;
    m->scratch_last = (uint32_t)(m->end - (uint8_t *)rec);
    *handle = (int)m->scratch_last;
    return MTF_OK;
}

void *mtf_scratch(mtf_model_t *m, int handle)
{
    const mtf_scratch_rec_t *rec = mtf_handle_ptr(m, (uint32_t)handle);
    return m->base + rec->offset;
}

/* ---- init ---- */

/* Runs the prepare (eval 0) or eval (eval 1) function of every node of subgraph s.
 * In prepare, a failure a kernel recorded stops the run even when it returned MTF_OK. */
static mtf_status_t run_nodes(mtf_model_t *m, int32_t s, int eval)
{
    const mtf_subgraph_t *sg = &m->subgraphs[s];
    mtf_status_t st = MTF_OK;
    for (int32_t i = 0; i < sg->n_nodes && st == MTF_OK; i++) {
        m->cur_subgraph = s;
        m->cur_node = i;
        const mtf_kernel_t *k = mtf_kernel_at(sg->nodes[i].kernel);
        st = (eval ? k->eval : k->prepare)(m, &sg->nodes[i]);
        /* A kernel that failed without a message still gets one (mtf_fail keeps the first). */
        if (st != MTF_OK)
            mtf_fail(m, st, "failed");
        if (!eval)
            st = m->status;
    }
    return st;
}

static mtf_status_t prepare_all(mtf_model_t *m)
{
    m->preparing = 1;
    for (int32_t s = 0; s < m->n_subgraphs; s++) {
        if (m->subgraphs[s].tmap != NULL)
            MTF_TRY(run_nodes(m, s, 0));
    }
    m->preparing = 0;
    m->cur_node = -1;
    m->cur_subgraph = -1;
    return MTF_OK;
}

static void reset_state(mtf_model_t *m)
{
    for (int32_t s = 0; s < m->n_subgraphs; s++) {
        mtf_subgraph_t *sg = &m->subgraphs[s];
        for (int32_t i = 0; sg->tmap != NULL && i < sg->n_full; i++) {
            mtf_tensor_t *t = &sg->tensors[i];
            /* TFLite Micro clears variable tensors to the zero point for int8, else to 0. */
            if (t->flags & MTF_TENSOR_VARIABLE)
                memset(t->data, t->dtype == MTF_INT8 ? (int)(uint8_t)t->zero_point : 0, (size_t)t->bytes);
        }
    }
    for (uint32_t h = m->resource_last; h != 0;) {
        mtf_resource_t *r = mtf_handle_ptr(m, h);
        if (r->buffer != NULL)
            memset(r->buffer, (int)(uint8_t)r->default_value, (size_t)r->bytes);
        h = r->prev;
    }
    m->reset_count++;
}

/* Clears *err (when given), then records status and msg there: for failures
 * outside a model, which need no "op N" prefix. */
static mtf_status_t set_error(mtf_error_t *err, mtf_status_t status, const char *msg)
{
    if (err != NULL) {
        err->status = status;
        err->needed = 0;
        strcpy(err->message, msg);
    }
    return status;
}

/* Starts a call: a fresh m reporting to err, on the model bytes. */
static mtf_status_t open_model(mtf_model_t *m, const void *model, size_t model_len, fb_model_t *f, mtf_error_t *err)
{
    memset(m, 0, sizeof *m);
    m->err = err;
    m->cur_node = -1;
    m->cur_subgraph = -1;
    set_error(err, MTF_OK, "");
    return mtf_open_model(m, model, model_len, f);
}

static mtf_status_t init_in(mtf_model_t *m, const fb_model_t *f, void *arena, size_t arena_size)
{
    m->arena = arena;
    m->arena_size = arena_size;
    uintptr_t a = (uintptr_t)arena;
    uintptr_t base = (a + MTF_ARENA_ALIGN - 1) & ~(uintptr_t)(MTF_ARENA_ALIGN - 1);
    uintptr_t end = (a + arena_size) & ~(uintptr_t)(MTF_TAIL_ALIGN - 1);
    if (end < base) /* a tiny arena (or a + arena_size wrapped) */
        end = base;
    m->base = (uint8_t *)base;
    m->end = (uint8_t *)end;
    m->tail = m->end;
    if (f->subgraphs.len == 0 || f->subgraphs.len > 0xffff)
        return mtf_fail(m, MTF_ERR_BAD_MODEL, "model has %u subgraphs", f->subgraphs.len);
    /* The model struct is the highest object of the tail; it is filled last. */
    void *self = mtf_tail_alloc(m, sizeof *m);
    m->n_subgraphs = (int32_t)f->subgraphs.len;
    m->subgraphs = mtf_tail_alloc(m, sizeof(mtf_subgraph_t) * f->subgraphs.len);
    if (m->status != MTF_OK || mtf_build_subgraph(m, f, 0, 0) != MTF_OK)
        return m->status;
    MTF_TRY(prepare_all(m));
    MTF_TRY(mtf_plan_model(m));
    m->ready = 1;
    reset_state(m); /* reset_count 0 -> 1: CALL_ONCE (ran_at 0) runs at the first invoke */
    m->err = NULL;
    memcpy(self, m, sizeof *m);
    return MTF_OK;
}

mtf_status_t mtf_init(const void *model, size_t model_len, void *arena, size_t arena_size, mtf_model_t **out,
                      mtf_error_t *err)
{
    mtf_model_t m;
    fb_model_t f;
    if (out != NULL)
        *out = NULL;
    if (model == NULL || arena == NULL || out == NULL)
        return set_error(err, MTF_ERR_BAD_ARGUMENT, "model, arena or out is NULL");
    mtf_status_t st = open_model(&m, model, model_len, &f, err);
    if (st == MTF_OK)
        st = init_in(&m, &f, arena, arena_size);
    if (st != MTF_OK) {
        if (err != NULL && st == MTF_ERR_ARENA_TOO_SMALL)
            err->needed = m.used;
        return st;
    }
    *out = (mtf_model_t *)(void *)(m.end - mtf_round_up(sizeof m, MTF_TAIL_ALIGN));
    return MTF_OK;
}

mtf_status_t mtf_arena_needed(const void *model, size_t model_len, void *work, size_t work_size, size_t *needed,
                              mtf_error_t *err)
{
    mtf_model_t *m;
    mtf_error_t local;
    mtf_error_t *e = err != NULL ? err : &local;
    if (needed == NULL)
        return set_error(err, MTF_ERR_BAD_ARGUMENT, "needed is NULL");
    *needed = 0;
    mtf_status_t st = mtf_init(model, model_len, work, work_size, &m, e);
    if (st == MTF_OK)
        *needed = m->used;
    else if (st == MTF_ERR_ARENA_TOO_SMALL && e->needed != 0)
        *needed = e->needed;
    else
        return st;
    set_error(err, MTF_OK, "");
    return MTF_OK;
}

size_t mtf_arena_used(const mtf_model_t *m)
{
    return m != NULL ? m->used : 0;
}

int mtf_input_count(const mtf_model_t *m)
{
    return m != NULL && m->ready ? m->subgraphs[0].io.n_inputs : 0;
}

int mtf_output_count(const mtf_model_t *m)
{
    return m != NULL && m->ready ? m->subgraphs[0].io.n_outputs : 0;
}

/* Model input (output: 0) or output (output: 1) index. */
static mtf_status_t io_info(const mtf_model_t *m, int index, int output, mtf_tensor_info_t *info)
{
    if (m == NULL || !m->ready)
        return MTF_ERR_NOT_READY;
    const mtf_subgraph_t *sg = &m->subgraphs[0];
    if (info == NULL || (unsigned)index >= (output ? sg->io.n_outputs : sg->io.n_inputs))
        return MTF_ERR_BAD_ARGUMENT;
    /* Model inputs and outputs are never constants (checked at init). */
    const mtf_tensor_t *t = &sg->tensors[sg->tmap[mtf_io_tensor(m, &sg->io, (output ? sg->io.n_inputs : 0) + (unsigned)index)]];
    info->dtype = (mtf_dtype_t)t->dtype;
    info->ndims = t->ndims;
    /* Dims past ndims, scale and zero point of an unquantized tensor are 0 in t. */
    memcpy(info->dims, t->dims, sizeof info->dims);
    info->scale = t->scale;
    info->zero_point = t->zero_point;
    info->data = t->data;
    info->bytes = (size_t)t->bytes;
    return MTF_OK;
}

mtf_status_t mtf_input(const mtf_model_t *m, int index, mtf_tensor_info_t *info)
{
    return io_info(m, index, 0, info);
}

mtf_status_t mtf_output(const mtf_model_t *m, int index, mtf_tensor_info_t *info)
{
    return io_info(m, index, 1, info);
}

mtf_status_t mtf_invoke_subgraph(mtf_model_t *m, int subgraph)
{
    if ((uint32_t)subgraph >= (uint32_t)m->n_subgraphs || m->subgraphs[subgraph].tmap == NULL ||
        m->depth > MTF_MAX_CALL_DEPTH)
        return mtf_fail(m, MTF_ERR_INTERNAL, "subgraph %d not prepared or nested too deep", subgraph);
    int32_t saved_sg = m->cur_subgraph, saved_node = m->cur_node;
    m->depth++;
    mtf_status_t st = run_nodes(m, subgraph, 1);
    m->depth--;
    m->cur_subgraph = saved_sg;
    m->cur_node = saved_node;
    return st;
}

mtf_status_t mtf_invoke(mtf_model_t *m, mtf_error_t *err)
{
    if (m == NULL || !m->ready)
        return set_error(err, MTF_ERR_NOT_READY, "model not initialised");
    set_error(err, MTF_OK, "");
    m->err = err;
    m->status = MTF_OK;
    m->depth = 0;
    mtf_status_t st = mtf_invoke_subgraph(m, 0);
    m->err = NULL;
    return st;
}

mtf_status_t mtf_reset(mtf_model_t *m)
{
    if (m == NULL || !m->ready)
        return MTF_ERR_NOT_READY;
    reset_state(m);
    return MTF_OK;
}

mtf_status_t mtf_list_ops(const void *model, size_t model_len, mtf_op_info_t *ops, int max, int *count,
                          mtf_error_t *err)
{
    mtf_model_t m;
    fb_model_t f;
    if (model == NULL || count == NULL || (ops == NULL && max > 0))
        return set_error(err, MTF_ERR_BAD_ARGUMENT, "model or count is NULL");
    *count = 0;
    if (open_model(&m, model, model_len, &f, err) != MTF_OK)
        return m.status;
    int n = 0;
    for (uint32_t i = 0; i < f.opcodes.len; i++) {
        int32_t version, code = mtf_read_opcode(&m, &f, i, &version);
        if (m.status != MTF_OK)
            return m.status;
        /* Entries already written are compared; past max, duplicates are rare and harmless. */
        int j = n < max ? n : max;
        while (j > 0 && (ops[j - 1].builtin_code != code || ops[j - 1].version != version))
            j--;
        if (j > 0)
            continue;
        if (n < max) {
            ops[n].builtin_code = code;
            ops[n].version = version;
            ops[n].name = mtf_op_name(code);
            ops[n].supported = mtf_find_kernel(code, version) >= 0;
        }
        n++;
    }
    *count = n;
    return MTF_OK;
}

const void *mtf_debug_tensor_data(const mtf_model_t *m, int subgraph, int tensor)
{
    if (m == NULL || !m->ready || (uint32_t)subgraph >= (uint32_t)m->n_subgraphs)
        return NULL;
    const mtf_subgraph_t *sg = &m->subgraphs[subgraph];
    if (sg->tmap == NULL || (uint32_t)tensor >= (uint32_t)sg->n_tensors)
        return NULL;
    const mtf_tensor_t *t = full_tensor(sg, tensor);
    return t != NULL ? t->data : NULL;
}
