/*
 * TANH.
 *
 * int8 reproduces TFLite Micro's reference kernel: the input is rescaled to
 * Q4.27, passed through gemmlowp's fixed-point tanh and rounded to 1/128
 * steps. Like TFLite Micro it assumes the output zero point is 0 and adds
 * none. The result depends on the int8 input alone, so prepare evaluates the
 * exact integer formula for all 256 inputs and eval is a table lookup
 * (src/mtf_activation.c). float32 uses tanhf.
 */
#include <math.h>

#include "mtf_activation.h"

static mtf_status_t tanh_prepare(mtf_model_t *m, mtf_node_t *node)
{
    return mtf_act_prepare(m, node, MTF_ACT_KIND_TANH);
}

static mtf_status_t tanh_eval(mtf_model_t *m, mtf_node_t *node)
{
    return mtf_act_table_eval(m, node, tanhf);
}

const mtf_kernel_t mtf_kernel_tanh = {tanh_prepare, tanh_eval};
