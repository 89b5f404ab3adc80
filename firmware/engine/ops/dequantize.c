/*
 * DEQUANTIZE: int8/uint8/int16 -> float32, as TFLite Micro computes it:
 * (float)((double)scale * (x - zero_point)).
 */
#include "mtf_activation.h"

static mtf_status_t dequantize_prepare(mtf_model_t *m, mtf_node_t *node)
{
    mtf_tensor_t *t[2];
    MTF_TRY(mtf_arith_unary(m, node, t));
    const mtf_tensor_t *in = t[0];
    MTF_ENSURE(m, (in->dtype == MTF_INT8 || in->dtype == MTF_UINT8 || in->dtype == MTF_INT16) &&
                      t[1]->dtype == MTF_FLOAT32 && in->q_count >= 1,
               MTF_ERR_UNSUPPORTED_TYPE, "unsupported types");
    /* Eval reads the scale and zero point from the input tensor: no node data. */
    return MTF_OK;
}

static mtf_status_t dequantize_eval(mtf_model_t *m, mtf_node_t *node)
{
    const mtf_tensor_t *in = mtf_node_input(m, node, 0);
    mtf_tensor_t *out = mtf_node_output(m, node, 0);
    const double scale = (double)in->scale;
    const int32_t zero_point = in->zero_point;
    float *o = (float *)(void *)out->data;
    int32_t n = mtf_arith_count(in);
    for (int32_t i = 0; i < n; i++) {
        int32_t x;
        if (in->dtype == MTF_INT8) {
            x = ((const int8_t *)in->data)[i];
        } else if (in->dtype == MTF_UINT8) {
            x = in->data[i];
        } else {
            int16_t s;
            memcpy(&s, in->data + 2 * i, 2);
            x = s;
        }
        o[i] = (float)(scale * (double)(x - zero_point));
    }
    return MTF_OK;
}

const mtf_kernel_t mtf_kernel_dequantize = {dequantize_prepare, dequantize_eval};
