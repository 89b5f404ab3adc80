/* mtf_quant.c - prepare-time quantization math; see mtf_quant.h. */
#include "mtf_quant.h"

#include <float.h>
#include <math.h>

/* Keeps a helper with several call sites out of line (code size only). */
#if defined(__GNUC__)
#define MTF_QUANT_NOINLINE __attribute__((noinline))
#else
#define MTF_QUANT_NOINLINE
#endif

void mtf_quantize_multiplier(double real, int32_t *multiplier, int *shift)
{
    /* 0 needs no case of its own: frexp gives 0 with exponent 0. */
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

static MTF_QUANT_NOINLINE int32_t quantize_in_output(float value, const mtf_tensor_t *output)
{
    /* float division then roundf, exactly as TFLite's quantize lambda. A hostile
     * scale can push the quotient past int32, where the cast is undefined: clamp
     * first (any such value is far outside every output range anyway). */
    float r = roundf(value / output->scale);
    if (!(r > -1073741824.0f))
        r = -1073741824.0f;
    if (r > 1073741824.0f)
        r = 1073741824.0f;
    /* The zero point lies in the output type's range (the loader checks). */
    return output->zero_point + (int32_t)r;
}

mtf_status_t mtf_activation_range_quantized(mtf_model_t *m, int activation, const mtf_tensor_t *output,
                                            int32_t *act_min, int32_t *act_max)
{
    const int dtype = output->dtype;
    if (dtype != MTF_INT8 && dtype != MTF_UINT8 && dtype != MTF_INT16)
        return mtf_fail(m, MTF_ERR_UNSUPPORTED_TYPE, "no quantized range for dtype %d", dtype);
    const int32_t qmax = dtype == MTF_INT16 ? 32767 : dtype == MTF_UINT8 ? 255 : 127;
    const int32_t qmin = dtype == MTF_UINT8 ? 0 : -qmax - 1;
    int32_t lo = qmin, hi = qmax;
    /* RELU: [0, -); RELU_N1_TO_1: [-1, 1]; RELU6: [0, 6]. TANH, SIGN_BIT and
     * unknown codes clamp nothing in TFLite Micro. */
    if (activation >= MTF_ACT_RELU && activation <= MTF_ACT_RELU6) {
        int32_t z = quantize_in_output(activation == MTF_ACT_RELU_N1_TO_1 ? -1.0f : 0.0f, output);
        lo = z > qmin ? z : qmin;
        if (activation != MTF_ACT_RELU) {
            int32_t t = quantize_in_output(activation == MTF_ACT_RELU6 ? 6.0f : 1.0f, output);
            hi = t < qmax ? t : qmax;
        }
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
static MTF_QUANT_NOINLINE int32_t sat_i32(int64_t v)
{
    return v > INT32_MAX ? INT32_MAX : (v < INT32_MIN ? INT32_MIN : (int32_t)v);
}

/* The span of a dilated filter, (filter - 1) * dilation + 1, in 64 bits. */
static MTF_QUANT_NOINLINE int64_t effective_size(int32_t filter, int32_t dilation)
{
    return ((int64_t)filter - 1) * dilation + 1;
}

int32_t mtf_out_size(int padding, int32_t in, int32_t filter, int32_t stride, int32_t dilation)
{
    /* SAME: ceil(in / stride); VALID: ceil((in - effective + 1) / stride).
     * Both are (in + stride - k) / stride, k = 1 or effective. */
    if (stride <= 0 || (unsigned)padding > MTF_PADDING_VALID)
        return 0;
    int64_t k = padding == MTF_PADDING_SAME ? 1 : effective_size(filter, dilation);
    return sat_i32(((int64_t)in + stride - k) / stride);
}

int32_t mtf_padding(int32_t stride, int32_t dilation, int32_t in, int32_t filter, int32_t out, int32_t *offset)
{
    /* out is a tensor dim (>= 0: the loader checks), so out - 1 fits int32. */
    int64_t total = (int64_t)(out - 1) * stride + effective_size(filter, dilation) - in;
    total = total > 0 ? total : 0;
    *offset = (int32_t)(total & 1);
    return sat_i32(total >> 1);
}
