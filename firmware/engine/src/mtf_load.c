/*
 * mtf_load.c - reading a model into the arena at init: subgraphs (main and
 * the ones CALL_ONCE runs), tensors, nodes. Every byte goes through the
 * checked reader (mtf_reader.h), whose failures are sticky: a group of reads,
 * then one test of m->status.
 */
#include "mtf_reader.h"

/* Builtin code and version of operator code entry i (< f->opcodes.len). */
int32_t mtf_read_opcode(mtf_model_t *m, const fb_model_t *f, uint32_t i, int32_t *version)
{
    mtf_table_t t;
    struct {
        uint32_t deprecated, builtin;
    } r;
    mtf_rd_vec_table(m, &f->opcodes, i, &t);
    mtf_rd_fields(m, &t,
                  MTF_FLDS(MTF_FLD(MTF_F_OPCODE_DEPRECATED, MTF_K_U8), MTF_FLD(MTF_F_OPCODE_BUILTIN, MTF_K_U32), 0,
                           0, 0),
                  &r);
    int32_t deprecated = (int8_t)r.deprecated;
    int32_t c = (int32_t)r.builtin;
    mtf_rd_fields(m, &t, MTF_FLD(MTF_F_OPCODE_VERSION, MTF_K_U32) | MTF_DFLT1, version);
    /* Old files carry the code in the int8 field only; TFLite takes the larger. */
    c = c > deprecated ? c : deprecated;
    if (c < 0)
        mtf_fail(m, MTF_ERR_BAD_MODEL, "operator code %u is negative", i);
    return c;
}

/* Decode the fields every tensor has (no checks: the table was checked by
 * mtf_check_tensor); returns the tensor's buffer field, NULL when absent. */
static const uint8_t *decode(const mtf_model_t *m, uint32_t pos, mtf_tensor_t *t);

