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

/* A constant size_splits must match the outputs, with at most one -1 standing for the rest. */
static mtf_status_t split_v_check_sizes(mtf_model_t *m, const mtf_tensor_t *sizes, int n, int axis,
                                        mtf_node_t *node)
{
    if (sizes == NULL || (sizes->flags & MTF_TENSOR_CONST) == 0)
        return MTF_OK; /* TFLite Micro never reads it: the output shapes decide */
    MTF_ENSURE(m, sizes->dtype == MTF_INT32, MTF_ERR_UNSUPPORTED_TYPE, "size_splits must be int32");
    MTF_ENSURE(m, sizes->ndims == 1 && sizes->dims[0] == n && sizes->bytes >= 4 * n, MTF_ERR_SHAPE,
               "size_splits must hold %d values", n);
    int unknown = 0;
    for (int i = 0; i < n; i++) {
        int32_t v = mtf_load_i32(sizes->data + 4 * i); /* model bytes: maybe unaligned */
        if (v == -1) {
            unknown++;
            continue;
        }
        MTF_ENSURE(m, v == mtf_node_output(m, node, i)->dims[axis], MTF_ERR_SHAPE,
                   "size_splits[%d] = %d disagrees with output", i, v);
    }
    MTF_ENSURE(m, unknown <= 1, MTF_ERR_BAD_MODEL, "size_splits has %d entries of -1", unknown);
    return MTF_OK;
}

static mtf_status_t split_v_prepare(mtf_model_t *m, mtf_node_t *node)
{
    int n = mtf_node_num_outputs(node);
    const mtf_tensor_t *in;
    int size;
    int32_t axis;
    MTF_TRY(mtf_split_check(m, node, 3, 0, 2, &in, &size, &axis));
    int dims = in->ndims;
    int64_t along = 0;
    for (int i = 0; i < n; i++) {
        const mtf_tensor_t *out = mtf_node_output(m, node, i);
        MTF_ENSURE(m, out != NULL, MTF_ERR_BAD_MODEL, "missing output %d", i);
        MTF_ENSURE(m, out->dtype == in->dtype, MTF_ERR_UNSUPPORTED_TYPE, "output %d type differs", i);
        MTF_ENSURE(m, out->ndims == dims, MTF_ERR_SHAPE, "output %d has %d dims, input %d", i, out->ndims, dims);
        for (int k = 0; k < dims; k++) {
            if (k != axis)
                MTF_ENSURE(m, out->dims[k] == in->dims[k], MTF_ERR_SHAPE, "output %d dim %d mismatch", i, k);
        }
        MTF_ENSURE(m, out->dims[axis] >= 0, MTF_ERR_SHAPE, "output %d has a negative dim", i);
        MTF_ENSURE(m, (int64_t)mtf_elements(out) * size == out->bytes, MTF_ERR_SHAPE, "output %d size", i);
        along += out->dims[axis];
    }
    MTF_ENSURE(m, along == in->dims[axis], MTF_ERR_SHAPE, "outputs do not add up to input dim %d", axis);
    MTF_ENSURE(m, (int64_t)mtf_elements(in) * size == in->bytes, MTF_ERR_SHAPE, "input size mismatch");
    MTF_TRY(split_v_check_sizes(m, mtf_node_input(m, node, 1), n, axis, node));

    return mtf_split_setup(m, node, in, 0, axis, size);
}

const mtf_kernel_t mtf_kernel_split_v = {split_v_prepare, mtf_slices_eval};
