/*
 * RELU: the shared activation code (src/mtf_activation.c). int8 reproduces
 * TFLite Micro's ReluQuantized (requantize to the output scale, clamp below
 * at the output zero point) as a 256-entry table; float32 clamps below at 0.
 */
#include "mtf_activation.h"

static mtf_status_t relu_prepare(mtf_model_t *m, mtf_node_t *node)
{
    return mtf_act_prepare(m, node, MTF_ACT_KIND_RELU);
}

static float relu_float(float v)
{
    return v < 0.0f ? 0.0f : v;
}

static mtf_status_t relu_eval(mtf_model_t *m, mtf_node_t *node)
{
    return mtf_act_table_eval(m, node, relu_float);
}

const mtf_kernel_t mtf_kernel_relu = {relu_prepare, relu_eval};
