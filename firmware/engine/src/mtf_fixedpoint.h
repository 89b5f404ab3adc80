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
 *
 * Also here, shared by the elementwise operators: the broadcasting plan of
 * two-input operators (ADD, SUB, MUL).
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
    int32_t threshold = (int32_t)(((int64_t)1 << (31 - exponent)) - 1);
    if (x > threshold)
        return INT32_MAX;
    if (x < -threshold)
        return INT32_MIN;
    return (int32_t)((uint32_t)x << exponent);
}

/* Change a Q(src) value to Q(dst) (gemmlowp Rescale): a saturating left
 * shift when gaining fractional bits, a rounding right shift when losing them. */
static inline int32_t mtf_fp_rescale(int32_t x, int src_bits, int dst_bits)
{
    int exponent = src_bits - dst_bits;
    if (exponent > 0)
        return mtf_fp_sat_shl(x, exponent);
    if (exponent < 0)
        return mtf_rdbpot(x, -exponent);
    return x;
}

/* exp(a) for a Q(integer_bits) value a <= 0; result in Q0. */
int32_t mtf_fp_exp_on_negative_values(int32_t a, int integer_bits);

/* 1 / (1 + a) for a Q0 value a in [0, 1); result in Q0. */
int32_t mtf_fp_one_over_one_plus_x(int32_t a);

/* logistic(a) for any Q(integer_bits) value; result in Q0. */
int32_t mtf_fp_logistic(int32_t a, int integer_bits);

/* tanh(a) for any Q(integer_bits) value; result in Q0. */
int32_t mtf_fp_tanh(int32_t a, int integer_bits);

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
    return scale > 0.0f && scale <= FLT_MAX;
}

/* TFLite's CalculateInputRadius: the largest |input| (in input units, after
 * the left shift) whose rescaled value still fits Q(integer_bits).
 * 0 <= left_shift <= 62. */
int32_t mtf_fp_input_radius(int integer_bits, int left_shift, int total_signed_bits);

/* ---- broadcasting of two-input elementwise operators (ADD, SUB, MUL) ----
 *
 * Numpy-style broadcasting, as TFLite Micro's BroadcastBinaryOpSimple does it
 * (up to MTF_MAX_DIMS). Prepare turns the two input shapes into at most
 * MTF_MAX_DIMS "runs": dimensions of extent 1 are dropped and neighbours that
 * broadcast the same way are merged, so the common cases (same shape, scalar,
 * per-channel [1,1,1,C] against [1,H,W,C]) become one or two runs and eval
 * loops over rows of the last run with no per-element index arithmetic. */
typedef struct {
    int32_t ndims;                  /* runs, >= 1 */
    int32_t extent[MTF_MAX_DIMS];   /* output extent of each run */
    int32_t stride1[MTF_MAX_DIMS];  /* input 1 element stride per run (0 = broadcast) */
    int32_t stride2[MTF_MAX_DIMS];  /* input 2 element stride per run (0 = broadcast) */
    int32_t rows;                   /* product of all extents but the last */
} mtf_bcast_t;

/* Checks that in1 and in2 broadcast to out's shape and fills b.
 * Fails with MTF_ERR_SHAPE otherwise. */
mtf_status_t mtf_bcast_prepare(mtf_model_t *m, const mtf_tensor_t *in1, const mtf_tensor_t *in2,
                               const mtf_tensor_t *out, mtf_bcast_t *b);

/* Position of the row iterator over the runs before the last. */
typedef struct {
    int32_t index[MTF_MAX_DIMS];
    int32_t off1, off2;
} mtf_bcast_pos_t;

static inline void mtf_bcast_start(mtf_bcast_pos_t *p)
{
    memset(p, 0, sizeof *p);
}

/* Move to the next row: an odometer over runs ndims-2 .. 0. */
static inline void mtf_bcast_next_row(const mtf_bcast_t *b, mtf_bcast_pos_t *p)
{
    for (int d = b->ndims - 2; d >= 0; d--) {
        p->off1 += b->stride1[d];
        p->off2 += b->stride2[d];
        if (++p->index[d] < b->extent[d])
            return;
        p->off1 -= b->stride1[d] * b->extent[d];
        p->off2 -= b->stride2[d] * b->extent[d];
        p->index[d] = 0;
    }
}

#endif /* MTF_FIXEDPOINT_H */
