/*
 * mtf_slices.h - what the data-movement operators share (RESHAPE, SQUEEZE,
 * EXPAND_DIMS, SHAPE, STRIDED_SLICE, PAD, SPLIT, SPLIT_V, CONCATENATION,
 * PACK): their common checks, the slab copy behind SPLIT, SPLIT_V,
 * CONCATENATION and PACK, the straight copy behind RESHAPE, SQUEEZE and
 * EXPAND_DIMS, and the box copy behind STRIDED_SLICE and PAD.
 *
 * The checks rely on the loader's invariant that a tensor's `bytes` is its
 * element count times its dtype's size (so equal dtypes and shapes mean
 * equal sizes, and no operator repeats that check).
 */
#ifndef MTF_SLICES_H
#define MTF_SLICES_H

#include "mtf_kernel.h"

/* Bit for a dtype in the `allowed` masks below. */
#define MTF_DT(t) (1u << (t))
/* In mtf_move_io's spec: input and output dtypes that differ are MTF_ERR_BAD_MODEL
 * (PAD) instead of MTF_ERR_UNSUPPORTED_TYPE. Bit 31 is no dtype. */
#define MTF_DT_MISMATCH_BAD_MODEL (1u << 31)

/* mtf_alloc_persistent that also makes the memory the node's data (NULL when the arena is full). */
void *mtf_move_alloc(mtf_model_t *m, mtf_node_t *node, size_t bytes);

/* Byte size of dtype if its bit is in allowed (MTF_DT(...) | ...), else 0 (dtypes are
 * below 20: the loader only keeps tensors of types with a size). */
int mtf_elem_size(int dtype, uint32_t allowed);

/* Input 0, output 0 and the byte size of their elements, as mtf_move_io finds them. */
typedef struct {
    const mtf_tensor_t *in, *out;
    int size;
} mtf_move_io_t;

/* In mtf_move_io's spec, beside the allowed dtypes (bits 0 to 19): min_in to max_in inputs. */
#define MTF_INS(min_in, max_in) ((uint32_t)(min_in) << 20 | (uint32_t)(max_in) << 24)

/*
 * The checks that open most movement operators: spec = allowed dtypes |
 * MTF_INS(min_in, max_in) [| MTF_DT_MISMATCH_BAD_MODEL]. min_in to max_in
 * inputs and one output, input 0 and output 0 present, of one dtype which is
 * allowed (io gets them and its byte size).
 */
mtf_status_t mtf_move_io(mtf_model_t *m, mtf_node_t *node, uint32_t spec, mtf_move_io_t *io);

/*
 * A constant int32 tensor t (an input, NULL when missing) copied into out:
 * n >= 0 values (it must hold exactly n), or n < 0 for an axis (its first
 * value; it must hold at least one).
 */
mtf_status_t mtf_move_ints(mtf_model_t *m, const mtf_tensor_t *t, int n, int32_t *out);

/* *axis, negative counting from the end, normalized into [0, dims) (MTF_ERR_SHAPE if outside). */
mtf_status_t mtf_move_axis(mtf_model_t *m, int32_t *axis, int dims);

/* The output must have n dims equal to want[] (MTF_ERR_SHAPE). */
mtf_status_t mtf_move_shape(mtf_model_t *m, const mtf_tensor_t *out, const int32_t *want, int n);

/*
 * out must have in's dims (MTF_ERR_SHAPE), changed as how says: dim k is left
 * out if bit k of MTF_DIMS_DROP(mask) is set, replaced by 1 if bit k of
 * MTF_DIMS_ONE(mask) is, may be anything if bit k of MTF_DIMS_ANY(mask) is
 * (never combined with MTF_DIMS_INSERT),
 * and is preceded by a new dim of 1 if bit k of MTF_DIMS_INSERT(mask) is
 * (k = in->ndims: appended). The output shapes of SQUEEZE, EXPAND_DIMS and
 * MEAN, and the parts of SPLIT, SPLIT_V, CONCATENATION and PACK.
 */
