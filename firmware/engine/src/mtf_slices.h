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
/* In mtf_move_io's mask: input and output dtypes that differ are MTF_ERR_BAD_MODEL
 * (PAD) instead of MTF_ERR_UNSUPPORTED_TYPE. Bit 31 is no dtype. */
#define MTF_DT_MISMATCH_BAD_MODEL (1u << 31)

/* Byte size of dtype if its bit is in allowed (MTF_DT(...) | ...), else 0. */
int mtf_elem_size(int dtype, uint32_t allowed);

/*
 * The checks that open most movement operators: min_in to max_in inputs and
 * one output, input 0 and output 0 present (into *in, *out), of one dtype
 * which is in allowed (its byte size into *size).
 */
mtf_status_t mtf_move_io(mtf_model_t *m, mtf_node_t *node, int min_in, int max_in, uint32_t allowed,
                         const mtf_tensor_t **in, const mtf_tensor_t **out, int *size);

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

/* ---- SPLIT, SPLIT_V, CONCATENATION, PACK: slabs along an axis ---- */

typedef struct {
    int32_t outer; /* product of the whole tensor's dims before the axis */
    int32_t parts;
    int32_t whole; /* input index of the whole tensor when splitting; -1 when joining inputs */
    int32_t chunk[]; /* bytes part i gives or takes per outer step */
} mtf_slices_t;

/* Part flags for mtf_slices_prepare. */
#define MTF_PARTS_STACKED 1 /* PACK: parts lack the axis (each is one slice of it) */
#define MTF_PARTS_EQUAL 2   /* SPLIT: every part takes the same share of the axis */
#define MTF_PARTS_SAME_Q8 4 /* CONCATENATION: int8 parts quantized as the whole */

/*
 * Checks and op data of the four. The whole tensor is input whole_index
 * (splitting: the parts are the outputs) or, when whole_index < 0, output 0
 * (joining: the parts are the inputs). Its dtype must be in allowed; *axis is
 * normalized against its dims. Every part has its dtype and its dims except
 * along the axis, where the parts add up to the whole.
 */
mtf_status_t mtf_slices_prepare(mtf_model_t *m, mtf_node_t *node, int whole_index, int32_t *axis, uint32_t allowed,
                                int flags);

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
