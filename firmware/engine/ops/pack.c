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
    return mtf_slices_prepare(m, node, MTF_JOIN_AXIS(1) | MTF_PARTS_STACKED, PACK_TYPES);
}

const mtf_kernel_t mtf_kernel_pack = {pack_prepare, mtf_slices_eval};
