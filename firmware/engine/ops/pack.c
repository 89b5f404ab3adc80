/*
 * PACK: stack values_count tensors of one shape along a new axis.
 *
 * Options (PackOptions): values_count = 0, axis = 1 (negative counts from
 * the end of the output's dims, as in TFLite Micro).
 * Output slab k holds chunk k of input 0, then chunk k of input 1, ...: a
 * concatenation of inputs that each fill one slice of the axis.
 */
#include "mtf_slices.h"

/* Element types TFLite Micro packs. */
#define PACK_TYPES \
    (MTF_DT(MTF_INT8) | MTF_DT(MTF_UINT8) | MTF_DT(MTF_INT16) | \
     MTF_DT(MTF_INT32) | MTF_DT(MTF_FLOAT32) | MTF_DT(MTF_INT64))

static mtf_status_t pack_prepare(mtf_model_t *m, mtf_node_t *node)
{
    int n = mtf_node_num_inputs(node);
    MTF_ENSURE(m, n >= 1 && mtf_opt_i32(node, 0, 0) == n, MTF_ERR_BAD_MODEL, "values_count differs from inputs");
    MTF_ENSURE(m, mtf_node_num_outputs(node) == 1, MTF_ERR_BAD_MODEL, "needs 1 output");
    int32_t axis = mtf_opt_i32(node, 1, 0);
    return mtf_slices_prepare(m, node, -1, &axis, PACK_TYPES, MTF_PARTS_STACKED);
}

const mtf_kernel_t mtf_kernel_pack = {pack_prepare, mtf_slices_eval};
