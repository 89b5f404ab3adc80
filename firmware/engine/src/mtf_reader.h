/*
 * mtf_reader.h - the only code that reads flatbuffer bytes.
 *
 * Every position is a uint32 offset into the model bytes (models are at most
 * 2 GB - 1, as the flatbuffer format allows). Every offset, vtable, vector,
 * string and nested table is checked against the model length before it is
 * read, and every read is bytewise (the model may sit at any address).
 * A failed check records MTF_ERR_BAD_MODEL with mtf_fail() and returns -1.
 *
 * Field numbers are the 0-based field indexes of TFLite's schema.fbs.
 */
#ifndef MTF_READER_H
#define MTF_READER_H

#include "mtf_arena.h"

/* A checked table: its vtable and table bytes are inside the model. */
typedef struct {
    uint32_t pos;     /* table start (where its soffset to the vtable is) */
    uint32_t vt;      /* vtable start */
    uint16_t vt_len;  /* vtable bytes */
    uint16_t tbl_len; /* table bytes */
} mtf_table_t;

/* A checked vector: len elements of elem bytes start at pos. */
typedef struct {
    uint32_t pos;
    uint32_t len;
} mtf_vec_t;

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

/* Raw little-endian loads at a position already checked by the caller. */
static inline uint32_t mtf_rd_u32_at(const uint8_t *p)
{
    return (uint32_t)p[0] | ((uint32_t)p[1] << 8) | ((uint32_t)p[2] << 16) | ((uint32_t)p[3] << 24);
}
static inline uint16_t mtf_rd_u16_at(const uint8_t *p)
{
    return (uint16_t)(p[0] | (p[1] << 8));
}

/* Check the header (root offset, lenient "TFL3" identifier) and open the root table. */
int mtf_rd_root(mtf_model_t *m, mtf_table_t *root);
/* Open the table at pos. what names it in messages. */
int mtf_rd_table(mtf_model_t *m, uint32_t pos, mtf_table_t *t, const char *what);
/* Scalar fields: absent fields give dflt; a field that does not fit its table fails. */
int mtf_rd_u8(mtf_model_t *m, const mtf_table_t *t, int field, uint8_t dflt, uint8_t *out);
int mtf_rd_i32(mtf_model_t *m, const mtf_table_t *t, int field, int32_t dflt, int32_t *out);
int mtf_rd_u64(mtf_model_t *m, const mtf_table_t *t, int field, uint64_t *out);
/* Vector field of elem-byte elements; absent gives len 0. */
int mtf_rd_vec(mtf_model_t *m, const mtf_table_t *t, int field, uint32_t elem, mtf_vec_t *v, const char *what);
/* Element i of a vector of tables. */
int mtf_rd_vec_table(mtf_model_t *m, const mtf_vec_t *v, uint32_t i, mtf_table_t *t, const char *what);
/* Sub-table field: returns 1 and fills t when present, 0 when absent, -1 when bad. */
int mtf_rd_sub(mtf_model_t *m, const mtf_table_t *t, int field, mtf_table_t *sub, const char *what);
/* int32 element i of a checked vector. */
int32_t mtf_rd_vec_i32(const mtf_model_t *m, const mtf_vec_t *v, uint32_t i);

/* ---- model loading (mtf_load.c) ---- */

/* The checked tables of a model (mtf_load.c). */
typedef struct {
    mtf_table_t root;
    mtf_vec_t opcodes;   /* tables */
    mtf_vec_t subgraphs; /* tables */
    mtf_vec_t buffers;   /* tables */
} fb_model_t;
int mtf_open_model(mtf_model_t *m, fb_model_t *f);
int mtf_read_opcode(mtf_model_t *m, const fb_model_t *f, uint32_t i, int32_t *code, int32_t *version);
/* Decode a tensor table into t; alloc: give an is_variable tensor its tail buffer. */
int mtf_read_tensor(mtf_model_t *m, const mtf_table_t *tt, mtf_tensor_t *t, int index, int alloc);
/* Decode the constant tensor whose table (checked by mtf_read_tensor at init) is at pos:
 * no checks, no failure; what mtf_node_input() runs for constants at every invoke. */
void mtf_read_const(const mtf_model_t *m, uint32_t pos, mtf_tensor_t *t);
int mtf_build_subgraph(mtf_model_t *m, const fb_model_t *f, int32_t s, int depth);

#endif /* MTF_READER_H */
