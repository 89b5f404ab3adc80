/*
 * SPLIT_V: cut a tensor into parts of given sizes along one axis.
 *
 * Inputs: data, size_splits (int32 vector, one entry may be -1), axis
 * (constant int32, TFLite Micro refuses a computed one).
 * Options (SplitVOptions): num_splits = 0.
 * Like TFLite Micro, the parts are shaped from the output tensors; prepare
 * checks that they tile the input and agree with a constant size_splits.
 */
#include "mtf_slices.h"

static mtf_status_t split_v_prepare(mtf_model_t *m, mtf_node_t *node)
{
    MTF_TRY(mtf_slices_prepare(m, node, MTF_SPLIT_FROM(0, 2, 3), MTF_SPLIT_TYPES));
    const mtf_slices_t *d = mtf_node_data(node);
    int n = d->parts, axis = d->axis;

    /* A constant size_splits must match the outputs, with at most one -1 standing for the rest.
     * TFLite Micro never reads it (the output shapes decide), so a computed one is not checked. */
    const mtf_tensor_t *sizes = mtf_node_input(m, node, 1);
    if (sizes == NULL || (sizes->flags & MTF_TENSOR_CONST) == 0)
        return MTF_OK;
    MTF_ENSURE(m, sizes->dtype == MTF_INT32, MTF_ERR_UNSUPPORTED_TYPE, "size_splits must be int32");
    MTF_ENSURE(m, sizes->ndims == 1 && sizes->dims[0] == n, MTF_ERR_SHAPE, "size_splits disagrees with outputs");
    int unknown = 0;
    for (int i = 0; i < n; i++) {
        int32_t v = mtf_load_i32(sizes->data + 4 * i); /* model bytes: maybe unaligned */
        unknown += v == -1;
        MTF_ENSURE(m, v == -1 || v == mtf_node_output(m, node, i)->dims[axis], MTF_ERR_SHAPE,
                   "size_splits disagrees with outputs");
    }
    MTF_ENSURE(m, unknown <= 1, MTF_ERR_BAD_MODEL, "size_splits has several -1");
    return MTF_OK;
}

const mtf_kernel_t mtf_kernel_split_v = {split_v_prepare, mtf_slices_eval};
