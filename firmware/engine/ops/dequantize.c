/*
 * DEQUANTIZE: int8/uint8/int16 -> float32, as TFLite Micro computes it:
 * (float)((double)scale * (x - zero_point)).
 */
#include "mtf_kernel.h"

typedef struct {
    double scale;
    int32_t zero_point;
    int32_t count;
} dequantize_data_t;

static mtf_status_t dequantize_prepare(mtf_model_t *m, mtf_node_t *node)
{
    MTF_ENSURE(m, mtf_node_num_inputs(node) == 1 && mtf_node_num_outputs(node) == 1, MTF_ERR_BAD_MODEL,
               "needs 1 input and 1 output");
    const mtf_tensor_t *in = mtf_node_input(m, node, 0);
    const mtf_tensor_t *out = mtf_node_output(m, node, 0);
    MTF_ENSURE(m, in && out, MTF_ERR_BAD_MODEL, "missing input or output");
    MTF_ENSURE(m, (in->dtype == MTF_INT8 || in->dtype == MTF_UINT8 || in->dtype == MTF_INT16) &&
                      out->dtype == MTF_FLOAT32,
               MTF_ERR_UNSUPPORTED_TYPE, "input type %d to output type %d", in->dtype, out->dtype);
    MTF_ENSURE(m, in->q_count >= 1, MTF_ERR_UNSUPPORTED_TYPE, "input is not quantized");
    MTF_ENSURE(m, mtf_elements(in) == mtf_elements(out), MTF_ERR_SHAPE, "input and output sizes differ");
    dequantize_data_t *d = mtf_alloc_persistent(m, sizeof *d);
    if (d == NULL)
        return MTF_ERR_ARENA_TOO_SMALL;
    mtf_node_set_data(node, d);
    d->scale = (double)in->scale;
    d->zero_point = in->zero_point;
    d->count = mtf_elements(in);
    return MTF_OK;
}

static mtf_status_t dequantize_eval(mtf_model_t *m, mtf_node_t *node)
{
    const dequantize_data_t *d = mtf_node_data(node);
    const mtf_tensor_t *in = mtf_node_input(m, node, 0);
    mtf_tensor_t *out = mtf_node_output(m, node, 0);
    float *o = (float *)(void *)out->data;
    for (int32_t i = 0; i < d->count; i++) {
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
        o[i] = (float)(d->scale * (double)(x - d->zero_point));
    }
    return MTF_OK;
}

const mtf_kernel_t mtf_kernel_dequantize = {dequantize_prepare, dequantize_eval};
