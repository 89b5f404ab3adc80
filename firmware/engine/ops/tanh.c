/*
 * TANH.
 *
 * int8 reproduces TFLite Micro's reference kernel: the input is rescaled to
 * Q4.27, passed through gemmlowp's fixed-point tanh and rounded to 1/128
 * steps. Like TFLite Micro it assumes the output zero point is 0 and adds
 * none. The result depends on the int8 input alone, so prepare evaluates the
 * exact integer formula for all 256 inputs and eval is a table lookup.
 * float32 uses tanhf.
 */
#include <math.h>

#include "mtf_activation.h"
#include "mtf_fixedpoint.h"
#include "mtf_kernel.h"
#include "mtf_quant.h"

static mtf_status_t tanh_prepare(mtf_model_t *m, mtf_node_t *node)
{
    const mtf_tensor_t *in, *out;
    MTF_TRY(mtf_act_check(m, node, &in, &out));
    if (in->dtype == MTF_FLOAT32)
        return MTF_OK;
    MTF_ENSURE(m, mtf_fp_scale_ok(in->scale), MTF_ERR_BAD_MODEL, "bad input scale");
    return mtf_act_sigmoid_table(m, node, in, 1);
}

static float tanh_float(float v)
{
    return tanhf(v);
}

static mtf_status_t tanh_eval(mtf_model_t *m, mtf_node_t *node)
{
    return mtf_act_table_eval(m, node, tanh_float);
}

const mtf_kernel_t mtf_kernel_tanh = {tanh_prepare, tanh_eval};
