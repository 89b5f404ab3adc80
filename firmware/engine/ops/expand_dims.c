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
    MTF_ENSURE(m, mtf_node_num_inputs(node) == 2 && mtf_node_num_outputs(node) == 1, MTF_ERR_BAD_MODEL,
               "needs 2 inputs and 1 output");
    const mtf_tensor_t *in = mtf_node_input(m, node, 0);
    const mtf_tensor_t *axis_t = mtf_node_input(m, node, 1);
    const mtf_tensor_t *out = mtf_node_output(m, node, 0);
    MTF_ENSURE(m, in != NULL && axis_t != NULL && out != NULL, MTF_ERR_BAD_MODEL, "missing input or output");
    MTF_ENSURE(m, (axis_t->flags & MTF_TENSOR_CONST) != 0, MTF_ERR_UNSUPPORTED_TYPE, "non-constant axis tensor");
    MTF_ENSURE(m, axis_t->dtype == MTF_INT32 && axis_t->ndims <= 1 && axis_t->bytes >= 4,
               MTF_ERR_UNSUPPORTED_TYPE, "axis must be one int32");
    MTF_ENSURE(m, in->dtype == out->dtype, MTF_ERR_UNSUPPORTED_TYPE, "output type differs from input");
    MTF_ENSURE(m, mtf_elem_size(in->dtype, EXPAND_DIMS_TYPES) > 0, MTF_ERR_UNSUPPORTED_TYPE, "unsupported type %d",
               in->dtype);

    int dims = in->ndims;
    int32_t axis = mtf_load_i32(axis_t->data); /* model bytes: maybe unaligned */
    if (axis < 0)
        axis += dims + 1;
    MTF_ENSURE(m, axis >= 0 && axis <= dims, MTF_ERR_SHAPE, "axis out of range for %d dims", dims);
    MTF_ENSURE(m, out->ndims == dims + 1, MTF_ERR_SHAPE, "output must have %d dims", dims + 1);
    for (int k = 0; k <= dims; k++) {
        int32_t want = k < axis ? in->dims[k] : (k == axis ? 1 : in->dims[k - 1]);
        MTF_ENSURE(m, out->dims[k] == want, MTF_ERR_SHAPE, "output dim %d should be %d", k, want);
    }
    MTF_ENSURE(m, in->bytes == out->bytes, MTF_ERR_SHAPE, "input and output sizes differ");
    return MTF_OK;
}

const mtf_kernel_t mtf_kernel_expand_dims = {expand_dims_prepare, mtf_copy_through_eval};
