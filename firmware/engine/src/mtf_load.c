/*
 * mtf_load.c - reading a model into the arena at init: subgraphs (main and
 * the ones CALL_ONCE runs), tensors, nodes. Every byte goes through the
 * checked reader (mtf_reader.h); failures name what is wrong and where.
 */
#include "mtf_reader.h"

int mtf_open_model(mtf_model_t *m, fb_model_t *f)
{
    if (mtf_rd_root(m, &f->root) < 0 ||
        mtf_rd_vec(m, &f->root, MTF_F_MODEL_OPCODES, 4, &f->opcodes, "operator codes") < 0 ||
        mtf_rd_vec(m, &f->root, MTF_F_MODEL_SUBGRAPHS, 4, &f->subgraphs, "subgraphs") < 0 ||
        mtf_rd_vec(m, &f->root, MTF_F_MODEL_BUFFERS, 4, &f->buffers, "buffers") < 0)
        return -1;
    m->buffers = f->buffers.pos;
    m->n_buffers = f->buffers.len;
    return 0;
}

/* Builtin code and version of operator code entry i. */
int mtf_read_opcode(mtf_model_t *m, const fb_model_t *f, uint32_t i, int32_t *code, int32_t *version)
{
    mtf_table_t t;
    uint8_t deprecated;
    if (mtf_rd_vec_table(m, &f->opcodes, i, &t, "operator code") < 0 ||
        mtf_rd_u8(m, &t, MTF_F_OPCODE_DEPRECATED, 0, &deprecated) < 0 ||
        mtf_rd_i32(m, &t, MTF_F_OPCODE_BUILTIN, 0, code) < 0 ||
        mtf_rd_i32(m, &t, MTF_F_OPCODE_VERSION, 1, version) < 0)
        return -1;
    /* Old files carry the code in the int8 field only; TFLite takes the larger. */
    if ((int8_t)deprecated > *code)
        *code = (int8_t)deprecated;
    if (*code < 0)
        return mtf_fail(m, MTF_ERR_BAD_MODEL, "operator code %u is negative", i), -1;
    return 0;
}

/* Check an int32 index vector: every entry in [lo, n). */
static int check_indices(mtf_model_t *m, const mtf_vec_t *v, int32_t lo, int32_t n, const char *what)
{
    if (v->len > 0xffff)
        return mtf_fail(m, MTF_ERR_UNSUPPORTED_TYPE, "%s: %u tensors", what, v->len), -1;
    for (uint32_t i = 0; i < v->len; i++) {
        int32_t idx = mtf_rd_vec_i32(m, v, i);
        if (idx < lo || idx >= n)
            return mtf_fail(m, MTF_ERR_BAD_MODEL, "%s: tensor index %d out of range", what, idx), -1;
    }
    return 0;
}

static int read_quantization(mtf_model_t *m, const mtf_table_t *tt, mtf_tensor_t *t, int index)
{
    mtf_table_t q;
    mtf_vec_t scales, zps;
    int32_t dim;
    int r = mtf_rd_sub(m, tt, MTF_F_TENSOR_QUANT, &q, "quantization");
    if (r <= 0)
        return r;
    if (mtf_rd_vec(m, &q, MTF_F_QUANT_SCALE, 4, &scales, "scales") < 0 ||
        mtf_rd_vec(m, &q, MTF_F_QUANT_ZERO_POINT, 8, &zps, "zero points") < 0 ||
        mtf_rd_i32(m, &q, MTF_F_QUANT_DIM, 0, &dim) < 0)
        return -1;
    if (scales.len == 0)
        return 0;
    if (zps.len != 0 && zps.len != scales.len)
        return mtf_fail(m, MTF_ERR_BAD_MODEL, "tensor %d has %u scales but %u zero points", index, scales.len,
                        zps.len), -1;
    /* quantized_dimension is checked by the kernels that use it: converters
     * write odd values on tensors where it does not matter (e.g. 3 on a 1-D bias). */
    if (scales.len > 0x7fffffffu)
        return mtf_fail(m, MTF_ERR_BAD_MODEL, "tensor %d has too many scales", index), -1;
    /* Ranges every valid model keeps; checked once here so that no kernel
     * meets an absurd zero point (overflowing offsets) or scale (NaN, 0, inf). */
    int32_t zmin = INT32_MIN, zmax = INT32_MAX;
    if (t->dtype == MTF_INT8)
        zmin = -128, zmax = 127;
    else if (t->dtype == MTF_UINT8)
        zmin = 0, zmax = 255;
    else if (t->dtype == MTF_INT16)
        zmin = -32768, zmax = 32767;
    /* Checked once at init; constants decoded again at eval skip the loop. */
    for (uint32_t c = 0; !m->ready && c < scales.len; c++) {
        float sc = mtf_load_f32(m->fb + scales.pos + 4 * c);
        if (!(sc > 0.0f && sc <= 3.0e38f))
            return mtf_fail(m, MTF_ERR_BAD_MODEL, "tensor %d has a scale that is not positive and finite", index),
                   -1;
        if (zps.len) {
            const uint8_t *z = m->fb + zps.pos + 8 * c;
            int64_t zp = (int64_t)((uint64_t)mtf_rd_u32_at(z) | ((uint64_t)mtf_rd_u32_at(z + 4) << 32));
            if (zp < zmin || zp > zmax)
                return mtf_fail(m, MTF_ERR_BAD_MODEL, "tensor %d has zero point out of range", index), -1;
        }
    }
    t->q_count = (int32_t)scales.len;
    t->q_dim = dim;
    t->q_scales = m->fb + scales.pos;
    t->q_zero_points = zps.len ? m->fb + zps.pos : NULL;
    t->scale = mtf_tensor_scale(t, 0);
    t->zero_point = mtf_tensor_zero_point(t, 0);
    return 0;
}

