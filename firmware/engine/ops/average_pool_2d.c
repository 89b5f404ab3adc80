/*
 * average_pool_2d.c - AVERAGE_POOL_2D on int8: the shared pooling kernel (src/mtf_pool.c). This
 * file exists so that a build can leave AVERAGE_POOL_2D out.
 */
#include "mtf_window.h"

static mtf_status_t avg_eval(mtf_model_t *m, mtf_node_t *node)
{
    return mtf_pool_eval(m, node, 0);
}

const mtf_kernel_t mtf_kernel_average_pool_2d = { mtf_pool_prepare, avg_eval };
