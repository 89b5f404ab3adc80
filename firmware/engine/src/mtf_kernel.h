/*
 * mtf_kernel.h - what an operator file (ops/<op>.c) sees of the engine.
 *
 * An operator is a pair of functions:
 *   prepare  runs once at mtf_init: validates dtypes, shapes and options,
 *            does every floating-point computation (quantized multipliers,
 *            activation ranges, lookup tables) and stores integers in op data
 *            taken from mtf_alloc_persistent(). It may ask for scratch memory.
 *   eval     runs at every invoke: integer-only, reads the op data, never
 *            allocates and never touches the flatbuffer.
 *
 * Operators reach tensors and options only through the accessors below;
 * only the flatbuffer reader (src/mtf_reader.c) reads model bytes directly.
 */
#ifndef MTF_KERNEL_H
#define MTF_KERNEL_H

#include <stdint.h>
#include <stddef.h>
#include <string.h>

#include "microtf.h"

/* Tensor flags. */
#define MTF_TENSOR_CONST 0x01    /* data points into the model bytes (read-only) */
#define MTF_TENSOR_VARIABLE 0x02 /* persistent across invokes */

typedef struct mtf_tensor {
    uint8_t *data;      /* arena, or model bytes for constants (then read-only; may be unaligned) */
    int32_t bytes;      /* elements * element size */
    int32_t dims[MTF_MAX_DIMS];
    uint8_t ndims;
    uint8_t dtype;      /* mtf_dtype_t */
    uint8_t flags;      /* MTF_TENSOR_* */
    uint8_t reserved;
    float scale;        /* per-tensor scale (the first one when per-channel) */
    int32_t zero_point; /* per-tensor zero point (the first one when per-channel) */
    int32_t q_count;    /* number of scales (1 = per-tensor, >1 = per-channel, 0 = none) */
    int32_t q_dim;      /* quantized_dimension when per-channel */
    const uint8_t *q_scales;      /* reader-checked vector; read with mtf_tensor_scale() */
    const uint8_t *q_zero_points; /* reader-checked vector; read with mtf_tensor_zero_point() */
} mtf_tensor_t;

typedef struct mtf_node mtf_node_t; /* defined by the core; use the accessors */

typedef struct mtf_kernel {
    mtf_status_t (*prepare)(mtf_model_t *m, mtf_node_t *node);
    mtf_status_t (*eval)(mtf_model_t *m, mtf_node_t *node);
} mtf_kernel_t;

/* ---- node accessors (core) ---- */
int mtf_node_num_inputs(const mtf_node_t *node);
int mtf_node_num_outputs(const mtf_node_t *node);
/* NULL for an optional input given as -1, or an index past the end.
 * A CONSTANT input's struct is decoded on demand into a slot of the model
 * (constants have no persistent struct, to keep the arena small): use it
 * within the current prepare/eval call only, never store the pointer, and
 * note that inputs 3, 4, 5... share one slot (fetch them one at a time).
 * In prepare, data of non-constant tensors is NULL (they are planned after
 * every prepare): only read data of tensors flagged MTF_TENSOR_CONST there.
 * The field `reserved` of mtf_tensor_t belongs to the core. */
mtf_tensor_t *mtf_node_input(mtf_model_t *m, const mtf_node_t *node, int i);
mtf_tensor_t *mtf_node_output(mtf_model_t *m, const mtf_node_t *node, int i);
int32_t mtf_node_version(const mtf_node_t *node);
void *mtf_node_data(const mtf_node_t *node);
void mtf_node_set_data(mtf_node_t *node, void *data);

/*
 * Builtin options of the node (reader). field is the 0-based field index of
 * the options table in TFLite's schema.fbs (e.g. Conv2DOptions: padding=0,
 * stride_w=1, stride_h=2, fused_activation_function=3, dilation_w_factor=4,
 * dilation_h_factor=5). Absent fields give dflt. u8 is for byte enums and bools.
 */
