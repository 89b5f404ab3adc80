/*
 * SPLIT: cut a tensor into num_splits equal parts along one axis.
 *
 * Inputs: axis (constant int32, TFLite Micro refuses a computed one), data.
 * Options (SplitOptions): num_splits = 0.
 * Like TFLite Micro, the parts are shaped from the output tensors; prepare
 * checks that they really tile the input.
 */
#include "mtf_slices.h"

static mtf_status_t split_prepare(mtf_model_t *m, mtf_node_t *node)
{
    int n = mtf_node_num_outputs(node);
    const mtf_tensor_t *in;
    int size;
    int32_t axis;
    MTF_TRY(mtf_split_check(m, node, 2, 1, 0, &in, &size, &axis));
    int dims = in->ndims;
    MTF_ENSURE(m, in->dims[axis] % n == 0, MTF_ERR_SHAPE, "axis size %d does not split in %d", in->dims[axis], n);
    for (int i = 0; i < n; i++) {
        const mtf_tensor_t *out = mtf_node_output(m, node, i);
        MTF_ENSURE(m, out != NULL, MTF_ERR_BAD_MODEL, "missing output %d", i);
        MTF_ENSURE(m, out->dtype == in->dtype, MTF_ERR_UNSUPPORTED_TYPE, "output %d type differs", i);
        MTF_ENSURE(m, out->ndims == dims, MTF_ERR_SHAPE, "output %d has %d dims, input %d", i, out->ndims, dims);
        for (int k = 0; k < dims; k++) {
            int32_t want = k == axis ? in->dims[k] / n : in->dims[k];
            MTF_ENSURE(m, out->dims[k] == want, MTF_ERR_SHAPE, "output %d dim %d should be %d", i, k, want);
        }
        MTF_ENSURE(m, (int64_t)mtf_elements(out) * size == out->bytes, MTF_ERR_SHAPE, "output %d size", i);
    }
    MTF_ENSURE(m, (int64_t)mtf_elements(in) * size == in->bytes, MTF_ERR_SHAPE, "input size mismatch");

    return mtf_split_setup(m, node, in, 1, axis, size);
}

const mtf_kernel_t mtf_kernel_split = {split_prepare, mtf_slices_eval};
