/*
 * mtf_load.c - reading a model into the arena at init: subgraphs (main and
 * the ones CALL_ONCE runs), tensors, nodes. Every byte goes through the
 * checked reader (mtf_reader.h), whose failures are sticky: a group of reads,
 * then one test of m->status.
 */
#include "mtf_reader.h"

mtf_status_t mtf_open_model(mtf_model_t *m, const void *model, size_t model_len, fb_model_t *f)
{
    mtf_table_t root;
    if (model_len > 0x7fffffffu)
        return mtf_fail(m, MTF_ERR_BAD_MODEL, "model larger than 2 GB");
    m->fb = model;
    m->fb_len = (uint32_t)model_len;
    mtf_rd_root(m, &root);
    mtf_rd_vec(m, &root, MTF_VEC(MTF_F_MODEL_OPCODES, 2), &f->opcodes);
    mtf_rd_vec(m, &root, MTF_VEC(MTF_F_MODEL_SUBGRAPHS, 2), &f->subgraphs);
    mtf_rd_vec(m, &root, MTF_VEC(MTF_F_MODEL_BUFFERS, 2), &m->buffers);
    return m->status;
}

/* Builtin code and version of operator code entry i (< f->opcodes.len). */
mtf_status_t mtf_read_opcode(mtf_model_t *m, const fb_model_t *f, uint32_t i, int32_t *code, int32_t *version)
{
    mtf_table_t t;
    mtf_rd_vec_table(m, &f->opcodes, i, &t);
    int32_t deprecated = (int8_t)mtf_rd_num(m, &t, MTF_U8(MTF_F_OPCODE_DEPRECATED));
    int32_t c = (int32_t)mtf_rd_num(m, &t, MTF_U32(MTF_F_OPCODE_BUILTIN, 0));
    *version = (int32_t)mtf_rd_num(m, &t, MTF_U32(MTF_F_OPCODE_VERSION, 1));
    /* Old files carry the code in the int8 field only; TFLite takes the larger. */
    *code = c > deprecated ? c : deprecated;
    if (*code < 0)
        mtf_fail(m, MTF_ERR_BAD_MODEL, "operator code %u is negative", i);
    return m->status;
}

/* Decode the fields every tensor has (no checks: the table was checked);
 * returns the tensor's buffer field, NULL when absent. */
static const uint8_t *decode(const mtf_model_t *m, uint32_t pos, mtf_tensor_t *t);

