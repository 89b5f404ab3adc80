/* mtf_conv_operands.c - the operand checks CONV_2D and DEPTHWISE_CONV_2D share. */
#include "mtf_window.h"

mtf_status_t mtf_conv_operands(mtf_model_t *m, const mtf_node_t *node, mtf_conv_operands_t *ops)
{
    int n_in = mtf_node_num_inputs(node);
    MTF_ENSURE(m, (n_in == 2 || n_in == 3) && mtf_node_num_outputs(node) == 1, MTF_ERR_BAD_MODEL,
               "expects 2 or 3 inputs and 1 output");
    const mtf_tensor_t *input = mtf_node_input(m, node, 0);
    const mtf_tensor_t *filter = mtf_node_input(m, node, 1);
    const mtf_tensor_t *output = mtf_node_output(m, node, 0);
    ops->input = input;
    ops->filter = filter;
    ops->bias = n_in == 3 ? mtf_node_input(m, node, 2) : NULL;
    ops->output = output;
    MTF_ENSURE(m, input != NULL && filter != NULL && output != NULL, MTF_ERR_BAD_MODEL, "missing tensor");
    MTF_ENSURE(m, input->dtype == MTF_INT8 && output->dtype == MTF_INT8, MTF_ERR_UNSUPPORTED_TYPE,
               "only int8 input and output are supported (input type %d, output type %d)", input->dtype,
               output->dtype);
    MTF_ENSURE(m, filter->dtype == MTF_INT8, MTF_ERR_UNSUPPORTED_TYPE, "only int8 filters are supported (type %d)",
               filter->dtype);
    MTF_ENSURE(m, filter->flags & MTF_TENSOR_CONST, MTF_ERR_UNSUPPORTED_TYPE, "non-constant filter");
    MTF_ENSURE(m, input->ndims == 4 && filter->ndims == 4 && output->ndims == 4, MTF_ERR_SHAPE,
               "input, filter and output must be 4-D");
    MTF_ENSURE(m, input->q_count >= 1 && filter->q_count >= 1 && output->q_count >= 1, MTF_ERR_BAD_MODEL,
               "input, filter and output must be quantized");
    return MTF_OK;
}
