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
#include "mtf_planner.h"

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
#define MTF_CORE_NOINLINE __attribute__((noinline))
#else
#define MTF_ALWAYS_INLINE inline
#define MTF_CORE_NOINLINE
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

/* Open the table at pos. */
void mtf_rd_table(mtf_model_t *m, uint32_t pos, mtf_table_t *t);
/* Element i (< v->len) of a checked vector of tables. */
void mtf_rd_vec_table(mtf_model_t *m, const mtf_vec_t *v, uint32_t i, mtf_table_t *t);
/*
 * Read fields of table t (the only way to read a table's fields; one call
 * for several, for code size). spec packs up to 5 entries of 6 bits,
 * MTF_FLD(field, kind), the first in the low bits (MTF_FLDS); field < 8.
 * Each entry writes its result at out and moves on:
 *   MTF_K_U8, MTF_K_U32, MTF_K_U64: a uint32_t, the unsigned scalar field
 *     (for U64 the low word, or UINT32_MAX when the value does not fit 32
 *     bits); absent gives 0, or 1 for U32 when spec has MTF_DFLT1.
 *   MTF_K_VEC0/2/3: an mtf_vec_t, the vector field of 1-, 4- or 8-byte
 *     elements (absent: length 0).
 *   MTF_K_SUB: an mtf_table_t, the sub-table field (absent: vt_len 0).
 * out is a struct of those member types in entry order (all 4-aligned, so
 * without padding).
 */
enum { MTF_K_U8 = 1, MTF_K_U32, MTF_K_U64, MTF_K_VEC0, MTF_K_VEC2, MTF_K_VEC3, MTF_K_SUB };
#define MTF_FLD(field, kind) ((uint32_t)(field) | (uint32_t)(kind) << 3)
#define MTF_FLDS(a, b, c, d, e) ((a) | (b) << 6 | (c) << 12 | (d) << 18 | (uint32_t)(e) << 24)
#define MTF_DFLT1 (1u << 31)
void mtf_rd_fields(mtf_model_t *m, const mtf_table_t *t, uint32_t spec, void *out);
/* int32 element i (< v->len) of a checked vector. */
static inline int32_t mtf_rd_vec_i32(const mtf_model_t *m, const mtf_vec_t *v, uint32_t i)
{
    return (int32_t)mtf_rd_u32_at(m->fb + v->pos + 4 * i);
}

/* ---- model loading (mtf_load.c; mtf_open_model: mtf_reader.c) ---- */

/* The checked vectors of a model (in MODEL field order, read with mtf_rd_fields). */
typedef struct {
    mtf_vec_t opcodes;   /* tables */
    mtf_vec_t subgraphs; /* tables */
    mtf_vec_t buffers;   /* tables; also copied to m->buffers */
} fb_model_t;
/* Check the model's length and header; open its vectors. Returns m->status. */
mtf_status_t mtf_open_model(mtf_model_t *m, const void *model, size_t model_len, fb_model_t *f);
/* Builtin code of operator code entry i (< f->opcodes.len), and its version; failures: m->status. */
int32_t mtf_read_opcode(mtf_model_t *m, const fb_model_t *f, uint32_t i, int32_t *version);
/* Check the tensor table tt (index: for messages). Returns what it is: MTF_TENSOR_CONST
 * (*const_data: its data), MTF_TENSOR_VARIABLE or MTF_TENSOR_PLANNED; 0 after a failure. */
int mtf_check_tensor(mtf_model_t *m, const mtf_table_t *tt, int index, const uint8_t **const_data);
/* Decode the constant tensor whose table (checked by mtf_check_tensor at init) is at pos:
 * no checks, no failure; what mtf_node_input() runs for constants at every invoke. */
void mtf_read_const(const mtf_model_t *m, uint32_t pos, mtf_tensor_t *t);
/* Check and mark the tensors of a node's io (node NULL: subgraph sg's own io);
 * with recs (planning), widen their lifetimes (mtf_planner.h 2a). */
void mtf_use_io(mtf_model_t *m, mtf_subgraph_t *sg, const mtf_node_t *node, mtf_plan_buf_t *recs);
/* Read subgraph s and the subgraphs its CALL_ONCE nodes run; returns m->status. */
mtf_status_t mtf_build_subgraph(mtf_model_t *m, const fb_model_t *f, int32_t s, int depth);

#endif /* MTF_READER_H */