/* Check tensor table tt and decode it into t. alloc: give an is_variable tensor its tail buffer. */
mtf_status_t mtf_read_tensor(mtf_model_t *m, const mtf_table_t *tt, mtf_tensor_t *t, int index, int alloc)
{
    mtf_vec_t shape, scales, zps, v;
    mtf_table_t sub;
    mtf_rd_vec(m, tt, MTF_VEC(MTF_F_TENSOR_SHAPE, 2), &shape);
    uint32_t type = mtf_rd_num(m, tt, MTF_U8(MTF_F_TENSOR_TYPE));
    uint32_t b = mtf_rd_num(m, tt, MTF_U32(MTF_F_TENSOR_BUFFER, 0));
    uint32_t variable = mtf_rd_num(m, tt, MTF_U8(MTF_F_TENSOR_VARIABLE));
    int sparse = mtf_rd_sub(m, tt, MTF_F_TENSOR_SPARSITY, &sub);
    uint32_t bytes = (uint32_t)mtf_dtype_size((int)type);
    if (sparse || shape.len > MTF_MAX_DIMS || bytes == 0)
        mtf_fail(m, MTF_ERR_UNSUPPORTED_TYPE,
                 sparse                     ? "tensor %d is sparse"
                 : shape.len > MTF_MAX_DIMS ? "tensor %d has too many dims"
                                            : "tensor %d has unsupported type %u",
                 index, type);
    for (uint32_t i = 0; i < shape.len; i++) {
        int32_t d = mtf_rd_vec_i32(m, &shape, i);
        uint64_t product = (uint64_t)bytes * (uint32_t)d;
        if (d < 0 || product > 0x7fffffffu)
            mtf_fail(m, MTF_ERR_BAD_MODEL, "tensor %d has a negative dim or is over 2 GB", index);
        bytes = (uint32_t)product;
    }
    if (mtf_rd_sub(m, tt, MTF_F_TENSOR_QUANT, &sub)) {
        mtf_rd_vec(m, &sub, MTF_VEC(MTF_F_QUANT_SCALE, 2), &scales);
        mtf_rd_vec(m, &sub, MTF_VEC(MTF_F_QUANT_ZERO_POINT, 3), &zps);
        mtf_rd_num(m, &sub, MTF_U32(MTF_F_QUANT_DIM, 0));
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
    if (!variable && (b != 0 || m->buffers.len != 0) && m->status == MTF_OK) {
        if (b >= m->buffers.len)
            return mtf_fail(m, MTF_ERR_BAD_MODEL, "buffer index %u out of range", b);
        mtf_rd_vec_table(m, &m->buffers, b, &sub);
        mtf_rd_vec(m, &sub, MTF_VEC(MTF_F_BUFFER_DATA, 0), &v);
        uint32_t offset = mtf_rd_num(m, &sub, MTF_U64(MTF_F_BUFFER_OFFSET));
        uint32_t size = mtf_rd_num(m, &sub, MTF_U64(MTF_F_BUFFER_SIZE));
        len = v.len;
        data = m->fb + v.pos;
        if (offset > 1) {
            /* Large-model format: the data follows the flatbuffer, at offset from its start. */
            if (size > m->fb_len || offset > m->fb_len - size)
                mtf_fail(m, MTF_ERR_BAD_MODEL, "buffer %u lies outside the model", b);
            len = size;
            data = m->fb + offset;
        }
        if (len != 0 && len < bytes)
            mtf_fail(m, MTF_ERR_BAD_MODEL, "tensor %d needs %u bytes, its buffer has %u", index, bytes, len);
    }
    if (m->status != MTF_OK)
        return m->status;
    decode(m, tt->pos, t);
    if (variable) {
        t->flags = MTF_TENSOR_VARIABLE;
        if (alloc)
            t->data = mtf_tail_alloc(m, bytes);
    } else if (len != 0) {
        t->flags = MTF_TENSOR_CONST;
        t->data = (uint8_t *)(uintptr_t)data; /* read-only: kernels never write inputs */
    } else {
        t->flags = MTF_TENSOR_PLANNED;
    }
    return m->status;
}

/* The inputs (field 1) and outputs (field 2) of an operator or subgraph table
 * (their indices are checked by use_io, once the tensors are known). */
static void read_io(mtf_model_t *m, const mtf_table_t *t, mtf_io_t *io)
{
    mtf_vec_t ins, outs;
    mtf_rd_vec(m, t, MTF_VEC(MTF_F_OP_INPUTS, 2), &ins);
    mtf_rd_vec(m, t, MTF_VEC(MTF_F_OP_OUTPUTS, 2), &outs);
    if (ins.len > 0xffff || outs.len > 0xffff)
        mtf_fail(m, MTF_ERR_UNSUPPORTED_TYPE, "over 65535 tensors in a list");
    io->inputs = ins.pos;
    io->outputs = outs.pos;
    io->n_inputs = (uint16_t)ins.len;
    io->n_outputs = (uint16_t)outs.len;
}

/* Check the tensor indices of a node's io (code: its builtin code) or, with
 * code -1, of subgraph sg's own inputs and outputs, and mark the tensors used
 * (planned: mtf_planner.h 2a). Only a node input may be absent (-1); a node
 * may not write a constant, and a subgraph's inputs and outputs may not be
 * constants at all, nor resources for the model's (main's) own. VAR_HANDLE's output points at the kernel's op data (the
 * resource id): no planned memory. */
static void use_io(mtf_model_t *m, mtf_subgraph_t *sg, const mtf_io_t *io, int32_t code)
{
    uint32_t n_in = io->n_inputs;
    for (uint32_t e = 0; e < n_in + io->n_outputs && m->status == MTF_OK; e++) {
        int32_t idx = mtf_io_tensor(m, io, e);
        if (idx < (code >= 0 && e < n_in ? -1 : 0) || idx >= sg->n_tensors) {
            mtf_fail(m, MTF_ERR_BAD_MODEL, "tensor index %d out of range", idx);
        } else if (idx >= 0) {
            mtf_tensor_t *t = full_tensor(sg, idx);
            if (code < 0 ? t == NULL || (sg == m->subgraphs && t->dtype == MTF_RESOURCE) : t == NULL && e >= n_in) {
                mtf_fail(m, code < 0 ? MTF_ERR_UNSUPPORTED_TYPE : MTF_ERR_BAD_MODEL,
                         code < 0 ? "a subgraph input or output is a constant (or a resource in main)"
                                  : "an op writes a constant tensor");
            } else if (t != NULL) {
                t->reserved = 1;
                if (e >= n_in && code == MTF_CODE_VAR_HANDLE)
                    t->flags &= (uint8_t)~MTF_TENSOR_PLANNED;
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
    mtf_table_t opt;
    uint32_t opcode = mtf_rd_num(m, ot, MTF_U32(MTF_F_OP_OPCODE, 0));
    if (opcode >= f->opcodes.len)
        return mtf_fail(m, MTF_ERR_BAD_MODEL, "op %d: operator code index %u out of range", i, opcode);
    mtf_read_opcode(m, f, opcode, &code, &version);
    read_io(m, ot, &node->io);
    node->opt_type = (uint8_t)mtf_rd_num(m, ot, MTF_U8(MTF_F_OP_OPTIONS_TYPE));
    if (mtf_rd_sub(m, ot, MTF_F_OP_OPTIONS, &opt)) {
        node->opt = m->fb + opt.pos;
        node->opt_room = m->fb_len - opt.pos;
    }
    use_io(m, sg, &node->io, code);
    if (m->status != MTF_OK)
        return m->status;
    int known;
    int k = mtf_find_kernel(code, version, &known);
    if (k < 0)
        return mtf_fail(m, MTF_ERR_UNSUPPORTED_OP,
                        known ? "op %d: %s version %d is not supported by this build"
                              : "op %d: operator %s (code %d) is not supported",
                        i, mtf_op_name(code), known ? version : code);
    node->kernel = (uint8_t)k;
    node->code = (uint8_t)code;
    node->version = (uint8_t)version;
    node->step = m->total_steps++;
    if (code == MTF_CODE_CALL_ONCE) {
        int32_t target = mtf_opt_i32(node, 0, 0);
        int bad = target <= 0 || target >= m->n_subgraphs;
        /* A subgraph has its tmap from the start of its reading: this also refuses cycles. */
        if (bad || m->subgraphs[target].tmap != NULL || depth >= MTF_MAX_CALL_DEPTH)
            return mtf_fail(m, bad ? MTF_ERR_BAD_MODEL : MTF_ERR_UNSUPPORTED_TYPE,
                            bad ? "op %d: CALL_ONCE of subgraph %d" : "op %d: subgraph %d is called twice or too deep",
                            i, target);
        return mtf_build_subgraph(m, f, target, depth + 1);
    }
    return MTF_OK;
}

/* Read subgraph s: tensors, nodes, and (recursively) the subgraphs its CALL_ONCE nodes run. */
mtf_status_t mtf_build_subgraph(mtf_model_t *m, const fb_model_t *f, int32_t s, int depth)
{
    mtf_subgraph_t *sg = &m->subgraphs[s];
    mtf_table_t t;
    mtf_vec_t tensors, ops;
    mtf_rd_vec_table(m, &f->subgraphs, (uint32_t)s, &t);
    mtf_rd_vec(m, &t, MTF_VEC(MTF_F_SG_TENSORS, 2), &tensors);
    read_io(m, &t, &sg->io);
    mtf_rd_vec(m, &t, MTF_VEC(MTF_F_SG_OPERATORS, 2), &ops);
    /* Counts that keep every array size below 2^31 bytes. */
    if (tensors.len > 0x7fffff || ops.len > 0x7fffff)
        mtf_fail(m, MTF_ERR_UNSUPPORTED_TYPE, "subgraph %d is too large", s);
    sg->n_tensors = (int32_t)tensors.len;
    sg->n_nodes = (int32_t)ops.len;
    if (m->status != MTF_OK)
        return m->status;
    /* Pass 0: check every tensor and map it; constants keep only their table position.
     * Pass 1: persistent structs for the others. */
    sg->tmap = mtf_tail_alloc(m, sizeof(uint32_t) * (tensors.len ? tensors.len : 1));
    for (int pass = 0; pass < 2 && m->status == MTF_OK; pass++) {
        if (pass) {
            sg->tensors = mtf_tail_alloc(m, sizeof(mtf_tensor_t) * (size_t)(sg->n_full ? sg->n_full : 1));
            sg->nodes = mtf_tail_alloc(m, sizeof(mtf_node_t) * (ops.len ? ops.len : 1));
        }
        for (uint32_t i = 0; i < tensors.len && m->status == MTF_OK; i++) {
            mtf_tensor_t tmp, *tn = pass ? full_tensor(sg, (int32_t)i) : &tmp;
            if (tn == NULL)
                continue;
            mtf_rd_vec_table(m, &tensors, i, &t);
            if (mtf_read_tensor(m, &t, tn, (int)i, pass) == MTF_OK && !pass)
                sg->tmap[i] = (tmp.flags & MTF_TENSOR_CONST) ? (MTF_TMAP_CONST | t.pos) : (uint32_t)sg->n_full++;
        }
    }
    use_io(m, sg, &sg->io, -1);
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
 * mtf_read_tensor() checked every position of that table when the subgraph
 * was built (pass 1 of mtf_build_subgraph), and the model bytes must not
 * change while the model lives, so this decoder reads the same fields again
 * without any check: it is what every kernel pays per constant input per
 * invoke. mtf_read_tensor() decodes with it too, after its checks, so the two
 * cannot disagree (MTF_VERIFY_CONST_DECODE compares them). */

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