int mtf_check_tensor(mtf_model_t *m, const mtf_table_t *tt, int index, const uint8_t **const_data)
{
    struct {
        mtf_vec_t shape;
        uint32_t type, b;
        mtf_table_t quant;
        uint32_t variable;
    } r;
    mtf_table_t sub;
    mtf_rd_fields(m, tt,
                  MTF_FLDS(MTF_FLD(MTF_F_TENSOR_SHAPE, MTF_K_VEC2), MTF_FLD(MTF_F_TENSOR_TYPE, MTF_K_U8),
                           MTF_FLD(MTF_F_TENSOR_BUFFER, MTF_K_U32), MTF_FLD(MTF_F_TENSOR_QUANT, MTF_K_SUB),
                           MTF_FLD(MTF_F_TENSOR_VARIABLE, MTF_K_U8)),
                  &r);
    const mtf_vec_t shape = r.shape;
    uint32_t type = r.type, b = r.b, variable = r.variable;
    /* A sparsity table that fails its check fails the model (status) anyway. */
    mtf_rd_fields(m, tt, MTF_FLD(MTF_F_TENSOR_SPARSITY, MTF_K_SUB), &sub);
    int sparse = sub.vt_len != 0;
    uint32_t bytes = (uint32_t)mtf_dtype_size((int)type);
    if (sparse || shape.len > MTF_MAX_DIMS || bytes == 0)
        mtf_fail(m, MTF_ERR_UNSUPPORTED_TYPE, "tensor %d: sparse, too many dims or unsupported type", index);
    for (uint32_t i = 0; i < shape.len; i++) {
        int32_t d = mtf_rd_vec_i32(m, &shape, i);
        uint64_t product = (uint64_t)bytes * (uint32_t)d;
        if (d < 0 || product > 0x7fffffffu)
            mtf_fail(m, MTF_ERR_BAD_MODEL, "tensor %d has a negative dim or is over 2 GB", index);
        bytes = (uint32_t)product;
    }
    if (r.quant.vt_len != 0) {
        struct {
            mtf_vec_t scales, zps;
            uint32_t dim;
        } q;
        mtf_rd_fields(m, &r.quant,
                      MTF_FLDS(MTF_FLD(MTF_F_QUANT_SCALE, MTF_K_VEC2), MTF_FLD(MTF_F_QUANT_ZERO_POINT, MTF_K_VEC3),
                               MTF_FLD(MTF_F_QUANT_DIM, MTF_K_U32), 0, 0),
                      &q);
        const mtf_vec_t scales = q.scales, zps = q.zps;
        /* quantized_dimension is checked by the kernels that use it: converters
         * write odd values on tensors where it does not matter (e.g. 3 on a 1-D bias).
         * Scales and zero points keep the ranges every valid model keeps, so that
         * no kernel meets an absurd zero point (overflowing offsets) or scale
         * (NaN, 0, inf). */
        /* Zero points lie in [zmin, zmin + span]: the range of int8, uint8 or
         * int16, else of int32. */
        uint32_t span = type == MTF_INT8 || type == MTF_UINT8 ? 0xffu : type == MTF_INT16 ? 0xffffu : UINT32_MAX;
        uint32_t zmin = type == MTF_UINT8 ? 0 : ~(span >> 1);
        int bad = scales.len != 0 && zps.len != 0 && zps.len != scales.len;
        for (uint32_t c = 0; c < scales.len && !bad; c++) {
            /* 0 < scale <= 3e38 (0x7f61b1e6), on the bits: NaN and negatives are above it. */
            bad = mtf_rd_u32_at(m->fb + scales.pos + 4 * c) - 1u >= 0x7f61b1e6u;
            if (zps.len != 0) {
                const uint8_t *z = m->fb + zps.pos + 8 * c;
                int32_t zp = (int32_t)mtf_rd_u32_at(z);
                /* The int64 fits int32: its high word is the sign of the low one. */
                bad |= mtf_rd_u32_at(z + 4) != (zp < 0 ? 0xffffffffu : 0) || (uint32_t)zp - zmin > span;
            }
        }
        if (bad)
            mtf_fail(m, MTF_ERR_BAD_MODEL, "tensor %d has bad scales or zero points", index);
    }
    uint32_t len = 0;
    const uint8_t *data = NULL;
    /* (After a failure these reads are safe too: they find absent fields.) */
    if (!variable && (b != 0 || m->buffers.len != 0)) {
        if (b >= m->buffers.len)
            return (void)mtf_fail(m, MTF_ERR_BAD_MODEL, "buffer index %u out of range", b), 0;
        struct {
            mtf_vec_t v;
            uint32_t offset, size;
        } bf;
        mtf_rd_vec_table(m, &m->buffers, b, &sub);
        mtf_rd_fields(m, &sub,
                      MTF_FLDS(MTF_FLD(MTF_F_BUFFER_DATA, MTF_K_VEC0), MTF_FLD(MTF_F_BUFFER_OFFSET, MTF_K_U64),
                               MTF_FLD(MTF_F_BUFFER_SIZE, MTF_K_U64), 0, 0),
                      &bf);
        uint32_t offset = bf.offset, size = bf.size;
        len = bf.v.len;
        data = m->fb + bf.v.pos;
        if (offset > 1) {
            /* Large-model format: the data follows the flatbuffer, at offset from its start. */
            if (size > m->fb_len || offset > m->fb_len - size)
                return (void)mtf_fail(m, MTF_ERR_BAD_MODEL, "buffer %u lies outside the model", b), 0;
            len = size;
            data = m->fb + offset;
        }
        if (len != 0 && len < bytes)
            mtf_fail(m, MTF_ERR_BAD_MODEL, "tensor %d needs %u bytes, its buffer has %u", index, bytes, len);
    }
    *const_data = data;
    if (m->status != MTF_OK)
        return 0;
    return variable ? MTF_TENSOR_VARIABLE : len != 0 ? MTF_TENSOR_CONST : MTF_TENSOR_PLANNED;
}

/* io from the inputs and outputs vectors (fields 1 and 2) of an operator or
 * subgraph table (their indices are checked by mtf_use_io, once the tensors
 * are known). Out of line: two callers (code size). */
static MTF_CORE_NOINLINE void set_io(mtf_model_t *m, const mtf_vec_t v[2], mtf_io_t *io)
{
    if (v[0].len > 0xffff || v[1].len > 0xffff)
        mtf_fail(m, MTF_ERR_UNSUPPORTED_TYPE, "over 65535 tensors in a list");
    io->inputs = v[0].pos;
    io->outputs = v[1].pos;
    io->n_inputs = (uint16_t)v[0].len;
    io->n_outputs = (uint16_t)v[1].len;
}

/* Check the tensor indices of a node's io or, with node NULL, of subgraph
 * sg's own inputs and outputs, and mark the tensors used (planned:
 * mtf_planner.h 2a). Only a node input may be absent (-1); a node may not
 * write a constant, and a subgraph's inputs and outputs may not be constants
 * at all, nor resources for the model's (main's) own. VAR_HANDLE's output
 * points at its resource record's id (mtf_core_variables.c): no planned memory.
 * The planner runs it again over the same io with recs (the indices pass
 * again): each use then widens the planned tensor's lifetime to the node's
 * step, or for the subgraph's own inputs (outputs) to its first (last) step. */
