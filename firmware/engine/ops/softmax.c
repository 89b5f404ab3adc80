/*
 * SOFTMAX over the last dimension.
 *
 * int8 -> int8 and int8 -> int16 reproduce TFLite Micro's reference kernel:
 * input differences to the row maximum are scaled by beta * input_scale into
 * Q5.26, exponentiated with gemmlowp's fixed-point exp, summed in Q12.19 and
 * divided through a fixed-point reciprocal. float32 uses expf like TFLite.
 */
#include <float.h>
#include <math.h>

#include "mtf_activation.h"
#include "mtf_fixedpoint.h"
#include "mtf_quant.h"

/* Integer bits of the scaled input differences and of the sum of exps. */
#define SCALED_DIFF_BITS 5
#define ACCUM_BITS 12

typedef struct {
    int32_t input_multiplier;
    int32_t input_left_shift;
    int32_t diff_min; /* differences below this contribute exp() == 0 */
    float beta;       /* float32 path */
} softmax_data_t;

static mtf_status_t softmax_prepare(mtf_model_t *m, mtf_node_t *node)
{
    mtf_tensor_t *t[2];
    MTF_TRY(mtf_arith_unary(m, node, t));
    const mtf_tensor_t *in = t[0], *out = t[1];
    MTF_ENSURE(m, in->ndims >= 1 && out->ndims >= 1 && in->dims[in->ndims - 1] == out->dims[out->ndims - 1],
               MTF_ERR_SHAPE, "input and output shapes differ");
    softmax_data_t *d = mtf_alloc_persistent(m, sizeof *d);
    if (d == NULL)
        return MTF_ERR_ARENA_TOO_SMALL;
    mtf_node_set_data(node, d);
    /* SoftmaxOptions: beta = field 0; absent means the schema default 0.0. */
    float beta = mtf_opt_f32(node, 0, 0.0f);
    d->beta = beta;
    /* float32 -> float32, or int8 -> int8/int16 with the output quantization
     * TFLite Micro insists on: exactly for int8, within 0.1% of the scale for int16. */
    const int bits = out->dtype == MTF_INT8 ? 8 : 16;
    const float expected = bits == 8 ? 1.0f / 256 : 1.0f / 65536;
    const int is_float = in->dtype == MTF_FLOAT32;
    /* int8: each exp is at most 1.0 in the Q12.19 sum: 4096 of them reach 2^31
     * and the sum wraps (TFLite Micro then takes clz of 0, which is undefined). */
    MTF_ENSURE(m, is_float ? out->dtype == MTF_FLOAT32
                           : in->dtype == MTF_INT8 && (out->dtype == MTF_INT8 || out->dtype == MTF_INT16) &&
                                 out->zero_point == -(1 << (bits - 1)) &&
                                 fabsf(out->scale - expected) <= (bits == 8 ? 0.0f : 0.001f * expected) &&
                                 in->dims[in->ndims - 1] < 4096,
               MTF_ERR_UNSUPPORTED_TYPE,
               "unsupported types, over 4095 classes, or output not scale 1/256 (int16: 1/65536) and zero point "
               "-128 (-32768)");
    if (is_float)
        return MTF_OK;
    /* Quantized, hence (the loader checks) a positive finite scale. */
    MTF_ENSURE(m, in->q_count > 0, MTF_ERR_BAD_MODEL, "bad input scale");
    /* PreprocessSoftmaxScaling: beta * scale * 2^(31 - 5) in double, capped at
     * 2^31 - 1. The power of two is exact, so it is left out here: the cap and
     * the bound below are divided by it, and added to the shift (the
     * significand is the same; real > 1 never flushes). */
    const double unit = (double)(1 << (31 - SCALED_DIFF_BITS));
    double real = (double)beta * (double)in->scale;
    if (real > (double)(((int64_t)1 << 31) - 1) / unit)
        real = (double)(((int64_t)1 << 31) - 1) / unit;
    MTF_ENSURE(m, real > 1.0 / unit, MTF_ERR_UNSUPPORTED_TYPE, "beta * input scale too small");
    int shift;
    mtf_quantize_multiplier(real, &d->input_multiplier, &shift);
    shift += 31 - SCALED_DIFF_BITS;
    d->input_left_shift = shift;
    d->diff_min = -mtf_fp_input_radius(SCALED_DIFF_BITS, shift, 31);
    return MTF_OK;
}

