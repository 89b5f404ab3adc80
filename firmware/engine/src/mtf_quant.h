/*
 * mtf_quant.h - the fixed-point arithmetic every int8 operator shares.
 *
 * These reproduce TFLite Micro's reference integer arithmetic exactly
 * (the default "double rounding" variant: TFLITE_SINGLE_ROUNDING off).
 * Prepare-time helpers use float/double exactly where TFLite Micro does, in
 * the same order, because the rounding of each step shows in the result.
 * Never build the engine with -ffast-math.
 */
#ifndef MTF_QUANT_H
#define MTF_QUANT_H

#include <stdint.h>

#include "mtf_kernel.h"

/* TFLite's ActivationFunctionType. */
enum {
    MTF_ACT_NONE = 0,
    MTF_ACT_RELU = 1,
    MTF_ACT_RELU_N1_TO_1 = 2,
    MTF_ACT_RELU6 = 3,
    MTF_ACT_TANH = 4,
    MTF_ACT_SIGN_BIT = 5
};

/* TFLite's Padding. */
enum { MTF_PADDING_SAME = 0, MTF_PADDING_VALID = 1 };

/* Split a real multiplier into a Q31 significand and a power-of-two shift
 * (TFLite's QuantizeMultiplier: frexp in double, round half away from zero). */
void mtf_quantize_multiplier(double real, int32_t *multiplier, int *shift);

/* gemmlowp SaturatingRoundingDoublingHighMul. */
static inline int32_t mtf_srdhm(int32_t a, int32_t b)
{
    if (a == b && a == INT32_MIN)
        return INT32_MAX;
    int64_t ab = (int64_t)a * (int64_t)b;
    /* gemmlowp computes (ab + nudge) / 2^31 with truncating division and
     * nudge = 2^30 (ab >= 0) or 1 - 2^30 (ab < 0). For ab < 0 the sum is
     * negative and truncation equals flooring (sum + 2^31 - 1), which is
     * ab + 2^30 again: both cases are one arithmetic shift (fewer instructions
     * per requantized value; checked equal on 2e8 random and boundary pairs). */
    return (int32_t)((ab + ((int64_t)1 << 30)) >> 31);
}

/* gemmlowp RoundingDivideByPOT: round half away from zero. */
static inline int32_t mtf_rdbpot(int32_t x, int exponent)
{
    int32_t mask = (int32_t)(((int64_t)1 << exponent) - 1);
    int32_t remainder = x & mask;
    int32_t threshold = (mask >> 1) + (x < 0 ? 1 : 0);
    /* >> of a negative int is arithmetic on every compiler we target (gcc documents it). */
    return (x >> exponent) + (remainder > threshold ? 1 : 0);
}

/* TFLite's MultiplyByQuantizedMultiplier(int32 x, multiplier, shift). The left
 * shift wraps like the int32 arithmetic TFLite Micro compiles to; a scale
 * ratio of 2^32 or more (hostile models only) shifts everything out. */
static inline int32_t mtf_mul_by_qm(int32_t x, int32_t multiplier, int shift)
{
    int left = shift > 0 ? shift : 0;
    int right = shift > 0 ? 0 : -shift;
    uint32_t scaled = left < 32 ? (uint32_t)x << left : 0u;
    return mtf_rdbpot(mtf_srdhm((int32_t)scaled, multiplier), right);
}

/* Clamp range for an int8/uint8/int16 output with a fused activation
 * (TFLite's CalculateActivationRangeQuantized; float math as TFLite does it).
 * TANH/SIGN_BIT/unknown codes clamp nothing, as in TFLite Micro. */
mtf_status_t mtf_activation_range_quantized(mtf_model_t *m, int activation, const mtf_tensor_t *output,
                                            int32_t *act_min, int32_t *act_max);

/* Float clamp range for a fused activation (TFLite's CalculateActivationRange):
 * -FLT_MAX..FLT_MAX when the activation clamps nothing. */
void mtf_activation_range_float(int activation, float *act_min, float *act_max);

/* Output size and padding of a window op (TFLite's ComputePaddingHeightWidth
 * for one dimension). */
int32_t mtf_out_size(int padding, int32_t in, int32_t filter, int32_t stride, int32_t dilation);
int32_t mtf_padding(int32_t stride, int32_t dilation, int32_t in, int32_t filter, int32_t out, int32_t *offset);

#endif /* MTF_QUANT_H */
