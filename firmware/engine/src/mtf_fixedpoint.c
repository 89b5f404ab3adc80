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
    int32_t result = exp_on_quarter_interval(sat_shl(rest, integer_bits));
    int32_t remainder = mtf_fp_sub(rest, a);
    /* The multiple of 1/4 is -remainder: multiply in exp(-2^k) per set bit. */
    for (int k = -2; k <= 4; k++) {
        if (integer_bits > k) {
            int bit = fractional_bits + k;
            if (remainder & ((int32_t)1 << bit))
                result = mtf_srdhm(result, factors[k + 2]);
        }
    }
    if (integer_bits > 5) {
        /* Below -32 the result is zero. */
        int32_t clamp = -((int32_t)1 << (36 - integer_bits));
        if (a < clamp)
            result = 0;
    }
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

/* gemmlowp RoundingHalfSum: (a + b) / 2 rounded half away from zero. */
static int32_t rounding_half_sum(int32_t a, int32_t b)
{
    int64_t sum = (int64_t)a + (int64_t)b;
    int64_t sign = sum >= 0 ? 1 : -1;
    return (int32_t)((sum + sign) / 2);
}

/* For a Q0 value a in [0, 1) Newton's x approximates 2 / (1 + a) in Q2.
 * minus_one 0: x read as Q1 (halving), moved to Q0, is 1 / (1 + a).
 * minus_one 1: x - 1 in Q2, moved to Q0, is (1 - a) / (1 + a) (for TANH). */
static int32_t newton_result(int32_t a, int minus_one)
{
    int32_t x = newton_reciprocal_q2(rounding_half_sum(a, INT32_MAX));
    return sat_shl(mtf_fp_sub(x, minus_one ? Q2_ONE : 0), 1 + minus_one);
}

int32_t mtf_fp_one_over_one_plus_x(int32_t a)
{
    return newton_result(a, 0);
}

int32_t mtf_fp_logistic(int32_t a, int integer_bits)
{
    if (a == 0)
        return ONE_HALF;
    int32_t abs_a = a > 0 ? a : mtf_fp_sub(0, a);
    int32_t positive = mtf_fp_one_over_one_plus_x(mtf_fp_exp_on_negative_values(mtf_fp_sub(0, abs_a), integer_bits));
    return a > 0 ? positive : mtf_fp_sub(INT32_MAX, positive);
}

int32_t mtf_fp_tanh(int32_t a, int integer_bits)
{
    if (a == 0)
        return 0;
    int32_t non_positive = a < 0 ? a : mtf_fp_sub(0, a);
    /* exp(2n): the same raw value read with one more integer bit. */
    int32_t t = newton_result(mtf_fp_exp_on_negative_values(non_positive, integer_bits + 1), 1);
    return a < 0 ? mtf_fp_sub(0, t) : t;
}

int32_t mtf_fp_reciprocal(int32_t x, int integer_bits, int *bits_over_unit)
{
    /* x > 0 here (callers guarantee it), so clz is defined. */
    int headroom_plus_one = __builtin_clz((uint32_t)x);
    *bits_over_unit = integer_bits - headroom_plus_one;
    /* Normalise x to [1, 2) in Q0-with-implicit-one form, minus one. */
    int32_t shifted_minus_one = (int32_t)(((uint32_t)x << headroom_plus_one) - ((uint32_t)1 << 31));
    return mtf_fp_one_over_one_plus_x(shifted_minus_one);
}

int32_t mtf_fp_input_radius(int integer_bits, int left_shift, int total_signed_bits)
{
    /* TFLite computes floor((2^ib - 1) * 2^(total - ib) / 2^left_shift) in
     * double; every step is exact there (an integer below 2^31 divided by a
     * power of two), so an arithmetic right shift gives the same value. */
    uint32_t max_rescaled = (((uint32_t)1 << integer_bits) - 1) << (total_signed_bits - integer_bits);
    return left_shift >= 32 ? 0 : (int32_t)(max_rescaled >> left_shift);
}

mtf_status_t mtf_bcast_prepare(mtf_model_t *m, const mtf_tensor_t *in1, const mtf_tensor_t *in2,
                               const mtf_tensor_t *out, mtf_bcast_t *b)
{
    int nd = in1->ndims > in2->ndims ? in1->ndims : in2->ndims;
    MTF_ENSURE(m, nd <= MTF_MAX_DIMS && out->ndims == nd, MTF_ERR_SHAPE, "output rank differs");
    /* full[r]: bit 0 (input 1) and bit 1 (input 2) set where the input spans
     * run r (stride > 0) rather than being broadcast along it. */
    int full[MTF_MAX_DIMS];
    int runs = 0;
    for (int i = 0; i < nd; i++) {
        int j1 = i - (nd - in1->ndims), j2 = i - (nd - in2->ndims);
        int32_t e1 = j1 >= 0 ? in1->dims[j1] : 1;
        int32_t e2 = j2 >= 0 ? in2->dims[j2] : 1;
        int32_t e = e1 == 1 ? e2 : e1;
        MTF_ENSURE(m, (e1 == e2 || e1 == 1 || e2 == 1) && out->dims[i] == e, MTF_ERR_SHAPE,
                   "shapes do not broadcast");
        if (e == 1)
            continue;
        int f = (e1 == e) | (e2 == e) << 1;
        if (runs > 0 && full[runs - 1] == f) {
            b->extent[runs - 1] *= e;
        } else {
            full[runs] = f;
            b->extent[runs++] = e;
        }
    }
    if (runs == 0) {
        /* One element. */
        full[0] = 3;
        b->extent[0] = 1;
        runs = 1;
    }
    b->ndims = runs;
    int32_t acc1 = 1, acc2 = 1;
    b->rows = 1;
    for (int r = runs - 1; r >= 0; r--) {
        b->stride1[r] = full[r] & 1 ? acc1 : 0;
        b->stride2[r] = full[r] & 2 ? acc2 : 0;
        if (full[r] & 1)
            acc1 *= b->extent[r];
        if (full[r] & 2)
            acc2 *= b->extent[r];
        if (r < runs - 1)
            b->rows *= b->extent[r];
    }
    return MTF_OK;
}