#define MTF_DIMS_DROP(mask) (mask)
#define MTF_DIMS_ONE(mask) ((mask) << 8)
#define MTF_DIMS_INSERT(mask) ((mask) << 16)
#define MTF_DIMS_ANY(mask) ((mask) << 24)
mtf_status_t mtf_move_dims(mtf_model_t *m, const mtf_tensor_t *out, const mtf_tensor_t *in, uint32_t how);

/* ---- SPLIT, SPLIT_V, CONCATENATION, PACK: slabs along an axis ---- */

typedef struct {
    int32_t outer; /* product of the whole tensor's dims before the axis */
    int32_t parts;
    int16_t whole; /* input index of the whole tensor when splitting; -1 when joining inputs */
    int16_t axis;  /* normalized */
    int32_t chunk[]; /* bytes part i gives or takes per outer step */
} mtf_slices_t;

/* Part flags for mtf_slices_prepare's how. */
#define MTF_PARTS_STACKED 1 /* PACK: parts lack the axis (each is one slice of it) */
#define MTF_PARTS_EQUAL 2   /* SPLIT: every part takes the same share of the axis */
#define MTF_PARTS_SAME_Q8 4 /* CONCATENATION: int8 parts quantized as the whole */
/* Splitting (SPLIT, SPLIT_V): exactly `inputs` inputs, the whole is input whole, the axis a
 * constant int32 input axis_input (its first value); the outputs are the parts, num_splits
 * (option 0) of them. */
#define MTF_SPLIT_FROM(whole, axis_input, inputs) (((whole) + 1) << 4 | (axis_input) << 8 | (inputs) << 12)
/* Joining (CONCATENATION, PACK): the inputs are the parts, output 0 (the only one) is the
 * whole, the axis is int32 option field; stacking (PACK) takes values_count (option 0)
 * inputs. */
#define MTF_JOIN_AXIS(field) ((field) << 8)

/*
 * Checks and op data of the four, as how (flags | MTF_SPLIT_FROM or
 * MTF_JOIN_AXIS) says. The whole's dtype must be in allowed; the axis,
 * negative counting from the end, must lie within its dims. Every part has
 * its dtype and its dims except along the axis, where the parts add up to
 * the whole.
 */
mtf_status_t mtf_slices_prepare(mtf_model_t *m, mtf_node_t *node, int how, uint32_t allowed);

/* Splitting: the whole (input s->whole) is dealt to outputs 0..parts-1; joining
 * (s->whole < 0): inputs 0..parts-1 are gathered into output 0. */
mtf_status_t mtf_slices_eval(mtf_model_t *m, mtf_node_t *node);

/* RESHAPE, SQUEEZE, EXPAND_DIMS: output 0 gets input 0's bytes unchanged (the
 * copy is skipped when the planner placed both at one address). */
mtf_status_t mtf_copy_through_eval(mtf_model_t *m, mtf_node_t *node);

/* ---- STRIDED_SLICE, PAD: runs of bytes at strided places ---- */

#define MTF_BOX_AXES 4

/*
 * runs copies of run contiguous bytes between input 0 and output 0. One side
 * is walked contiguously; on the other the k-th run sits at
 * start + sum(index[a] * step[a]), the indexes counting like an odometer
 * (axis MTF_BOX_AXES - 1 fastest) below count[a].
 */
typedef struct {
    int32_t count[MTF_BOX_AXES];
    int32_t step[MTF_BOX_AXES]; /* bytes, may be negative */
    int32_t start;
    int32_t run;
    int32_t runs;   /* product of count[] (set by mtf_box_finish) */
    int32_t gather; /* 1: the strided side is the input (STRIDED_SLICE); 0: the output (PAD) */
} mtf_box_t;

/* Sets runs from count[] (start, step[], run and count[] set), joining the axes that
 * continue the run. */
void mtf_box_finish(mtf_box_t *b);

/* Copies as the box in the node's data (which starts with an mtf_box_t) says. */
mtf_status_t mtf_box_eval(mtf_model_t *m, mtf_node_t *node);

/* Element types TFLite Micro splits (SPLIT and SPLIT_V). */
#define MTF_SPLIT_TYPES \
    (MTF_DT(MTF_INT8) | MTF_DT(MTF_UINT8) | MTF_DT(MTF_INT16) | MTF_DT(MTF_INT32) | MTF_DT(MTF_FLOAT32))

#endif
