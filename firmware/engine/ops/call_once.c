/*
 * CALL_ONCE: runs subgraph init_subgraph_index (CallOnceOptions field 0) at
 * the first invoke, and again at the first invoke after each mtf_reset().
 * The core checked the target at init (it exists, is not the caller, is
 * called only once, no cycles) and planned its tensors inside this node's
 * time step, so they never collide with the caller's live tensors.
 * No op data: the node's data word holds mtf_reset_count() when the subgraph
 * last ran (NULL, i.e. 0, = never; the count is 1 after init), and the target
 * is read from the options when it runs.
 */
#include "mtf_activation.h"

static mtf_status_t call_once_prepare(mtf_model_t *m, mtf_node_t *node)
{
    return mtf_arith_io(m, node, 0, 0, NULL);
}

static mtf_status_t call_once_eval(mtf_model_t *m, mtf_node_t *node)
{
    uintptr_t count = mtf_reset_count(m);
    if ((uintptr_t)mtf_node_data(node) == count)
        return MTF_OK;
    MTF_TRY(mtf_invoke_subgraph(m, mtf_opt_i32(node, 0, 0)));
    mtf_node_set_data(node, (void *)count);
    return MTF_OK;
}

const mtf_kernel_t mtf_kernel_call_once = {call_once_prepare, call_once_eval};