/* Data of buffer b: sets *data (NULL when empty) and *len. */
static int read_buffer(mtf_model_t *m, uint32_t b, const uint8_t **data, uint32_t *len)
{
    mtf_table_t bt;
    mtf_vec_t v, buffers = {m->buffers, m->n_buffers};
    uint64_t offset, size;
    *data = NULL;
    *len = 0;
    if (buffers.len == 0 && b == 0)
        return 0;
    if (b >= buffers.len)
        return mtf_fail(m, MTF_ERR_BAD_MODEL, "buffer index %u out of range", b), -1;
    if (mtf_rd_vec_table(m, &buffers, b, &bt, "buffer") < 0 ||
        mtf_rd_vec(m, &bt, MTF_F_BUFFER_DATA, 1, &v, "buffer data") < 0 ||
        mtf_rd_u64(m, &bt, MTF_F_BUFFER_OFFSET, &offset) < 0 || mtf_rd_u64(m, &bt, MTF_F_BUFFER_SIZE, &size) < 0)
        return -1;
    if (offset > 1) {
        /* Large-model format: the data follows the flatbuffer, at offset from its start. */
        if (size > m->fb_len || offset > m->fb_len - size)
            return mtf_fail(m, MTF_ERR_BAD_MODEL, "buffer %u lies outside the model", b), -1;
        *data = size ? m->fb + offset : NULL;
        *len = (uint32_t)size;
        return 0;
    }
    *data = v.len ? m->fb + v.pos : NULL;
    *len = v.len;
    return 0;
}

