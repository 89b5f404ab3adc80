/*
 * RESHAPE: same bytes, new dims.
 *
 * Inputs: data, and optionally the new shape as a tensor (else the
 * new_shape option, ReshapeOptions field 0). As in TFLite Micro the output
 * shape stored in the model is what counts: neither the shape tensor nor
 * the option is read beyond checking that the element counts agree.
 * The data is copied (no aliasing with the planner); when the core does
 * place both tensors at one address, the copy is skipped.
 */
#include "mtf_slices.h"

/* Element types TFLite Micro reshapes. */
#define RESHAPE_TYPES \
    (MTF_DT(MTF_INT8) | MTF_DT(MTF_UINT8) | MTF_DT(MTF_BOOL) | MTF_DT(MTF_INT16) | \
     MTF_DT(MTF_FLOAT16) | MTF_DT(MTF_INT32) | MTF_DT(MTF_FLOAT32) | MTF_DT(MTF_INT64) | \
     MTF_DT(MTF_FLOAT64))

static mtf_status_t reshape_prepare(mtf_model_t *m, mtf_node_t *node)
{
    int n = mtf_node_num_inputs(node);
    MTF_ENSURE(m, (n == 1 || n == 2) && mtf_node_num_outputs(node) == 1, MTF_ERR_BAD_MODEL,
               "needs 1 or 2 inputs and 1 output");
    const mtf_tensor_t *in = mtf_node_input(m, node, 0);
    const mtf_tensor_t *out = mtf_node_output(m, node, 0);
    MTF_ENSURE(m, in != NULL && out != NULL, MTF_ERR_BAD_MODEL, "missing input or output");
    MTF_ENSURE(m, in->dtype == out->dtype, MTF_ERR_UNSUPPORTED_TYPE, "input type %d, output type %d", in->dtype,
               out->dtype);
    MTF_ENSURE(m, mtf_elem_size(in->dtype, RESHAPE_TYPES) > 0, MTF_ERR_UNSUPPORTED_TYPE, "unsupported type %d",
               in->dtype);
    for (int k = 0; k < out->ndims; k++)
        MTF_ENSURE(m, out->dims[k] >= 0, MTF_ERR_SHAPE, "output dim %d is not static", k);
    MTF_ENSURE(m, mtf_elements(in) == mtf_elements(out) && in->bytes == out->bytes, MTF_ERR_SHAPE,
               "input has %d elements, output %d", mtf_elements(in), mtf_elements(out));
    return MTF_OK;
}

const mtf_kernel_t mtf_kernel_reshape = {reshape_prepare, mtf_copy_through_eval};
