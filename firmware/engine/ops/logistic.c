/*
 * LOGISTIC (sigmoid).
 *
 * int8 reproduces TFLite Micro's reference kernel: the input is rescaled to
 * Q4.27, passed through gemmlowp's fixed-point logistic and rounded to
 * 1/256 steps with zero point -128. Since the result depends on the int8
 * input alone, prepare evaluates that exact integer formula for all 256
 * inputs and eval is a table lookup (src/mtf_activation.c). float32 uses
 * TFLite's expf formula.
 */
#include <math.h>

#include "mtf_activation.h"

static mtf_status_t logistic_prepare(mtf_model_t *m, mtf_node_t *node)
{
    return mtf_act_prepare(m, node, MTF_ACT_KIND_LOGISTIC);
}

/* TFLite's cut-offs: beyond them the float result is 1 or exp(v). */
static float logistic_float(float v)
{
    if (v > 16.619047164916992188f)
        return 1.0f;
    if (v < -9.0f)
        return expf(v);
    return 1.0f / (1.0f + expf(-v));
}

static mtf_status_t logistic_eval(mtf_model_t *m, mtf_node_t *node)
{
    return mtf_act_table_eval(m, node, logistic_float);
}

const mtf_kernel_t mtf_kernel_logistic = {logistic_prepare, logistic_eval};
