/*
 * MUL with numpy broadcasting: the shared elementwise kernel (src/mtf_elementwise.c)
 * with the op selected in prepare. This file exists so that a build can leave MUL out.
 */
#include "mtf_elementwise.h"

static mtf_status_t mul_prepare(mtf_model_t *m, mtf_node_t *node)
{
    return mtf_ew_prepare(m, node, MTF_EW_MUL);
}

const mtf_kernel_t mtf_kernel_mul = {mul_prepare, mtf_ew_eval};