void mtf_use_io(mtf_model_t *m, mtf_subgraph_t *sg, const mtf_node_t *node, mtf_plan_buf_t *recs)
{
    const mtf_io_t *io = node != NULL ? &node->io : &sg->io;
    uint32_t n_in = io->n_inputs;
    for (uint32_t e = 0; e < n_in + io->n_outputs && m->status == MTF_OK; e++) {
        int32_t idx = mtf_io_tensor(m, io, e);
        if (idx < (node != NULL && e < n_in ? -1 : 0) || idx >= sg->n_tensors) {
            mtf_fail(m, MTF_ERR_BAD_MODEL, "tensor index %d out of range", idx);
        } else if (idx >= 0) {
            mtf_tensor_t *t = full_tensor(sg, idx);
            if (node == NULL && (t == NULL || (sg == m->subgraphs && t->dtype == MTF_RESOURCE))) {
                mtf_fail(m, MTF_ERR_UNSUPPORTED_TYPE,
                         "a subgraph input or output is a constant (or a resource in main)");
            } else if (t == NULL) {
                if (e >= n_in)
                    mtf_fail(m, MTF_ERR_BAD_MODEL, "an op writes a constant tensor");
            } else {
                t->reserved = 1;
                if (e >= n_in && node != NULL && node->code == MTF_CODE_VAR_HANDLE)
                    t->flags &= (uint8_t)~MTF_TENSOR_PLANNED;
                if (recs != NULL && (t->flags & MTF_TENSOR_PLANNED)) {
                    /* While planning, data holds the tensor's record index. */
                    mtf_plan_buf_t *r = &recs[(uintptr_t)t->data];
                    int32_t step = node != NULL ? node->step : e < n_in ? sg->first_step : sg->last_step;
                    if (step < r->first)
                        r->first = step;
                    if (step > r->last)
                        r->last = step;
                }
            }
        }
    }
}

static mtf_status_t read_node(mtf_model_t *m, const fb_model_t *f, int32_t s, const mtf_table_t *ot, int32_t i,
                              int depth)
{
    mtf_subgraph_t *sg = &m->subgraphs[s];
    mtf_node_t *node = &sg->nodes[i];
    int32_t code, version;
    struct {
        uint32_t opcode;
        mtf_vec_t io[2];
        uint32_t opt_type;
        mtf_table_t opt;
    } r;
    mtf_rd_fields(m, ot,
                  MTF_FLDS(MTF_FLD(MTF_F_OP_OPCODE, MTF_K_U32), MTF_FLD(MTF_F_OP_INPUTS, MTF_K_VEC2),
                           MTF_FLD(MTF_F_OP_OUTPUTS, MTF_K_VEC2), MTF_FLD(MTF_F_OP_OPTIONS_TYPE, MTF_K_U8),
                           MTF_FLD(MTF_F_OP_OPTIONS, MTF_K_SUB)),
                  &r);
    if (r.opcode >= f->opcodes.len)
        return mtf_fail(m, MTF_ERR_BAD_MODEL, "operator code index %u out of range", r.opcode);
    code = mtf_read_opcode(m, f, r.opcode, &version);
    set_io(m, r.io, &node->io);
    node->opt_type = (uint8_t)r.opt_type;
    if (r.opt.vt_len != 0) {
        node->opt = m->fb + r.opt.pos;
        node->opt_room = m->fb_len - r.opt.pos;
    }
    node->code = (uint8_t)code; /* for mtf_use_io; a code over 255 is refused just below */
    mtf_use_io(m, sg, node, NULL);
    if (m->status != MTF_OK)
        return m->status;
    int k = mtf_find_kernel(code, version);
    int known = k == -1;
    if (k < 0)
        return mtf_fail(m, MTF_ERR_UNSUPPORTED_OP,
                        known ? "op %d: %s version %d is not supported by this build"
                              : "op %d: operator %s (code %d) is not supported",
                        i, mtf_op_name(code), known ? version : code);
    node->kernel = (uint8_t)k;
    node->version = (uint8_t)version;
    node->step = m->total_steps++;
    if (code == MTF_CODE_CALL_ONCE) {
        int32_t target = mtf_opt_i32(node, 0, 0);
        int bad = target <= 0 || target >= m->n_subgraphs;
        /* A subgraph has its tmap from the start of its reading: this also refuses cycles. */
        if (bad || m->subgraphs[target].tmap != NULL || depth >= MTF_MAX_CALL_DEPTH)
            return mtf_fail(m, bad ? MTF_ERR_BAD_MODEL : MTF_ERR_UNSUPPORTED_TYPE,
                            "op %d: CALL_ONCE of subgraph %d (absent, called twice or too deep)", i, target);
        return mtf_build_subgraph(m, f, target, depth + 1);
    }
    return MTF_OK;
}