/* Decode a tensor table into t. alloc: give an is_variable tensor its tail buffer. */
int mtf_read_tensor(mtf_model_t *m, const mtf_table_t *tt, mtf_tensor_t *t, int index, int alloc)
{
    mtf_vec_t shape;
    uint8_t type, variable;
    int32_t buffer;
    mtf_table_t sparsity;
    if (mtf_rd_vec(m, tt, MTF_F_TENSOR_SHAPE, 4, &shape, "shape") < 0 ||
        mtf_rd_u8(m, tt, MTF_F_TENSOR_TYPE, 0, &type) < 0 ||
        mtf_rd_i32(m, tt, MTF_F_TENSOR_BUFFER, 0, &buffer) < 0 ||
        mtf_rd_u8(m, tt, MTF_F_TENSOR_VARIABLE, 0, &variable) < 0)
        return -1;
    int sp = mtf_rd_sub(m, tt, MTF_F_TENSOR_SPARSITY, &sparsity, "sparsity");
    if (sp < 0)
        return -1;
    if (sp > 0)
        return mtf_fail(m, MTF_ERR_UNSUPPORTED_TYPE, "tensor %d is sparse", index), -1;
    if (shape.len > MTF_MAX_DIMS)
        return mtf_fail(m, MTF_ERR_UNSUPPORTED_TYPE, "tensor %d has %u dims (max %d)", index, shape.len,
                        MTF_MAX_DIMS), -1;
    int size = mtf_dtype_size(type);
    if (size == 0)
        return mtf_fail(m, MTF_ERR_UNSUPPORTED_TYPE, "tensor %d has unsupported type %d", index, type), -1;
    uint64_t bytes = (uint64_t)size;
    t->ndims = (uint8_t)shape.len;
    for (uint32_t i = 0; i < shape.len; i++) {
        int32_t d = mtf_rd_vec_i32(m, &shape, i);
        if (d < 0)
            return mtf_fail(m, MTF_ERR_BAD_MODEL, "tensor %d has a negative dim", index), -1;
        t->dims[i] = d;
        bytes *= (uint64_t)d;
        if (bytes > 0x7fffffffu)
            return mtf_fail(m, MTF_ERR_BAD_MODEL, "tensor %d is larger than 2 GB", index), -1;
    }
    t->dtype = type;
    t->bytes = (int32_t)bytes;
    if (read_quantization(m, tt, t, index) < 0)
        return -1;
    if (variable) {
        t->flags = MTF_TENSOR_VARIABLE;
        if (alloc)
            t->data = mtf_tail_alloc(m, (size_t)bytes);
        return alloc && t->data == NULL ? -1 : 0;
    }
    const uint8_t *data;
    uint32_t len;
    if (read_buffer(m, (uint32_t)buffer, &data, &len) < 0)
        return -1;
    if (data != NULL) {
        if (len < bytes)
            return mtf_fail(m, MTF_ERR_BAD_MODEL, "tensor %d needs %u bytes, its buffer has %u", index,
                            (unsigned)bytes, len), -1;
        t->flags = MTF_TENSOR_CONST;
        t->data = (uint8_t *)(uintptr_t)data; /* read-only: kernels never write inputs */
    } else {
        t->flags = MTF_TENSOR_PLANNED;
    }
    return 0;
}

static int read_node(mtf_model_t *m, const fb_model_t *f, int32_t s, mtf_table_t *ot, int32_t i, int depth)
{
    mtf_subgraph_t *sg = &m->subgraphs[s];
    mtf_node_t *node = &sg->nodes[i];
    uint32_t opcode;
    int32_t code, version;
    mtf_vec_t ins, outs;
    mtf_table_t opt;
    uint8_t opt_type;
    int32_t opcode_i;
    if (mtf_rd_i32(m, ot, MTF_F_OP_OPCODE, 0, &opcode_i) < 0)
        return -1;
    opcode = (uint32_t)opcode_i;
    if (opcode >= f->opcodes.len)
        return mtf_fail(m, MTF_ERR_BAD_MODEL, "op %d uses operator code %u of %u", i, opcode, f->opcodes.len), -1;
    if (mtf_read_opcode(m, f, opcode, &code, &version) < 0 ||
        mtf_rd_vec(m, ot, MTF_F_OP_INPUTS, 4, &ins, "op inputs") < 0 ||
        mtf_rd_vec(m, ot, MTF_F_OP_OUTPUTS, 4, &outs, "op outputs") < 0 ||
        check_indices(m, &ins, -1, sg->n_tensors, "op inputs") < 0 ||
        check_indices(m, &outs, 0, sg->n_tensors, "op outputs") < 0 ||
        mtf_rd_u8(m, ot, MTF_F_OP_OPTIONS_TYPE, 0, &opt_type) < 0)
        return -1;
    int has_opt = mtf_rd_sub(m, ot, MTF_F_OP_OPTIONS, &opt, "options");
    if (has_opt < 0)
        return -1;
    for (uint32_t j = 0; j < outs.len; j++) {
        if (full_tensor(sg, mtf_rd_vec_i32(m, &outs, j)) == NULL)
            return mtf_fail(m, MTF_ERR_BAD_MODEL, "op %d writes a constant tensor", i), -1;
    }
    int known;
    int k = mtf_find_kernel(code, version, &known);
    if (!known)
        return mtf_fail(m, MTF_ERR_UNSUPPORTED_OP, "op %d: operator %s (code %d) is not supported", i,
                        mtf_op_name(code), code), -1;
    if (k < 0)
        return mtf_fail(m, MTF_ERR_UNSUPPORTED_OP, "op %d: %s version %d is not supported by this build", i,
                        mtf_op_name(code), version), -1;
    node->kernel = (uint8_t)k;
    node->code = (uint8_t)code;
    node->version = (uint8_t)version;
    node->inputs = ins.pos;
    node->outputs = outs.pos;
    node->n_inputs = (uint16_t)ins.len;
    node->n_outputs = (uint16_t)outs.len;
    node->opt_type = opt_type;
    if (has_opt) {
        node->opt = m->fb + opt.pos;
        node->opt_room = m->fb_len - opt.pos;
    }
    node->step = m->total_steps++;
    for (uint32_t j = 0; j < ins.len + outs.len; j++) {
        int32_t idx = j < ins.len ? mtf_rd_vec_i32(m, &ins, j) : mtf_rd_vec_i32(m, &outs, j - ins.len);
        mtf_tensor_t *t = idx >= 0 ? full_tensor(sg, idx) : NULL;
        if (t != NULL)
            t->reserved = 1; /* used by a node: planned (see mtf_planner.h 2a) */
    }
    if (code == MTF_CODE_VAR_HANDLE) {
        /* Its output points at the kernel's op data (the resource id): no planned memory. */
        for (uint32_t j = 0; j < outs.len; j++)
            full_tensor(sg, mtf_rd_vec_i32(m, &outs, j))->flags &= (uint8_t)~MTF_TENSOR_PLANNED;
    }
    if (code == MTF_CODE_CALL_ONCE) {
        int32_t target = mtf_opt_i32(node, 0, 0);
        if (target <= 0 || target >= m->n_subgraphs)
            return mtf_fail(m, MTF_ERR_BAD_MODEL, "op %d: CALL_ONCE of subgraph %d", i, target), -1;
        if (m->subgraphs[target].tmap != NULL || m->subgraphs[target].caller >= 0)
            return mtf_fail(m, MTF_ERR_UNSUPPORTED_TYPE, "subgraph %d is called more than once", target), -1;
        if (depth >= MTF_MAX_CALL_DEPTH)
            return mtf_fail(m, MTF_ERR_UNSUPPORTED_TYPE, "CALL_ONCE nested deeper than %d", MTF_MAX_CALL_DEPTH), -1;
        m->subgraphs[target].caller = s;
        if (mtf_build_subgraph(m, f, target, depth + 1) < 0)
            return -1;
    }
    return 0;
}

