/*
 * RELU6.
 *
 * int8 reproduces TFLite Micro: a clamp between the input's quantized 0 and
 * 6, with no requantization (TFLite Micro ignores the output's quantization
 * here; converters give RELU6 the input's). float32 clamps to [0, 6].
 */
#include <math.h>

#include "mtf_activation.h"
#include "mtf_fixedpoint.h"
#include "mtf_kernel.h"
#include "mtf_quant.h"

typedef struct {
    int8_t zero, six;
} relu6_data_t;

static mtf_status_t relu6_prepare(mtf_model_t *m, mtf_node_t *node)
{
    const mtf_tensor_t *in, *out;
    MTF_TRY(mtf_act_check(m, node, &in, &out));
    if (in->dtype == MTF_FLOAT32)
        return MTF_OK;
    MTF_ENSURE(m, mtf_fp_scale_ok(in->scale), MTF_ERR_BAD_MODEL, "bad quantization");
    relu6_data_t *d = mtf_alloc_persistent(m, sizeof *d);
    if (d == NULL)
        return MTF_ERR_ARENA_TOO_SMALL;
    mtf_node_set_data(node, d);
    /* FloatToQuantizedType: roundf(6 / scale) in float, plus the zero point,
     * clamped to int8. A quotient beyond int32 is refused rather than
     * converted (that conversion is undefined in C and C++ alike). */
    float q = roundf(6.0f / in->scale);
    MTF_ENSURE(m, q < 2147483520.0f, MTF_ERR_UNSUPPORTED_TYPE, "input scale too small");
    int32_t six = (int32_t)(q + (float)in->zero_point);
    six = six < -128 ? -128 : six > 127 ? 127 : six;
    d->zero = (int8_t)in->zero_point;
    d->six = (int8_t)six;
    return MTF_OK;
}

static mtf_status_t relu6_eval(mtf_model_t *m, mtf_node_t *node)
{
    const mtf_tensor_t *in = mtf_node_input(m, node, 0);
    mtf_tensor_t *out = mtf_node_output(m, node, 0);
    int32_t n = mtf_elements(in);
    if (in->dtype == MTF_INT8) {
        const relu6_data_t *d = mtf_node_data(node);
        const int8_t *x = (const int8_t *)in->data;
        int8_t *y = (int8_t *)out->data;
        for (int32_t i = 0; i < n; i++) {
            int8_t v = x[i];
            y[i] = v > d->six ? d->six : v < d->zero ? d->zero : v;
        }
        return MTF_OK;
    }
    const uint8_t *x = in->data; /* unaligned loads: the input may be a model constant */
    float *y = (float *)out->data;
    for (int32_t i = 0; i < n; i++) {
        float v = mtf_load_f32(x + 4 * i);
        y[i] = v > 6.0f ? 6.0f : v < 0.0f ? 0.0f : v;
    }
    return MTF_OK;
}

const mtf_kernel_t mtf_kernel_relu6 = {relu6_prepare, relu6_eval};
