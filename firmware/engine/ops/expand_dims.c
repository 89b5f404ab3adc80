/*
 * EXPAND_DIMS: insert a dim of size 1; the bytes are copied unchanged.
 *
 * Inputs: data, axis (constant int32 with one element; negative counts from
 * the end of the output's dims). The output shape stored in the model must
 * be the input's with a 1 inserted at axis, as TFLite Micro checks.
 */
#include "mtf_slices.h"

/* Element types TFLite Micro expands. */
#define EXPAND_DIMS_TYPES \
    (MTF_DT(MTF_INT8) | MTF_DT(MTF_UINT8) | MTF_DT(MTF_INT16) | MTF_DT(MTF_INT32) | \
     MTF_DT(MTF_FLOAT32))

static mtf_status_t expand_dims_prepare(mtf_model_t *m, mtf_node_t *node)
{
    const mtf_tensor_t *in, *out;
    int size;
    MTF_TRY(mtf_move_io(m, node, 2, 2, EXPAND_DIMS_TYPES, &in, &out, &size));
    const mtf_tensor_t *axis_t = mtf_node_input(m, node, 1);
    MTF_ENSURE(m, axis_t == NULL || axis_t->ndims <= 1, MTF_ERR_UNSUPPORTED_TYPE, "axis must be one int32");
    int32_t axis;
    MTF_TRY(mtf_move_ints(m, axis_t, -1, &axis));
    int dims = in->ndims;
    MTF_TRY(mtf_move_axis(m, &axis, dims + 1));
    int32_t want[MTF_MAX_DIMS + 1];
    for (int k = 0; k <= dims; k++)
        want[k] = k < axis ? in->dims[k] : (k == axis ? 1 : in->dims[k - 1]);
    return mtf_move_shape(m, out, want, dims + 1);
}

const mtf_kernel_t mtf_kernel_expand_dims = {expand_dims_prepare, mtf_copy_through_eval};
