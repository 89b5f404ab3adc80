/* mtf_quant.c - prepare-time quantization math; see mtf_quant.h. */
#include "mtf_quant.h"

#include <float.h>
#include <math.h>

void mtf_quantize_multiplier(double real, int32_t *multiplier, int *shift)
{
    if (real == 0.0) {
        *multiplier = 0;
        *shift = 0;
        return;
    }
    int exp = 0;
    double q = frexp(real, &exp);
    int64_t q_fixed = (int64_t)round(q * (double)((int64_t)1 << 31));
    if (q_fixed == ((int64_t)1 << 31)) {
        q_fixed /= 2;
        exp++;
    }
    /* Tiny multipliers flush to zero. TFLite saturates shifts above 30 only in
     * its single-rounding build; TFLite Micro's default build keeps them (SOFTMAX
     * input scaling reaches 31), so neither do we. */
    if (exp < -31) {
        exp = 0;
        q_fixed = 0;
    }
    *multiplier = (int32_t)q_fixed;
    *shift = exp;
}

static int32_t quantize_in_output(float value, const mtf_tensor_t *output)
{
    /* float division then roundf, exactly as TFLite's quantize lambda. A hostile
     * scale can push the quotient past int32, where the cast is undefined: clamp
     * first (any such value is far outside every output range anyway). */
    float r = roundf(value / output->scale);
    if (!(r > -1073741824.0f))
        r = -1073741824.0f;
    if (r > 1073741824.0f)
        r = 1073741824.0f;
    return (int32_t)((int64_t)output->zero_point + (int32_t)r);
}

mtf_status_t mtf_activation_range_quantized(mtf_model_t *m, int activation, const mtf_tensor_t *output,
                                            int32_t *act_min, int32_t *act_max)
{
    int32_t qmin, qmax;
    switch (output->dtype) {
    case MTF_INT8:
        qmin = -128;
        qmax = 127;
        break;
    case MTF_UINT8:
        qmin = 0;
        qmax = 255;
        break;
    case MTF_INT16:
        qmin = -32768;
        qmax = 32767;
        break;
    default:
        return mtf_fail(m, MTF_ERR_UNSUPPORTED_TYPE, "no quantized range for dtype %d", output->dtype);
    }
    int32_t lo = qmin, hi = qmax;
    switch (activation) {
    case MTF_ACT_NONE:
        break;
    case MTF_ACT_RELU: {
        int32_t z = quantize_in_output(0.0f, output);
        lo = z > qmin ? z : qmin;
        break;
    }
    case MTF_ACT_RELU6: {
        int32_t z = quantize_in_output(0.0f, output);
        int32_t six = quantize_in_output(6.0f, output);
        lo = z > qmin ? z : qmin;
        hi = six < qmax ? six : qmax;
        break;
    }
    case MTF_ACT_RELU_N1_TO_1: {
        int32_t n1 = quantize_in_output(-1.0f, output);
        int32_t p1 = quantize_in_output(1.0f, output);
        lo = n1 > qmin ? n1 : qmin;
        hi = p1 < qmax ? p1 : qmax;
        break;
    }
    default:
        /* TANH, SIGN_BIT and unknown codes clamp nothing in TFLite Micro. */
        break;
    }
    *act_min = lo;
    *act_max = hi;
    return MTF_OK;
}

void mtf_activation_range_float(int activation, float *act_min, float *act_max)
{
    /* The open ends are -FLT_MAX/FLT_MAX, not infinities, as TFLite's
     * CalculateActivationRange gives them: an infinite result is clamped. */
    *act_min = -FLT_MAX;
    *act_max = FLT_MAX;
    if (activation == MTF_ACT_RELU) {
        *act_min = 0.0f;
    } else if (activation == MTF_ACT_RELU6) {
        *act_min = 0.0f;
        *act_max = 6.0f;
    } else if (activation == MTF_ACT_RELU_N1_TO_1) {
        *act_min = -1.0f;
        *act_max = 1.0f;
    }
}

/* Window arithmetic in 64 bits, saturated to int32: hostile models carry
 * absurd strides and sizes, and the kernels refuse the results afterwards. */
static int32_t sat_i32(int64_t v)
{
    return v > INT32_MAX ? INT32_MAX : (v < INT32_MIN ? INT32_MIN : (int32_t)v);
}

int32_t mtf_out_size(int padding, int32_t in, int32_t filter, int32_t stride, int32_t dilation)
{
    int64_t effective = ((int64_t)filter - 1) * dilation + 1;
    if (stride <= 0)
        return 0;
    if (padding == MTF_PADDING_SAME)
        return sat_i32(((int64_t)in + stride - 1) / stride);
    if (padding == MTF_PADDING_VALID)
        return sat_i32(((int64_t)in + stride - effective) / stride);
    return 0;
}

int32_t mtf_padding(int32_t stride, int32_t dilation, int32_t in, int32_t filter, int32_t out, int32_t *offset)
{
    int64_t effective = ((int64_t)filter - 1) * dilation + 1;
    int64_t total = ((int64_t)out - 1) * stride + effective - in;
    total = total > 0 ? total : 0;
    *offset = (int32_t)(total % 2);
    return sat_i32(total / 2);
}