/* exp(diff * beta * scale) in Q0 for one input difference (<= 0); 0 for the
 * differences below diff_min, which TFLite Micro leaves out of the sum and
 * turns into the lowest output (a 0 does both in the loops below). */
static MTF_ARITH_NOINLINE int32_t softmax_exp(const softmax_data_t *d, int32_t diff)
{
    if (diff < d->diff_min)
        return 0;
    /* MultiplyByQuantizedMultiplierGreaterThanOne: a plain left shift, then SRDHM
     * (mtf_mul_by_qm with a shift >= 1; SOFTMAX is never hot, so out of line). */
    int32_t rescaled = mtf_arith_mul_by_qm(diff, d->input_multiplier, d->input_left_shift);
    return mtf_fp_exp_on_negative_values(rescaled, SCALED_DIFF_BITS);
}

static void softmax_int8(const softmax_data_t *d, const int8_t *in, void *out_data, int out_bits, int32_t count,
                         int32_t depth)
{
    const int32_t out_min = out_bits == 8 ? -128 : -32768;
    const int32_t out_max = -1 - out_min;
    /* Rows start at element offsets o (a zero depth means no elements). */
    for (int32_t o = 0; o < count; o += depth) {
        const int8_t *x = in + o;
        int32_t max = -128;
        for (int32_t c = 0; c < depth; c++)
            max = x[c] > max ? x[c] : max;
        int32_t sum = 0; /* Q12: each Q0 exp rescaled (a rounding right shift) */
        for (int32_t c = 0; c < depth; c++)
            sum = mtf_fp_add(sum, mtf_rdbpot(softmax_exp(d, x[c] - max), ACCUM_BITS));
        int bits_over_unit;
        int32_t scale = mtf_fp_reciprocal(sum, ACCUM_BITS, &bits_over_unit);
        /* (scale * exp) >> exponent with gemmlowp's roundings: srdhm is symmetric
         * and exponent >= 15 here, so this is mtf_mul_by_qm with shift -exponent. */
        const int exponent = bits_over_unit + 31 - out_bits;
        for (int32_t c = 0; c < depth; c++) {
            /* The product is >= 0 (exp and scale are): only the top needs the clamp. */
            int32_t v = mtf_arith_mul_by_qm(softmax_exp(d, x[c] - max), scale, -exponent) + out_min;
            v = v > out_max ? out_max : v;
            if (out_bits == 8)
                ((int8_t *)out_data)[o + c] = (int8_t)v;
            else
                ((int16_t *)out_data)[o + c] = (int16_t)v;
        }
    }
}

/* in is read with unaligned loads: it may be a constant in the model bytes. */
static void softmax_float(float beta, const uint8_t *in, float *out, int32_t count, int32_t depth)
{
    for (int32_t o = 0; o < count; o += depth) {
        const uint8_t *x = in + 4 * o;
        float *y = out + o;
        float max = -FLT_MAX;
        for (int32_t c = 0; c < depth; c++) {
            float v = mtf_load_f32(x + 4 * c);
            max = max < v ? v : max;
        }
        float sum = 0.0f;
        for (int32_t c = 0; c < depth; c++) {
            float e = expf((mtf_load_f32(x + 4 * c) - max) * beta);
            y[c] = e;
            sum += e;
        }
        for (int32_t c = 0; c < depth; c++)
            y[c] = y[c] / sum;
    }
}

static mtf_status_t softmax_eval(mtf_model_t *m, mtf_node_t *node)
{
    const softmax_data_t *d = mtf_node_data(node);
    const mtf_tensor_t *in = mtf_node_input(m, node, 0);
    mtf_tensor_t *out = mtf_node_output(m, node, 0);
    int32_t depth = in->dims[in->ndims - 1];
    int32_t count = mtf_arith_count(in);
    if (in->dtype == MTF_FLOAT32)
        softmax_float(d->beta, in->data, (float *)out->data, count, depth);
    else
        softmax_int8(d, (const int8_t *)in->data, out->data, out->dtype == MTF_INT8 ? 8 : 16, count, depth);
    return MTF_OK;
}

const mtf_kernel_t mtf_kernel_softmax = {softmax_prepare, softmax_eval};
