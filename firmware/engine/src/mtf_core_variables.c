/*
 * mtf_core_variables.c - the resource-variable operators VAR_HANDLE (142),
 * READ_VARIABLE (143) and ASSIGN_VARIABLE (144) share one prepare and one
 * eval, told apart by the node's code: all three start from a resource
 * handle tensor and differ only in what they do with it (code size).
 *
 *  VAR_HANDLE names a resource variable (VarHandleOptions: container = 0,
 *    shared_name = 1). As in TFLite Micro, the id is fixed at prepare (found
 *    or created by container and name) and the output tensor points at it
 *    (in the resource record), so the resource tensor needs no planned memory.
 *  ASSIGN_VARIABLE copies input 1 into the variable. The first prepare that
 *    sees a variable sizes it from the value tensor and allocates its
 *    persistent buffer, filled with the value's int8 zero point (TFLite
 *    Micro's default; mtf_reset() refills it).
 *  READ_VARIABLE copies the variable into output 0.
 * The id READ and ASSIGN use comes from the handle tensor at eval (as in
 * TFLite Micro) and is checked there, with the sizes: a hostile model cannot
 * make them read or write out of bounds.
 */
#include "mtf_activation.h"
#include "mtf_arena.h"

/* The resource record of container and name, created when new; NULL when the arena is full. */
static mtf_resource_t *resource_of(mtf_model_t *m, const uint8_t *container, uint32_t container_len,
                                   const uint8_t *name, uint32_t name_len)
{
    mtf_resource_t *r;
    for (uint32_t h = m->resource_last; h != 0; h = r->prev) {
        r = mtf_handle_ptr(m, h);
        /* As TFLite Micro: an absent container matches any container. */
        int same_container = container == NULL ||
                             (r->container != NULL && r->container_len == container_len &&
                              memcmp(r->container, container, container_len) == 0);
        if (same_container && r->name_len == name_len && memcmp(r->name, name, name_len) == 0)
            return r;
    }
    r = mtf_alloc_persistent(m, sizeof *r);
    if (r != NULL) {
        r->container = container;
        r->container_len = container_len;
        r->name = name;
        r->name_len = name_len;
        r->id = m->n_resources++;
        r->prev = m->resource_last;
        m->resource_last = (uint32_t)(m->end - (uint8_t *)r);
    }
    return r;
}

/* The resource record of id, NULL when there is none. */
static mtf_resource_t *resource_get(mtf_model_t *m, int32_t id)
{
    mtf_resource_t *r;
    for (uint32_t h = m->resource_last; h != 0; h = r->prev) {
        r = mtf_handle_ptr(m, h);
        if (r->id == id)
            return r;
    }
    return NULL;
}

mtf_status_t mtf_variable_prepare(mtf_model_t *m, mtf_node_t *node)
{
    int code = node->code;
    mtf_tensor_t *t[2];
    /* Inputs: 0 (VAR_HANDLE), 1 (READ), 2 (ASSIGN); one output but for ASSIGN. */
    MTF_TRY(mtf_arith_io(m, node, code - MTF_CODE_VAR_HANDLE, code != MTF_CODE_ASSIGN_VARIABLE, t));
    mtf_tensor_t *handle = t[0];
    /* READ and ASSIGN also take an int32 id, as TFLite Micro does. */
    MTF_ENSURE(m, (handle->dtype == MTF_RESOURCE || (handle->dtype == MTF_INT32 && code != MTF_CODE_VAR_HANDLE)) &&
                      mtf_arith_count(handle) == 1,
               MTF_ERR_BAD_MODEL, "handle must be one resource");
    if (code == MTF_CODE_VAR_HANDLE) {
        /* Absent strings leave the pointer as it is: no container (matches
         * any), an empty name. */
        const uint8_t *container = NULL, *name = (const uint8_t *)"";
        int container_len = mtf_opt_str(node, 0, &container);
        int name_len = mtf_opt_str(node, 1, &name);
        mtf_resource_t *r = resource_of(m, container, container_len < 0 ? 0u : (uint32_t)container_len, name,
                                        name_len < 0 ? 0u : (uint32_t)name_len);
        if (r == NULL)
            return MTF_ERR_ARENA_TOO_SMALL;
        /* The handle tensor holds the id (TFLite Micro's resource tensors do). */
        node->data = &r->id;
        handle->data = (uint8_t *)&r->id;
        return MTF_OK;
    }
    /* A handle from another subgraph is resolved at eval, as in TFLite Micro. */
    if (code == MTF_CODE_READ_VARIABLE || handle->data == NULL)
        return MTF_OK;
    const mtf_tensor_t *value = t[1];
    mtf_resource_t *r = resource_get(m, mtf_load_i32(handle->data));
    MTF_ENSURE(m, r != NULL, MTF_ERR_BAD_MODEL, "unknown resource variable");
    if (r->buffer == NULL) {
        /* Not NULL even for 0 bytes (the tail's current end); filled with
         * default_value by the reset that ends mtf_init. */
        r->buffer = mtf_alloc_persistent(m, (size_t)value->bytes);
        if (r->buffer == NULL)
            return MTF_ERR_ARENA_TOO_SMALL;
        r->bytes = value->bytes;
        /* The zero point is 0 without quantization. */
        r->default_value = (int8_t)value->zero_point;
    }
    return MTF_OK;
}

mtf_status_t mtf_variable_eval(mtf_model_t *m, mtf_node_t *node)
{
    int code = node->code;
    if (code == MTF_CODE_VAR_HANDLE) {
        mtf_node_output(m, node, 0)->data = node->data;
        return MTF_OK;
    }
    /* The value: input 1 (slot 1) for ASSIGN, output 0 for READ; the handle is input 0 (slot 0). */
    mtf_tensor_t *value = code == MTF_CODE_ASSIGN_VARIABLE ? mtf_node_input(m, node, 1) : mtf_node_output(m, node, 0);
    const mtf_tensor_t *handle = mtf_node_input(m, node, 0);
    mtf_resource_t *r = NULL;
    if (handle->data != NULL && handle->bytes >= 4)
        r = resource_get(m, mtf_load_i32(handle->data));
    if (r == NULL || r->buffer == NULL || r->bytes != value->bytes)
        return mtf_fail(m, MTF_ERR_BAD_MODEL, "no variable of %d bytes for this resource", value->bytes);
    /* memcpy where it is faster than memmove (READ's output is a planned buffer). */
    if (code == MTF_CODE_ASSIGN_VARIABLE)
        memmove(r->buffer, value->data, (size_t)r->bytes);
    else
        memcpy(value->data, r->buffer, (size_t)r->bytes);
    return MTF_OK;
}
