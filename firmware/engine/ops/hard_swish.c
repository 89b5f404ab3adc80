/*
 * HARD_SWISH: x * relu6(x + 3) / 6.
 *
 * int8 reproduces TFLite Micro's reference kernel, which works in int16
 * fixed point: the input moves to a 2^7 finer "hires" scale, a "reluish"
 * factor in [0, 1] comes from rescaling x from [-3, 3], and their product is
 * shifted to the output scale. Prepare computes the two multipliers from
 * float32 quotients (hires_input_scale / output_scale in float, then widened,
 * exactly as TFLite Micro) and, since the result depends on the int8 input
 * alone, tabulates the integer formula for all 256 inputs (the shared
 * activation prepare, src/mtf_activation.c). float32 uses TFLite's formula.
 */
#include "mtf_activation.h"

static mtf_status_t hard_swish_prepare(mtf_model_t *m, mtf_node_t *node)
{
    return mtf_act_prepare(m, node, MTF_ACT_KIND_HARD_SWISH);
}

/* Written as TFLite's std::min(6, std::max(0, v + 3)), NaN handling included. */
static float hard_swish_float(float v)
{
    float r = 0.0f < v + 3.0f ? v + 3.0f : 0.0f;
    r = r < 6.0f ? r : 6.0f;
    return v * r / 6.0f;
}

static mtf_status_t hard_swish_eval(mtf_model_t *m, mtf_node_t *node)
{
    return mtf_act_table_eval(m, node, hard_swish_float);
}

const mtf_kernel_t mtf_kernel_hard_swish = {hard_swish_prepare, hard_swish_eval};
