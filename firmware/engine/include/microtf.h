/*
 * microtf.h - public API of the microtf inference engine.
 *
 * A C99 library that runs standard int8 .tflite models and reproduces
 * TensorFlow Lite Micro's integer arithmetic bit for bit.
 *
 *  - No malloc, no C++, no mutable globals: everything a model needs lives in
 *    one caller-given arena, so several models can run side by side.
 *  - The model bytes are read in place (weights stay where they are, e.g. in
 *    flash) and must outlive the model handle. They need no alignment.
 *  - Every function that can fail returns an mtf_status_t; when an
 *    mtf_error_t is given it also receives a short human-readable message.
 *
 * Typical use:
 *
 *     static uint8_t arena[32 * 1024] __attribute__((aligned(16)));
 *     mtf_model_t *m;
 *     mtf_error_t err;
 *     if (mtf_init(model_bytes, model_len, arena, sizeof arena, &m, &err) != MTF_OK) {
 *         printf("%s\n", err.message);   // e.g. "arena too small: needs 20112 bytes"
 *     }
 *     mtf_tensor_info_t in;
 *     mtf_input(m, 0, &in);
 *     memcpy(in.data, samples, in.bytes);
 *     mtf_invoke(m, &err);
 */
#ifndef MICROTF_H
#define MICROTF_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#define MTF_VERSION_MAJOR 0
#define MTF_VERSION_MINOR 1
#define MTF_VERSION_PATCH 0
#define MTF_VERSION_STRING "0.1.0"

/* Highest tensor rank the engine handles (TFLite Micro's reference kernels
 * stop at 5 for most operators, 6 for a few). */
#define MTF_MAX_DIMS 6

/* Arena alignment the engine keeps for every buffer it places. */
#define MTF_ARENA_ALIGN 16

/* One status enum for the whole engine; mtf_status_message() gives its text.
 * Append new codes before MTF_STATUS_COUNT and add their message. */
typedef enum {
    MTF_OK = 0,
    MTF_ERR_BAD_ARGUMENT,     /* NULL pointer, index out of range, ... */
    MTF_ERR_BAD_MODEL,        /* not a .tflite flatbuffer, or malformed / out of bounds */
    MTF_ERR_UNSUPPORTED_OP,   /* operator (or its version) not in the engine */
    MTF_ERR_UNSUPPORTED_TYPE, /* operator present, but not for these dtypes/options */
    MTF_ERR_ARENA_TOO_SMALL,  /* see mtf_error_t.needed */
    MTF_ERR_SHAPE,            /* shapes inconsistent with the operator */
    MTF_ERR_NOT_READY,        /* model not initialised, or failed earlier */
    MTF_ERR_INTERNAL,         /* a broken invariant: a bug in microtf */
    MTF_STATUS_COUNT
} mtf_status_t;

/* Tensor element types, numbered as TFLite's schema TensorType. */
typedef enum {
    MTF_FLOAT32 = 0,
    MTF_FLOAT16 = 1,
    MTF_INT32 = 2,
    MTF_UINT8 = 3,
    MTF_INT64 = 4,
    MTF_STRING = 5,
    MTF_BOOL = 6,
    MTF_INT16 = 7,
    MTF_INT8 = 9,
    MTF_FLOAT64 = 10,
    MTF_RESOURCE = 13
} mtf_dtype_t;

#define MTF_MESSAGE_MAX 112

/* Filled by failing calls; the message says what failed and where, e.g.
 * "op 3 CONV_2D: unsupported input type FLOAT32". */
typedef struct {
    mtf_status_t status;
    size_t needed; /* with MTF_ERR_ARENA_TOO_SMALL: bytes the model needs (0 if unknown) */
    char message[MTF_MESSAGE_MAX];
} mtf_error_t;

/* Opaque model handle; it lives inside the arena. */
typedef struct mtf_model mtf_model_t;

/* What a caller needs to feed or read a tensor. data points into the arena. */
typedef struct {
    mtf_dtype_t dtype;
    int ndims;
    int32_t dims[MTF_MAX_DIMS];
    float scale;        /* 0 when not quantized */
    int32_t zero_point;
    void *data;
    size_t bytes;
} mtf_tensor_info_t;

/* One operator of a model, as listed by mtf_list_ops(). */
typedef struct {
    int32_t builtin_code; /* TFLite BuiltinOperator */
    int32_t version;
    const char *name;     /* "CONV_2D", or "UNKNOWN" */
    int supported;        /* 1 when this engine build runs this code and version */
} mtf_op_info_t;

/* Static text for a status code; never NULL. */
const char *mtf_status_message(mtf_status_t status);

/*
 * Initialise a model in the arena. On MTF_ERR_ARENA_TOO_SMALL, err->needed
 * holds the size that works whenever it can be known. The arena must stay
 * untouched by the caller while the model is in use.
 */
mtf_status_t mtf_init(const void *model, size_t model_len, void *arena, size_t arena_size,
                      mtf_model_t **out, mtf_error_t *err);

/*
 * Exact arena bytes mtf_init would use for this model, without leaving an
 * initialised model behind. work is scratch memory for the measurement
 * (it may be the arena you intend to use: it is overwritten).
 */
mtf_status_t mtf_arena_needed(const void *model, size_t model_len, void *work, size_t work_size,
                              size_t *needed, mtf_error_t *err);

/* Bytes of the arena the initialised model occupies. */
size_t mtf_arena_used(const mtf_model_t *m);

int mtf_input_count(const mtf_model_t *m);
int mtf_output_count(const mtf_model_t *m);
mtf_status_t mtf_input(const mtf_model_t *m, int index, mtf_tensor_info_t *info);
mtf_status_t mtf_output(const mtf_model_t *m, int index, mtf_tensor_info_t *info);

/* Run the main subgraph once. No allocation happens here. */
mtf_status_t mtf_invoke(mtf_model_t *m, mtf_error_t *err);

/* Clear variable state (resource variables) and re-arm CALL_ONCE. */
mtf_status_t mtf_reset(mtf_model_t *m);

/*
 * List the operators of a model (one entry per operator code used by the
 * model) without initialising it. Writes at most max entries to ops and the
 * total number of distinct codes to *count.
 */
mtf_status_t mtf_list_ops(const void *model, size_t model_len, mtf_op_info_t *ops, int max,
                          int *count, mtf_error_t *err);

#ifdef __cplusplus
}
#endif

#endif /* MICROTF_H */
