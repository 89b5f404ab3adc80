/*
 * mtf_reader.h - the only code that reads flatbuffer bytes.
 *
 * Every position is a uint32 offset into the model bytes (models are at most
 * 2 GB - 1, as the flatbuffer format allows, so the sum of two positions
 * never wraps). Every offset, vtable, vector, string and nested table is
 * checked against the model length before it is read, and every read is
 * bytewise (the model may sit at any address).
 *
 * Failures are sticky: a failed check records MTF_ERR_BAD_MODEL with
 * mtf_fail() (the first failure of a call wins, in m->status) and gives an
 * empty result - an absent field, a table without fields, a vector of length
 * 0 - that every later read handles safely. Callers read a group of fields,
 * then test m->status once.
 *
 * Field numbers are the 0-based field indexes of TFLite's schema.fbs.
 */
#ifndef MTF_READER_H
#define MTF_READER_H

#include "mtf_arena.h"

/* A checked table: its vtable and table bytes are inside the model
 * (vt_len 0: a table that failed its check, every field absent). */
typedef struct {
    uint32_t pos;     /* table start (where its soffset to the vtable is) */
    uint32_t vt;      /* vtable start */
    uint16_t vt_len;  /* vtable bytes */
    uint16_t tbl_len; /* table bytes */
} mtf_table_t;

/* Schema field numbers the core reads. */
enum {
    MTF_F_MODEL_OPCODES = 1, MTF_F_MODEL_SUBGRAPHS = 2, MTF_F_MODEL_BUFFERS = 4,
    MTF_F_OPCODE_DEPRECATED = 0, MTF_F_OPCODE_VERSION = 2, MTF_F_OPCODE_BUILTIN = 3,
    MTF_F_SG_TENSORS = 0, MTF_F_SG_INPUTS = 1, MTF_F_SG_OUTPUTS = 2, MTF_F_SG_OPERATORS = 3,
    MTF_F_TENSOR_SHAPE = 0, MTF_F_TENSOR_TYPE = 1, MTF_F_TENSOR_BUFFER = 2,
    MTF_F_TENSOR_QUANT = 4, MTF_F_TENSOR_VARIABLE = 5, MTF_F_TENSOR_SPARSITY = 6,
    MTF_F_QUANT_SCALE = 2, MTF_F_QUANT_ZERO_POINT = 3, MTF_F_QUANT_DIM = 6,
    MTF_F_OP_OPCODE = 0, MTF_F_OP_INPUTS = 1, MTF_F_OP_OUTPUTS = 2, MTF_F_OP_OPTIONS_TYPE = 3,
    MTF_F_OP_OPTIONS = 4, MTF_F_OP_INTERMEDIATES = 8,
    MTF_F_BUFFER_DATA = 0, MTF_F_BUFFER_OFFSET = 1, MTF_F_BUFFER_SIZE = 2
};

#if defined(__GNUC__) || defined(__clang__)
#define MTF_ALWAYS_INLINE inline __attribute__((always_inline))
#else
#define MTF_ALWAYS_INLINE inline
#endif

/* Raw little-endian loads at a position already checked by the caller.
 * Always inlined: the bytewise form becomes one load where the target allows
 * unaligned loads, smaller than a call. */
static MTF_ALWAYS_INLINE uint32_t mtf_rd_u32_at(const uint8_t *p)
{
    return (uint32_t)p[0] | ((uint32_t)p[1] << 8) | ((uint32_t)p[2] << 16) | ((uint32_t)p[3] << 24);
}
static inline uint16_t mtf_rd_u16_at(const uint8_t *p)
{
    return (uint16_t)(p[0] | (p[1] << 8));
}

/* Check the header (root offset, lenient "TFL3" identifier) and open the root table. */
void mtf_rd_root(mtf_model_t *m, mtf_table_t *root);
/* Open the table at pos. */
void mtf_rd_table(mtf_model_t *m, uint32_t pos, mtf_table_t *t);
/* Unsigned scalar field, spec = MTF_U8(field), MTF_U32(field, dflt) or
 * MTF_U64(field) (the low word, or UINT32_MAX when the value does not fit
 * 32 bits); absent gives dflt (0 for U8 and U64). One packed constant keeps
 * every argument in a register. */
#define MTF_U8(field) ((field) | 1u << 8)
#define MTF_U32(field, dflt) ((field) | 4u << 8 | (uint32_t)(dflt) << 16)
#define MTF_U64(field) ((field) | 8u << 8)
uint32_t mtf_rd_num(mtf_model_t *m, const mtf_table_t *t, uint32_t spec);
/* Vector field, spec = MTF_VEC(field, shift): elements of (1 << shift) bytes; absent gives len 0. */
#define MTF_VEC(field, shift) ((field) | (shift) << 8)
void mtf_rd_vec(mtf_model_t *m, const mtf_table_t *t, uint32_t spec, mtf_vec_t *v);
/* Element i (< v->len) of a checked vector of tables. */
void mtf_rd_vec_table(mtf_model_t *m, const mtf_vec_t *v, uint32_t i, mtf_table_t *t);
/* Sub-table field: 1 (and sub filled) when present, 0 when absent. */
int mtf_rd_sub(mtf_model_t *m, const mtf_table_t *t, int field, mtf_table_t *sub);
/* int32 element i (< v->len) of a checked vector. */
static inline int32_t mtf_rd_vec_i32(const mtf_model_t *m, const mtf_vec_t *v, uint32_t i)
{
    return (int32_t)mtf_rd_u32_at(m->fb + v->pos + 4 * i);
}

/* ---- model loading (mtf_load.c); each returns m->status ---- */

/* The checked vectors of a model (the buffers go to m->buffers). */
typedef struct {
    mtf_vec_t opcodes;   /* tables */
    mtf_vec_t subgraphs; /* tables */
} fb_model_t;
/* Check the model's length and header; open its vectors. */
mtf_status_t mtf_open_model(mtf_model_t *m, const void *model, size_t model_len, fb_model_t *f);
mtf_status_t mtf_read_opcode(mtf_model_t *m, const fb_model_t *f, uint32_t i, int32_t *code, int32_t *version);
/* Check the tensor table tt and decode it into t; alloc: give an is_variable tensor its tail buffer. */
mtf_status_t mtf_read_tensor(mtf_model_t *m, const mtf_table_t *tt, mtf_tensor_t *t, int index, int alloc);
/* Decode the constant tensor whose table (checked by mtf_read_tensor at init) is at pos:
 * no checks, no failure; what mtf_node_input() runs for constants at every invoke. */
void mtf_read_const(const mtf_model_t *m, uint32_t pos, mtf_tensor_t *t);
mtf_status_t mtf_build_subgraph(mtf_model_t *m, const fb_model_t *f, int32_t s, int depth);

#endif /* MTF_READER_H */
