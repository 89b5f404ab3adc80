/*
 * READ_VARIABLE: copies a resource variable into the output tensor. The id
 * comes from the resource tensor at eval (as in TFLite Micro) and is checked
 * there, with the sizes: a hostile model cannot make it read out of bounds.
 */
#include "mtf_activation.h"
#include "mtf_arena.h"

static mtf_status_t read_variable_prepare(mtf_model_t *m, mtf_node_t *node)
{
    mtf_tensor_t *t[2];
    MTF_TRY(mtf_arith_io(m, node, 1, 1, t));
    const mtf_tensor_t *handle = t[0];
    MTF_ENSURE(m, handle->dtype == MTF_RESOURCE && mtf_arith_count(handle) == 1,
               MTF_ERR_BAD_MODEL, "input must be one resource");
    return MTF_OK;
}

static mtf_status_t read_variable_eval(mtf_model_t *m, mtf_node_t *node)
{
    mtf_tensor_t *out = mtf_node_output(m, node, 0);
    const mtf_resource_t *r = mtf_variable_of(m, mtf_node_input(m, node, 0), out->bytes);
    if (r == NULL)
        return MTF_ERR_BAD_MODEL;
    memcpy(out->data, r->buffer, (size_t)r->bytes);
    return MTF_OK;
}

const mtf_kernel_t mtf_kernel_read_variable = {read_variable_prepare, read_variable_eval};