/* Read subgraph s: tensors, nodes, and (recursively) the subgraphs its CALL_ONCE nodes run. */
mtf_status_t mtf_build_subgraph(mtf_model_t *m, const fb_model_t *f, int32_t s, int depth)
{
    mtf_subgraph_t *sg = &m->subgraphs[s];
    mtf_table_t t;
    struct {
        mtf_vec_t tensors, io[2], ops;
    } r;
    mtf_rd_vec_table(m, &f->subgraphs, (uint32_t)s, &t);
    mtf_rd_fields(m, &t,
                  MTF_FLDS(MTF_FLD(MTF_F_SG_TENSORS, MTF_K_VEC2), MTF_FLD(MTF_F_SG_INPUTS, MTF_K_VEC2),
                           MTF_FLD(MTF_F_SG_OUTPUTS, MTF_K_VEC2), MTF_FLD(MTF_F_SG_OPERATORS, MTF_K_VEC2), 0),
                  &r);
    set_io(m, r.io, &sg->io);
    const mtf_vec_t tensors = r.tensors, ops = r.ops;
    /* Counts that keep every array size below 2^31 bytes. */
    if (tensors.len > 0x7fffff || ops.len > 0x7fffff)
        mtf_fail(m, MTF_ERR_UNSUPPORTED_TYPE, "subgraph %d is too large", s);
    sg->n_tensors = (int32_t)tensors.len;
    sg->n_nodes = (int32_t)ops.len;
    if (m->status != MTF_OK)
        return m->status;
    /* Pass 0: check every tensor and map it; constants keep only their table position.
     * Pass 1: persistent structs for the others, decoded from their checked tables. */
    /* (Never NULL, even for 0 bytes: tmap != NULL marks a read subgraph.) */
    sg->tmap = mtf_tail_alloc(m, sizeof(uint32_t) * tensors.len);
    for (int pass = 0; pass < 2 && m->status == MTF_OK; pass++) {
        if (pass) {
            sg->tensors = mtf_tail_alloc(m, sizeof(mtf_tensor_t) * (size_t)sg->n_full);
            sg->nodes = mtf_tail_alloc(m, sizeof(mtf_node_t) * ops.len);
        }
        for (uint32_t i = 0; i < tensors.len && m->status == MTF_OK; i++) {
            const uint8_t *data;
            mtf_tensor_t *tn = pass ? full_tensor(sg, (int32_t)i) : NULL;
            if (pass && tn == NULL)
                continue;
            mtf_rd_vec_table(m, &tensors, i, &t);
            int kind = mtf_check_tensor(m, &t, (int)i, &data);
            if (!pass) {
                sg->tmap[i] = kind == MTF_TENSOR_CONST ? (MTF_TMAP_CONST | t.pos) : (uint32_t)sg->n_full++;
            } else if (kind != 0) {
                decode(m, t.pos, tn);
                tn->flags = (uint8_t)kind;
                if (kind == MTF_TENSOR_VARIABLE)
                    tn->data = mtf_tail_alloc(m, (size_t)tn->bytes);
            }
        }
    }
    mtf_use_io(m, sg, NULL, NULL);
    sg->first_step = m->total_steps;
    for (uint32_t i = 0; i < ops.len && m->status == MTF_OK; i++) {
        mtf_rd_vec_table(m, &ops, i, &t);
        read_node(m, f, s, &t, (int32_t)i, depth); /* safe on a failed table: reads nothing */
    }
    if (m->total_steps > sg->first_step) {
        sg->last_step = m->total_steps - 1;
    } else {
        /* No nodes: the subgraph lives within its caller's step (mtf_planner.h, 1). */
        sg->first_step = sg->last_step = m->total_steps > 0 ? m->total_steps - 1 : 0;
    }
    return m->status;
}

