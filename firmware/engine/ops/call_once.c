/*
 * CALL_ONCE: runs subgraph init_subgraph_index (CallOnceOptions field 0) at
 * the first invoke, and again at the first invoke after each mtf_reset().
 * The core checked the target at init (it exists, is not the caller, is
 * called only once, no cycles) and planned its tensors inside this node's
 * time step, so they never collide with the caller's live tensors.
 */
#include "mtf_activation.h"

typedef struct {
    int32_t subgraph;
    uint32_t ran_at; /* mtf_reset_count() when it last ran; 0 = never */
} call_once_data_t;

static mtf_status_t call_once_prepare(mtf_model_t *m, mtf_node_t *node)
{
    MTF_TRY(mtf_arith_io(m, node, 0, 0, NULL));
    call_once_data_t *d = mtf_alloc_persistent(m, sizeof *d);
    if (d == NULL)
        return MTF_ERR_ARENA_TOO_SMALL;
    d->subgraph = mtf_opt_i32(node, 0, 0);
    mtf_node_set_data(node, d);
    return MTF_OK;
}

static mtf_status_t call_once_eval(mtf_model_t *m, mtf_node_t *node)
{
    call_once_data_t *d = mtf_node_data(node);
    if (d->ran_at == mtf_reset_count(m))
        return MTF_OK;
    MTF_TRY(mtf_invoke_subgraph(m, d->subgraph));
    d->ran_at = mtf_reset_count(m);
    return MTF_OK;
}

const mtf_kernel_t mtf_kernel_call_once = {call_once_prepare, call_once_eval};
