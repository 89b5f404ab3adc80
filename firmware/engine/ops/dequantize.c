/*
 * DEQUANTIZE: int8/uint8/int16 -> float32, as TFLite Micro computes it:
 * (float)((double)scale * (x - zero_point)). The kernel is shared with QUANTIZE
 * (src/mtf_activation.c); this file exists so that a build can leave DEQUANTIZE out.
 */
#include "mtf_activation.h"

static mtf_status_t dequantize_prepare(mtf_model_t *m, mtf_node_t *node)
{
    return mtf_convert_prepare(m, node, 1);
}

const mtf_kernel_t mtf_kernel_dequantize = {dequantize_prepare, mtf_convert_eval};
