/*
 * RELU.
 *
 * int8 reproduces TFLite Micro's ReluQuantized: requantize from the input to
 * the output scale with a fixed-point multiplier, then clamp below at the
 * output zero point. float32 clamps below at 0.
 */
#include "mtf_activation.h"
#include "mtf_fixedpoint.h"
#include "mtf_kernel.h"
#include "mtf_quant.h"

typedef struct {
    int32_t input_offset;  /* input zero point */
    int32_t output_offset; /* output zero point */
    int32_t multiplier;
    int32_t shift;
    int32_t act_min, act_max;
} relu_data_t;

static mtf_status_t relu_prepare(mtf_model_t *m, mtf_node_t *node)
{
    const mtf_tensor_t *in, *out;
    MTF_TRY(mtf_act_check(m, node, &in, &out));
    if (in->dtype == MTF_FLOAT32)
        return MTF_OK;
    MTF_ENSURE(m, mtf_fp_scale_ok(in->scale) && mtf_fp_scale_ok(out->scale), MTF_ERR_BAD_MODEL, "bad quantization");
    relu_data_t *d = mtf_alloc_persistent(m, sizeof *d);
    if (d == NULL)
        return MTF_ERR_ARENA_TOO_SMALL;
    mtf_node_set_data(node, d);
    int shift;
    mtf_quantize_multiplier((double)in->scale / (double)out->scale, &d->multiplier, &shift);
    d->shift = shift;
    d->input_offset = in->zero_point;
    d->output_offset = out->zero_point;
    /* Lower bound: the output's quantized 0.0 (roundf(0 / scale) is 0); no upper bound. */
    d->act_min = out->zero_point > -128 ? out->zero_point : -128;
    d->act_max = 127;
    return MTF_OK;
}

static mtf_status_t relu_eval(mtf_model_t *m, mtf_node_t *node)
{
    const mtf_tensor_t *in = mtf_node_input(m, node, 0);
    mtf_tensor_t *out = mtf_node_output(m, node, 0);
    int32_t n = mtf_elements(in);
    if (in->dtype == MTF_INT8) {
        const relu_data_t *d = mtf_node_data(node);
        const int8_t *x = (const int8_t *)in->data;
        int8_t *y = (int8_t *)out->data;
        for (int32_t i = 0; i < n; i++) {
            int32_t v = d->output_offset + mtf_mul_by_qm(x[i] - d->input_offset, d->multiplier, d->shift);
            v = v < d->act_min ? d->act_min : v;
            v = v > d->act_max ? d->act_max : v;
            y[i] = (int8_t)v;
        }
        return MTF_OK;
    }
    const uint8_t *x = in->data; /* unaligned loads: the input may be a model constant */
    float *y = (float *)out->data;
    for (int32_t i = 0; i < n; i++) {
        float v = mtf_load_f32(x + 4 * i);
        y[i] = v < 0.0f ? 0.0f : v;
    }
    return MTF_OK;
}

const mtf_kernel_t mtf_kernel_relu = {relu_prepare, relu_eval};