/* Read subgraph s: tensors, nodes, and (recursively) the subgraphs its CALL_ONCE nodes run. */
int mtf_build_subgraph(mtf_model_t *m, const fb_model_t *f, int32_t s, int depth)
{
    mtf_subgraph_t *sg = &m->subgraphs[s];
    mtf_table_t st, tt, ot;
    mtf_vec_t tensors, ins, outs, ops;
    if (mtf_rd_vec_table(m, &f->subgraphs, (uint32_t)s, &st, "subgraph") < 0 ||
        mtf_rd_vec(m, &st, MTF_F_SG_TENSORS, 4, &tensors, "tensors") < 0 ||
        mtf_rd_vec(m, &st, MTF_F_SG_INPUTS, 4, &ins, "subgraph inputs") < 0 ||
        mtf_rd_vec(m, &st, MTF_F_SG_OUTPUTS, 4, &outs, "subgraph outputs") < 0 ||
        mtf_rd_vec(m, &st, MTF_F_SG_OPERATORS, 4, &ops, "operators") < 0)
        return -1;
    if (tensors.len > 0x7fffff || ops.len > 0x7fffff)
        return mtf_fail(m, MTF_ERR_UNSUPPORTED_TYPE, "subgraph %d is too large", s), -1;
    sg->n_tensors = (int32_t)tensors.len;
    sg->n_nodes = (int32_t)ops.len;
    if (check_indices(m, &ins, 0, sg->n_tensors, "subgraph inputs") < 0 ||
        check_indices(m, &outs, 0, sg->n_tensors, "subgraph outputs") < 0)
        return -1;
    sg->inputs = ins.pos;
    sg->outputs = outs.pos;
    sg->n_inputs = (uint16_t)ins.len;
    sg->n_outputs = (uint16_t)outs.len;
    /* Pass 1: check every tensor and map it; constants keep only their table position. */
    sg->tmap = mtf_tail_alloc(m, sizeof(uint32_t) * (tensors.len ? tensors.len : 1));
    if (sg->tmap == NULL)
        return -1;
    for (uint32_t i = 0; i < tensors.len; i++) {
        mtf_tensor_t tmp;
        memset(&tmp, 0, sizeof tmp);
        if (mtf_rd_vec_table(m, &tensors, i, &tt, "tensor") < 0 || mtf_read_tensor(m, &tt, &tmp, (int)i, 0) < 0)
            return -1;
        if (tt.pos & MTF_TMAP_CONST)
            return mtf_fail(m, MTF_ERR_BAD_MODEL, "tensor table beyond 2 GB"), -1;
        sg->tmap[i] = (tmp.flags & MTF_TENSOR_CONST) ? (MTF_TMAP_CONST | tt.pos) : (uint32_t)sg->n_full++;
    }
    /* Pass 2: persistent structs for the others. */
    sg->tensors = mtf_tail_alloc(m, sizeof(mtf_tensor_t) * (size_t)(sg->n_full ? sg->n_full : 1));
    sg->nodes = mtf_tail_alloc(m, sizeof(mtf_node_t) * (ops.len ? ops.len : 1));
    if (sg->tensors == NULL || sg->nodes == NULL)
        return -1;
    for (uint32_t i = 0; i < tensors.len; i++) {
        mtf_tensor_t *t = full_tensor(sg, (int32_t)i);
        if (t != NULL && (mtf_rd_vec_table(m, &tensors, i, &tt, "tensor") < 0 || mtf_read_tensor(m, &tt, t, (int)i, 1) < 0))
            return -1;
    }
    for (uint32_t i = 0; i < ins.len + outs.len; i++) {
        int32_t idx = i < ins.len ? mtf_rd_vec_i32(m, &ins, i) : mtf_rd_vec_i32(m, &outs, i - ins.len);
        mtf_tensor_t *t = full_tensor(sg, idx);
        if (t == NULL)
            return mtf_fail(m, MTF_ERR_UNSUPPORTED_TYPE, "subgraph %d input or output %d is a constant", s, idx), -1;
        t->reserved = 1;
    }
    sg->first_step = m->total_steps;
    for (uint32_t i = 0; i < ops.len; i++) {
        if (mtf_rd_vec_table(m, &ops, i, &ot, "operator") < 0 || read_node(m, f, s, &ot, (int32_t)i, depth) < 0)
            return -1;
    }
    if (m->total_steps > sg->first_step) {
        sg->last_step = m->total_steps - 1;
    } else {
        /* No nodes: the subgraph lives within its caller's step (mtf_planner.h, 1). */
        sg->first_step = sg->last_step = m->total_steps > 0 ? m->total_steps - 1 : 0;
    }
    return 0;
}

