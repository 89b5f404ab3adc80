/*
 * SUB with numpy broadcasting: the shared elementwise kernel (src/mtf_elementwise.c)
 * with the op selected in prepare. This file exists so that a build can leave SUB out.
 */
#include "mtf_elementwise.h"

static mtf_status_t sub_prepare(mtf_model_t *m, mtf_node_t *node)
{
    return mtf_ew_prepare(m, node, MTF_EW_SUB);
}

const mtf_kernel_t mtf_kernel_sub = {sub_prepare, mtf_ew_eval};