/* ---- constant tensors at invoke time ----
 * A constant tensor has no persistent struct (mtf_arena.h): mtf_node_input()
 * decodes it from its table whenever a kernel asks, i.e. at every invoke.
 * mtf_check_tensor() checked every position of that table when the subgraph
 * was built, and the model bytes must not change while the model lives, so
 * this decoder reads the same fields again without any check: it is what every kernel pays per constant input per
 * invoke. Non-constant tensors are decoded with it too, once, after the
 * checks; MTF_VERIFY_CONST_DECODE compares its data pointer with the one
 * mtf_check_tensor() computed. */

typedef struct {
    const uint8_t *t;  /* table start */
    const uint8_t *vt; /* its vtable */
    uint32_t vt_len;
} fast_table_t;

static inline void fast_open(fast_table_t *f, const uint8_t *t)
{
    f->t = t;
    f->vt = t - (int32_t)mtf_rd_u32_at(t);
    f->vt_len = mtf_rd_u16_at(f->vt);
}

/* The field's bytes, NULL when absent (as field_at in mtf_reader.c). */
static inline const uint8_t *fast_field(const fast_table_t *f, uint32_t field)
{
    uint32_t slot = 4 + 2 * field;
    if (slot + 2 > f->vt_len)
        return NULL;
    uint32_t off = mtf_rd_u16_at(f->vt + slot);
    return off ? f->t + off : NULL;
}

/* Follow the uoffset at p (a vector's length word, or a table). */
static inline const uint8_t *fast_follow(const uint8_t *p)
{
    return p + mtf_rd_u32_at(p);
}

static const uint8_t *decode(const mtf_model_t *m, uint32_t pos, mtf_tensor_t *t)
{
    fast_table_t tt, sub;
    const uint8_t *p;
    memset(t, 0, sizeof *t);
    fast_open(&tt, m->fb + pos);
    p = fast_field(&tt, MTF_F_TENSOR_TYPE);
    t->dtype = p ? *p : 0;
    int32_t bytes = mtf_dtype_size(t->dtype);
    p = fast_field(&tt, MTF_F_TENSOR_SHAPE);
    if (p != NULL) {
        const uint8_t *v = fast_follow(p);
        uint32_t n = mtf_rd_u32_at(v);
        t->ndims = (uint8_t)n;
        for (uint32_t i = 0; i < n; i++) {
            t->dims[i] = (int32_t)mtf_rd_u32_at(v + 4 + 4 * i);
            bytes *= t->dims[i];
        }
    }
    t->bytes = bytes;
    p = fast_field(&tt, MTF_F_TENSOR_QUANT);
    if (p != NULL) {
        fast_open(&sub, fast_follow(p));
        p = fast_field(&sub, MTF_F_QUANT_SCALE);
        const uint8_t *scales = p ? fast_follow(p) : NULL;
        if (scales != NULL && mtf_rd_u32_at(scales) != 0) {
            t->q_count = (int32_t)mtf_rd_u32_at(scales);
            t->q_scales = scales + 4;
            t->scale = mtf_load_f32(scales + 4);
            p = fast_field(&sub, MTF_F_QUANT_ZERO_POINT);
            const uint8_t *zps = p ? fast_follow(p) : NULL;
            if (zps != NULL && mtf_rd_u32_at(zps) != 0) {
                t->q_zero_points = zps + 4;
                t->zero_point = (int32_t)mtf_rd_u32_at(zps + 4);
            }
            p = fast_field(&sub, MTF_F_QUANT_DIM);
            t->q_dim = p ? (int32_t)mtf_rd_u32_at(p) : 0;
        }
    }
    return fast_field(&tt, MTF_F_TENSOR_BUFFER);
}

void mtf_read_const(const mtf_model_t *m, uint32_t pos, mtf_tensor_t *t)
{
    fast_table_t sub;
    /* A constant has a non-empty buffer (that is what made it constant). */
    const uint8_t *p = decode(m, pos, t);
    uint32_t b = p ? mtf_rd_u32_at(p) : 0;
    fast_open(&sub, fast_follow(m->fb + m->buffers.pos + 4 * b));
    /* The offset was checked to be below 2 GB: its high word is 0. */
    p = fast_field(&sub, MTF_F_BUFFER_OFFSET);
    uint32_t offset = p ? mtf_rd_u32_at(p) : 0;
    if (offset > 1)
        p = m->fb + offset;
    else
        p = fast_follow(fast_field(&sub, MTF_F_BUFFER_DATA)) + 4;
    t->data = (uint8_t *)(uintptr_t)p;
    t->flags = MTF_TENSOR_CONST;
}
