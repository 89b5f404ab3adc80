/*
 * RELU6: the shared activation code (src/mtf_activation.c). int8 reproduces
 * TFLite Micro's clamp between the input's quantized 0 and 6 as a 256-entry
 * table; float32 clamps to [0, 6].
 */
#include "mtf_activation.h"

static mtf_status_t relu6_prepare(mtf_model_t *m, mtf_node_t *node)
{
    return mtf_act_prepare(m, node, MTF_ACT_KIND_RELU6);
}

static float relu6_float(float v)
{
    return v > 6.0f ? 6.0f : v < 0.0f ? 0.0f : v;
}

static mtf_status_t relu6_eval(mtf_model_t *m, mtf_node_t *node)
{
    return mtf_act_table_eval(m, node, relu6_float);
}

const mtf_kernel_t mtf_kernel_relu6 = {relu6_prepare, relu6_eval};
