/* mtf_fixedpoint.c - gemmlowp-style fixed-point functions; see mtf_fixedpoint.h. */
#include "mtf_fixedpoint.h"

#include "mtf_activation.h"

/* Every change of format here gains fractional bits: gemmlowp's Rescale is
 * then the saturating left shift mtf_fp_sat_shl (by 0 it changes nothing),
 * kept out of line (code size). */
static MTF_ARITH_NOINLINE int32_t sat_shl(int32_t x, int exponent)
{
    return mtf_fp_sat_shl(x, exponent);
}

/* Q0 constants (raw int32 values of gemmlowp's checked constants). */
#define EXP_MINUS_ONE_EIGHTH 1895147668 /* exp(-1/8) */
#define ONE_THIRD 715827883             /* 1/3 */
#define ONE_HALF (1 << 30)              /* 0.5 */
/* Q2 constants of the Newton-Raphson division. */
#define FORTY_EIGHT_SEVENTEENTHS 1515870810     /* 48/17 */
#define MINUS_THIRTY_TWO_SEVENTEENTHS -1010580540 /* -32/17 */
#define Q2_ONE (1 << 29)

/* exp(a) for a Q0 value a in [-1/4, 0): a Taylor expansion around -1/8. */
static int32_t exp_on_quarter_interval(int32_t a)
{
    int32_t x = mtf_fp_add(a, 1 << 28); /* a + 1/8 */
    int32_t x2 = mtf_srdhm(x, x);
    int32_t x3 = mtf_srdhm(x2, x);
    int32_t x4 = mtf_srdhm(x2, x2);
    int32_t x4_over_4 = mtf_rdbpot(x4, 2);
    /* x^4/24 + x^3/6 + x^2/2 = ((x^4/4 + x^3) / 3 + x^2) / 2 */
    int32_t poly = mtf_fp_add(mtf_srdhm(mtf_fp_add(x4_over_4, x3), ONE_THIRD), x2);
    poly = mtf_rdbpot(poly, 1);
    return mtf_fp_add(EXP_MINUS_ONE_EIGHTH, mtf_srdhm(EXP_MINUS_ONE_EIGHTH, mtf_fp_add(x, poly)));
}

int32_t mtf_fp_exp_on_negative_values(int32_t a, int integer_bits)
{
    /* exp(-2^k) in Q0, for k = -2 .. 4: the factors of the barrel shifter. */
    static const int32_t factors[7] = {1672461947, 1302514674, 790015084, 290630308,
                                       39332535,   720401,     242};
    int fractional_bits = 31 - integer_bits;
    int32_t one_quarter = (int32_t)1 << (fractional_bits - 2);
    int32_t mask = one_quarter - 1;
    /* Split a into a multiple of 1/4 and a rest in [-1/4, 0). */
    int32_t rest = mtf_fp_sub(a & mask, one_quarter);
    /* rest in [-1/4, 0) moved to Q0: in [-2^29, 0), gemmlowp's saturating
     * Rescale cannot saturate, a plain shift does. */
    int32_t result = exp_on_quarter_interval((int32_t)((uint32_t)rest << integer_bits));
    int32_t remainder = mtf_fp_sub(rest, a);
    /* The multiple of 1/4 is -remainder: multiply in exp(-2^k) per set bit. */
    for (int k = -2; k <= 4; k++) {
        if (integer_bits > k) {
            int bit = fractional_bits + k;
            if (remainder & ((int32_t)1 << bit))
                result = mtf_srdhm(result, factors[k + 2]);
        }
    }
    /* gemmlowp also zeroes the result below -32, which only a Q6 or wider
     * input can reach (integer_bits <= 5 here). */
    if (a == 0)
        result = INT32_MAX;
    return result;
}

/* Newton-Raphson iterations for 1 / half_denominator in Q2, as gemmlowp runs them. */
static int32_t newton_reciprocal_q2(int32_t half_denominator)
{
    int32_t x = mtf_fp_add(FORTY_EIGHT_SEVENTEENTHS, mtf_srdhm(half_denominator, MINUS_THIRTY_TWO_SEVENTEENTHS));
    for (int i = 0; i < 3; i++) {
        int32_t hd_x = mtf_srdhm(half_denominator, x);
        int32_t one_minus = mtf_fp_sub(Q2_ONE, hd_x);
        /* x * one_minus is Q4; bring it back to Q2. */
        x = mtf_fp_add(x, sat_shl(mtf_srdhm(x, one_minus), 4 - 2));
    }
    return x;
}

/* For a Q0 value a in [0, 1] Newton's x approximates 2 / (1 + a) in Q2.
 * minus_one 0: x read as Q1 (halving), moved to Q0, is 1 / (1 + a).
 * minus_one 1: x - 1 in Q2, moved to Q0, is (1 - a) / (1 + a) (for TANH). */
static int32_t newton_result(int32_t a, int minus_one)
{
    /* gemmlowp's RoundingHalfSum(a, 1.0), (a + INT32_MAX) / 2 rounded half away
     * from zero: for a >= 0 (exp results, normalised fractions) exactly
     * (a + 2^31) / 2, which is a / 2 + 2^30 rounded down. */
    int32_t x = newton_reciprocal_q2((a >> 1) + (1 << 30));
    return sat_shl(mtf_fp_sub(x, minus_one ? Q2_ONE : 0), 1 + minus_one);
}

int32_t mtf_fp_sigmoid(int32_t a, int integer_bits, int is_tanh)
{
    if (a == 0)
        return is_tanh ? 0 : ONE_HALF;
    /* -|a| (wrapping like gemmlowp's negation). logistic(|a|) = 1 / (1 + exp(-|a|));
     * tanh(|a|) = (1 - exp(-2|a|)) / (1 + exp(-2|a|)), where exp(-2|a|) is the
     * same raw value read with one more integer bit. */
    int32_t non_positive = a < 0 ? a : mtf_fp_sub(0, a);
    int32_t t = newton_result(mtf_fp_exp_on_negative_values(non_positive, integer_bits + is_tanh), is_tanh);
    if (a > 0)
        return t;
    /* logistic(-x) = 1 - logistic(x); tanh(-x) = -tanh(x). */
    return mtf_fp_sub(is_tanh ? 0 : INT32_MAX, t);
}

int32_t mtf_fp_reciprocal(int32_t x, int integer_bits, int *bits_over_unit)
{
    /* x > 0 here (callers guarantee it), so clz is defined. */
    int headroom_plus_one = __builtin_clz((uint32_t)x);
    *bits_over_unit = integer_bits - headroom_plus_one;
    /* Normalise x to [1, 2) in Q0-with-implicit-one form, minus one. */
    int32_t shifted_minus_one = (int32_t)(((uint32_t)x << headroom_plus_one) - ((uint32_t)1 << 31));
    return newton_result(shifted_minus_one, 0);
}

int32_t mtf_fp_input_radius(int integer_bits, int left_shift, int total_signed_bits)
{
    /* TFLite computes floor((2^ib - 1) * 2^(total - ib) / 2^left_shift) in
     * double; every step is exact there (an integer below 2^31 divided by a
     * power of two), so an arithmetic right shift gives the same value. */
    uint32_t max_rescaled = (((uint32_t)1 << integer_bits) - 1) << (total_signed_bits - integer_bits);
    return left_shift >= 32 ? 0 : (int32_t)(max_rescaled >> left_shift);
}
