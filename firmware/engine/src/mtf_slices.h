/*
 * mtf_slices.h - shared element sizes and the slab copy behind SPLIT,
 * SPLIT_V, CONCATENATION and PACK, and the copy of RESHAPE, SQUEEZE and
 * EXPAND_DIMS. All four move raw bytes: for each of
 * `outer` steps, part i contributes (or receives) chunk[i] contiguous bytes
 * and the parts follow one another in the whole tensor.
 */
#ifndef MTF_SLICES_H
#define MTF_SLICES_H

#include "mtf_kernel.h"

/* Bit for a dtype in the `allowed` masks below. */
#define MTF_DT(t) (1u << (t))

/* Byte size of dtype if its bit is in allowed (MTF_DT(...) | ...), else 0. */
int mtf_elem_size(int dtype, uint32_t allowed);

typedef struct {
    int32_t outer; /* product of the whole tensor's dims before the axis */
    int32_t parts;
    int32_t whole; /* input index of the whole tensor when splitting; -1 when joining inputs */
    int32_t chunk[]; /* bytes part i gives or takes per outer step */
} mtf_slices_t;

/* Allocates the data for n parts as the node's data (NULL: arena too small). */
mtf_slices_t *mtf_slices_alloc(mtf_model_t *m, mtf_node_t *node, int n);

/* Splitting: the whole (input s->whole) is dealt to outputs 0..parts-1; joining
 * (s->whole < 0): inputs 0..parts-1 are gathered into output 0. */
mtf_status_t mtf_slices_eval(mtf_model_t *m, mtf_node_t *node);

/* RESHAPE, SQUEEZE, EXPAND_DIMS: output 0 gets input 0's bytes unchanged (the
 * copy is skipped when the planner placed both at one address). */
mtf_status_t mtf_copy_through_eval(mtf_model_t *m, mtf_node_t *node);

/* The checks SPLIT and SPLIT_V share: `inputs` inputs and at least one output,
 * the data (input data_index, into *in) of a type TFLite Micro splits (its size
 * in *size), a constant int32 axis (input axis_index, normalized into *axis),
 * and num_splits (option 0) equal to the number of outputs. */
mtf_status_t mtf_split_check(mtf_model_t *m, mtf_node_t *node, int inputs, int data_index, int axis_index,
                             const mtf_tensor_t **in, int *size, int32_t *axis);

/* The op data of SPLIT and SPLIT_V once their checks passed: the whole is input
 * whole_index (in); part i takes output i's extent along axis per outer step. */
mtf_status_t mtf_split_setup(mtf_model_t *m, mtf_node_t *node, const mtf_tensor_t *in, int whole_index, int32_t axis,
                             int size);

#endif