/* ---- constant tensors at invoke time ----
 * A constant tensor has no persistent struct (mtf_arena.h): mtf_node_input()
 * decodes it from its table whenever a kernel asks, i.e. at every invoke.
 * mtf_read_tensor() checked every position of that table when the subgraph
 * was built (pass 1 of mtf_build_subgraph), and the model bytes must not
 * change while the model lives, so this decoder reads the same fields again
 * without any check and without re-validating quantization: it is what every
 * kernel pays per constant input per invoke. It must follow
 * mtf_read_tensor() field for field (MTF_VERIFY_CONST_DECODE compares them). */

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

/* The field's bytes, NULL when absent (as field_pos in mtf_reader.c). */
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

static inline uint64_t fast_u64(const uint8_t *p)
{
    return p ? (uint64_t)mtf_rd_u32_at(p) | ((uint64_t)mtf_rd_u32_at(p + 4) << 32) : 0;
}

void mtf_read_const(const mtf_model_t *m, uint32_t pos, mtf_tensor_t *t)
{
    const uint8_t *fb = m->fb;
    fast_table_t tt, sub;
    const uint8_t *p;
    memset(t, 0, sizeof *t);
    fast_open(&tt, fb + pos);
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
    /* A constant has a non-empty buffer (that is what made it constant). */
    p = fast_field(&tt, MTF_F_TENSOR_BUFFER);
    uint32_t b = p ? mtf_rd_u32_at(p) : 0;
    fast_open(&sub, fast_follow(fb + m->buffers + 4 * b));
    uint64_t offset = fast_u64(fast_field(&sub, MTF_F_BUFFER_OFFSET));
    if (offset > 1)
        t->data = (uint8_t *)(uintptr_t)(fb + offset);
    else
        t->data = (uint8_t *)(uintptr_t)(fast_follow(fast_field(&sub, MTF_F_BUFFER_DATA)) + 4);
    t->flags = MTF_TENSOR_CONST;
}
