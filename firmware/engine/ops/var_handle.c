/*
 * VAR_HANDLE: names a resource variable (VarHandleOptions: container = 0,
 * shared_name = 1). As in TFLite Micro, the id is fixed at prepare (found or
 * created by container and name) and the output tensor points at it, so the
 * resource tensor needs no planned memory.
 */
#include "mtf_activation.h"
#include "mtf_arena.h"

static mtf_status_t var_handle_prepare(mtf_model_t *m, mtf_node_t *node)
{
    mtf_tensor_t *out;
    MTF_TRY(mtf_arith_io(m, node, 0, 1, &out));
    MTF_ENSURE(m, out->dtype == MTF_RESOURCE && mtf_arith_count(out) == 1 &&
                      !(out->flags & MTF_TENSOR_CONST),
               MTF_ERR_BAD_MODEL, "output must be one resource");
    /* Absent strings leave the pointer as it is: no container (matches any),
     * an empty name. */
    const uint8_t *container = NULL, *name = (const uint8_t *)"";
    int container_len = mtf_opt_str(node, 0, &container);
    int name_len = mtf_opt_str(node, 1, &name);
    int32_t *id = mtf_alloc_persistent(m, sizeof *id);
    if (id == NULL)
        return MTF_ERR_ARENA_TOO_SMALL;
    *id = mtf_resource_id(m, container, container_len < 0 ? 0u : (uint32_t)container_len, name,
                          name_len < 0 ? 0u : (uint32_t)name_len);
    if (*id < 0)
        return MTF_ERR_ARENA_TOO_SMALL;
    mtf_node_set_data(node, id);
    out->data = (uint8_t *)id;
    return MTF_OK;
}

static mtf_status_t var_handle_eval(mtf_model_t *m, mtf_node_t *node)
{
    mtf_node_output(m, node, 0)->data = mtf_node_data(node);
    return MTF_OK;
}

const mtf_kernel_t mtf_kernel_var_handle = {var_handle_prepare, var_handle_eval};
