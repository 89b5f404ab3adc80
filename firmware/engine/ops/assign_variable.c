/*
 * ASSIGN_VARIABLE: copies a tensor into a resource variable. The first
 * prepare that sees a variable sizes it from the value tensor and allocates
 * its persistent buffer, filled with the value's int8 zero point (TFLite
 * Micro's default; mtf_reset() refills it).
 */
#include "mtf_activation.h"
#include "mtf_arena.h"

static mtf_status_t assign_variable_prepare(mtf_model_t *m, mtf_node_t *node)
{
    mtf_tensor_t *t[2];
    MTF_TRY(mtf_arith_io(m, node, 2, 0, t));
    const mtf_tensor_t *handle = t[0], *value = t[1];
    MTF_ENSURE(m, (handle->dtype == MTF_RESOURCE || handle->dtype == MTF_INT32) && mtf_arith_count(handle) == 1,
               MTF_ERR_BAD_MODEL, "input 0 must be one resource");
    /* A handle from another subgraph is resolved at eval, as in TFLite Micro. */
    if (handle->data == NULL)
        return MTF_OK;
    mtf_resource_t *r = mtf_resource_get(m, mtf_load_i32(handle->data));
    MTF_ENSURE(m, r != NULL, MTF_ERR_BAD_MODEL, "unknown resource variable");
    if (r->buffer == NULL) {
        r->buffer = mtf_alloc_persistent(m, (size_t)value->bytes ? (size_t)value->bytes : 1);
        if (r->buffer == NULL)
            return MTF_ERR_ARENA_TOO_SMALL;
        r->bytes = value->bytes;
        r->default_value = value->q_count ? (int8_t)value->zero_point : 0;
        memset(r->buffer, (int)(uint8_t)r->default_value, (size_t)r->bytes);
    }
    return MTF_OK;
}

static mtf_status_t assign_variable_eval(mtf_model_t *m, mtf_node_t *node)
{
    const mtf_tensor_t *value = mtf_node_input(m, node, 1);
    mtf_resource_t *r = mtf_variable_of(m, mtf_node_input(m, node, 0), value->bytes);
    if (r == NULL)
        return MTF_ERR_BAD_MODEL;
    memmove(r->buffer, value->data, (size_t)r->bytes);
    return MTF_OK;
}

const mtf_kernel_t mtf_kernel_assign_variable = {assign_variable_prepare, assign_variable_eval};
