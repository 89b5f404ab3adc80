/*
 * max_pool_2d.c - MAX_POOL_2D on int8: the shared pooling kernel (src/mtf_pool.c). This
 * file exists so that a build can leave MAX_POOL_2D out.
 */
#include "mtf_window.h"

static mtf_status_t max_eval(mtf_model_t *m, mtf_node_t *node)
{
    return mtf_pool_eval(m, node, 1);
}

const mtf_kernel_t mtf_kernel_max_pool_2d = { mtf_pool_prepare, max_eval };