int32_t mtf_opt_i32(const mtf_node_t *node, int field, int32_t dflt);
int32_t mtf_opt_u8(const mtf_node_t *node, int field, int32_t dflt);
int32_t mtf_opt_i8(const mtf_node_t *node, int field, int32_t dflt);
float mtf_opt_f32(const mtf_node_t *node, int field, float dflt);
/* Vector of int32: copies up to max values, returns the length (-1 if absent). */
int mtf_opt_i32_vec(const mtf_node_t *node, int field, int32_t *out, int max);
/* The builtin_options union type of the node (BuiltinOptions enum), 0 if none. */
int mtf_opt_type(const mtf_node_t *node);
/* String field: points *str at its bytes (not NUL-terminated), returns the length (-1 if absent). */
int mtf_opt_str(const mtf_node_t *node, int field, const uint8_t **str);

/* Per-channel quantization parameters (reader; bounds were checked at init). */
float mtf_tensor_scale(const mtf_tensor_t *t, int channel);
int32_t mtf_tensor_zero_point(const mtf_tensor_t *t, int channel);

/* Little-endian loads from possibly unaligned memory (constant tensors live
 * in the model bytes, which may sit at any address). */
static inline int32_t mtf_load_i32(const uint8_t *p)
{
    return (int32_t)((uint32_t)p[0] | ((uint32_t)p[1] << 8) | ((uint32_t)p[2] << 16) |
                     ((uint32_t)p[3] << 24));
}
static inline float mtf_load_f32(const uint8_t *p)
{
    uint32_t u = (uint32_t)mtf_load_i32(p);
    float f;
    memcpy(&f, &u, sizeof f);
    return f;
}

/* ---- memory (core) ---- */
/* Persistent memory for op data, valid for the model's life. Prepare only.
 * NULL when the arena is full (the core then reports MTF_ERR_ARENA_TOO_SMALL). */
void *mtf_alloc_persistent(mtf_model_t *m, size_t bytes);
/* Scratch memory live during this node's eval only; placed by the planner.
 * Request in prepare, fetch the pointer in eval with mtf_scratch(). */
mtf_status_t mtf_request_scratch(mtf_model_t *m, mtf_node_t *node, size_t bytes, int *handle);
void *mtf_scratch(mtf_model_t *m, int handle);

/* ---- errors (core) ---- */
/* Records status and message (prefixed with "op N NAME: " inside a node) and
 * returns status. fmt understands %s, %d, %u and %% only.
 * Built with -DMTF_TERSE_ERRORS, the engine keeps every status (and the
 * "op N NAME: " prefix) but no message text: each call site then only passes
 * m and status, which saves most of the code that formats messages. The
 * arguments still appear in an unevaluated sizeof, so they stay type-checked
 * and "used" (no unused-variable warnings) while emitting no code or strings. */
#ifdef MTF_TERSE_ERRORS
mtf_status_t mtf_fail_terse(mtf_model_t *m, mtf_status_t status);
/* Declared, never defined: only named inside sizeof. */
int mtf_fail_args_unused(int dummy, ...);
#define mtf_fail(m, status, ...) \
    ((void)sizeof(mtf_fail_args_unused(0, __VA_ARGS__)), mtf_fail_terse((m), (status)))
#else
mtf_status_t mtf_fail(mtf_model_t *m, mtf_status_t status, const char *fmt, ...);
#endif

#define MTF_TRY(expr)                       \
    do {                                    \
        mtf_status_t mtf_try_s_ = (expr);   \
        if (mtf_try_s_ != MTF_OK)           \
            return mtf_try_s_;              \
    } while (0)

#define MTF_ENSURE(m, cond, status, ...)                 \
    do {                                                 \
        if (!(cond))                                     \
            return mtf_fail((m), (status), __VA_ARGS__); \
    } while (0)

/* ---- shape helpers ---- */
static inline int32_t mtf_elements(const mtf_tensor_t *t)
{
    int32_t n = 1;
    for (int i = 0; i < t->ndims; i++)
        n *= t->dims[i];
    return n;
}

/* ---- subgraphs and resource variables (core, for CALL_ONCE and variables) ---- */
mtf_status_t mtf_invoke_subgraph(mtf_model_t *m, int subgraph);
/* Changes whenever mtf_reset() runs (CALL_ONCE re-arms when it differs from the value it saw). */
uint32_t mtf_reset_count(const mtf_model_t *m);

#endif /* MTF_KERNEL_H */
