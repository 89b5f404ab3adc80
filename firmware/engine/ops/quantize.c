/*
 * QUANTIZE: float32 -> int8/int16, and requantization between integer types,
 * with TFLite Micro's formulas. The kernel is shared with DEQUANTIZE
 * (src/mtf_activation.c); this file exists so that a build can leave QUANTIZE out.
 */
#include "mtf_activation.h"

static mtf_status_t quantize_prepare(mtf_model_t *m, mtf_node_t *node)
{
    return mtf_convert_prepare(m, node, 0);
}

const mtf_kernel_t mtf_kernel_quantize = {quantize_prepare, mtf_convert_eval};
