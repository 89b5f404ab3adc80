/*
 * mtf_fixedpoint.h - gemmlowp-style fixed-point math (exp, logistic, tanh,
 * reciprocal) as TFLite Micro's int8 SOFTMAX, LOGISTIC and TANH use it.
 *
 * A value "Qn" here is an int32 holding a real number with n integer bits
 * (sign excluded) and 31 - n fractional bits, as gemmlowp::FixedPoint<int32_t, n>.
 * The integer-bit count is a run-time argument instead of a template
 * parameter; every operator here reproduces gemmlowp's rounding and its
 * wrapping (non-saturating) adds, because TFLite Micro's results depend on them.
 *
 * The prepare-time helpers do their float/double arithmetic in the same
 * types and order as TFLite Micro.
 */
#ifndef MTF_FIXEDPOINT_H
#define MTF_FIXEDPOINT_H

#include <float.h>
#include <stdint.h>

#include "mtf_quant.h"

/* gemmlowp's + and - on raw values: plain int32 arithmetic that wraps.
 * Going through uint32 keeps the wrap defined in C. */
static inline int32_t mtf_fp_add(int32_t a, int32_t b)
{
    return (int32_t)((uint32_t)a + (uint32_t)b);
}

static inline int32_t mtf_fp_sub(int32_t a, int32_t b)
{
    return (int32_t)((uint32_t)a - (uint32_t)b);
}

/* Multiply by 2^exponent (exponent > 0), saturating to the int32 range
 * (gemmlowp SaturatingRoundingMultiplyByPOT with a positive exponent). */
static inline int32_t mtf_fp_sat_shl(int32_t x, int exponent)
{
    int32_t threshold = (int32_t)(((uint32_t)1 << (31 - exponent)) - 1u);
    if (x > threshold)
        return INT32_MAX;
    if (x < -threshold)
        return INT32_MIN;
    return (int32_t)((uint32_t)x << exponent);
}

/* exp(a) for a Q(integer_bits) value a <= 0, 1 <= integer_bits <= 5 (the
 * widths SOFTMAX, LOGISTIC and TANH use); result in Q0. */
int32_t mtf_fp_exp_on_negative_values(int32_t a, int integer_bits);

/* logistic(a) (is_tanh 0) or tanh(a) (1) for any Q(integer_bits) value; result in Q0. */
int32_t mtf_fp_sigmoid(int32_t a, int integer_bits, int is_tanh);

/* Reciprocal of a positive Q(integer_bits) value x, as TFLite's
 * GetReciprocal: x is normalised to [1, 2) by a shift, the result is
 * 1 / normalised_x in Q0 and *bits_over_unit tells how many bits above 1.0
 * x had (so 1/x = result * 2^-bits_over_unit). */
int32_t mtf_fp_reciprocal(int32_t x, int integer_bits, int *bits_over_unit);

/* ---- prepare-time helpers (float math exactly as TFLite Micro) ---- */

/* A usable computed scale: positive and finite (NaN fails too). Converting a
 * non-finite value to an integer is undefined in C. (Tensor scales: see
 * mtf_arith_scale_ok.) */
static inline int mtf_fp_scale_ok(float scale)
{
    /* On the bits: (0, FLT_MAX] is 1 .. 0x7f7fffff; infinity, NaN and
     * negatives lie above, 0 wraps to the top. */
    uint32_t u;
    memcpy(&u, &scale, sizeof u);
    return u - 1u < 0x7f7fffffu;
}

/* TFLite's CalculateInputRadius: the largest |input| (in input units, after
 * the left shift) whose rescaled value still fits Q(integer_bits).
 * 0 <= left_shift <= 62. */
int32_t mtf_fp_input_radius(int integer_bits, int left_shift, int total_signed_bits);

#endif /* MTF_FIXEDPOINT_H */
